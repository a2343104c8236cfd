"""Q.850 hangup causes and the texts Asterisk gives them."""

from __future__ import annotations

UNALLOCATED = 1
NO_ROUTE_DESTINATION = 3
NORMAL_CLEARING = 16
USER_BUSY = 17
NO_USER_RESPONSE = 18
NO_ANSWER = 19
CALL_REJECTED = 21
NUMBER_CHANGED = 22
DESTINATION_OUT_OF_ORDER = 27
INVALID_NUMBER_FORMAT = 28
FACILITY_REJECTED = 29
NORMAL_UNSPECIFIED = 31
CONGESTION = 34
SWITCH_CONGESTION = 42
BEARERCAPABILITY_NOTAVAIL = 58
CHANNEL_UNACCEPTABLE = 6
INTERWORKING = 127
NOT_DEFINED = 0

CAUSE_TEXTS: dict[int, str] = {
    0: "Unknown",
    1: "Unallocated (unassigned) number",
    2: "No route to specified transmit network",
    3: "No route to destination",
    5: "Misdialled Trunk Prefix",
    6: "Channel unacceptable",
    7: "Call awarded and being delivered in an established channel",
    8: "Pre-empted",
    14: "Number ported but not found",
    16: "Normal Clearing",
    17: "User busy",
    18: "No user responding",
    19: "User alerting, no answer",
    20: "Subscriber absent",
    21: "Call Rejected",
    22: "Number changed",
    23: "Redirected to new destination",
    26: "Answered elsewhere",
    27: "Destination out of order",
    28: "Invalid number format",
    29: "Facility rejected",
    30: "Response to STATus ENQuiry",
    31: "Normal, unspecified",
    34: "Circuit/channel congestion",
    38: "Network out of order",
    41: "Temporary failure",
    42: "Switching equipment congestion",
    43: "Access information discarded",
    44: "Requested channel not available",
    50: "Requested facility not subscribed",
    52: "Outgoing calls barred",
    54: "Incoming calls barred",
    57: "Bearer capability not authorized",
    58: "Bearer capability not available",
    65: "Bearer capability not implemented",
    66: "Channel not implemented",
    69: "Facility not implemented",
    81: "Invalid call reference value",
    88: "Incompatible destination",
    95: "Invalid message unspecified",
    96: "Mandatory information element is missing",
    97: "Message type nonexist.",
    98: "Wrong message",
    99: "Info. element nonexist or not implemented",
    100: "Invalid information element contents",
    101: "Message not compatible with call state",
    102: "Recover on timer expiry",
    103: "Mandatory IE length error",
    111: "Protocol error, unspecified",
    127: "Interworking, unspecified",
}

# ARI's ``reason`` names for DELETE /channels/{id}.
HANGUP_REASONS: dict[str, int] = {
    "normal": NORMAL_CLEARING,
    "busy": USER_BUSY,
    "congestion": CONGESTION,
    "no_answer": NO_ANSWER,
    "timeout": NO_USER_RESPONSE,
    "rejected": CALL_REJECTED,
    "unallocated": UNALLOCATED,
    "normal_unspecified": NORMAL_UNSPECIFIED,
    "number_incomplete": INVALID_NUMBER_FORMAT,
    "codec_mismatch": BEARERCAPABILITY_NOTAVAIL,
    "interworking": INTERWORKING,
    "failure": 38,
    "answered_elsewhere": 26,
}

# Soft-hangup flags (Asterisk publishes them as the ``cause`` of a soft
# ChannelHangupRequest).
SOFTHANGUP_DEV = 0x01
SOFTHANGUP_ASYNCGOTO = 0x02
SOFTHANGUP_SHUTDOWN = 0x04
SOFTHANGUP_TIMEOUT = 0x08
SOFTHANGUP_APPUNLOAD = 0x10
SOFTHANGUP_EXPLICIT = 0x20


def cause_text(cause: int) -> str:
    return CAUSE_TEXTS.get(cause, "Unknown")


_CAUSE_NAMES: dict[str, int] = {
    name: value
    for name, value in globals().items()
    if name.isupper() and isinstance(value, int) and not name.startswith("SOFTHANGUP")
}


def cause_from_text(text: str) -> int | None:
    """A cause given as a number (``17``) or a name (``USER_BUSY``); None if neither."""
    text = text.strip()
    if text.isdigit():
        value = int(text)
        return value if 0 < value < 128 else None
    return _CAUSE_NAMES.get(text.upper())
