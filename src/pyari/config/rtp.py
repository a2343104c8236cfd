"""Typed settings of rtp.conf's ``[general]`` that pyari uses (res_rtp_asterisk).

* ``rtpstart``/``rtpend``: the RTP port range (even ports; RTCP on the next one).
* ``icesupport``: ICE on endpoints that ask for it (``ice_support``), default yes.
* ``ice_host_candidate = <local> => <advertised>[,include_local_address]``: a host
  candidate's address is advertised as another one (a NAT's public address); with
  ``include_local_address`` the local one is advertised too.
* ``ice_acl`` (acl.conf names), ``ice_deny``, ``ice_permit``: which addresses ICE may
  use. As Asterisk, they filter the local addresses advertised as host candidates;
  pyari's lite agent also answers connectivity checks only from addresses they let
  in, so a test configured with ``ice_deny = 0.0.0.0/0`` and
  ``ice_permit = 127.0.0.1`` advertises and talks to 127.0.0.1 only.

A missing rtp.conf means Asterisk's defaults (ports 5000-31000 in Asterisk; pyari keeps
its own 10000-20000 when none is given).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from pyari.config.acl import NO_ACL, Acl, Rule, build_acl
from pyari.config.errors import ConfigError
from pyari.config.parser import Entry, Section
from pyari.config.values import parse_bool

__all__ = ["RtpSettings"]

DEFAULT_RANGE = (10000, 20000)


@dataclass(frozen=True, slots=True)
class RtpSettings:
    port_range: tuple[int, int] = DEFAULT_RANGE
    ice_support: bool = True
    ice_host_candidates: Mapping[str, tuple[str, bool]] = field(default_factory=dict)
    """local address → (advertised address, advertise the local one too)."""
    ice_acl: Acl = NO_ACL

    def ice_permits(self, address: str) -> bool:
        """Whether ICE may use ``address`` (a local candidate or a checking peer)."""
        return self.ice_acl.refusing(address) is None

    def host_candidates(self, local: str) -> list[str]:
        """The addresses advertised for a socket bound to ``local``, in order."""
        mapped = self.ice_host_candidates.get(local)
        if mapped is None:
            return [local] if self.ice_permits(local) else []
        advertised, include_local = mapped
        out = [advertised]
        if include_local and self.ice_permits(local):
            out.append(local)
        return out

    @classmethod
    def from_sections(
        cls, sections: Iterable[Section], named_acls: Mapping[str, tuple[Rule, ...]] | None = None
    ) -> RtpSettings:
        settings = cls()
        for section in sections:
            if section.name != "general" or section.is_template:
                continue
            settings = _general(settings, section, named_acls or {})
        return settings


def _port(entry: Entry) -> int:
    try:
        value = int(entry.value.strip())
    except ValueError:
        raise ConfigError(entry.file, entry.line, f"{entry.key}: not a port number") from None
    if not 1024 <= value <= 65535:
        raise ConfigError(entry.file, entry.line, f"{entry.key}: must be 1024-65535")
    return value


def _general(
    settings: RtpSettings, section: Section, named: Mapping[str, tuple[Rule, ...]]
) -> RtpSettings:
    start, end = settings.port_range
    candidates = dict(settings.ice_host_candidates)
    acl_entries: list[Entry] = []
    ice = settings.ice_support
    for entry in section.entries:
        key = entry.key.strip().lower()
        if key == "rtpstart":
            start = _port(entry)
        elif key == "rtpend":
            end = _port(entry)
        elif key == "icesupport":
            ice = parse_bool(entry)
        elif key == "ice_host_candidate":
            local, arrow, rest = entry.value.partition("=>")
            if not arrow:
                local, arrow, rest = entry.value.partition(">")
            advertised, _, option = rest.partition(",")
            if not arrow or not local.strip() or not advertised.strip():
                raise ConfigError(
                    entry.file, entry.line, "ice_host_candidate: expected <local> => <advertised>"
                )
            include = option.strip().lower() == "include_local_address"
            candidates[local.strip()] = (advertised.strip(), include)
        elif key in ("ice_acl", "ice_deny", "ice_permit"):
            acl_entries.append(
                Entry(key.removeprefix("ice_"), entry.value, entry.op, entry.file, entry.line)
            )
    if start >= end:
        raise ConfigError(section.file, section.line, "rtpstart must be below rtpend")
    acl = build_acl(acl_entries, named) if acl_entries else settings.ice_acl
    return replace(
        settings,
        port_range=(start, end),
        ice_support=ice,
        ice_host_candidates=candidates,
        ice_acl=acl,
    )
