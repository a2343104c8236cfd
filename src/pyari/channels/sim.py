"""Simulated phones: ``Sim/<name>`` channels for tests and demos.

A :class:`SimPhone` behaves like a simple handset: called, it rings and
answers after ``answer_after`` seconds (or never, or is busy); it can place
calls into the dialplan, and hang up on command.

It also carries audio (through the server's media engine): :meth:`SimPhone.play`
speaks a sound (``sound:tt-monkeys``, any media URI, a file path or int16
samples at 8 kHz) into its microphone, :meth:`SimPhone.heard` returns what it
has heard so far (int16, 8 kHz) and :meth:`SimPhone.record_to` writes what it
hears to a WAV file. A phone listens from the moment one of these is used, or
from the start of each call with ``listen=True``. With ``dtmf_mode="inband"``
its digits are tones in the audio, which pyari detects.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pyari.core import causes
from pyari.core.channel import Channel
from pyari.core.endpoint import Endpoint, Refer, TextMessage
from pyari.core.engine import Core
from pyari.core.tech import BadDialString, pvt_of
from pyari.media.frames import FORMATS, MediaFormat
from pyari.media.service import MediaService, media_of, payload_pcm

# numpy and the media engine load when a phone first speaks or listens.
if TYPE_CHECKING:
    from pyari.media.frames import Samples
    from pyari.media.mixer import Stream
    from pyari.media.recorder import Recorder


@dataclass
class SimPhone:
    """A simulated phone and how it behaves."""

    name: str
    answer_after: float | None = 0.0
    """Seconds of ringing before it answers; None never answers."""
    busy: bool = False
    context: str = "default"
    """Where its outgoing calls start in the dialplan."""
    channels: list[Channel] = field(default_factory=list)
    tech: SimTech | None = None
    messages: list[TextMessage] = field(default_factory=list)
    """Out-of-call messages this phone received."""
    refers: list[Refer] = field(default_factory=list)
    """Out-of-call REFERs this phone received."""
    endpoint: Endpoint | None = None
    """Its endpoint ``Sim/<name>`` (online while the phone exists)."""
    received_dtmf: list[str] = field(default_factory=list)
    """Digits sent to this phone (e.g. by ARI ``sendDTMF``), in order."""
    indications: list[str] = field(default_factory=list)
    """Indications signalled to this phone: ringing, progress, hold, unhold ..."""
    codec: str = "ulaw"
    """The phone's audio format: ulaw, alaw, slin or slin16."""
    dtmf_mode: str = "rfc4733"
    """``rfc4733``: digits out of band; ``inband``: digits as tones in the audio."""
    listen: bool = False
    """Start listening (keep what it hears) as each call starts."""
    heard_limit_seconds: float = 120.0
    """Most audio kept by :meth:`heard` per call (the oldest is dropped)."""
    _heard: dict[str, list[Samples]] = field(default_factory=dict, repr=False)
    _heard_samples: dict[str, int] = field(default_factory=dict, repr=False)
    _recorders: dict[str, list[Recorder]] = field(default_factory=dict, repr=False)

    # -- audio ------------------------------------------------------------------

    def _channel(self, chan: Channel | None) -> Channel:
        if chan is not None:
            return chan
        live = [c for c in self.channels if not c.destroyed]
        if not live:
            raise RuntimeError(f"phone {self.name} has no call")
        return live[-1]

    def _media(self) -> MediaService:
        core = self.tech.core if self.tech is not None else None
        media = media_of(core) if core is not None else None
        if media is None:
            raise RuntimeError("phone is not registered with a running core with media")
        return media

    def start_listening(self, chan: Channel | None = None) -> None:
        """Keep what the call hears from now on (see :meth:`heard`)."""
        self._media().channel_media(self._channel(chan))

    def play(
        self, media: str | os.PathLike[str] | Samples, chan: Channel | None = None
    ) -> asyncio.Future[None]:
        """Say ``media`` into the call; the future completes once it was all sent."""
        target = self._channel(chan)
        service = self._media()
        service.channel_media(target)
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()

        async def run() -> None:
            import numpy as np

            if isinstance(media, np.ndarray):
                samples = media.astype(np.int16, copy=False)
            else:
                samples = await service.library.resolve_samples(media, target.language)
            if target.destroyed:
                return
            await service.feed(target, samples).done

        def finished(task: asyncio.Future[None]) -> None:
            if done.done():
                return
            if task.cancelled():
                done.cancel()
            elif task.exception() is not None:
                done.set_exception(task.exception())  # type: ignore[arg-type]
            else:
                done.set_result(None)

        asyncio.ensure_future(run()).add_done_callback(finished)
        return done

    def send_dtmf(
        self,
        digits: str,
        chan: Channel | None = None,
        *,
        duration_ms: int = 100,
        between_ms: int = 100,
    ) -> Awaitable[None]:
        """Press keys: tones in the audio (``inband``) or digits out of band."""
        target = self._channel(chan)
        if self.dtmf_mode == "inband":
            from pyari.media.dtmf import dtmf_sequence

            return self.play(
                dtmf_sequence(digits, duration_ms=duration_ms, between_ms=between_ms), target
            )
        for digit in digits:
            target.dtmf_received(digit.upper(), duration_ms)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    def heard(self, chan: Channel | None = None) -> Samples:
        """What the call heard so far (int16 at 8 kHz; the last call by default)."""
        if chan is None:
            ids = [c.id for c in self.channels] or list(self._heard)
            key = ids[-1] if ids else ""
        else:
            key = chan.id
        import numpy as np

        parts = self._heard.get(key, [])
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int16)

    def record_to(self, path: str | os.PathLike[str], chan: Channel | None = None) -> Recorder:
        """Write what the call hears to a WAV file until it ends (or ``.stop()``)."""
        from pyari.media.recorder import Recorder

        target = self._channel(chan)
        service = self._media()
        stream = service.stream(target)
        recorder = Recorder(
            f"sim-{self.name}", Path(path), "wav", disk=service.disk, rate=service.engine.rate
        )
        recorder.start()
        stream.taps_out.append(recorder.feed)
        self._recorders.setdefault(target.id, []).append(recorder)
        return recorder

    def _hear(self, chan: Channel, samples: Samples) -> None:
        parts = self._heard.setdefault(chan.id, [])
        parts.append(samples)
        total = self._heard_samples.get(chan.id, 0) + len(samples)
        limit = int(self.heard_limit_seconds * 8000)
        while total > limit and parts:
            total -= len(parts.pop(0))
        self._heard_samples[chan.id] = total

    def call(self, exten: str, context: str | None = None) -> Channel:
        """Place a call from this phone to ``exten`` in the dialplan."""
        if self.tech is None or self.tech.core is None:
            raise RuntimeError("phone is not registered with a running core")
        return self.tech.originate_from(self, exten, context or self.context)

    def hangup(self, cause: int = causes.NORMAL_CLEARING) -> None:
        """Hang up every call of this phone."""
        for chan in list(self.channels):
            chan.queue_hangup(cause)

    def set_online(self, online: bool) -> None:
        """Take the phone's endpoint online or offline (EndpointStateChange)."""
        if self.endpoint is not None:
            self.endpoint.set_state("online" if online else "offline")

    def send_message(
        self, body: str, to: str = "sim:pyari", variables: dict[str, str] | None = None
    ) -> None:
        """Send an out-of-call message: TextMessageReceived for the apps following it."""
        if self.endpoint is None:
            raise RuntimeError("phone is not registered with a running core")
        self.endpoint.text_message_received(
            TextMessage(to=to, sender=f"sim:{self.name}", body=body, variables=variables or {})
        )


SimObserver = Callable[[SimPhone, Channel, bool], None]
"""Told of each new Sim channel: its phone, the channel, and whether the phone placed it."""


class SimTech:
    name = "Sim"
    description = "Simulated phones for testing"

    def __init__(self, core: Core | None = None) -> None:
        """``core``: where the phones' own calls go (:meth:`originate_from`) and their
        messages come from; without it, the first channel requested sets it."""
        self._seq = itertools.count(1)
        self.phones: dict[str, SimPhone] = {}
        self._core: Core | None = None
        self.observers: list[SimObserver] = []
        """Called for every new channel of any phone (``pyari.testing`` keeps a
        phone's calls after they end this way; a phone itself forgets them)."""
        self.core = core

    @property
    def core(self) -> Core | None:
        return self._core

    @core.setter
    def core(self, core: Core | None) -> None:
        if core is self._core:
            return
        self._core = core
        if core is not None:
            core.endpoints.register_message_tech("sim", self._deliver_message)
            core.endpoints.register_refer_tech("sim", self._deliver_refer)
            for phone in self.phones.values():
                self._attach(phone)

    def _attach(self, phone: SimPhone) -> None:
        if self._core is not None:
            phone.endpoint = self._core.endpoints.create(self.name, phone.name, "online")

    def _phone_of(self, uri: str) -> SimPhone | None:
        """The phone of a ``sim:<name>`` URI (``@host`` or ``/...`` ignored)."""
        name = uri.partition(":")[2].split("@", 1)[0].split("/", 1)[0]
        return self.phones.get(name)

    def _deliver_message(self, message: TextMessage) -> bool:
        phone = self._phone_of(message.to)
        if phone is None:
            return False
        phone.messages.append(message)
        return True

    def _deliver_refer(self, refer: Refer) -> bool:
        phone = self._phone_of(refer.to)
        if phone is None or not refer.sender or not refer.refer_to:
            return False
        phone.refers.append(refer)
        return True

    def phone(self, name: str, **behaviour: object) -> SimPhone:
        """The phone called ``name``, created on first use."""
        phone = self.phones.get(name)
        if phone is None:
            phone = self.phones[name] = SimPhone(name, tech=self)
            self._attach(phone)
        for key, value in behaviour.items():
            if not hasattr(phone, key):
                raise TypeError(f"SimPhone has no setting {key!r}")
            setattr(phone, key, value)
        return phone

    def _new_channel(
        self, core: Core, phone: SimPhone, uniqueid: str | None, state: str, placed: bool
    ) -> Channel:
        def setup(chan: Channel) -> SimPhone:
            phone.channels.append(chan)
            if phone.endpoint is None:
                self._attach(phone)
            if phone.endpoint is not None:
                phone.endpoint.add_channel(chan)
            return phone

        chan = core.new_channel(
            self,
            f"Sim/{phone.name}-{next(self._seq):08x}",
            uniqueid=uniqueid,
            setup=setup,
            state=state,
        )
        media = media_of(core)
        if phone.listen and media is not None:
            media.channel_media(chan)
        for observer in list(self.observers):
            observer(phone, chan, placed)
        return chan

    def request(
        self, core: Core, resource: str, *, uniqueid: str | None, other_id: str | None
    ) -> Channel:
        self.core = core
        name = resource.partition("/")[0]
        if not name:
            raise BadDialString()
        phone = self.phone(name)
        return self._new_channel(core, phone, uniqueid, "Down", placed=False)

    def originate_from(self, phone: SimPhone, exten: str, context: str) -> Channel:
        assert self.core is not None
        chan = self._new_channel(self.core, phone, None, "Ring", placed=True)
        chan.set_caller(phone.name, phone.name)
        chan.set_location(context, exten, 1)
        self.core.start_pbx(chan)
        return chan

    def call(self, chan: Channel, timeout: float | None) -> None:
        phone = pvt_of(chan, SimPhone)
        if phone.busy:
            chan.core.loop_call_soon(lambda: chan.queue_hangup(causes.USER_BUSY))
            return
        chan.set_state("Ringing")
        if phone.answer_after is None:
            return
        loop = asyncio.get_running_loop()
        loop.call_later(phone.answer_after, chan.answer)

    def answered(self, chan: Channel) -> None:
        pass

    # -- media ------------------------------------------------------------------

    media_emit_silence = True
    """A phone hears every tick (silence included), so what it heard keeps time."""

    def media_format(self, chan: Channel) -> MediaFormat:
        phone = pvt_of(chan, SimPhone)
        return FORMATS.get(phone.codec, FORMATS["ulaw"])

    def media_output(self, chan: Channel, payload: bytes) -> None:
        from pyari.media.codecs import resample

        phone = pvt_of(chan, SimPhone)
        fmt = self.media_format(chan)
        samples = payload_pcm(fmt, payload)
        if fmt.rate != 8000:
            samples = resample(samples, fmt.rate, 8000)
        phone._hear(chan, samples)

    def media_started(self, chan: Channel, stream: Stream) -> None:
        phone = pvt_of(chan, SimPhone)
        if phone.dtmf_mode == "inband":
            from pyari.media.dtmf import DtmfDetector

            detector = DtmfDetector(lambda digit, ms: chan.dtmf_received(digit, ms))

            def listen(samples: Samples) -> None:
                detector.feed(samples)

            stream.taps_in.append(listen)

    def send_digit(self, chan: Channel, digit: str, duration_ms: int) -> None:
        """A DTMF digit sent out on ``chan`` reaches the phone."""
        phone = pvt_of(chan, SimPhone)
        phone.received_dtmf.append(digit)

    def indicate(self, chan: Channel, condition: str, data: str | None) -> None:
        """An indication (ringing, hold ...) sent out on ``chan`` reaches the phone."""
        phone = pvt_of(chan, SimPhone)
        phone.indications.append(condition)

    def hangup(self, chan: Channel) -> None:
        phone = pvt_of(chan, SimPhone)
        for recorder in phone._recorders.pop(chan.id, []):
            recorder.stop()
        if chan in phone.channels:
            phone.channels.remove(chan)
        if phone.endpoint is not None:
            phone.endpoint.remove_channel(chan)
