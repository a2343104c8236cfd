"""Address rules as Asterisk's acl.c reads and applies them, and acl.conf's named ACLs.

One matcher for every place that decides by a client's address: pjsip.conf's
``identify`` ``match=`` and ``local_net``, ari.conf's per-user ``permit``/``deny``/``acl``.

A rule is ``address[/mask]``: the mask is a prefix length (``/24``) or written as an
address (``/255.255.255.0``); without one, the single address. A leading ``!`` turns
the rule's sense around. An IPv4-mapped IPv6 address or mask is taken as IPv4.

Applying a list of rules (Asterisk's ``ast_apply_ha``): the answer starts as *allow*,
every rule that matches the address sets it to its own sense, so the last matching rule
wins (``deny = 0.0.0.0/0.0.0.0`` then ``permit = 127.0.0.2`` lets only 127.0.0.2 in).
An IPv4 rule applies to IPv4 and IPv4-mapped addresses, an IPv6 rule only to other
IPv6 addresses.

An :class:`Acl` (Asterisk's ``ast_acl_list``) is the unnamed rules of a section
(``permit``/``deny`` lines, first) then each named ACL of ``acl =`` lines, in order;
an address is refused when any of them refuses it, and a named ACL that acl.conf
does not define refuses everything.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pyari.config.errors import ConfigError
from pyari.config.parser import Entry, Section

__all__ = [
    "BASELINE",
    "NO_ACL",
    "Acl",
    "AclPart",
    "Network",
    "Rule",
    "address_in",
    "build_acl",
    "load_named_acls",
    "parse_network",
    "permits",
    "rules_from",
]

log = logging.getLogger(__name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

BASELINE = "(BASELINE)"
"""How Asterisk names a section's own (unnamed) rules in its log lines."""

ACL_KEYS = ("permit", "deny", "acl")


def _ip(text: str) -> Address:
    ip = ipaddress.ip_address(text.strip().removeprefix("[").removesuffix("]"))
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def parse_network(text: str) -> Network:
    """The network of one rule (``10.0.0.0/8``, ``10.0.0.0/255.0.0.0``, ``::1``).

    Raises ValueError naming what is wrong. A mask must be contiguous (Asterisk also
    takes masks with holes; pyari refuses them as a configuration error)."""
    address, sep, mask = text.strip().partition("/")
    try:
        ip = _ip(address)
    except ValueError:
        raise ValueError(f"Invalid IP address: {address.strip()}") from None
    bits: int = ip.max_prefixlen
    if not sep:
        prefix = bits
    elif ":" in mask or "." in mask:
        try:
            netmask = _ip(mask)
        except ValueError:
            raise ValueError(f"Invalid netmask: {mask.strip()}") from None
        if netmask.version != ip.version:
            raise ValueError("Address and mask are not using same address scheme.")
        value = int(netmask)
        prefix = bin(value).count("1")
        if value != ((1 << bits) - 1) ^ ((1 << (bits - prefix)) - 1):
            raise ValueError(f"Invalid netmask: {mask.strip()} (not contiguous)")
    else:
        try:
            prefix = int(mask.strip())
        except ValueError:
            prefix = -1
        if not 0 <= prefix <= bits:
            raise ValueError(f"Invalid CIDR netmask: {mask.strip()}")
    return ipaddress.ip_network((ip, prefix), strict=False)


def address_in(address: str | Address, network: Network) -> bool:
    """Whether ``address`` is in ``network`` (an IPv4-mapped address counts as IPv4;
    a text that is no IP address is in no network)."""
    if isinstance(address, str):
        try:
            address = ipaddress.ip_address(address.strip("[]").split("%")[0])
        except ValueError:
            return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        if network.version == 6:
            return False
        address = address.ipv4_mapped
    return address.version == network.version and address in network


@dataclass(frozen=True, slots=True)
class Rule:
    """One ``permit``/``deny`` rule: the network and whether a match lets the address in."""

    network: Network
    allow: bool

    def __str__(self) -> str:
        return f"{'' if self.allow else '!'}{self.network}"


def rules_from(sense: str, value: str) -> tuple[Rule, ...]:
    """The rules of one ``permit =`` / ``deny =`` line (comma-separated, ``!`` negates);
    ``sense`` is the key (Asterisk reads its first letter: ``p`` permits). Raises
    ValueError on the first bad rule."""
    allow = sense.strip()[:1].lower() == "p"
    rules = []
    for item in value.split(","):
        text = item.strip()
        negate = text.startswith("!")
        rules.append(Rule(parse_network(text[1:] if negate else text), allow != negate))
    return tuple(rules)


def _entry_rules(sense: str, entry: Entry) -> tuple[Rule, ...]:
    """:func:`rules_from` for a configuration line; ConfigError names a bad one."""
    try:
        return rules_from(sense, entry.value)
    except ValueError as exc:
        raise ConfigError(entry.file, entry.line, f"Bad ACL '{entry.value}': {exc}") from None


def permits(rules: Iterable[Rule], address: str | Address) -> bool:
    """Asterisk's ``ast_apply_ha``: allowed unless the last rule matching says deny."""
    allowed = True
    for rule in rules:
        if address_in(address, rule.network):
            allowed = rule.allow
    return allowed


@dataclass(frozen=True, slots=True)
class AclPart:
    """The section's own rules (``name == ""``) or one named ACL (``rules`` None: acl.conf
    does not define it, so it refuses every address)."""

    name: str
    rules: tuple[Rule, ...] | None


@dataclass(frozen=True, slots=True)
class Acl:
    parts: tuple[AclPart, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.parts)

    def refusing(self, address: str | Address) -> str | None:
        """The name of the first part that refuses ``address`` (:data:`BASELINE` for the
        section's own rules), or None when every part lets it in."""
        for part in self.parts:
            if part.rules is None or not permits(part.rules, address):
                return part.name or BASELINE
        return None


NO_ACL = Acl()


def build_acl(entries: Iterable[Entry], named: Mapping[str, tuple[Rule, ...]]) -> Acl:
    """The ACL of a section's ``permit``, ``deny`` and ``acl`` lines, in their order.

    Raises ConfigError for a bad rule or a named ACL given twice (Asterisk refuses the
    object); a name acl.conf lacks is logged and refuses everything."""
    base: list[Rule] = []
    has_base = False
    named_parts: list[AclPart] = []
    seen: set[str] = set()
    for entry in entries:
        key = entry.key.strip().lower()
        if key not in ACL_KEYS:
            continue
        if key != "acl":
            has_base = True
            base.extend(_entry_rules(key, entry))
            continue
        for raw in entry.value.split(","):
            name = raw.strip()
            if name.casefold() in seen:
                raise ConfigError(
                    entry.file,
                    entry.line,
                    f"Named ACL '{name}' occurs multiple times in ACL definition",
                )
            seen.add(name.casefold())
            rules = named.get(name)
            if rules is None:
                log.warning(
                    "ACL '%s' does not exist. The ACL will be marked as undefined "
                    "and will automatically fail if applied.",
                    name,
                )
            named_parts.append(AclPart(name, rules))
    parts = ([AclPart("", tuple(base))] if has_base else []) + named_parts
    return Acl(tuple(parts))


def load_named_acls(sections: Iterable[Section]) -> dict[str, tuple[Rule, ...]]:
    """acl.conf: each section but ``[general]`` is a named ACL of ``permit``/``deny``
    lines, applied in their order. Raises ConfigError on a bad rule or another option."""
    acls: dict[str, tuple[Rule, ...]] = {}
    for section in sections:
        if section.is_template or section.name == "general":
            continue
        rules: list[Rule] = list(acls.get(section.name, ()))
        for entry in section.entries:
            key = entry.key.strip().lower()
            if key not in ("permit", "deny"):
                raise ConfigError(
                    entry.file, entry.line, f"[{section.name}]: unknown option '{entry.key}'"
                )
            rules.extend(_entry_rules(key, entry))
        acls[section.name] = tuple(rules)
    return acls
