"""UnicastRTP channels (Asterisk's chan_rtp): a call leg that is plain RTP to a host.

``/channels/externalMedia`` with ``encapsulation=rtp`` makes one:
``UnicastRTP/<host:port>-0x<n>``. What the channel hears (its bridge, a playback) goes
as RTP to ``external_host``; the RTP sent back to the channel's local port (from any
address) is what the channel says. The local address and port are in the channel
variables ``UNICASTRTP_LOCAL_ADDRESS`` and ``UNICASTRTP_LOCAL_PORT``. Formats: ``ulaw``
(payload type 0), ``alaw`` (8), ``slin16`` (L16/16000, network byte order, dynamic type
118 as Asterisk uses); ``direction`` ``in`` only receives, ``out`` only sends.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pyari.channels.external import (
    ExternalMediaPlan,
    ExternalMediaRequest,
    InvalidRequest,
    Unsupported,
)
from pyari.channels.rtp_media import RtpMedia, RtpStream
from pyari.core.channel import Channel
from pyari.core.tech import BadDialString, pvt_of, pvt_or_none
from pyari.media.frames import FORMATS, ULAW, MediaFormat
from pyari.media.service import media_of

if TYPE_CHECKING:
    from pyari.core.engine import Core
    from pyari.media.mixer import Stream

__all__ = ["PAYLOAD_TYPES", "UnicastRtpTech", "external_media_plan"]

PAYLOAD_TYPES = {"ulaw": 0, "alaw": 8, "slin16": 118, "slin": 10}
"""RTP payload types per format (slin: L16/8000 would be 11 in stereo; Asterisk maps
slin to a dynamic type; 10 is kept for mono L16 at 8 kHz)."""


@dataclass(eq=False)
class UnicastPvt:
    host: str
    port: int
    format: MediaFormat
    rtp: RtpStream
    direction: str = "both"


def _split_hostport(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    host = host.strip("[]")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise BadDialString()
    return host, int(port)


class UnicastRtpTech:
    name = "UnicastRTP"
    description = "Unicast RTP Media Channel Driver"

    def __init__(self, rtp: RtpMedia) -> None:
        self.rtp = rtp
        self._seq = itertools.count(1)

    def request(
        self, core: Core, resource: str, *, uniqueid: str | None, other_id: str | None
    ) -> Channel:
        """``host:port[/c(<format>)]``."""
        target, _, options = resource.partition("/")
        host, port = _split_hostport(target)
        fmt = ULAW
        if options.startswith("c(") and options.endswith(")"):
            found = FORMATS.get(options[2:-1])
            if found is None:
                raise BadDialString()
            fmt = found
        return self.create(core, host, port, fmt, uniqueid=uniqueid)

    def create(
        self,
        core: Core,
        host: str,
        port: int,
        fmt: MediaFormat,
        *,
        uniqueid: str | None = None,
        direction: str | None = None,
    ) -> Channel:
        from pyari.channels.pjsip import _local_host

        sending = direction or "both"

        def setup(_chan: Channel) -> UnicastPvt:
            """Open the RTP stream once the id is known to be free."""
            rtp = self.rtp.open(_local_host("0.0.0.0", host))
            pt = PAYLOAD_TYPES.get(fmt.name, 0)
            if not fmt.encoded:
                rtp.byteswap = True
            rtp.configure(
                (host, port),
                pt,
                dtmf_payload_type=None,
                rate=fmt.rate,
                bytes_per_sample=1 if fmt.encoded else 2,
                silence=(
                    b"\xff" if fmt.name == "ulaw" else b"\xd5" if fmt.name == "alaw" else b"\0\0"
                )
                * fmt.samples_per_frame,
            )
            rtp.send_enabled = sending in ("both", "out")
            rtp.receive_enabled = sending in ("both", "in")
            return UnicastPvt(host, port, fmt, rtp, sending)

        suffix = f"0x{secrets.token_hex(6)}"
        chan = core.new_channel(
            self,
            f"UnicastRTP/{host}:{port}-{suffix}",
            uniqueid=uniqueid,
            setup=setup,
            state="Down",
        )
        rtp = pvt_of(chan, UnicastPvt).rtp
        chan.set_var("UNICASTRTP_LOCAL_ADDRESS", rtp.address[0])
        chan.set_var("UNICASTRTP_LOCAL_PORT", str(rtp.address[1]))
        return chan

    def call(self, chan: Channel, timeout: float | None) -> None:
        """There is nobody to ring: the channel is up at once (chan_rtp answers)."""
        media = media_of(chan.core)
        if media is not None:
            media.channel_media(chan)
        chan.answer()

    def answered(self, chan: Channel) -> None:
        pass

    def media_format(self, chan: Channel) -> MediaFormat:
        pvt = pvt_of(chan, UnicastPvt)
        return pvt.format

    def media_output(self, chan: Channel, payload: bytes) -> None:
        pvt = pvt_of(chan, UnicastPvt)
        pvt.rtp.output(payload)

    def media_started(self, chan: Channel, stream: Stream) -> None:
        pvt = pvt_of(chan, UnicastPvt)
        pvt.rtp.attach(stream)

    def rtp_statistics(self, chan: Channel) -> dict[str, int | float | str] | None:
        pvt = pvt_or_none(chan, UnicastPvt)
        return pvt.rtp.statistics(chan.id) if pvt is not None else None

    def hangup(self, chan: Channel) -> None:
        pvt = pvt_or_none(chan, UnicastPvt)
        if pvt is not None:
            pvt.rtp.close()


async def external_media_plan(core: Core, req: ExternalMediaRequest) -> ExternalMediaPlan:
    """The plan of an ``externalMedia`` request with ``encapsulation=rtp``."""
    tech = core.techs.get("unicastrtp")
    if not isinstance(tech, UnicastRtpTech):
        raise Unsupported()
    try:
        host, port = _split_hostport(req.external_host)
    except BadDialString as exc:
        raise InvalidRequest(
            "external_host must be <host>:<port> for all transports other than websocket"
        ) from exc
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    except OSError as exc:
        raise InvalidRequest("Invalid endpoint specified") from exc
    host = str(infos[0][4][0])
    fmt = req.format
    if fmt.name not in PAYLOAD_TYPES:
        raise InvalidRequest(f"Provided format ({fmt.name}) was not found")

    def request() -> Channel:
        return tech.create(core, host, port, fmt, uniqueid=req.uniqueid, direction=req.direction)

    return ExternalMediaPlan(f"UnicastRTP/{req.external_host}/c({fmt.name})", request)
