"""The text of the ``pjsip show ...`` CLI commands, laid out as res_pjsip's CLI lays it out.

res_pjsip prints objects as an indented tree: each level of nesting is two columns deeper
(level 0 puts the label right-aligned in 9 columns: `` Endpoint:``), the variable-width
column of each row ends at column 62, a header block (the same tree with ``<Field....>``
placeholders), a line of 90 ``=``, the objects, and ``Objects found: N``.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "AorRow",
    "ChannelRow",
    "ContactRow",
    "EndpointRow",
    "TransportRow",
    "show_aors",
    "show_contacts",
    "show_endpoint",
    "show_endpoints",
    "show_transports",
]

LAST_TABSTOP = 62
RULE = "=" * 90
FILLER = "." * 100
SHORT_STATUS = {
    "Reachable": "Avail",
    "Unreachable": "Unavail",
    "Unknown": "Unknown",
    "NonQualified": "NonQual",
    "Removed": "Removed",
}


def indent_of(level: int) -> int:
    return 9 + 2 * level


def _fill(width: int) -> str:
    return FILLER[: max(width, 0)]


@dataclass(frozen=True)
class ContactRow:
    aor: str
    uri: str
    status: str
    """Reachable, Unreachable, Unknown, NonQualified."""
    rtt_ms: float | None = None

    @property
    def hash(self) -> str:
        return hashlib.md5(self.uri.encode()).hexdigest()


@dataclass(frozen=True)
class AorRow:
    name: str
    max_contacts: int
    contacts: Sequence[ContactRow] = ()


@dataclass(frozen=True)
class TransportRow:
    name: str
    protocol: str
    bind: str
    cos: int = 0
    tos: int = 0


@dataclass(frozen=True)
class ChannelRow:
    name: str
    state: str
    elapsed: str
    exten: str
    connected: str


@dataclass(frozen=True)
class EndpointRow:
    name: str
    callerid_number: str | None
    device_state: str
    """Not in use, In use, Unavailable, Ringing ..."""
    channel_count: int
    out_auths: Sequence[tuple[str, str]] = ()
    in_auths: Sequence[tuple[str, str]] = ()
    aors: Sequence[AorRow] = ()
    transport: TransportRow | None = None
    identifies: Sequence[tuple[str, Sequence[str]]] = ()
    channels: Sequence[ChannelRow] = ()
    details: Sequence[tuple[str, str]] = ()


# --------------------------------------------------------------------------- rows


def _label(level: int, name: str) -> str:
    return f"{name:>{indent_of(level)}}:  "


def _flex(level: int, extra: int = 2) -> int:
    return LAST_TABSTOP - indent_of(level) - extra


def contact_header(level: int) -> str:
    filler = LAST_TABSTOP - indent_of(level) - 23
    return (
        f"{_label(level, 'Contact')}<Aor/ContactUri{_fill(filler)}> <Hash....> <Status> <RTT(ms)..>"
    )


def contact_body(level: int, c: ContactRow) -> str:
    width = LAST_TABSTOP - indent_of(level) - 9 - len(c.aor) + 1
    uri = c.uri[:width] if width > 0 else ""
    rtt = c.rtt_ms if (c.status == "Reachable" and c.rtt_ms is not None) else math.nan
    status = SHORT_STATUS.get(c.status, c.status)[:7]
    head = f"{_label(level, 'Contact')}{c.aor}/{uri:<{max(width, 0)}}"
    return f"{head} {c.hash[:10]:<10} {status:<7} {rtt:11.3f}"


def aor_header(level: int) -> str:
    filler = LAST_TABSTOP - indent_of(level) - 7
    return f"{_label(level, 'Aor')}<Aor{_fill(filler)}>  <MaxContact>"


def aor_body(level: int, a: AorRow) -> str:
    width = LAST_TABSTOP - indent_of(level) - 12
    return f"{_label(level, 'Aor')}{a.name[:width]:<{width}} {a.max_contacts:12d}"


def transport_header(level: int) -> str:
    fields = "<TransportId........>  <Type>  <cos>  <tos>  <BindAddress....................>"
    return f"{_label(level, 'Transport')}{fields}"


def transport_body(level: int, t: TransportRow) -> str:
    label = _label(level, "Transport")
    return f"{label}{t.name:<21}  {t.protocol:>6}  {t.cos:5d}  {t.tos:5d}  {t.bind}"


def auth_body(level: int, title: str, auth: tuple[str, str]) -> str:
    return f"{_label(level, title)}{auth[0]}/{auth[1]}"


def endpoint_header(level: int) -> str:
    filler = LAST_TABSTOP - indent_of(level) - 16
    return f"{_label(level, 'Endpoint')}<Endpoint/CID{_fill(filler)}>  <State.....>  <Channels.>"


def endpoint_body(level: int, e: EndpointRow) -> str:
    width = _flex(level)
    name = f"{e.name}/{e.callerid_number}" if e.callerid_number else e.name
    state = f"{e.device_state[:12]:<12}"
    return f"{_label(level, 'Endpoint')}{name[:width]:<{width}}  {state}  {e.channel_count} of inf"


def channel_body(level: int, ch: ChannelRow) -> list[str]:
    width = _flex(level)
    return [
        f"{_label(level, 'Channel')}{ch.name[:width]:<{width}}  {ch.state[:12]:<12}"
        f"  {ch.elapsed:>11}",
        f"{'Exten':>{indent_of(level + 1)}}: {ch.exten:<23}  CLCID: {ch.connected}",
    ]


# --------------------------------------------------------------------------- commands


def _frame(headers: list[str], blocks: list[str], count: int) -> str:
    if not count:
        return "\nNo objects found.\n\n"
    return (
        "\n"
        + "\n".join(headers)
        + "\n"
        + RULE
        + "\n\n"
        + "".join(blocks)
        + f"\nObjects found: {count}\n"
    )


ENDPOINT_HEADERS = [
    " Endpoint:  <Endpoint/CID.....................................>  <State.....>  <Channels.>",
    "    I/OAuth:  <AuthId/UserName...........................................................>",
    "        Aor:  <Aor............................................>  <MaxContact>",
    "      Contact:  <Aor/ContactUri..........................> <Hash....> <Status> <RTT(ms)..>",
    "  Transport:  <TransportId........>  <Type>  <cos>  <tos>  <BindAddress..................>",
    "   Identify:  <Identify/Endpoint.........................................................>",
    "        Match:  <criteria.........................>",
    "    Channel:  <ChannelId......................................>  <State.....>  <Time.....>",
    "        Exten: <DialedExten...........>  CLCID: <ConnectedLineCID.......>",
]
"""The header block of ``pjsip show endpoint(s)`` (fixed text)."""


def _endpoint_headers() -> list[str]:
    return list(ENDPOINT_HEADERS)


def _endpoint_block(e: EndpointRow) -> str:
    lines = [endpoint_body(0, e)]
    for auth in e.out_auths:
        lines.append(auth_body(1, "OutAuth", auth))
    for auth in e.in_auths:
        lines.append(auth_body(1, "InAuth", auth))
    for aor in e.aors:
        lines.append(aor_body(1, aor))
        lines.extend(contact_body(2, c) for c in aor.contacts)
    if e.transport is not None:
        lines.append(transport_body(1, e.transport))
    for ident, matches in e.identifies:
        lines.append(f"{_label(1, 'Identify')}{ident}/{e.name}")
        lines.extend(f"{_label(2, 'Match')}{m}" for m in matches)
    for ch in e.channels:
        lines.extend(channel_body(1, ch))
    return "\n".join(lines) + "\n\n"


def show_endpoints(endpoints: Sequence[EndpointRow]) -> str:
    """``pjsip show endpoints``."""
    return _frame(_endpoint_headers(), [_endpoint_block(e) for e in endpoints], len(endpoints))


def show_endpoint(endpoint: EndpointRow | None, name: str) -> str:
    """``pjsip show endpoint <name>``: the endpoint's tree, then its settings."""
    if endpoint is None:
        return f"Unable to find object {name}.\n\n"
    out = _frame(_endpoint_headers(), [_endpoint_block(endpoint)], 1)
    out = out[: out.rindex("\nObjects found")]
    width = max((len(k) for k, _ in endpoint.details), default=0)
    details = "".join(f" {k:<{width}} : {v}\n" for k, v in endpoint.details)
    return out + "\n" + details + "\n"


def show_contacts(contacts: Sequence[ContactRow]) -> str:
    """``pjsip show contacts``."""
    return _frame(
        [contact_header(0)], ["".join(contact_body(0, c) + "\n" for c in contacts)], len(contacts)
    )


def show_aors(aors: Sequence[AorRow]) -> str:
    """``pjsip show aors``."""
    blocks = []
    for aor in aors:
        lines = [aor_body(0, aor), *(contact_body(1, c) for c in aor.contacts)]
        blocks.append("\n".join(lines) + "\n\n")
    return _frame([aor_header(0), contact_header(1)], blocks, len(aors))


def show_transports(transports: Sequence[TransportRow]) -> str:
    """``pjsip show transports``."""
    body = "".join(transport_body(0, t) + "\n" for t in transports)
    return _frame([transport_header(0)], [body], len(transports))
