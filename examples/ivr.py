"""An IVR: answer, play a menu, read one key, play the choice, say goodbye.

Dialplan::

    [ivr]
    exten => 100,1,Stasis(ivr)

Pressing 1 plays ``tt-weasels``, 2 plays ``hello-world``, any other key
``pbx-invalid``; pressing a key during the menu cuts it short.  With no key
in ``DIGIT_TIMEOUT`` seconds the caller only hears goodbye.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import uuid

from pyari.client import (
    AriClient,
    AriHttpError,
    Channel,
    ChannelDtmfReceived,
    PlaybackFinished,
    StasisEnd,
    StasisStart,
    connect,
)

APP = "ivr"
MENU = ["sound:hello", "sound:vm-press", "sound:digits/1", "sound:digits/2"]
CHOICES = {"1": "sound:tt-weasels", "2": "sound:hello-world"}
INVALID = "sound:pbx-invalid"
GOODBYE = "sound:vm-goodbye"
DIGIT_TIMEOUT = 10.0


async def play_and_wait(client: AriClient, channel: Channel, media: str | list[str]) -> None:
    """Play ``media`` to ``channel`` and wait until it finished (or the caller left)."""
    playback_id = str(uuid.uuid4())
    async with client.events("PlaybackFinished", "StasisEnd") as events:
        await channel.play(media, playback_id=playback_id)
        async for event in events:
            if isinstance(event, PlaybackFinished) and event.playback.id == playback_id:
                return
            if isinstance(event, StasisEnd) and event.channel.id == channel.id:
                return


async def handle_call(client: AriClient, channel: Channel) -> None:
    digits: asyncio.Queue[str] = asyncio.Queue()

    def on_dtmf(event: ChannelDtmfReceived) -> None:
        digits.put_nowait(event.digit)

    channel.on("ChannelDtmfReceived", on_dtmf)
    await channel.answer()
    menu = await channel.play(MENU)
    try:
        digit: str | None = await asyncio.wait_for(digits.get(), DIGIT_TIMEOUT)
    except TimeoutError:
        digit = None
    with contextlib.suppress(AriHttpError):  # already finished: 404
        await menu.stop()
    if digit is not None:
        await play_and_wait(client, channel, CHOICES.get(digit, INVALID))
    await play_and_wait(client, channel, GOODBYE)
    await channel.hangup()


async def main(url: str, user: str, password: str) -> None:
    """Run the IVR until cancelled."""
    async with connect(url, user, password, apps=APP) as client:

        @client.on("StasisStart")
        async def start(event: StasisStart) -> None:
            try:
                await handle_call(client, event.channel)
            except AriHttpError as exc:  # the caller hung up meanwhile: 404 and the like
                print(f"call {event.channel.id} ended early: {exc}")

        await client.run_forever()


def cli() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="An IVR on pyari.client")
    parser.add_argument("--url", default="http://127.0.0.1:8088")
    parser.add_argument("--user", default="testARI")
    parser.add_argument("--password", default="Sup3rM3ga$tr0ng")
    return parser.parse_args()


if __name__ == "__main__":
    args = cli()
    asyncio.run(main(args.url, args.user, args.password))
