"""AudioSocket channels: ``AudioSocket/<host:port>/<uuid>[/c(<codec>)]``.

The AudioSocket protocol runs over one TCP connection that pyari opens to the
external server. Every message is a 3-byte header (kind, then the payload
length as a big-endian 16-bit number) and the payload:

====== ============================================================
kind   meaning
====== ============================================================
0x00   hang up (or the connection closing)
0x01   the call's UUID, 16 bytes (sent first by pyari)
0x03   a DTMF digit, 1 ASCII byte (sent by pyari)
0x10   audio, signed linear 16-bit little-endian, 8 kHz
0x11   … 0x18: audio at 12, 16, 24, 32, 44.1, 48, 96, 192 kHz
0xff   an error
====== ============================================================

As Asterisk's ``chan_audiosocket``: the channel is named
``AudioSocket/<host:port>-<uuid>``, carries the variables ``AUDIOSOCKET_UUID``
and ``AUDIOSOCKET_SERVICE``, answers as soon as it is called and then sends
the UUID. What the channel hears goes to the server in the channel's format
(kind 0x10, or the slin kind of its rate); audio from the server is signed
linear at the rate of its kind. Digits sent to the channel go out as DTMF
messages. A hangup message, the connection closing, or any message the
channel does not take from a server (DTMF, error, UUID) hangs the channel up;
hanging up the channel closes the connection.

The protocol code (:func:`encode`, :class:`Parser`) does no I/O.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import re
import socket
import struct
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pyari.channels.external import (
    ExternalMediaPlan,
    ExternalMediaRequest,
    Unsupported,
)
from pyari.channels.paced import Pacer
from pyari.core.channel import Channel
from pyari.core.tech import BadDialString, pvt_of, pvt_or_none
from pyari.media.frames import FORMATS, SLIN, MediaFormat
from pyari.media.service import media_of

if TYPE_CHECKING:
    from pyari.core.engine import Core
    from pyari.media.codecs import Resampler

log = logging.getLogger(__name__)

CAUSE_FAILURE = 38
"""Q.850 network out of order: Asterisk's AST_CAUSE_FAILURE."""

KIND_HANGUP = 0x00
KIND_UUID = 0x01
KIND_DTMF = 0x03
KIND_AUDIO = 0x10
KIND_ERROR = 0xFF

KIND_RATES: dict[int, int] = {
    0x10: 8000,
    0x11: 12000,
    0x12: 16000,
    0x13: 24000,
    0x14: 32000,
    0x15: 44100,
    0x16: 48000,
    0x17: 96000,
    0x18: 192000,
}
"""Audio kinds and the sample rate of their signed linear payload."""

FORMAT_KINDS: dict[str, int] = {
    "slin": 0x10,
    "slin12": 0x11,
    "slin16": 0x12,
    "slin24": 0x13,
    "slin32": 0x14,
    "slin44": 0x15,
    "slin48": 0x16,
    "slin96": 0x17,
    "slin192": 0x18,
}
"""The kind audio of a format is sent with (any other format goes as 0x10)."""

CONNECT_TIMEOUT = 2.0
"""Seconds to wait for the server to accept the connection."""
MAX_QUEUED_FRAMES = 1000
"""Frames of server audio kept while the call plays them (20 s)."""
MAX_WRITE_BUFFER = 64 * 1024
"""Audio to the server is dropped while this much is still unsent."""

_OPTION = re.compile(r"^c\(([^)]*)\)$")


# --- the protocol (no I/O) -----------------------------------------------------------


def encode_message(kind: int, payload: bytes = b"") -> bytes:
    """One AudioSocket message."""
    if len(payload) > 0xFFFF:
        raise ValueError("an AudioSocket payload holds at most 65535 bytes")
    return struct.pack("!BH", kind, len(payload)) + payload


def uuid_message(call_id: str) -> bytes:
    return encode_message(KIND_UUID, uuid.UUID(call_id).bytes)


def dtmf_message(digit: str) -> bytes:
    return encode_message(KIND_DTMF, digit.encode("ascii")[:1])


def audio_message(fmt: MediaFormat, payload: bytes) -> bytes:
    return encode_message(FORMAT_KINDS.get(fmt.name, KIND_AUDIO), payload)


@dataclass
class Parser:
    """Splits a byte stream into ``(kind, payload)`` messages."""

    _buffer: bytearray = field(default_factory=bytearray)

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        buf = self._buffer
        buf += data
        out: list[tuple[int, bytes]] = []
        while len(buf) >= 3:
            kind, length = struct.unpack_from("!BH", buf)
            if len(buf) < 3 + length:
                break
            out.append((kind, bytes(buf[3 : 3 + length])))
            del buf[: 3 + length]
        return out


def parse_resource(resource: str) -> tuple[str, str, str | None]:
    """``host:port/uuid[/options]`` → (destination, uuid, codec); BadDialString when bad."""
    parts = resource.split("/", 2)
    dest = parts[0]
    if not dest or ":" not in dest or not dest.rpartition(":")[2].isdigit():
        raise BadDialString()
    if len(parts) < 2 or not parts[1]:
        raise BadDialString()
    call_id = parts[1]
    try:
        uuid.UUID(call_id)
    except ValueError:
        raise BadDialString() from None
    codec: str | None = None
    if len(parts) == 3 and parts[2]:
        match = _OPTION.match(parts[2])
        if match is None:
            raise BadDialString()
        codec = match.group(1) or None
    return dest, call_id, codec


def split_hostport(dest: str) -> tuple[str, int]:
    host, _, port = dest.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port)


async def connect(dest: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Open the TCP connection to an AudioSocket server (BadDialString when it fails)."""
    host, port = split_hostport(dest)
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port), timeout=CONNECT_TIMEOUT
        )
    except (OSError, TimeoutError) as exc:
        log.warning("AudioSocket connection to '%s' failed: %s", dest, exc)
        raise BadDialString() from None
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return reader, writer


# --- the channel technology ------------------------------------------------------------


class AudioSocketCall:
    """One AudioSocket channel's connection and its queued server audio."""

    def __init__(
        self,
        tech: AudioSocketTech,
        chan: Channel,
        dest: str,
        call_id: str,
        fmt: MediaFormat,
        conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None,
    ) -> None:
        self.tech = tech
        self.chan = chan
        self.dest = dest
        self.call_id = call_id
        self.format = fmt
        self.reader: asyncio.StreamReader | None = conn[0] if conn else None
        self.writer: asyncio.StreamWriter | None = conn[1] if conn else None
        self.pending = bytearray()
        self.task: asyncio.Task[None] | None = None
        self.closed = False
        self._resamplers: dict[int, Resampler] = {}

    # audio from the server, one frame per tick
    def tick(self) -> None:
        cm = self.chan.media
        if cm is None:
            return
        stream = cm.stream
        size = stream.format.bytes_per_frame
        if len(self.pending) >= size and stream.buffered_bytes < size:
            stream.push(bytes(self.pending[:size]))
            del self.pending[:size]

    def audio_in(self, kind: int, payload: bytes) -> None:
        import numpy as np  # loaded with the media engine, not at start-up

        from pyari.media.codecs import Resampler, encode

        rate = KIND_RATES[kind]
        usable = len(payload) - len(payload) % 2
        samples = np.frombuffer(payload[:usable], dtype="<i2").astype(np.int16)
        fmt = self.format
        if rate != fmt.rate:
            resampler = self._resamplers.get(rate)
            if resampler is None:
                resampler = self._resamplers[rate] = Resampler(rate, fmt.rate)
            samples = resampler.process(samples)
        data = encode(fmt, samples).tobytes() if fmt.encoded else samples.astype("<i2").tobytes()
        self.pending += data
        limit = MAX_QUEUED_FRAMES * fmt.bytes_per_frame
        if len(self.pending) > limit:
            excess = len(self.pending) - limit
            excess -= excess % (1 if fmt.encoded else 2)
            del self.pending[:excess]

    def send(self, data: bytes, *, audio: bool = False) -> None:
        writer = self.writer
        if writer is None or self.closed or writer.is_closing():
            return
        if audio and writer.transport.get_write_buffer_size() > MAX_WRITE_BUFFER:
            return
        writer.write(data)

    async def run(self) -> None:
        """Connect if needed, send the UUID, then read until the server is done."""
        chan = self.chan
        try:
            if self.writer is None:
                try:
                    self.reader, self.writer = await connect(self.dest)
                except BadDialString:
                    chan.queue_hangup(CAUSE_FAILURE)
                    return
            if self.closed:
                self.close()
                return
            self.send(uuid_message(self.call_id))
            reader = self.reader
            assert reader is not None
            parser = Parser()
            while True:
                data = await reader.read(65536)
                if not data:
                    chan.queue_hangup()
                    return
                for kind, payload in parser.feed(data):
                    if kind == KIND_HANGUP:
                        chan.queue_hangup()
                        return
                    if kind in KIND_RATES and payload:
                        self.audio_in(kind, payload)
                        continue
                    log.error(
                        "Received AudioSocket message other than hangup or audio "
                        "on channel '%s' (kind 0x%02x)",
                        chan.name,
                        kind,
                    )
                    chan.queue_hangup(CAUSE_FAILURE)
                    return
        except (OSError, asyncio.IncompleteReadError):
            chan.queue_hangup()
        finally:
            self.tech.pacer.remove(self)

    def close(self) -> None:
        self.closed = True
        self.tech.pacer.remove(self)
        if self.writer is not None and not self.writer.is_closing():
            self.writer.close()
        task = self.task
        if task is not None and not task.done() and task is not asyncio.current_task():
            task.cancel()


class AudioSocketTech:
    name = "AudioSocket"
    description = "AudioSocket Channel Driver"

    def __init__(self) -> None:
        self.pacer = Pacer()
        self._seq = itertools.count(1)

    def create(
        self,
        core: Core,
        dest: str,
        call_id: str,
        fmt: MediaFormat,
        *,
        uniqueid: str | None,
        conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None,
    ) -> Channel:
        """The channel of an AudioSocket call (``conn``: already connected)."""
        chan = core.new_channel(
            self,
            f"AudioSocket/{dest}-{call_id}",
            uniqueid=uniqueid,
            setup=lambda chan: AudioSocketCall(self, chan, dest, call_id, fmt, conn),
            state="Down",
        )
        chan.set_var("AUDIOSOCKET_UUID", call_id)
        chan.set_var("AUDIOSOCKET_SERVICE", dest)
        return chan

    def request(
        self, core: Core, resource: str, *, uniqueid: str | None, other_id: str | None
    ) -> Channel:
        dest, call_id, codec = parse_resource(resource)
        fmt = SLIN
        if codec is not None:
            found = FORMATS.get(codec)
            if found is None:
                raise BadDialString()
            fmt = found
        return self.create(core, dest, call_id, fmt, uniqueid=uniqueid)

    def call(self, chan: Channel, timeout: float | None) -> None:
        call = pvt_of(chan, AudioSocketCall)
        chan.core.loop_call_soon(chan.answer)
        media = media_of(chan.core)
        if media is not None:
            media.channel_media(chan)
        self.pacer.add(chan.core, call)
        call.task = chan.core.spawn(call.run(), name=f"audiosocket {chan.name}")

    def answered(self, chan: Channel) -> None:
        pass

    # -- media ------------------------------------------------------------------

    def media_format(self, chan: Channel) -> MediaFormat:
        call = pvt_of(chan, AudioSocketCall)
        return call.format

    def media_output(self, chan: Channel, payload: bytes) -> None:
        call = pvt_or_none(chan, AudioSocketCall)
        if call is not None:
            call.send(audio_message(call.format, payload), audio=True)

    def send_digit(self, chan: Channel, digit: str, duration_ms: int) -> None:
        call = pvt_or_none(chan, AudioSocketCall)
        if call is not None:
            call.send(dtmf_message(digit))

    def hangup(self, chan: Channel) -> None:
        call = pvt_or_none(chan, AudioSocketCall)
        chan.tech_pvt = None
        if call is not None:
            call.close()


async def external_media_plan(core: Core, req: ExternalMediaRequest) -> ExternalMediaPlan:
    """``externalMedia`` with ``encapsulation=audiosocket``: connect, then the channel."""
    tech = core.techs.get("audiosocket")
    if not isinstance(tech, AudioSocketTech):
        raise Unsupported()
    call_id = req.data or ""
    dest = req.external_host
    endpoint = f"AudioSocket/{dest}/{call_id}"
    parse_resource(f"{dest}/{call_id}")
    conn = await connect(dest)

    def request() -> Channel:
        try:
            return tech.create(core, dest, call_id, req.format, uniqueid=req.uniqueid, conn=conn)
        except BaseException:
            conn[1].close()
            raise

    return ExternalMediaPlan(endpoint, request)


__all__ = [
    "AudioSocketTech",
    "Parser",
    "audio_message",
    "dtmf_message",
    "encode_message",
    "external_media_plan",
    "uuid_message",
]
