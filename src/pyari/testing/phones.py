"""Simulated phones for tests: place and take calls, speak, press keys, listen.

``phones.get("alice")`` gives a :class:`Phone` for the ``Sim/alice`` endpoint
of the server under test.  Phones listen from the start of every call, so
:meth:`Phone.heard` holds everything a call heard.
"""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING, Any

import numpy as np

from pyari.testing.audio import RATE, best_correlation, has_tone
from pyari.testing.waiting import wait_for

if TYPE_CHECKING:
    from pyari.channels.sim import SimPhone
    from pyari.core.channel import Channel
    from pyari.media.frames import Samples
    from pyari.server import Server

__all__ = ["NoCallError", "Phone", "Phones"]

ENDED = ("Hungup", "gone")
"""States :meth:`Phone.wait_for_state` accepts for "the call has ended"."""


class NoCallError(AssertionError, LookupError):
    """The phone has no call (yet): a failed test, and a failed lookup."""


class _Calls:
    """Every call a phone had while the test watched, in order (the phone
    itself forgets a call when it ends)."""

    def __init__(self) -> None:
        self.channels: list[Channel] = []
        self.received: list[Channel] = []
        """The calls placed *to* the phone, in order."""
        self.claimed = 0
        """How many of :attr:`received` :meth:`Phone.wait_for_call` returned."""


class Phone:
    """A test's handle on one simulated phone (``Sim/<name>``).

    The methods act on the phone's current call: the last one still up, or
    else the last one it had.  Pass ``call=`` (a channel id) to pick another.
    """

    def __init__(self, sim: SimPhone, server: Server, calls: _Calls | None = None) -> None:
        self.sim = sim
        self.server = server
        self._history = calls if calls is not None else _Calls()
        self._samples: dict[str, Samples] = {}

    def __repr__(self) -> str:
        return f"<Phone {self.name} calls={len(self.calls)}>"

    # -- settings ----------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.sim.name

    @property
    def endpoint(self) -> str:
        """Its ARI endpoint, to dial or originate to: ``Sim/<name>``."""
        return f"Sim/{self.name}"

    @property
    def auto_answer(self) -> bool:
        """Whether calls to this phone are answered by themselves (after
        :attr:`answer_delay`); when False, :meth:`answer` answers them."""
        return self.sim.answer_after is not None

    @auto_answer.setter
    def auto_answer(self, value: bool) -> None:
        self.sim.answer_after = 0.0 if value else None

    @property
    def answer_delay(self) -> float | None:
        """Seconds of ringing before an automatic answer (None: never)."""
        return self.sim.answer_after

    @answer_delay.setter
    def answer_delay(self, seconds: float | None) -> None:
        self.sim.answer_after = seconds

    @property
    def busy(self) -> bool:
        """A busy phone refuses calls (hangup cause 17, user busy)."""
        return self.sim.busy

    @busy.setter
    def busy(self, value: bool) -> None:
        self.sim.busy = value

    # -- calls -------------------------------------------------------------------

    def _sync(self) -> list[Channel]:
        # Calls of a phone made outside a Phones (or before it) are still picked up.
        known = {c.id for c in self._history.channels}
        for chan in self.sim.channels:
            if chan.id not in known:
                self._history.channels.append(chan)
        return self._history.channels

    @property
    def calls(self) -> list[Channel]:
        """Every call this phone had (placed or received, ended ones too), in order."""
        return list(self._sync())

    def _call(self, call: str | None = None) -> Channel:
        calls = self._sync()
        if call is not None:
            for chan in calls:
                if chan.id == call:
                    return chan
            raise NoCallError(f"phone {self.name} has no call {call!r}")
        live = [c for c in calls if not c.destroyed]
        if live:
            return live[-1]
        if calls:
            return calls[-1]
        raise NoCallError(f"phone {self.name} has no call")

    async def _wait_call(self, call: str | None, timeout: float) -> Channel:
        """The call (as :meth:`_call`), waiting up to ``timeout`` for one to exist."""
        found: Channel = await wait_for(
            lambda: self._call(call) if self._has(call) else None,
            timeout,
            message=f"no call reached {self.name}"
            if call is None
            else f"phone {self.name} has no call {call!r}",
        )
        return found

    def _has(self, call: str | None) -> bool:
        calls = self._sync()
        return bool(calls) if call is None else any(c.id == call for c in calls)

    @property
    def channel_id(self) -> str:
        """The current call's channel id (its ARI ``channel.id``)."""
        return self._call().id

    @property
    def channel_name(self) -> str:
        """The current call's channel name (``Sim/alice-00000001``)."""
        return self._call().name

    @property
    def in_call(self) -> bool:
        """Whether the phone has a call that has not ended."""
        return any(not c.destroyed for c in self._sync())

    def _live(self, call: str | None = None) -> bool:
        """Whether the call (default: the current one) has not ended."""
        try:
            return not self._call(call).destroyed
        except LookupError:
            return False

    def state(self, call: str | None = None) -> str:
        """The call's ARI state (``Ring``, ``Ringing``, ``Up`` ...), ``Hungup`` once ended."""
        chan = self._call(call)
        return "Hungup" if chan.destroyed or chan.hungup else chan.state

    @property
    def received_dtmf(self) -> list[str]:
        """Digits sent to this phone (e.g. ARI ``sendDTMF``), in order."""
        return list(self.sim.received_dtmf)

    @property
    def indications(self) -> list[str]:
        """Indications signalled to this phone (``ringing``, ``hold`` ...), in order."""
        return list(self.sim.indications)

    async def call(self, exten: str, context: str | None = None) -> str:
        """Dial ``exten`` in the dialplan ``context`` (default: the phone's
        ``context``, ``default``); returns the new channel's id."""
        chan = self.sim.call(exten, context)
        self._sync()
        return chan.id

    async def wait_for_call(self, timeout: float = 5.0) -> str:
        """The next call placed to this phone: the first one no earlier
        ``wait_for_call`` returned, waiting for it if it has not come yet
        (whether it already ended does not matter); returns its channel id."""
        history = self._history

        def next_call() -> Channel | None:
            if history.claimed < len(history.received):
                return history.received[history.claimed]
            return None

        chan: Channel = await wait_for(
            next_call, timeout, message=f"no call reached {self.name} within {timeout} s"
        )
        history.claimed += 1
        return chan.id

    async def answer(self, call: str | None = None, timeout: float = 5.0) -> str:
        """Answer a ringing call (waiting for one first); returns its channel id."""

        def ringing() -> Channel | None:
            if call is not None:
                chan = self._call(call)
                return chan if chan.state == "Ringing" and not chan.hungup else None
            for chan in reversed(self._sync()):
                if chan.state == "Ringing" and not chan.hungup:
                    return chan
            return None

        chan: Channel = await wait_for(ringing, timeout, message=f"{self.name} is not ringing")
        chan.answer()
        return chan.id

    async def hangup(self, call: str | None = None, timeout: float = 5.0) -> None:
        """Hang up the call and wait until it has ended."""
        from pyari.core import causes

        chan = await self._wait_call(call, timeout)
        chan.queue_hangup(causes.NORMAL_CLEARING)
        await wait_for(lambda: chan.destroyed, timeout, message=f"{chan.name} did not end")

    async def wait_for_state(
        self, state: str, call: str | None = None, timeout: float = 5.0
    ) -> None:
        """Wait until the call is in ARI state ``state`` (``Up``, ``Ringing`` ...);
        ``Hungup`` (or ``gone``) waits until it has ended.  With no call yet, it
        first waits for one (all within ``timeout``)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        chan = await self._wait_call(call, timeout)
        timeout = max(0.0, deadline - loop.time())
        if state in ENDED:
            await wait_for(
                lambda: chan.destroyed, timeout, message=f"{chan.name} did not hang up in time"
            )
            return
        try:
            await wait_for(lambda: chan.state == state or chan.destroyed, timeout)
        except AssertionError:
            raise AssertionError(
                f"{chan.name} did not reach {state} in time (it is {chan.state})"
            ) from None
        if chan.state != state:
            raise AssertionError(f"{chan.name} hung up before reaching {state}")

    # -- audio -------------------------------------------------------------------

    async def play(self, media: Any, call: str | None = None) -> None:
        """Say ``media`` into the call and wait until all of it was sent.

        ``media``: a media URI (``sound:tt-monkeys``, ``tone:...``), a file
        path, or int16 samples at 8 kHz (e.g. :func:`pyari.testing.tone`).
        """
        chan = self._call(call)
        if isinstance(media, np.ndarray) and self.server.media.engine.rate != RATE:
            from pyari.media.codecs import resample

            media = resample(media.astype(np.int16), RATE, self.server.media.engine.rate)
        await self.sim.play(media, chan)

    async def send_dtmf(
        self,
        digits: str,
        call: str | None = None,
        *,
        duration_ms: int = 100,
        between_ms: int = 100,
    ) -> None:
        """Press keys on the call (out of band, or as tones with ``dtmf_mode="inband"``)."""
        chan = self._call(call)
        await self.sim.send_dtmf(digits, chan, duration_ms=duration_ms, between_ms=between_ms)

    def heard(self, call: str | None = None) -> Samples:
        """All the call has heard so far: int16 samples at 8 kHz."""
        try:
            chan = self._call(call)
        except LookupError:
            return np.zeros(0, dtype=np.int16)
        return self.sim.heard(chan)

    def heard_tone(self, freq: float, call: str | None = None, **options: Any) -> bool:
        """Whether the call heard a ``freq`` Hz tone (see :func:`pyari.testing.has_tone`
        for ``min_amplitude``, ``purity``, ``window_ms``)."""
        return has_tone(self.heard(call), freq, **options)

    async def reference(self, sound: Any) -> Samples:
        """``sound`` as int16 samples at 8 kHz: a sound id (``hello-world``), a
        media URI (``sound:digits/2``, ``recording:name``), a file path, or samples."""
        if isinstance(sound, np.ndarray):
            return sound.astype(np.int16, copy=False)
        text = os.fspath(sound)
        key = text
        cached = self._samples.get(key)
        if cached is not None:
            return cached
        if ":" not in text and not text.startswith("/"):
            text = f"sound:{text}"
        media = self.server.media
        samples = await media.library.resolve_samples(text, "en")
        if media.engine.rate != RATE:
            from pyari.media.codecs import resample

            samples = resample(samples, media.engine.rate, RATE)
        if not text.startswith("recording:"):
            self._samples[key] = samples
        return samples

    async def sound_score(self, sound: Any, call: str | None = None) -> float:
        """How well the call's audio contains ``sound``: peak normalised
        correlation, near 1 when it was heard whole (0 if not heard)."""
        return best_correlation(self.heard(call), await self.reference(sound))

    async def heard_sound(
        self, sound: Any, call: str | None = None, *, threshold: float = 0.9
    ) -> bool:
        """Whether the call heard ``sound`` whole (see :meth:`reference`)."""
        return await self.sound_score(sound, call) >= threshold

    async def wait_heard_tone(
        self, freq: float, call: str | None = None, timeout: float = 5.0, **options: Any
    ) -> None:
        """Wait until the call has heard a ``freq`` Hz tone (AssertionError on timeout)."""
        await wait_for(
            lambda: self.heard_tone(freq, call, **options),
            timeout,
            message=f"{self.name} did not hear a {freq} Hz tone",
            interval=0.02,
        )

    async def wait_heard_sound(
        self,
        sound: Any,
        call: str | None = None,
        timeout: float = 10.0,
        *,
        threshold: float = 0.9,
    ) -> None:
        """Wait until the call has heard ``sound`` whole (AssertionError on timeout)."""
        reference = await self.reference(sound)
        checked = -1

        def heard() -> bool:
            nonlocal checked
            samples = self.heard(call)
            grown = len(samples) - checked
            if len(samples) < len(reference) or grown <= 0:
                return False
            # Correlate again once 100 ms more audio arrived, or the call ended.
            if grown < RATE // 10 and self._live(call):
                return False
            checked = len(samples)
            return best_correlation(samples, reference) >= threshold

        await wait_for(heard, timeout, message=f"{self.name} did not hear {sound!r}", interval=0.02)


class Phones:
    """The simulated phones of a server: ``phones.get("alice")`` or ``phones["alice"]``."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self._phones: dict[str, Phone] = {}
        self._history: dict[str, _Calls] = {}
        server.sim.observers.append(self._channel_added)

    def _channel_added(self, sim: SimPhone, chan: Channel, placed: bool) -> None:
        calls = self._history.setdefault(sim.name, _Calls())
        calls.channels.append(chan)
        if not placed:
            calls.received.append(chan)

    def close(self) -> None:
        """Stop following the server's Sim channels."""
        if self._channel_added in self.server.sim.observers:
            self.server.sim.observers.remove(self._channel_added)

    def get(
        self,
        name: str,
        *,
        auto_answer: bool | None = None,
        answer_delay: float | None = None,
        **settings: Any,
    ) -> Phone:
        """The phone ``name`` (created on first use), with its settings updated.

        ``auto_answer=False``: calls ring until :meth:`Phone.answer`;
        ``answer_delay``: seconds of ringing before it answers; other
        settings are :class:`pyari.channels.sim.SimPhone`'s (``busy``,
        ``context``, ``codec``, ``dtmf_mode`` ...).
        """
        phone = self._phones.get(name)
        if phone is None:
            sim = self.server.sim.phone(name, listen=True)
            calls = self._history.setdefault(name, _Calls())
            phone = self._phones[name] = Phone(sim, self.server, calls)
        if settings:
            self.server.sim.phone(name, **settings)
        if answer_delay is not None:
            phone.answer_delay = answer_delay
        if auto_answer is not None:
            phone.auto_answer = auto_answer
        return phone

    def __getitem__(self, name: str) -> Phone:
        return self.get(name)

    def __iter__(self) -> Any:
        return iter(list(self._phones.values()))

    def __len__(self) -> int:
        return len(self._phones)
