"""What the third-party clients' bridge scenario must see: two channels bridged, then
hung up one after the other, then the bridge destroyed."""

from __future__ import annotations

CHANNEL_ORDER = [
    "StasisStart",
    "ChannelEnteredBridge",
    "ChannelHangupRequest",
    "ChannelLeftBridge",
    "StasisEnd",
]
"""The events each channel sees, in this order."""


def in_order(seen: list[str], expected: list[str]) -> list[str]:
    """The expected types as they occur in ``seen`` (first occurrence of each)."""
    return sorted((t for t in expected if t in seen), key=seen.index)


def check_events(
    per_channel: dict[str, list[str]],
    per_bridge: dict[str, list[str]],
    channel_ids: tuple[str, str],
    bridge_id: str,
) -> None:
    """Each channel saw its events in order, once each; the bridge saw both come and go."""
    for chan_id in channel_ids:
        seen = per_channel[chan_id]
        assert in_order(seen, CHANNEL_ORDER) == CHANNEL_ORDER, seen
        assert seen.count("StasisStart") == 1
        assert seen.count("StasisEnd") == 1
    assert per_bridge[bridge_id] == [
        "ChannelEnteredBridge",
        "ChannelEnteredBridge",
        "ChannelLeftBridge",
        "ChannelLeftBridge",
        "BridgeDestroyed",
    ]
