"""RTP sockets joined to media-engine streams, on the one media clock.

:class:`RtpMedia` owns the process's RTP sockets. Each :class:`RtpStream` is one UDP
socket (RTP) plus its RTCP socket (port + 1, as Asterisk's ``rtp.conf`` pairs them),
a sans-IO :class:`~pyari.rtp.session.RtpSession` and, once media flows, the channel's
engine :class:`~pyari.media.mixer.Stream`:

Every media tick, :meth:`RtpMedia.tick` runs *before* the engine mixes, in three
passes over all streams:

1. **send**: each stream sends the frame the engine gave it (``on_output``) on the
   previous tick through ``send_frame`` (or nothing, keeping the RTP clock running;
   queued DTMF goes out meanwhile). Sending first keeps each stream's packets 20 ms
   apart however long the rest of the tick takes.
2. **receive**: the RTP sockets are not watched by the event loop (30,000 packets a
   second of reader callbacks would delay the tick); one ``epoll`` set with every RTP
   socket is polled without waiting and each ready socket is read, the kernel's
   receive timestamp (``SO_TIMESTAMPNS``) giving the arrival time for jitter
   statistics. Packets go to the session in this batch (jitter buffer, RFC 4733 events).
3. **pull**: each stream takes one frame out of its jitter buffer into the engine
   stream, which the engine mixes right after.

RTCP sockets (a report every few seconds) are in the same ``epoll`` set and read on
the tick too (at most one tick, 20 ms, late: nothing in RTCP is that urgent), not by
one event-loop reader each; an :class:`RtpMedia` without a media clock (tests, tools)
reads them from the event loop instead.

**Relay on arrival** (Asterisk's native RTP bridge): while the engine marks a stream's
engine stream as relayable (``Stream.relay_peer``: a two-party same-format bridge that
nothing else listens to, records, snoops or plays into) and both legs are plain RTP
(no secure transport, no payload codec), the stream's socket leaves the tick's batch
and joins a second ``epoll`` set that the event loop watches. A packet is then sent on
at once from the peer's socket, with the peer's SSRC, payload type and a sequence and
timestamp continuing the peer's own (offsets found again whenever something else sent
on the peer meanwhile, with the marker set); reception statistics are kept as on the
tick. The peer's clock sends stop (RTCP reports and DTMF it sends still go out on the
tick, audio is not relayed while a digit is sent); DTMF and RTCP received take the
session's usual path. When the engine clears the mark (a third party, a recording, a
snoop, a playback, a mute) the next tick puts the socket back in its batch and the
media clock carries the stream again: it is the one clock for everything that mixes,
records or plays. A leg relaying both ways has nothing to do on the tick but send a
digit or an RTCP report: it is left out of the tick (parked) until the engine's mark
changes, a relay on it or its peer starts or stops, or a digit is to be sent, and its
RTCP reports go out on a schedule at the first tick after they are due.

With the native relay (``pyari.rtp._relay``, decision 0029; ``PYARI_PURE_RELAY=1`` or
an install without a compiler keeps the Python relay above) the relaying socket goes
to a C thread instead of the second ``epoll`` set: it does the same per packet without
the GIL and hands anything else (DTMF, RTCP, unusual headers) to the event loop through
an ``eventfd``. Python stays the owner of the state: starting a relay pushes it into
the thread, stopping one takes it back, and statistics, RTCP reports and DTMF sent on
a fed leg read or pause the thread's copy first.

Two optional layers sit on a stream. A :class:`~pyari.media.rtp_codecs.PayloadCodec`
(``codec``: G.722, Opus) turns received payloads into slin16 for the engine stream and
the engine's slin16 into payloads. A :class:`~pyari.rtp.webrtc.SecureTransport`
(``secure``: ICE-lite, DTLS-SRTP) sees every datagram first (STUN and DTLS are answered
there, SRTP is unprotected) and protects every packet sent; with rtcp-mux, RTCP goes on
the RTP socket.

Used by the PJSIP channels and by UnicastRTP external media.
"""

from __future__ import annotations

import _socket
import array
import asyncio
import contextlib
import errno
import heapq
import itertools
import logging
import random
import select
import socket
import struct
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pyari.config.rtp import RtpSettings
from pyari.rtp import relay as native_relay
from pyari.rtp.dtmf import DtmfBegin, DtmfEnd
from pyari.rtp.jitter import JitterBuffer
from pyari.rtp.session import RemoteBye, RtpSession, _Source

if TYPE_CHECKING:
    from pyari.media.mixer import Stream
    from pyari.media.rtp_codecs import PayloadCodec
    from pyari.media.ticker import MediaClock
    from pyari.rtp._relay import Relay
    from pyari.rtp.webrtc import SecureTransport

log = logging.getLogger(__name__)

Address = tuple[str, int]
DtmfCallback = Callable[[str, int], None]

RTP_START = 10000
RTP_END = 20000
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35 if hasattr(select, "epoll") else None)
"""Linux's value; Python's socket module does not export it."""
_ANCILLARY = socket.CMSG_SPACE(16)
SOL_SOCKET = socket.SOL_SOCKET
_TIMESPEC = struct.Struct("qq")
_SEQ_TS_SSRC = struct.Struct("!HII")
_RTP_HEADER = struct.Struct("!BBHII")
MAX_READ_ROUNDS = 32
"""Per tick, at most this many packets are read from one socket (the rest next tick)."""
_NONBLOCK = getattr(socket, "SOCK_NONBLOCK", 0)
_DGRAM = socket.SOCK_DGRAM | _NONBLOCK
_SOCKET = _socket.socket
"""The C socket type that ``socket.socket`` wraps: its Python ``__init__`` and ``close``
(run for the two sockets of every call) add nothing to datagram sockets that are never
duplicated or made into files."""
"""A datagram socket made non-blocking by ``socket()`` (Linux), or a plain one."""
RELAY_RTCP_TICKS = 10
"""A stream fed by a relay checks whether its RTCP report is due every this many ticks."""
RCVBUF = 1 << 18
"""Receive buffer of an RTP socket read on the tick (bursts wait for the next tick)."""
RELAY_RCVBUF = 2048
"""Receive buffer of a relaying socket (Linux doubles it: four 20 ms datagrams wait at
most, 80 ms): when the server falls behind, packets are dropped instead of relayed late
(with 16 KiB, 600 calls on a loaded machine waited 190 ms at the median)."""


def _swap16(data: bytes) -> bytes:
    samples = array.array("H")
    samples.frombytes(data[: len(data) & ~1])
    samples.byteswap()
    return samples.tobytes()


def _conceal(codec: PayloadCodec, session: RtpSession) -> bytes:
    """Audio for a lost frame: from the next frame's in-band FEC when the codec has it
    and the next frame is buffered, else the codec's concealment."""
    recover = getattr(codec, "decode_fec", None)
    jitter = session.jitter
    following = jitter.frames.get(jitter.play_ts) if jitter.play_ts is not None else None
    if recover is not None and following is not None:
        recovered: bytes = recover(following)
        return recovered
    return codec.conceal()


class RtpStream:
    """One RTP/RTCP socket pair (see the module docstring)."""

    def __init__(
        self,
        owner: RtpMedia,
        rtp: _socket.socket,
        rtcp: _socket.socket | None,
        address: Address | None = None,
    ) -> None:
        self.owner = owner
        self.sock = rtp
        self.rtcp_sock = rtcp
        if address is None:
            host, port = rtp.getsockname()[:2]
            address = (host, port)
        self.address: Address = address
        self.session: RtpSession | None = None
        self.remote: Address | None = None
        self.rtcp_remote: Address | None = None
        self.stream: Stream | None = None
        self.pending: bytes | None = None
        self.on_dtmf: DtmfCallback | None = None
        self._send_enabled = True
        self._receive_enabled = True
        self.symmetric = False
        self.byteswap = False
        """Signed linear on the wire is big-endian (L16): swap to and from the engine's."""
        self.closed = False
        self.errors = 0
        self.codec: PayloadCodec | None = None
        """Converts payloads to and from the engine's slin16 (G.722, Opus); None for
        formats the engine converts itself."""
        self.secure: SecureTransport | None = None
        """ICE-lite and DTLS-SRTP on this socket (a WebRTC endpoint), None for plain RTP."""
        self.relay: RtpStream | None = None
        """What arrives here is sent on at once through this stream (see the module
        docstring); None: received on the tick."""
        self.fed_by: RtpStream | None = None
        """The stream relaying into this one: its clock sends no audio meanwhile."""
        self.relay_ready = True
        """The channel technology allows relaying to and from this stream (PJSIP: not to
        an inbound call before its answer or early media, which the engine's first
        frame would start)."""
        self._relay_ssrc = -1
        self._relay_seq = 0
        self._relay_ts = 0
        self._relay_next = -1
        self._native_gen = 0
        """Non-zero while the native relay carries what this stream receives."""
        self._native_src_gen = 0
        self._native_hold = False
        """A digit is being sent on this fed stream: the native relay into it is paused
        and this side owns the sending numbering meanwhile."""
        self._parked = False
        """Relaying both ways with nothing for the clock to do: left out of the tick
        (see :meth:`RtpMedia.tick`) until something changes or its RTCP report is due."""
        self._rtcp_token = 0

    @property
    def port(self) -> int:
        return self.address[1]

    @property
    def send_enabled(self) -> bool:
        return self._send_enabled

    @send_enabled.setter
    def send_enabled(self, value: bool) -> None:
        self._send_enabled = value
        feeder = self.fed_by
        if feeder is not None and feeder._native_gen:
            self.owner._native_pause(self)

    @property
    def receive_enabled(self) -> bool:
        return self._receive_enabled

    @receive_enabled.setter
    def receive_enabled(self, value: bool) -> None:
        self._receive_enabled = value
        if self._native_gen:  # back to the tick; the next one decides again
            self.owner._set_relay(self, None)

    def configure(
        self,
        remote: Address,
        payload_type: int,
        *,
        dtmf_payload_type: int | None = 101,
        rate: int = 8000,
        bytes_per_sample: int = 1,
        symmetric: bool = False,
        silence: bytes | None = None,
        codec: PayloadCodec | None = None,
    ) -> None:
        """Start (or update) the session towards ``remote``; ``codec`` converts the
        payloads (a codec of the same name as the current one keeps the current state)."""
        # a relay on arrival stops (its state comes back first) and starts again from
        # the next tick's checks
        if self.relay is not None:
            self.owner._set_relay(self, None)
        if self.fed_by is not None:
            self.owner._set_relay(self.fed_by, None)
        if codec is None or self.codec is None or codec.name != self.codec.name:
            self.codec = codec
        self.remote = remote
        self.rtcp_remote = (remote[0], remote[1] + 1)
        self.symmetric = symmetric
        session = self.session
        if session is None or session.payload_type != payload_type or session.rate != rate:
            samples = rate // 50
            jitter = JitterBuffer(
                samples_per_frame=samples,
                bytes_per_sample=bytes_per_sample,
                rate=rate,
                silence=silence,
            )
            self.session = RtpSession(
                payload_type,
                dtmf_payload_type=dtmf_payload_type,
                rate=rate,
                remote=remote,
                symmetric=symmetric,
                jitter=jitter,
                wall_offset=time.time() - self.owner.now(),
            )
        else:
            session.remote = remote
            session.dtmf_payload_type = dtmf_payload_type
            session.symmetric = symmetric

    def attach(self, stream: Stream | None) -> None:
        """The engine stream that plays what we receive (None: received audio is dropped)."""
        owner = self.owner
        engines = owner._by_engine
        old = self.stream
        if old is not None and old is not stream:
            # relays to and from the old engine stream stop; the next tick decides again
            if self.relay is not None:
                owner._set_relay(self, None)
            if self.fed_by is not None:
                owner._set_relay(self.fed_by, None)
            if old.relay_watch == self._relay_changed:
                old.relay_watch = None
        if old is not None and engines.get(id(old)) is self:
            del engines[id(old)]
        self.stream = stream
        if stream is not None:
            engines[id(stream)] = self
            stream.relay_watch = self._relay_changed
        owner._wake(self)

    def _relay_changed(self) -> None:
        """The engine changed the relay mark of our engine stream: the next tick looks."""
        self.owner._wake(self)

    def output(self, payload: bytes) -> None:
        """The engine's frame for the far end this tick (an ``on_output`` callback)."""
        self.pending = payload

    def send_dtmf(self, digit: str, duration_ms: int) -> bool:
        session = self.session
        if session is None or session.dtmf_payload_type is None:
            return False
        session.send_dtmf(digit, max(duration_ms, 40))
        self.owner._wake(self)  # the clock sends it
        return True

    # -------------------------------------------------------------- I/O

    def _rtcp_readable(self, now: float | None = None) -> None:
        """Read what waits on the RTCP socket (from the tick, or the loop's reader)."""
        sock = self.rtcp_sock
        if sock is None:
            return
        if now is None:
            now = self.owner.now()
        for _ in range(16):
            try:
                data, addr = sock.recvfrom(2048)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            session = self.session
            if session is not None:
                if self.symmetric:
                    self.rtcp_remote = (addr[0], addr[1])
                session.receive_rtcp(data, now)

    def _events(self, events: list[DtmfBegin | DtmfEnd | RemoteBye]) -> None:
        """What the session made of a datagram: digits go to ``on_dtmf``."""
        for event in events:
            if isinstance(event, DtmfEnd) and self.on_dtmf is not None:
                try:
                    self.on_dtmf(event.digit, event.duration_ms)
                except Exception:
                    log.exception("DTMF handler failed")

    def _send(self, sock: _socket.socket, data: bytes, dest: Address) -> None:
        try:
            sock.sendto(data, dest)
        except OSError as exc:
            self._send_failed(exc, dest)

    def send(self, now: float) -> None:
        """Send this packet time's frame (given by the engine on the previous tick)."""
        session = self.session
        if session is None:
            self.pending = None
            return
        payload = self.pending if self.send_enabled else None
        self.pending = None
        if payload is not None and self.byteswap:
            payload = _swap16(payload)
        codec = self.codec
        if codec is not None and payload is not None:
            payload = codec.encode(payload)
        if self.secure is not None:
            self._send_secure(self.secure, session, payload, now)
            return
        remote = session.remote or self.remote
        if remote is not None:
            sock = self.sock
            for packet in session.send_frame(payload, now):
                try:
                    sock.sendto(packet, remote)
                except OSError as exc:
                    self._send_failed(exc, remote)
            rtcp = self.rtcp_sock
            if rtcp is not None and self.rtcp_remote is not None and session.rtcp_due(now):
                if self._native_gen:  # its reception statistics are the relay thread's
                    self.owner._native_sync(self)
                self._send(rtcp, session.build_rtcp(now), self.rtcp_remote)

    def _send_secure(
        self, secure: SecureTransport, session: RtpSession, payload: bytes | None, now: float
    ) -> None:
        """Send through ICE/DTLS: nothing leaves before a path and keys exist (the RTP
        clock keeps running); RTCP is SRTCP on the RTP socket (rtcp-mux)."""
        sock = self.sock
        for data, dest in secure.poll(now):
            self._send(sock, data, dest)
        packets = session.send_frame(payload, now)
        remote = secure.remote
        if remote is None or not secure.ready:
            return
        for packet in packets:
            protected = secure.protect_rtp(packet)
            if protected is not None:
                self._send(sock, protected, remote)
        if session.rtcp_due(now):
            report = secure.protect_rtcp(session.build_rtcp(now))
            if report is not None:
                if secure.rtcp_mux or self.rtcp_sock is None:
                    self._send(sock, report, remote)
                else:
                    self._send(self.rtcp_sock, report, (remote[0], remote[1] + 1))

    def receive_secure(self, data: bytes, addr: Address, now: float) -> bytes | None:
        """A datagram through the secure transport: replies sent, plain RTP/RTCP back."""
        secure = self.secure
        if secure is None:
            return data
        plain, replies = secure.receive(data, addr, now)
        for reply, dest in replies:
            self._send(self.sock, reply, dest)
        return plain

    def _send_failed(self, exc: OSError, dest: Address) -> None:
        self.errors += 1
        if not isinstance(exc, BlockingIOError | InterruptedError) and exc.errno not in (
            errno.ECONNREFUSED,
            errno.EHOSTUNREACH,
            errno.ENETUNREACH,
        ):
            log.debug("RTP send to %s failed: %s", dest, exc)

    def pull(self, now: float) -> None:
        """Move one received frame from the jitter buffer into the engine stream."""
        session = self.session
        stream = self.stream
        if session is not None and stream is not None and self.receive_enabled:
            payload = session.pull_payload(now)
            if payload is not None:
                codec = self.codec
                if codec is None:
                    stream.push(_swap16(payload) if self.byteswap else payload)
                elif session.jitter.last_kind == "repeat":
                    # a lost packet: the codec's own concealment (Opus: PLC, or the
                    # next packet's in-band FEC when it is here) rather than a repeat
                    stream.push(_conceal(codec, session))
                else:
                    stream.push(codec.decode(payload))

    def tick(self, now: float) -> None:
        """Send, then pull (one stream alone; :meth:`RtpMedia.tick` batches all)."""
        self.send(now)
        self.pull(now)

    # -------------------------------------------------------------- relay on arrival

    def _fed_tick(self, now: float, rtcp_turn: bool) -> None:
        """The tick of a stream another one relays into: no audio from the clock; DTMF
        being sent and (on ``rtcp_turn``, every few ticks) RTCP reports still go out."""
        session = self.session
        self.pending = None
        if session is None:
            return
        if session._dtmf_current or session._dtmf_queue:
            feeder = self.fed_by
            if feeder is not None and feeder._native_gen and not self._native_hold:
                self.owner._native_hold(self, True)
            self.send(now)
            return
        if self._native_hold:
            self.owner._native_hold(self, False)
        if not rtcp_turn:
            return
        rtcp = self.rtcp_sock
        if rtcp is not None and self.rtcp_remote is not None and session.rtcp_due(now):
            self.owner._native_sync(self)
            self._send(rtcp, session.build_rtcp(now), self.rtcp_remote)

    def _relay_read(self, now: float) -> None:
        """One datagram arrived on a relaying stream: sent on through ``relay`` now."""
        try:
            data, addr = self.sock.recvfrom(2048)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self.errors += 1
            return
        session = self.session
        target = self.relay
        if session is None or target is None or not self.receive_enabled:
            return
        if len(addr) != 2:
            addr = (addr[0], addr[1])
        second = data[1] if len(data) >= 12 else 0
        src = session.source
        if data[0] != 0x80 or len(data) < 12 or (second & 0x7F) != session.payload_type:
            # DTMF, RTCP on the RTP port, unusual headers: the session's usual path
            self._relay_slow(session, data, now, addr)
            return
        seq, ts, ssrc = _SEQ_TS_SSRC.unpack_from(data, 2)
        if src is None or ssrc != src.ssrc:
            self._relay_slow(session, data, now, addr)  # a new source: its state is made
        else:
            # RtpSession.receive's statistics, inline (no jitter buffer: nothing plays it)
            delta = ((seq - src.max_seq + 0x8000) & 0xFFFF) - 0x8000
            if delta > 0:
                if seq < src.max_seq:
                    src.cycles += 1 << 16
                src.max_seq = seq
            src.received += 1
            session.rx_packets += 1
            session.rx_octets += len(data) - 12
            transit = now * session.rate - ts
            if src.transit is not None:
                d = abs(transit - src.transit)
                if d < session.rate * 10:
                    src.jitter += (d - src.jitter) / 16
            src.transit = transit
            if self.symmetric and session.remote != addr:
                session.remote = self.remote = addr
        out = target.session
        if (
            out is None
            or target.closed
            or not target.send_enabled
            or out._dtmf_current
            or out._dtmf_queue
        ):
            return
        if ssrc != self._relay_ssrc or self._relay_next != out.sequence:
            # a new source, or the peer sent something itself: continue its numbering
            self._relay_ssrc = ssrc
            self._relay_seq = (out.sequence - seq) & 0xFFFF
            self._relay_ts = (out.timestamp - ts) & 0xFFFFFFFF
            marker = 0x80
        else:
            marker = second & 0x80
        oseq = (seq + self._relay_seq) & 0xFFFF
        ots = (ts + self._relay_ts) & 0xFFFFFFFF
        if ((oseq - out.sequence + 0x8000) & 0xFFFF) - 0x8000 >= 0:
            out.sequence = (oseq + 1) & 0xFFFF
            out.timestamp = (ots + out.samples) & 0xFFFFFFFF
        self._relay_next = out.sequence
        out.tx_packets += 1
        out.tx_octets += len(data) - 12
        out._next_marker = False
        remote = out.remote or target.remote
        if remote is None:
            return
        packet = _RTP_HEADER.pack(0x80, marker | out.payload_type, oseq, ots, out.ssrc)
        try:
            target.sock.sendto(packet + data[12:], remote)
        except OSError as exc:
            target._send_failed(exc, remote)

    def _relay_slow(self, session: RtpSession, data: bytes, now: float, addr: Address) -> None:
        try:
            events = session.receive(data, now, addr)
            if self.symmetric:
                self.remote = session.remote
            if events:
                self._events(events)
        except Exception:
            log.exception("RTP receive failed")

    def statistics(self, channel_id: str) -> dict[str, int | float | str] | None:
        if self.session is None:
            return None
        self.owner._native_sync(self)
        return self.session.statistics(channel_id)

    def close(self) -> None:
        if self.closed:
            return
        self.owner._native_sync(self)  # the counters the BYE decision reads
        self.closed = True
        session = self.session
        secure = self.secure
        if secure is not None:
            remote = secure.remote
            if session is not None and remote is not None and secure.ready and session.tx_packets:
                bye = secure.protect_rtcp(session.build_bye())
                if bye is not None:
                    self._send(self.sock, bye, remote)
            for data, dest in secure.close():
                self._send(self.sock, data, dest)
        elif (
            session is not None
            and self.rtcp_sock is not None
            and self.rtcp_remote is not None
            and session.tx_packets
        ):
            self._send(self.rtcp_sock, session.build_bye(), self.rtcp_remote)
        self.owner._remove(self)


class RtpMedia:
    """The RTP sockets of the process, ticked by the media clock."""

    def __init__(
        self,
        clock: MediaClock | None = None,
        *,
        port_range: tuple[int, int] = (RTP_START, RTP_END),
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self.clock = clock
        self.port_range = port_range
        self.settings = RtpSettings(port_range=port_range)
        """rtp.conf: the port range and what ICE may advertise and answer."""
        self._loop = loop
        self.streams: dict[int, RtpStream] = {}
        self._by_fd: dict[int, RtpStream] = {}
        self._rtcp_by_fd: dict[int, RtpStream] = {}
        """RTCP socket → its stream, for the RTCP sockets read on the tick."""
        self._bound_hosts: dict[str, str] = {}
        """Host asked for → the host ``getsockname`` gave for it (asked once)."""
        self._epoll = hasattr(select, "epoll")
        self._poller = select.epoll() if self._epoll else select.poll()
        self._by_engine: dict[int, RtpStream] = {}
        """Engine stream (by id) → the RTP stream attached to it."""
        self._relay_poller: select.epoll | None = None
        """The sockets of relaying streams, watched by the event loop (made on first use)."""
        self.relay_enabled = hasattr(select, "epoll")
        """Relay on arrival allowed (see the module docstring)."""
        self.native_relay = native_relay.enabled()
        """Relay in the native thread when possible (decision 0029); False: in Python."""
        self._native: Relay | None = None
        self._ticked: dict[int, RtpStream] = {}
        """The streams the tick goes through: all but the parked ones."""
        self._rtcp_due: list[tuple[float, int, RtpStream]] = []
        """(when, token, stream): when the RTCP reports of parked streams are due."""
        self._tokens = itertools.count(1)
        self.wall_offset = time.time() - time.monotonic()
        if clock is not None:
            # before the engine: what it mixed on the previous tick leaves first, and
            # what arrived since then is in the engine streams before it mixes
            clock.add_handler(self.tick, first=True)

    def apply(self, settings: RtpSettings) -> None:
        """rtp.conf's settings (at start and reload; open streams keep their ports)."""
        self.settings = settings
        self.port_range = settings.port_range

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop

    def now(self) -> float:
        """Media time: the clock's (the loop's time unless a test injects its own)."""
        if self.clock is not None:
            return self.clock.now()
        return self.loop.time()

    def open(self, host: str = "127.0.0.1") -> RtpStream:
        """Bind an RTP socket on an even port of the range and RTCP on the next one.

        The sockets are made non-blocking by ``socket()`` itself (``SOCK_NONBLOCK``
        where there is one: no ``ioctl`` each) and the bound address is known without
        ``getsockname``."""
        low, high = self.port_range
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        kind = _DGRAM
        span = high - 1 - low
        pick = random.random
        for _ in range(64):
            port = (low + int(pick() * span)) & ~1  # randrange(low, high - 1), cheaper
            rtp = _SOCKET(family, kind)
            try:
                rtp.bind((host, port))
            except OSError:
                rtp.close()
                continue
            rtcp = _SOCKET(family, kind)
            try:
                rtcp.bind((host, port + 1))
            except OSError:
                rtp.close()
                rtcp.close()
                continue
            bound = self._bound_hosts.get(host)
            if bound is None:  # as getsockname names it (a name resolved, IPv6 folded)
                bound = self._bound_hosts[host] = rtp.getsockname()[0]
            return self._add(rtp, rtcp, (bound, port))
        # a crowded range: any port will do
        rtp = _SOCKET(family, kind)
        rtp.bind((host, 0))
        return self._add(rtp, None)

    def _add(
        self, rtp: _socket.socket, rtcp: _socket.socket | None, address: Address | None = None
    ) -> RtpStream:
        if not _NONBLOCK:
            rtp.setblocking(False)
        # try/except, not contextlib.suppress: no context manager objects per call
        try:  # noqa: SIM105
            rtp.setsockopt(SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
        except OSError:
            pass
        if SO_TIMESTAMPNS is not None:
            try:  # noqa: SIM105
                rtp.setsockopt(SOL_SOCKET, SO_TIMESTAMPNS, 1)
            except OSError:
                pass
        stream = RtpStream(self, rtp, rtcp, address)
        fd = rtp.fileno()
        self._by_fd[fd] = stream
        self._ticked[id(stream)] = stream
        poller = self._poller
        poller.register(fd, select.POLLIN)
        if rtcp is not None:
            if not _NONBLOCK:
                rtcp.setblocking(False)
            if self.clock is not None:  # read on the tick (see the module docstring)
                rtcp_fd = rtcp.fileno()
                self._rtcp_by_fd[rtcp_fd] = stream
                poller.register(rtcp_fd, select.POLLIN)
            else:
                self.loop.add_reader(rtcp.fileno(), stream._rtcp_readable)
        self.streams[id(stream)] = stream
        return stream

    def _remove(self, stream: RtpStream) -> None:
        key = id(stream)
        self.streams.pop(key, None)
        if stream.relay is not None or stream.fed_by is not None:
            self._set_relay(stream, None)
            if stream.fed_by is not None:
                self._set_relay(stream.fed_by, None)
        self._ticked.pop(key, None)
        stream._parked = False
        engine = stream.stream
        if engine is not None:
            engine_key = id(engine)
            if self._by_engine.get(engine_key) is stream:
                del self._by_engine[engine_key]
            if engine.relay_watch == stream._relay_changed:
                engine.relay_watch = None
        fd = stream.sock.fileno()
        # closing a socket takes it out of an epoll set (nothing dups these sockets):
        # only poll() needs to be told
        unregister = not self._epoll
        if fd >= 0 and self._by_fd.get(fd) is stream:
            del self._by_fd[fd]
            if unregister:
                with contextlib.suppress(OSError, ValueError, KeyError):
                    self._poller.unregister(fd)
        stream.sock.close()
        rtcp = stream.rtcp_sock
        if rtcp is not None:
            rtcp_fd = rtcp.fileno()
            if self._rtcp_by_fd.get(rtcp_fd) is stream:
                del self._rtcp_by_fd[rtcp_fd]
                if unregister:
                    with contextlib.suppress(OSError, ValueError, KeyError):
                        self._poller.unregister(rtcp_fd)
            elif rtcp_fd >= 0:
                with contextlib.suppress(Exception):
                    self.loop.remove_reader(rtcp_fd)
            rtcp.close()

    def tick(self, number: int = 0) -> None:
        """Send every stream's frame, then read what arrived, then fill the engine
        (streams relaying on arrival switch in or out of it first).

        A stream relaying both ways (its packets to the peer, the peer's to it) has
        nothing to do on most ticks: after one quiet tick it is *parked*, left out of
        the tick until something wakes it (the engine changing its mark, a relay
        starting or stopping on it or its peer, a digit to send, a new engine stream)
        or its RTCP report is due (a schedule, not a scan)."""
        now = self.now()
        due = self._rtcp_due
        if due and due[0][0] <= now:
            self._parked_rtcp(now)
        streams = list(self._ticked.values())
        rtcp_turn = number % RELAY_RTCP_TICKS == 0
        for stream in streams:
            try:
                engine = stream.stream
                peer_engine = engine.relay_peer if engine is not None else None
                relay = stream.relay
                if relay is not None:
                    if peer_engine is None or relay.stream is not peer_engine or relay.closed:
                        target = self._relay_target(stream) if peer_engine else None
                        self._set_relay(stream, target)
                elif peer_engine is not None:
                    target = self._relay_target(stream)
                    if target is not None:
                        self._set_relay(stream, target)
                if stream.fed_by is not None:
                    session = stream.session
                    if (
                        rtcp_turn
                        or session is None
                        or session._dtmf_current
                        or session._dtmf_queue
                        or stream._native_hold
                    ):
                        stream._fed_tick(now, rtcp_turn)
                    else:  # _fed_tick's usual case, inline (every relayed leg, every tick)
                        stream.pending = None
                        if stream.relay is not None:
                            self._park(stream, session, now)
                else:
                    stream.send(now)
            except Exception:
                log.exception("RTP send failed")
        self.receive(now)
        for stream in streams:
            if stream.relay is not None:
                continue
            try:
                stream.pull(now)
            except Exception:
                log.exception("RTP stream tick failed")

    # -------------------------------------------------------------- parked streams

    def _park(self, stream: RtpStream, session: RtpSession, now: float) -> None:
        """Leave ``stream`` (relaying both ways, nothing to send) out of the tick; its
        RTCP report goes on the schedule."""
        del self._ticked[id(stream)]
        stream._parked = True
        if stream.rtcp_sock is not None and stream.rtcp_remote is not None:
            session.rtcp_due(now)  # sets the first report's time when there was none
            when = session._next_rtcp
            if when is not None:
                token = stream._rtcp_token = next(self._tokens)
                heapq.heappush(self._rtcp_due, (when, token, stream))

    def _wake(self, stream: RtpStream) -> None:
        """``stream`` goes through the tick again from the next one."""
        if stream._parked:
            stream._parked = False
            stream._rtcp_token = 0
            if id(stream) in self.streams:
                self._ticked[id(stream)] = stream

    def _parked_rtcp(self, now: float) -> None:
        """The RTCP reports due of parked streams (what ``_fed_tick`` does on its RTCP
        turn), each at the first tick after its time."""
        due = self._rtcp_due
        while due and due[0][0] <= now:
            _when, token, stream = heapq.heappop(due)
            if not stream._parked or stream._rtcp_token != token:
                continue  # woken since (the tick checks its reports) or closed
            session = stream.session
            rtcp = stream.rtcp_sock
            if session is None or rtcp is None or stream.rtcp_remote is None:
                continue
            try:
                if session.rtcp_due(now):
                    self._native_sync(stream)
                    stream._send(rtcp, session.build_rtcp(now), stream.rtcp_remote)
            except Exception:
                log.exception("RTCP report failed")
            when = session._next_rtcp
            if when is not None:  # (never now again: a failed report waits a tick)
                heapq.heappush(due, (max(when, now + 0.001), token, stream))

    # -------------------------------------------------------------- relay on arrival

    def _relay_target(self, stream: RtpStream) -> RtpStream | None:
        """The stream ``stream``'s packets may be relayed into, or None."""
        engine = stream.stream
        peer_engine = engine.relay_peer if engine is not None else None
        if peer_engine is None or not self.relay_enabled:
            return None
        peer = self._by_engine.get(id(peer_engine))
        if (
            peer is None
            or peer is stream
            or peer.closed
            or stream.closed
            or not (stream.relay_ready and peer.relay_ready)
        ):
            return None
        a, b = stream.session, peer.session
        if (
            a is None
            or b is None
            or a.rate != b.rate
            or stream.secure is not None
            or peer.secure is not None
            or stream.codec is not None
            or peer.codec is not None
            or stream.byteswap != peer.byteswap
        ):
            return None
        return peer

    def _set_relay(self, stream: RtpStream, target: RtpStream | None) -> None:
        """Start (``target``) or stop (None) relaying what ``stream`` receives."""
        old = stream.relay
        if old is target:
            return
        for woken in (stream, old, target):
            if woken is not None:
                self._wake(woken)
        engine = stream.stream
        if engine is not None:
            engine.relaying = target is not None
        if stream._native_gen:
            self._native_stop(stream)
        if old is not None and old.fed_by is stream:
            old.fed_by = None
            if old.session is not None:
                old.session._next_marker = True  # the clock takes over: a new talkspurt
        stream.relay = target
        stream._relay_next = -1
        fd = stream.sock.fileno()
        if fd < 0:
            return
        with contextlib.suppress(OSError):
            size = RCVBUF if target is None else RELAY_RCVBUF
            stream.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)
        if target is None:
            if self._relay_poller is not None:
                with contextlib.suppress(OSError, ValueError, KeyError):
                    self._relay_poller.unregister(fd)
            if self._by_fd.get(fd) is stream:
                with contextlib.suppress(OSError, ValueError, KeyError):
                    self._poller.register(fd, select.POLLIN)
            if stream.session is not None:
                stream.session.jitter.reset()  # stale since the relay began
            return
        target.fed_by = stream
        if self.native_relay and self._native_start(stream, target):
            with contextlib.suppress(OSError, ValueError, KeyError):
                self._poller.unregister(fd)
            return
        poller = self._relay_poller
        if poller is None:
            poller = self._relay_poller = select.epoll()
            self.loop.add_reader(poller.fileno(), self._relay_ready)
        with contextlib.suppress(OSError, ValueError, KeyError):
            self._poller.unregister(fd)
        with contextlib.suppress(OSError, ValueError, KeyError):
            poller.register(fd, select.EPOLLIN)

    def _relay_ready(self) -> None:
        """The event loop saw a relaying socket readable: one datagram from each."""
        poller = self._relay_poller
        if poller is None:
            return
        ready = poller.poll(0)
        if not ready:
            return
        now = self.now()
        by_fd = self._by_fd
        for fd, _events in ready:
            stream = by_fd.get(fd)
            if stream is None or stream.relay is None:
                with contextlib.suppress(OSError, ValueError, KeyError):
                    poller.unregister(fd)
                continue
            try:
                stream._relay_read(now)
            except Exception:
                log.exception("RTP relay failed")

    # -------------------------------------------------------------- native relay

    def _native_relay(self) -> Relay:
        relay = self._native
        if relay is None:
            relay = self._native = native_relay.make_relay()
            self.loop.add_reader(relay.wakeup_fd, self._native_ready)
        return relay

    def _native_start(self, stream: RtpStream, target: RtpStream) -> bool:
        """Hand ``stream``'s relay into ``target`` to the native thread (False: it
        stays in Python, e.g. a remote that is not a numeric address)."""
        session, out = stream.session, target.session
        if session is None or out is None or not stream.receive_enabled:
            return False
        try:
            relay = self._native_relay()
        except (RuntimeError, OSError):
            self.native_relay = False
            return False
        src = session.source
        stream._native_src_gen = 0
        state: dict[str, object] = {
            "offset": self.now() - time.monotonic(),
            "pt": session.payload_type,
            "rate": float(session.rate),
            "symmetric": stream.symmetric,
            "remote": session.remote,
            "rx_packets": session.rx_packets,
            "rx_octets": session.rx_octets,
            "relay_ssrc": stream._relay_ssrc,
            "relay_seq": stream._relay_seq,
            "relay_ts": stream._relay_ts,
            "relay_next": stream._relay_next,
            "dest": out.remote or target.remote,
        }
        if src is not None:
            state.update(self._source_state(src))
        state.update(self._out_state(out))
        state["paused"] = self._paused(target)
        try:
            stream._native_gen = relay.add(stream.sock.fileno(), target.sock.fileno(), **state)
        except (ValueError, OSError, TypeError) as exc:
            log.debug("RTP relay stays in Python: %s", exc)
            return False
        return True

    @staticmethod
    def _source_state(src: _Source) -> dict[str, object]:
        return {
            "have_src": True,
            "src_ssrc": src.ssrc,
            "base_seq": src.base_seq,
            "max_seq": src.max_seq,
            "cycles": src.cycles,
            "received": src.received,
            "have_transit": src.transit is not None,
            "transit": src.transit if src.transit is not None else 0.0,
            "jitter": src.jitter,
        }

    @staticmethod
    def _out_state(out: RtpSession) -> dict[str, object]:
        return {
            "out_ssrc": out.ssrc,
            "out_pt": out.payload_type,
            "out_seq": out.sequence,
            "out_ts": out.timestamp,
            "samples": out.samples,
            "tx_packets": out.tx_packets,
            "tx_octets": out.tx_octets,
            "next_marker": out._next_marker,
        }

    @staticmethod
    def _paused(target: RtpStream) -> bool:
        return target._native_hold or target.closed or not target.send_enabled

    @staticmethod
    def _apply_in(stream: RtpStream, state: dict[str, Any]) -> None:
        """The thread's reception state of ``stream`` into its session."""
        session = stream.session
        if session is None:
            return
        session.rx_packets = int(state["rx_packets"])
        session.rx_octets = int(state["rx_octets"])
        if state["have_src"]:
            gen = int(state["src_gen"])
            src = session.source
            if src is None or gen != stream._native_src_gen:
                src = session.source = _Source(int(state["src_ssrc"]), int(state["base_seq"]))
                stream._native_src_gen = gen
            src.ssrc = int(state["src_ssrc"])
            src.base_seq = int(state["base_seq"])
            src.max_seq = int(state["max_seq"])
            src.cycles = int(state["cycles"])
            src.received = int(state["received"])
            src.transit = float(state["transit"]) if state["have_transit"] else None
            src.jitter = float(state["jitter"])
        remote = state["remote"]
        if stream.symmetric and isinstance(remote, tuple) and remote != session.remote:
            session.remote = stream.remote = (str(remote[0]), int(remote[1]))

    @staticmethod
    def _apply_out(stream: RtpStream, target: RtpStream, state: dict[str, Any]) -> None:
        """The thread's sending state of ``stream``'s relay into ``target``'s session."""
        stream._relay_ssrc = int(state["relay_ssrc"])
        stream._relay_seq = int(state["relay_seq"])
        stream._relay_ts = int(state["relay_ts"])
        stream._relay_next = int(state["relay_next"])
        out = target.session
        if out is None or target._native_hold:  # Python numbers the digit's packets
            return
        out.sequence = int(state["out_seq"])
        out.timestamp = int(state["out_ts"])
        out.tx_packets = int(state["tx_packets"])
        out.tx_octets = int(state["tx_octets"])
        out._next_marker = bool(state["next_marker"])

    def _native_stop(self, stream: RtpStream) -> None:
        """Take ``stream``'s relay back from the thread (which never touches its
        socket again), its state into the sessions."""
        relay = self._native
        stream._native_gen = 0
        if relay is None:
            return
        state = relay.remove(stream.sock.fileno())
        target = stream.relay
        if state is None:
            return
        self._apply_in(stream, state)
        if target is not None:
            self._apply_out(stream, target, state)
            target._native_hold = False

    def _native_sync(self, stream: RtpStream) -> None:
        """Bring ``stream``'s session up to date with the thread (what it received,
        what was relayed into it) before statistics or an RTCP report."""
        relay = self._native
        feeder = stream.fed_by
        if relay is None or not (stream._native_gen or (feeder and feeder._native_gen)):
            return
        relay.lock()
        try:
            if stream._native_gen:
                state = relay.get(stream.sock.fileno())
                if state is not None:
                    self._apply_in(stream, state)
            if feeder is not None and feeder._native_gen:
                state = relay.get(feeder.sock.fileno())
                if state is not None:
                    self._apply_out(feeder, stream, state)
        finally:
            relay.unlock()

    def _native_hold(self, target: RtpStream, hold: bool) -> None:
        """Pause (a digit goes out on ``target``) or resume the native relay into it."""
        relay = self._native
        feeder = target.fed_by
        if relay is None or feeder is None or not feeder._native_gen:
            target._native_hold = False
            return
        fd = feeder.sock.fileno()
        out = target.session
        relay.lock()
        try:
            if hold:
                state = relay.get(fd)
                if state is not None:
                    self._apply_out(feeder, target, state)
                target._native_hold = True
                relay.set(fd, paused=True)
            else:
                target._native_hold = False
                fields = self._out_state(out) if out is not None else {}
                relay.set(fd, paused=self._paused(target), **fields)
        finally:
            relay.unlock()

    def _native_pause(self, target: RtpStream) -> None:
        relay = self._native
        feeder = target.fed_by
        if relay is not None and feeder is not None and feeder._native_gen:
            relay.set(feeder.sock.fileno(), paused=self._paused(target))

    def _native_ready(self) -> None:
        """Datagrams the thread handed over (DTMF, RTCP, unusual headers): the
        session's usual path, against the thread's current reception state."""
        relay = self._native
        if relay is None:
            return
        by_fd = self._by_fd
        for fd, gen, data, addr, arrival in relay.drain():
            stream = by_fd.get(fd)
            if stream is None or stream._native_gen != gen or addr is None:
                continue
            session = stream.session
            if session is None:
                continue
            events: list[DtmfBegin | DtmfEnd | RemoteBye] = []
            relay.lock()
            try:
                state = relay.get(fd)
                if state is None:
                    continue
                self._apply_in(stream, state)
                try:
                    events = session.receive(data, arrival, addr)
                except Exception:
                    log.exception("RTP receive failed")
                if stream.symmetric:
                    stream.remote = session.remote
                fields: dict[str, object] = {
                    "rx_packets": session.rx_packets,
                    "rx_octets": session.rx_octets,
                    "remote": session.remote,
                }
                src = session.source
                if src is not None:
                    fields.update(self._source_state(src))
                    fields["src_gen"] = stream._native_src_gen
                try:
                    relay.set(fd, **fields)
                except (ValueError, TypeError):
                    fields.pop("remote")
                    relay.set(fd, **fields)
            finally:
                relay.unlock()
            if events:
                stream._events(events)

    def sync_relay(self, stream: RtpStream) -> None:
        """Bring ``stream``'s session up to date with the native relay (statistics,
        RTCP and ``close`` do it themselves; for tests and tools reading the session)."""
        self._native_sync(stream)

    def relay_counters(self) -> dict[str, int]:
        """The native relay's counters (relayed, handed to Python, dropped, queued);
        empty without it."""
        return self._native.counters() if self._native is not None else {}

    def receive(self, now: float | None = None) -> int:
        """Read every datagram waiting on the RTP sockets (one per ready socket a round,
        at most :data:`MAX_READ_ROUNDS` rounds); returns how many were read."""
        if now is None:
            now = self.now()
        wall_offset = time.time() - now
        self.wall_offset = wall_offset
        by_fd = self._by_fd
        poll = self._poller.poll
        unpack = _TIMESPEC.unpack_from
        count = 0
        for _ in range(MAX_READ_ROUNDS):
            ready = poll(0)
            if not ready:
                break
            for fd, _events in ready:
                stream = by_fd.get(fd)
                if stream is None:
                    stream = self._rtcp_by_fd.get(fd)
                    if stream is not None:
                        try:
                            stream._rtcp_readable(now)
                        except Exception:
                            log.exception("RTCP receive failed")
                    continue
                # RtpStream._read, inline (30,000 packets a second at 300 calls)
                try:
                    data, ancillary, _flags, addr = stream.sock.recvmsg(2048, _ANCILLARY)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    stream.errors += 1
                    continue
                count += 1
                if stream.secure is not None:
                    if len(addr) != 2:
                        addr = (addr[0], addr[1])
                    plain = stream.receive_secure(data, addr, now)
                    if plain is None:
                        continue
                    data = plain
                session = stream.session
                if session is None or not stream.receive_enabled:
                    continue
                arrival = now
                for level, kind, value in ancillary:
                    if kind == SO_TIMESTAMPNS and level == SOL_SOCKET and len(value) >= 16:
                        sec, nsec = unpack(value)
                        stamp = sec + nsec * 1e-9 - wall_offset
                        if stamp < now:
                            arrival = stamp
                if len(addr) != 2:
                    addr = (addr[0], addr[1])  # IPv6: (host, port, flowinfo, scope)
                try:
                    events = session.receive(data, arrival, addr)
                    if stream.symmetric:
                        stream.remote = session.remote
                    if events:
                        stream._events(events)
                except Exception:
                    log.exception("RTP receive failed")
        return count

    def close(self) -> None:
        for stream in list(self.streams.values()):
            stream.close()
        if self.clock is not None:
            self.clock.remove_handler(self.tick)
        poller = self._relay_poller
        if poller is not None:
            self._relay_poller = None
            with contextlib.suppress(Exception):
                self.loop.remove_reader(poller.fileno())
            poller.close()
        native = self._native
        if native is not None:
            self._native = None
            with contextlib.suppress(Exception):
                self.loop.remove_reader(native.wakeup_fd)
            native.close()
