"""A recorder: answer, record the caller (after a beep) until they press
``#``, then play the recording back and hang up.

Dialplan::

    [recorder]
    exten => 400,1,Stasis(recorder)

The recording is stored as ``recording-<channel id>.wav`` (ARI stored
recordings, below ``<astspooldir>/recording``).
"""

from __future__ import annotations

import argparse
import asyncio
import uuid

from pyari.client import (
    AriClient,
    AriHttpError,
    Channel,
    PlaybackFinished,
    RecordingFailed,
    RecordingFinished,
    StasisEnd,
    StasisStart,
    connect,
)

APP = "recorder"
MAX_SECONDS = 60


def recording_name(channel_id: str) -> str:
    return f"recording-{channel_id}"


async def wait_recording(client: AriClient, channel: Channel, name: str) -> bool:
    """Record ``channel`` as ``name`` until ``#``; True when the recording is stored."""
    async with client.events("RecordingFinished", "RecordingFailed", "StasisEnd") as events:
        await channel.record(
            name,
            "wav",
            terminate_on="#",
            max_duration_seconds=MAX_SECONDS,
            if_exists="overwrite",
            beep=True,
        )
        async for event in events:
            if isinstance(event, RecordingFinished) and event.recording.name == name:
                return True
            if isinstance(event, RecordingFailed) and event.recording.name == name:
                return False
            if isinstance(event, StasisEnd) and event.channel.id == channel.id:
                return False
    return False


async def play_and_wait(client: AriClient, channel: Channel, media: str) -> None:
    playback_id = str(uuid.uuid4())
    async with client.events("PlaybackFinished", "StasisEnd") as events:
        await channel.play(media, playback_id=playback_id)
        async for event in events:
            if isinstance(event, PlaybackFinished) and event.playback.id == playback_id:
                return
            if isinstance(event, StasisEnd) and event.channel.id == channel.id:
                return


async def handle_call(client: AriClient, channel: Channel) -> None:
    await channel.answer()
    name = recording_name(channel.id)
    if await wait_recording(client, channel, name):
        await play_and_wait(client, channel, f"recording:{name}")
    await channel.hangup()


async def main(url: str, user: str, password: str) -> None:
    """Run the recorder until cancelled."""
    async with connect(url, user, password, apps=APP) as client:

        @client.on("StasisStart")
        async def start(event: StasisStart) -> None:
            try:
                await handle_call(client, event.channel)
            except AriHttpError as exc:  # the caller hung up meanwhile
                print(f"call {event.channel.id} ended early: {exc}")

        await client.run_forever()


def cli() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="A recorder on pyari.client")
    parser.add_argument("--url", default="http://127.0.0.1:8088")
    parser.add_argument("--user", default="testARI")
    parser.add_argument("--password", default="Sup3rM3ga$tr0ng")
    return parser.parse_args()


if __name__ == "__main__":
    args = cli()
    asyncio.run(main(args.url, args.user, args.password))
