"""Addresses given on the command line or in the environment, over the config files.

``pyari serve --bind HOST:PORT`` (or ``PYARI_BIND``) moves HTTP without writing a
configuration folder; ``--sip``/``--no-sip`` and ``--tls``/``--no-tls`` do the same
for the SIP transports and HTTPS. An :class:`Overrides` is applied to every load of
the files, at start and on each reload, so a reload does not move a server back to
the file's address.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pyari.config.errors import ConfigError
from pyari.config.parser import Entry
from pyari.config.pjsip import PjsipSettings, Transport
from pyari.config.settings import HttpSettings
from pyari.config.values import parse_hostport

__all__ = ["ENVIRONMENT", "Address", "Overrides", "parse_address"]

Address = tuple[str, int | None]
"""A host and a port (None: the port of the configuration)."""

ENVIRONMENT = {
    "PYARI_BIND": "HTTP address, HOST:PORT (as --bind)",
    "PYARI_TLS": "HTTPS address, HOST:PORT, or 'off' (as --tls / --no-tls)",
    "PYARI_TLS_CERT": "certificate file for HTTPS (as --tls-cert)",
    "PYARI_TLS_KEY": "private key file for HTTPS (as --tls-key)",
    "PYARI_SIP": "SIP address, HOST:PORT, or 'off' (as --sip / --no-sip)",
}
"""The environment variables :meth:`Overrides.from_environ` reads, with what they hold."""

_OFF = {"off", "no", "none", "0", "false"}
_SWITCHES = (("PYARI_TLS", "tls_enabled", "tls_bind"), ("PYARI_SIP", "sip_enabled", "sip_bind"))
"""The variables that give an address or ``off``, with the fields they set."""


def parse_address(text: str, origin: str, name: str) -> Address:
    """``HOST:PORT``, ``HOST``, ``[v6]:PORT`` or ``[v6]``; ``origin``/``name`` say where the
    text came from in the error (``"command line"``, ``"--bind"``)."""
    entry = Entry(key=name, value=text, op="=", file=origin, line=0)
    host, port = parse_hostport(entry, -1)
    return host, None if port == -1 else port


@dataclass(frozen=True, slots=True)
class Overrides:
    """What the command line or the environment says over http.conf and pjsip.conf.

    ``None`` everywhere means "as the files say".
    """

    http_bind: Address | None = None
    tls_bind: Address | None = None
    tls_enabled: bool | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    sip_bind: Address | None = None
    sip_enabled: bool | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Overrides:
        """The overrides of ``PYARI_BIND``, ``PYARI_TLS``, ``PYARI_TLS_CERT``,
        ``PYARI_TLS_KEY`` and ``PYARI_SIP`` (unset or empty: none)."""
        found: dict[str, object] = {}
        if text := environ.get("PYARI_BIND", "").strip():
            found["http_bind"] = parse_address(text, "environment", "PYARI_BIND")
        if text := environ.get("PYARI_TLS_CERT", "").strip():
            found["tls_cert"] = Path(text)
        if text := environ.get("PYARI_TLS_KEY", "").strip():
            found["tls_key"] = Path(text)
        for name, enabled, bind in _SWITCHES:  # an address, or off
            if text := environ.get(name, "").strip():
                found[enabled] = on = text.casefold() not in _OFF
                if on:
                    found[bind] = parse_address(text, "environment", name)
        return cls(**found)  # type: ignore[arg-type]

    def over(self, base: Overrides) -> Overrides:
        """These overrides where they say something, ``base``'s elsewhere."""
        given = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if getattr(self, f.name) is not None
        }
        return dataclasses.replace(base, **given)

    @property
    def empty(self) -> bool:
        return all(getattr(self, f.name) is None for f in dataclasses.fields(self))

    def http(self, s: HttpSettings) -> HttpSettings:
        """http.conf's settings with these overrides applied (``--bind`` also enables HTTP).

        Raises :class:`ConfigError` when HTTPS is switched on without a certificate.
        """
        changes: dict[str, object] = {}
        if self.http_bind is not None:
            host, port = self.http_bind
            changes |= {
                "enabled": True,
                "bindaddr": host,
                "bindport": s.bindport if port is None else port,
            }
        if self.tls_cert is not None:
            changes["tlscertfile"] = self.tls_cert
            changes["tlsprivatekey"] = self.tls_key or self.tls_cert
        elif self.tls_key is not None:
            changes["tlsprivatekey"] = self.tls_key
        if self.tls_bind is not None:
            host, port = self.tls_bind
            changes |= {"tlsbindaddr": host, "tlsbindport": s.tlsbindport if port is None else port}
        if self.tls_enabled is not None:
            changes["tlsenable"] = self.tls_enabled
        if not changes:
            return s
        new = dataclasses.replace(s, **changes)  # type: ignore[arg-type]
        if new.tlsenable and new.tlscertfile is None:
            raise ConfigError(
                "command line", 0, "HTTPS needs a certificate (--tls-cert or tlscertfile)"
            )
        return new

    def pjsip(self, s: PjsipSettings) -> PjsipSettings:
        """pjsip.conf's settings with these overrides applied.

        ``sip_enabled = False`` leaves no transport (SIP off). ``sip_bind`` moves every
        UDP and TCP transport to that address and every TLS transport to its host (a
        pjsip.conf without transports gets one, ``transport-udp``); ws/wss transports are
        the HTTP server's and stay.
        """
        if self.sip_enabled is False:
            return dataclasses.replace(s, transports={})
        if self.sip_bind is None:
            return s
        host, port = self.sip_bind
        transports = dict(s.transports) or {
            "transport-udp": Transport("transport-udp", "udp", ("0.0.0.0", 5060))
        }
        for name, t in transports.items():
            if t.protocol in ("ws", "wss"):
                continue  # served by the HTTP server (--bind/--tls move those)
            moved = port if port is not None and t.protocol != "tls" else t.bind[1]
            transports[name] = dataclasses.replace(t, bind=(host, moved))
        return dataclasses.replace(s, transports=transports)
