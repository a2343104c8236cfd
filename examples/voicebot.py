"""A voice-bot skeleton: the caller's speech goes out to a "brain", the
brain's answer comes back in as audio, turn after turn.

Dialplan::

    [voicebot]
    exten => 500,1,Stasis(voicebot)

How the audio flows (standard ARI only, so it runs on pyari and Asterisk):

- **out**: the app opens a snoop channel on the caller (``spy=in``: what the
  caller says) and records it in utterances: a recording ends after
  ``END_OF_TURN`` second(s) of silence. Each utterance is downloaded as WAV
  (``GET /recordings/stored/{name}/file``); a simple energy check skips
  turns without speech.
- **in**: the brain answers with a media URI that the app plays to the
  caller (``sound:...``, ``recording:...``, or a file your TTS wrote where
  the server reads sounds); ``None`` ends the call.

The default brain echoes the caller's utterance.  Replace :func:`echo_brain`
with speech recognition + a dialogue + TTS.

**Streaming** (``--streaming``, :class:`StreamingVoiceBot`): the production
path for barge-in and low latency. The app creates a WebSocket media channel
(``POST /channels/externalMedia`` with ``transport=websocket``,
``encapsulation=none``, ``connection_type=server``), connects to
``ws://<server>/media/<MEDIA_WEBSOCKET_CONNECTION_ID>`` and bridges it with
the caller: the caller's audio arrives as binary frames (signed linear,
8 kHz) and what the stream brain sends back is heard at once.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import uuid
import wave
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import aiohttp
import numpy as np

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

APP = "voicebot"
GREETING = "sound:hello"
END_OF_TURN = 1
"""Seconds of silence that end an utterance."""
MAX_TURN = 30
SPEECH_LEVEL = 300.0
"""Mean absolute sample level of a 20 ms frame that counts as speech."""


@dataclass
class Turn:
    """One thing the caller said."""

    number: int
    recording: str
    """Its stored recording's name (``recording:<name>`` plays it)."""
    audio: bytes
    """The utterance as a WAV file."""


Brain = Callable[[Turn], Awaitable[str | None]]


async def echo_brain(turn: Turn) -> str | None:
    """Answer every turn with the caller's own words."""
    return f"recording:{turn.recording}"


def has_speech(wav_bytes: bytes) -> bool:
    """A crude voice-activity check: some 20 ms frame louder than SPEECH_LEVEL."""
    with wave.open(io.BytesIO(wav_bytes)) as w:
        if w.getsampwidth() != 2:
            return True
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        frame = w.getframerate() // 50
    usable = len(samples) // frame * frame
    if usable == 0:
        return False
    levels = np.abs(samples[:usable].astype(np.int32)).reshape(-1, frame).mean(axis=1)
    return bool((levels > SPEECH_LEVEL).any())


class VoiceBot:
    def __init__(self, client: AriClient, brain: Brain = echo_brain) -> None:
        self.client = client
        self.brain = brain
        self.callers: dict[str, Channel] = {}
        client.on("StasisStart", self.on_start)

    async def on_start(self, event: StasisStart) -> None:
        channel = event.channel
        try:
            if event.args[:1] == ["snoop"] and len(event.args) > 1:
                caller = self.callers.get(event.args[1])
                if caller is None:
                    await channel.hangup()
                    return
                await self.converse(caller, channel)
            else:
                self.callers[channel.id] = channel
                await channel.answer()
                await self.play_and_wait(channel, GREETING)
                await channel.snoop_channel(APP, spy="in", app_args=f"snoop,{channel.id}")
        except AriHttpError as exc:  # the caller hung up meanwhile
            print(f"call {channel.id} ended early: {exc}")

    async def converse(self, caller: Channel, snoop: Channel) -> None:
        """Listen on the snoop without a break; answer each utterance in turn."""
        utterances: asyncio.Queue[str | None] = asyncio.Queue()
        responder = asyncio.ensure_future(self.respond(caller, utterances))
        try:
            await self.listen(caller, snoop, utterances)
            await responder
        finally:
            responder.cancel()
            self.callers.pop(caller.id, None)
            with contextlib.suppress(AriHttpError):
                await snoop.hangup()

    async def listen(
        self, caller: Channel, snoop: Channel, utterances: asyncio.Queue[str | None]
    ) -> None:
        """Record the snoop utterance by utterance; the next recording starts as
        soon as one ends, so nothing the caller says is lost while the bot talks."""
        async with self.client.events("RecordingFinished", "RecordingFailed", "StasisEnd") as ev:
            number = 1
            name = await self.start_recording(caller, snoop, number)
            async for event in ev:
                if isinstance(event, StasisEnd) and event.channel.id in (caller.id, snoop.id):
                    break
                if isinstance(event, RecordingFailed) and event.recording.name == name:
                    break
                if isinstance(event, RecordingFinished) and event.recording.name == name:
                    number += 1
                    done, name = name, await self.start_recording(caller, snoop, number)
                    utterances.put_nowait(done)
        utterances.put_nowait(None)

    async def start_recording(self, caller: Channel, snoop: Channel, number: int) -> str:
        name = f"voicebot-{caller.id}-{number}"
        await snoop.record(
            name,
            "wav",
            max_silence_seconds=END_OF_TURN,
            max_duration_seconds=MAX_TURN,
            if_exists="overwrite",
        )
        return name

    async def respond(self, caller: Channel, utterances: asyncio.Queue[str | None]) -> None:
        """Hand each utterance with speech to the brain and play its answer."""
        number = 0
        while (name := await utterances.get()) is not None:
            audio = await self.client.recordings.get_stored_file(name)
            if has_speech(audio):
                number += 1
                answer = await self.brain(Turn(number, name, audio))
                if answer is None:
                    await caller.hangup()
                    return
                await self.play_and_wait(caller, answer)
            await self.client.recordings.delete_stored(name)

    async def play_and_wait(self, channel: Channel, media: str) -> None:
        playback_id = str(uuid.uuid4())
        async with self.client.events("PlaybackFinished", "StasisEnd") as events:
            await channel.play(media, playback_id=playback_id)
            async for event in events:
                if isinstance(event, PlaybackFinished) and event.playback.id == playback_id:
                    return
                if isinstance(event, StasisEnd) and event.channel.id == channel.id:
                    return


StreamBrain = Callable[[AsyncIterator[bytes]], AsyncIterator[bytes]]
"""Takes the caller's audio (20 ms slin frames), yields audio to play back."""


async def echo_stream(audio: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """Say back what the caller says, as it is said."""
    async for frame in audio:
        yield frame


class StreamingVoiceBot:
    """The caller's audio streams to the brain over a WebSocket media channel."""

    def __init__(self, client: AriClient, url: str, brain: StreamBrain = echo_stream) -> None:
        self.client = client
        self.media_url = url.replace("http", "ws", 1).rstrip("/") + "/media/"
        self.brain = brain
        client.on("StasisStart", self.on_start)

    async def on_start(self, event: StasisStart) -> None:
        caller = event.channel
        if event.args[:1] == ["media"]:
            return  # our own media channel entering the app
        async with self.client.events("StasisEnd") as ended:
            try:
                await caller.answer()
                media = await self.client.channels.external_media(
                    APP,
                    "slin",
                    transport="websocket",
                    encapsulation="none",
                    connection_type="server",
                    data="media",
                )
                connection_id = (media.channelvars or {})["MEDIA_WEBSOCKET_CONNECTION_ID"]
                async with (
                    aiohttp.ClientSession() as http,
                    http.ws_connect(self.media_url + connection_id) as ws,
                ):
                    bridge = await self.client.bridges.create(type="mixing")
                    await bridge.add_channel([caller.id, media.id])
                    streaming = asyncio.ensure_future(self.stream(ws))
                    hangup = asyncio.ensure_future(self.hangup_of(ended, caller.id))
                    await asyncio.wait([streaming, hangup], return_when=asyncio.FIRST_COMPLETED)
                    streaming.cancel()
                    hangup.cancel()
                with contextlib.suppress(AriHttpError):
                    await media.hangup()
                with contextlib.suppress(AriHttpError):
                    await bridge.destroy()
            except AriHttpError as exc:  # the caller hung up meanwhile
                print(f"call {caller.id} ended early: {exc}")

    @staticmethod
    async def hangup_of(events: AsyncIterator[object], channel_id: str) -> None:
        async for event in events:
            if isinstance(event, StasisEnd) and event.channel.id == channel_id:
                return

    async def stream(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Feed the brain the caller's frames, send back what it says, until hangup."""

        async def heard() -> AsyncIterator[bytes]:
            async for msg in ws:
                if msg.type == aiohttp.WSMsgType.BINARY:
                    yield msg.data

        async for reply in self.brain(heard()):
            await ws.send_bytes(reply)


async def main(
    url: str,
    user: str,
    password: str,
    brain: Brain = echo_brain,
    *,
    streaming: StreamBrain | None = None,
) -> None:
    """Run the bot until cancelled (``streaming``: over WebSocket media)."""
    async with connect(url, user, password, apps=APP) as client:
        if streaming is not None:
            StreamingVoiceBot(client, url, streaming)
        else:
            VoiceBot(client, brain)
        await client.run_forever()


def cli() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="A voice-bot skeleton on pyari.client")
    parser.add_argument("--url", default="http://127.0.0.1:8088")
    parser.add_argument("--user", default="testARI")
    parser.add_argument("--password", default="Sup3rM3ga$tr0ng")
    parser.add_argument(
        "--streaming", action="store_true", help="stream the call over WebSocket media"
    )
    return parser.parse_args()


if __name__ == "__main__":
    args = cli()
    stream_brain = echo_stream if args.streaming else None
    asyncio.run(main(args.url, args.user, args.password, streaming=stream_brain))
