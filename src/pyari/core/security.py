"""Security events (Asterisk's security_events.c / res_security_log.c) and the back-off of
addresses that keep failing to authenticate.

A :class:`SecurityEvent` is written on the ``pyari.security`` logger, which log channels
select with the ``security`` level (``security.log => security`` in logger.conf); the
line is Asterisk's: ``SecurityEvent="ChallengeResponseFailed",EventTV="...",Severity=
"Error",Service="PJSIP",EventVersion="1",AccountID="2222",SessionID="<call-id>",
LocalAddress="IPV4/UDP/127.0.0.1/5060",RemoteAddress="IPV4/UDP/127.0.0.1/44896",...``,
with the source ``res_security_log.c`` so the whole line reads as Asterisk's. The NOTICE
lines that go with them (``Request 'REGISTER' from '<sip:2222@host>' failed for
'127.0.0.1:44896' (callid: x) - Failed to authenticate``) are made by :func:`notice`.
Both are what fail2ban's ``asterisk`` filter matches.

Values are written as Asterisk writes them, except that a double quote inside a value
becomes ``%22`` (and a single quote inside a quoted NOTICE field ``%27``), so a user
name or Call-ID chosen by an attacker cannot forge a ``RemoteAddress`` that a log
watcher would ban (decision 0016).

:class:`FailureGuard` counts authentication failures per source address: after
``limit`` failures within ``window`` seconds the address is blocked for ``block``
seconds, and while blocked its requests are refused without checking credentials.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

from pyari import wallclock
from pyari.config.backoff import AuthBackoff

__all__ = [
    "FailureGuard",
    "SecurityEvent",
    "address_ie",
    "emit",
    "event_tv",
    "notice",
]

Address = tuple[str, int]

SECURITY_LOGGER = "pyari.security"
"""The logger whose records have the Asterisk level SECURITY."""
SECURITY_SOURCE = "res_security_log.c"
_security_log = logging.getLogger(SECURITY_LOGGER)

_SEVERITY = {
    "FailedACL": "Error",
    "InvalidAccountID": "Error",
    "ChallengeResponseFailed": "Error",
    "InvalidPassword": "Error",
    "ChallengeSent": "Informational",
}


def address_ie(transport: str, address: Address | None) -> str:
    """``IPV4/UDP/127.0.0.1/5060`` (Asterisk's LocalAddress/RemoteAddress value)."""
    if address is None:
        return ""
    host, port = address[0], address[1]
    try:
        version = ipaddress.ip_address(host.strip("[]").split("%")[0]).version
    except ValueError:
        version = 4
    return f"IPV{version}/{transport.upper()}/{host.strip('[]')}/{port}"


def event_tv(wall: float) -> str:
    """``2026-12-07T14:38:18.240+0000``: local time with milliseconds and the offset."""
    stamp = time.localtime(wall)
    millis = round((wall - int(wall)) * 1e6) // 1000  # microseconds, then cut as %q does
    millis = min(millis, 999)
    return f"{time.strftime('%Y-%m-%dT%H:%M:%S', stamp)}.{millis:03d}{time.strftime('%z', stamp)}"


def _value(text: str) -> str:
    return text.replace('"', "%22")


@dataclass(frozen=True, slots=True)
class SecurityEvent:
    """One security event; ``extra`` are the event's own fields, in Asterisk's order."""

    name: str
    service: str
    account: str
    session: str
    local: str
    remote: str
    extra: tuple[tuple[str, str], ...] = ()

    def line(self, wall: float) -> str:
        fields = [
            ("SecurityEvent", self.name),
            ("EventTV", event_tv(wall)),
            ("Severity", _SEVERITY.get(self.name, "Error")),
            ("Service", self.service),
            ("EventVersion", "1"),
            ("AccountID", self.account),
            ("SessionID", self.session),
            ("LocalAddress", self.local),
            ("RemoteAddress", self.remote),
            *self.extra,
        ]
        return ",".join(f'{key}="{_value(value)}"' for key, value in fields)


def emit(event: SecurityEvent, *, wall: Callable[[], float] = wallclock.now) -> None:
    """Write ``event`` on the security logger."""
    if _security_log.isEnabledFor(logging.INFO):
        _security_log.info("%s", event.line(wall()), extra={"asterisk_source": SECURITY_SOURCE})


def quoted(text: str) -> str:
    """A value for a ``'...'`` field of a NOTICE line."""
    return text.replace("'", "%27")


def notice(logger: logging.Logger, source: str, message: str) -> None:
    """A NOTICE line written as if by Asterisk's ``source`` file."""
    logger.info("%s", message, extra={"asterisk_source": source})


# --------------------------------------------------------------------------- back-off


class FailureGuard:
    """Failed authentications per source address, with the time given by the caller."""

    def __init__(self, settings: AuthBackoff | None = None, *, max_tracked: int = 10000):
        self.settings = settings or AuthBackoff()
        self._max_tracked = max_tracked
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._blocked: dict[str, float] = {}

    def configure(self, settings: AuthBackoff) -> None:
        self.settings = settings

    def blocked(self, host: str, now: float) -> bool:
        """Whether requests from ``host`` are refused unchecked at ``now``."""
        until = self._blocked.get(host)
        if until is None:
            return False
        if now < until:
            return True
        del self._blocked[host]
        return False

    def failed(self, host: str, now: float) -> bool:
        """Count a failure of ``host``; True when it makes ``host`` blocked."""
        conf = self.settings
        if conf.limit <= 0:
            return False
        times = self._failures.get(host)
        if times is None:
            times = self._failures[host] = deque()
        self._failures.move_to_end(host)
        times.append(now)
        while times and now - times[0] >= conf.window:
            times.popleft()
        while len(self._failures) > self._max_tracked:
            self._failures.popitem(last=False)
        if len(times) >= conf.limit:
            times.clear()
            self._blocked[host] = now + conf.block
            if len(self._blocked) > self._max_tracked:
                self._prune(now)
            return True
        return False

    def _prune(self, now: float) -> None:
        for host in [h for h, until in self._blocked.items() if until <= now]:
            del self._blocked[host]
        while len(self._blocked) > self._max_tracked:
            del self._blocked[next(iter(self._blocked))]
