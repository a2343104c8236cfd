"""pjsip.conf's ACLs applied to what SIP brings in: ``type=acl`` sections (res_pjsip_acl)
and an endpoint's own ``permit``/``deny``/``acl``/``contact_*`` options (res_pjsip's
distributor).

``type=acl``: every request received, on any transport and before the transaction layer
sees it (retransmissions included), is checked against each section: its ``permit``/
``deny``/``acl`` rules on the packet's source address, then its ``contact_*`` rules on
the host of every ``sip:``/``sips:`` Contact (``*`` and other schemes are not checked).
The first refusal answers ``403 Forbidden`` statelessly (an ACK gets nothing) and the
request goes no further: no endpoint lookup, no authentication, no security event
(res_pjsip_acl raises none). Responses are not checked.

Log lines, as Asterisk's: a NOTICE ``SIP ACL: Rejecting '<address>' due to a failure to
pass ACL '<name>'`` (``(BASELINE)`` for the section's own rules; ``SIP Contact ACL:``
for a Contact) or, for a named ACL acl.conf lacks, a WARNING ``... due to use of an
invalid ACL '<name>'.``; then a WARNING ``Incoming SIP message from <address>:<port> did
not pass ACL test`` (the port is 0 for a Contact's host).

An endpoint's own ACLs (:func:`endpoint_refusal`) are applied once a request is matched
to the endpoint: the source address first, then the Contact hosts, with the same first
NOTICE (or WARNING) but no ``did not pass ACL test``; the user agent then treats the
request as one of no endpoint (a ``401`` challenge nothing can answer), with a FailedACL
security event (:mod:`pyari.sip.ua`).

A Contact host that is a name is not resolved (no DNS on the receive path): it is not
checked, as Asterisk does not when the name does not resolve.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Sequence

from pyari.config.acl import BASELINE, Acl
from pyari.config.pjsip import Endpoint, SipAcl
from pyari.core.security import notice, quoted
from pyari.sip.dialog import new_tag
from pyari.sip.message import Request, Response, SipParseError, make_response
from pyari.sip.transaction import Address, Send, response_destination

__all__ = ["endpoint_refusal", "refusal", "refused_by"]

log = logging.getLogger(__name__)

_ACL_C = "acl.c"
_RES_PJSIP_ACL = "res_pjsip_acl.c"


def _plain(host: str) -> str:
    """An address as Asterisk prints it (no brackets, an IPv4-mapped one as IPv4)."""
    host = host.strip("[]")
    try:
        ip = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return host
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return host


def _rejected(acl: Acl, address: str, prefix: str) -> bool:
    """Whether ``acl`` refuses ``address``; when it does, acl.c's line is written."""
    name = acl.refusing(address)
    if name is None:
        return False
    shown = _plain(address)
    part = next((p for p in acl.parts if (p.name or BASELINE) == name), None)
    if part is not None and part.rules is None:
        log.warning(
            "%s",
            f"{prefix}Rejecting '{shown}' due to use of an invalid ACL '{quoted(name)}'.",
            extra={"asterisk_source": _ACL_C},
        )
    else:
        notice(
            log,
            _ACL_C,
            f"{prefix}Rejecting '{shown}' due to a failure to pass ACL '{quoted(name)}'",
        )
    return True


def _refuses(acl: Acl, address: str, prefix: str, port: int) -> bool:
    """:func:`_rejected`, then res_pjsip_acl's WARNING when refused."""
    if not _rejected(acl, address, prefix):
        return False
    shown = _plain(address)
    where = f"[{shown}]:{port}" if ":" in shown else f"{shown}:{port}"
    log.warning(
        "Incoming SIP message from %s did not pass ACL test",
        where,
        extra={"asterisk_source": _RES_PJSIP_ACL},
    )
    return True


def _contact_hosts(request: Request) -> list[str]:
    """The IP addresses of the request's ``sip:``/``sips:`` Contacts."""
    try:
        contacts = request.contacts
    except SipParseError:
        return []
    hosts = []
    for contact in contacts:
        if contact.wildcard or contact.uri.scheme.lower() not in ("sip", "sips"):
            continue
        host = contact.uri.host.strip("[]")
        try:
            ipaddress.ip_address(host.split("%")[0])
        except ValueError:
            continue  # a name: not resolved here (see the module's text)
        hosts.append(host)
    return hosts


def refused_by(acls: Sequence[SipAcl], request: Request, source: Address) -> SipAcl | None:
    """The first section that refuses ``request`` received from ``source`` (logged),
    or None when every one lets it in."""
    for sip_acl in acls:
        if sip_acl.acl and _refuses(sip_acl.acl, source[0], "SIP ACL: ", source[1]):
            return sip_acl
        if sip_acl.contact_acl:
            for host in _contact_hosts(request):
                if _refuses(sip_acl.contact_acl, host, "SIP Contact ACL: ", 0):
                    return sip_acl
    return None


def endpoint_refusal(
    endpoint: Endpoint, request: Request, source: Address
) -> tuple[str, str] | None:
    """``(ACLName, reason)`` when the endpoint's own ACL refuses the source address or
    its contact ACL the host of a Contact (acl.c's line written), else None."""
    if endpoint.acl and _rejected(endpoint.acl, source[0], "SIP ACL: "):
        return "not_match_endpoint_acl", "Not match Endpoint ACL"
    if endpoint.contact_acl:
        for host in _contact_hosts(request):
            if _rejected(endpoint.contact_acl, host, "SIP Contact ACL: "):
                return "not_match_endpoint_contact_acl", "Not match Endpoint Contact ACL"
    return None


def refusal(request: Request, source: Address, *, force_rport: bool = False) -> Send | None:
    """The stateless ``403`` for a refused request (None for an ACK, or a request whose
    Via cannot be answered)."""
    if request.method == "ACK":
        return None
    try:
        via = request.top_via
    except SipParseError:
        return None
    transport = via.transport.upper()
    dest = response_destination(via, source, force_rport=force_rport or transport not in ("UDP",))
    response: Response = make_response(request, 403, to_tag=new_tag())
    return Send(response.to_bytes(), dest, transport, response)
