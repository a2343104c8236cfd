"""The registrar (RFC 3261 §10.3) and the location service, as pure code.

:meth:`Registrar.register` takes a REGISTER already authenticated and mapped to an AOR
(pjsip's ``type=aor`` section: ``max_contacts``, ``remove_existing``, the expiration
bounds) and returns the response to send plus what changed, so the caller can publish
ContactStatusChange events. :class:`Location` holds the bindings with their expiry;
:meth:`Location.purge` drops the expired ones.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from pyari.sip.message import (
    NameAddr,
    Request,
    Response,
    SipParseError,
    make_response,
    param_value,
)

__all__ = ["AorPolicy", "Binding", "Change", "ChangeKind", "Location", "Outcome", "Registrar"]


@dataclass(frozen=True, slots=True)
class AorPolicy:
    """The registration rules of one AOR (defaults are Asterisk's)."""

    max_contacts: int = 0
    remove_existing: bool = False
    default_expiration: int = 3600
    minimum_expiration: int = 60
    maximum_expiration: int = 7200


@dataclass(frozen=True, slots=True)
class Binding:
    """One registered contact of an AOR."""

    aor: str
    uri: str
    expires_at: float
    call_id: str
    cseq: int
    registered_at: float
    source: tuple[str, int] | None = None
    transport: str = "UDP"
    user_agent: str = ""
    q: float | None = None

    @property
    def static(self) -> bool:
        return self.expires_at == float("inf")

    def remaining(self, now: float) -> int:
        """Seconds left (0 for a static contact, which never expires)."""
        if self.static:
            return 0
        return max(0, int(self.expires_at - now + 0.5))


class ChangeKind(enum.Enum):
    CREATED = "created"
    UPDATED = "updated"
    REMOVED = "removed"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class Change:
    kind: ChangeKind
    binding: Binding


@dataclass(frozen=True, slots=True)
class Outcome:
    response: Response
    changes: list[Change] = field(default_factory=list)


class Location:
    """Bindings per AOR (AOR names compared as given)."""

    def __init__(self) -> None:
        self._bindings: dict[str, dict[str, Binding]] = {}
        self._expiry: float | None = None
        self._expiry_known = True
        """``_expiry`` is the next expiry (None: none) unless a binding came or went."""

    def lookup(self, aor: str, now: float) -> list[Binding]:
        """The live bindings of ``aor``, most recently registered first."""
        found = [b for b in self._bindings.get(aor, {}).values() if b.expires_at > now]
        return sorted(found, key=lambda b: b.registered_at, reverse=True)

    def all(self) -> list[Binding]:
        return [b for per in self._bindings.values() for b in per.values()]

    def _get(self, aor: str) -> dict[str, Binding]:
        return self._bindings.setdefault(aor, {})

    def _put(self, binding: Binding) -> None:
        self._get(binding.aor)[_contact_key(binding.uri)] = binding
        self._expiry_known = False

    def _drop(self, binding: Binding) -> None:
        self._expiry_known = False
        per = self._bindings.get(binding.aor)
        if per is not None:
            per.pop(_contact_key(binding.uri), None)
            if not per:
                del self._bindings[binding.aor]

    def add_static(self, aor: str, uri: str) -> Binding:
        """A permanent contact from configuration (``contact=`` of an aor)."""
        binding = Binding(aor, uri, float("inf"), "", 0, 0.0)
        self._put(binding)
        return binding

    def purge(self, now: float) -> list[Change]:
        """Remove the bindings that expired by ``now``."""
        expiry = self.next_expiry()
        if expiry is None or expiry > now:
            return []
        gone = [b for b in self.all() if b.expires_at <= now]
        for binding in gone:
            self._drop(binding)
        return [Change(ChangeKind.EXPIRED, b) for b in gone]

    def next_expiry(self) -> float | None:
        """The earliest expiry of a binding that is not static (kept until one changes)."""
        if not self._expiry_known:
            times = [b.expires_at for b in self.all() if b.expires_at != float("inf")]
            self._expiry = min(times) if times else None
            self._expiry_known = True
        return self._expiry


def _contact_key(uri: str) -> str:
    """Contacts are the same binding when their URIs match (case-insensitive scheme and
    host; the user part kept as is; parameters kept)."""
    scheme, _, rest = uri.partition(":")
    user, at, host = rest.rpartition("@")
    return f"{scheme.lower()}:{user}{at}{host.lower()}"


class Registrar:
    """Applies REGISTER requests to a :class:`Location`."""

    def __init__(self, location: Location) -> None:
        self.location = location

    def register(
        self,
        request: Request,
        aor: str,
        policy: AorPolicy,
        now: float,
        *,
        source: tuple[str, int] | None = None,
        transport: str = "UDP",
        to_tag: str | None = None,
    ) -> Outcome:
        """Handle one REGISTER for ``aor`` (RFC 3261 §10.3 steps 6-8)."""
        try:
            contacts = request.contacts
            header_expires = request.expires
        except SipParseError as exc:
            return Outcome(make_response(request, 400, f"Bad Request - {exc.reason}"))
        self.location.purge(now)
        call_id = request.call_id
        cseq = request.cseq.number
        existing = {_contact_key(b.uri): b for b in self.location.lookup(aor, now)}

        def reply(
            status: int, reason: str | None = None, headers: list[tuple[str, str]] | None = None
        ) -> Outcome:
            response = make_response(request, status, reason, to_tag=to_tag, headers=headers or [])
            return Outcome(response)

        if any(c.wildcard for c in contacts):
            if len(contacts) != 1 or header_expires != 0:
                return reply(400, "Bad Request - '*' needs Expires: 0 and no other Contact")
            changes: list[Change] = []
            for binding in existing.values():
                if binding.call_id == call_id and cseq <= binding.cseq:
                    continue
                self.location._drop(binding)
                changes.append(Change(ChangeKind.REMOVED, binding))
            return Outcome(self._ok(request, aor, now, to_tag), changes)

        wanted: list[tuple[NameAddr, int]] = []
        for contact in contacts:
            raw = param_value(contact.params, "expires")
            expires = int(raw) if raw is not None else header_expires
            if expires is None:
                expires = policy.default_expiration
            if 0 < expires < policy.minimum_expiration:
                return reply(423, headers=[("Min-Expires", str(policy.minimum_expiration))])
            if policy.maximum_expiration and expires > policy.maximum_expiration:
                expires = policy.maximum_expiration
            wanted.append((contact, expires))

        for contact, _ in wanted:
            old = existing.get(_contact_key(str(contact.uri)))
            if old is not None and old.call_id == call_id and cseq <= old.cseq:
                return reply(500, "Server Internal Error - CSeq out of order")

        adds = [(c, e) for c, e in wanted if e > 0]
        removes = {_contact_key(str(c.uri)) for c, e in wanted if e == 0}
        new_keys = {_contact_key(str(c.uri)) for c, _ in adds}
        kept = [b for k, b in existing.items() if k not in removes and k not in new_keys]
        evict: list[Binding] = []
        if policy.max_contacts:
            total = len(kept) + len(new_keys)
            if total > policy.max_contacts:
                if not policy.remove_existing or len(new_keys) > policy.max_contacts:
                    return reply(403, "Forbidden - Too many contacts")
                # drop the bindings closest to expiry first, as Asterisk does
                kept.sort(key=lambda b: b.expires_at)
                evict = kept[: total - policy.max_contacts]

        changes = []
        for key in removes:
            old = existing.get(key)
            if old is not None:
                self.location._drop(old)
                changes.append(Change(ChangeKind.REMOVED, old))
        for old in evict:
            self.location._drop(old)
            changes.append(Change(ChangeKind.REMOVED, old))
        user_agent = request.headers.get("user-agent") or ""
        for contact, expires in adds:
            uri = str(contact.uri)
            old = existing.get(_contact_key(uri))
            q_text = param_value(contact.params, "q")
            try:
                q = float(q_text) if q_text is not None else None
            except ValueError:
                q = None
            binding = Binding(
                aor,
                uri,
                now + expires,
                call_id,
                cseq,
                old.registered_at if old is not None else now,
                source,
                transport,
                user_agent,
                q,
            )
            self.location._put(binding)
            kind = ChangeKind.UPDATED if old is not None else ChangeKind.CREATED
            changes.append(Change(kind, binding))
        return Outcome(self._ok(request, aor, now, to_tag), changes)

    def _ok(self, request: Request, aor: str, now: float, to_tag: str | None) -> Response:
        headers = [
            ("Contact", f"<{b.uri}>;expires={b.remaining(now)}")
            for b in self.location.lookup(aor, now)
            if b.expires_at != float("inf")
        ]
        return make_response(request, 200, to_tag=to_tag, headers=headers)
