"""HTTP Digest authentication for SIP (RFC 3261 §22, RFC 7616, RFC 8760): MD5 and
SHA-256, ``qop=auth``.

* :class:`DigestServer` challenges (``WWW-Authenticate`` values) and verifies
  ``Authorization`` values. Nonces are stateless (time + random + HMAC of both with a
  server secret), expire after ``nonce_lifetime`` (a correct answer to an expired nonce
  gets ``stale=true``), and the nonce-count of each nonce must grow, so a captured
  request cannot be replayed.
* :func:`answer_challenge` / :class:`DigestClient` answer a 401/407 challenge.

Pure code: the time is given, the secret and random numbers are injectable.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import secrets
import struct
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from pyari.sip.message import SipParseError, split_header_values

__all__ = [
    "ALGORITHMS",
    "AuthResult",
    "Credentials",
    "DigestClient",
    "DigestServer",
    "Verdict",
    "answer_challenge",
    "format_params",
    "ha1",
    "parse_auth_header",
]

_HASHES: dict[str, Callable[[bytes], hashlib._Hash]] = {
    "MD5": hashlib.md5,
    "SHA-256": hashlib.sha256,
}
ALGORITHMS = ("SHA-256", "MD5")
"""Supported algorithms, in the order they are offered (RFC 8760 §2.4: strongest first)."""


def _h(algorithm: str, text: str) -> str:
    return _HASHES[algorithm](text.encode("utf-8")).hexdigest()


def ha1(username: str, realm: str, password: str, algorithm: str = "MD5") -> str:
    """H(username:realm:password)."""
    return _h(algorithm, f"{username}:{realm}:{password}")


def _response(
    algorithm: str,
    ha1_hex: str,
    method: str,
    uri: str,
    nonce: str,
    qop: str | None,
    nc: str | None,
    cnonce: str | None,
) -> str:
    ha2 = _h(algorithm, f"{method}:{uri}")
    if qop:
        return _h(algorithm, f"{ha1_hex}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
    return _h(algorithm, f"{ha1_hex}:{nonce}:{ha2}")


def parse_auth_header(value: str) -> tuple[str, dict[str, str]]:
    """``Digest realm="x", nonce="y", qop=auth`` → ``("digest", {...})``; parameter names
    lower-cased, quotes removed."""
    value = value.strip()
    scheme, _, rest = value.partition(" ")
    params: dict[str, str] = {}
    for item in split_header_values(rest):
        if not item:
            continue
        name, eq, val = item.partition("=")
        if not eq:
            raise SipParseError(f"bad authentication parameter {item!r}")
        val = val.strip()
        if len(val) >= 2 and val[0] == '"' and val[-1] == '"':
            val = val[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        params[name.strip().lower()] = val
    return scheme.lower(), params


def format_params(scheme: str, params: list[tuple[str, str, bool]]) -> str:
    """``Digest k="v", k2=v2`` from ``(name, value, quoted)`` triples."""
    parts = [f'{n}="{v}"' if q else f"{n}={v}" for n, v, q in params]
    return f"{scheme} " + ", ".join(parts)


@dataclass(frozen=True, slots=True)
class Credentials:
    """What the server knows of a user: a password (``auth_type=userpass``) or a
    precomputed MD5 H(A1) (``auth_type=md5``, which only answers MD5)."""

    username: str
    password: str | None = None
    md5_ha1: str | None = None

    def ha1(self, realm: str, algorithm: str) -> str | None:
        if self.password is not None:
            return ha1(self.username, realm, self.password, algorithm)
        if self.md5_ha1 is not None and algorithm == "MD5":
            return self.md5_ha1.lower()
        return None


class Verdict(enum.Enum):
    OK = "ok"
    STALE = "stale"
    """Correct answer to an expired nonce: challenge again with ``stale=true``."""
    FAILED = "failed"
    """Wrong password, unknown user, forged or replayed nonce, malformed header."""
    MISSING = "missing"
    """No Authorization for this realm."""


@dataclass(frozen=True, slots=True)
class AuthResult:
    verdict: Verdict
    username: str | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.verdict is Verdict.OK


class DigestServer:
    """Challenges and verifies for one realm."""

    def __init__(
        self,
        realm: str,
        *,
        secret: bytes | None = None,
        nonce_lifetime: float = 32.0,
        algorithms: tuple[str, ...] = ALGORITHMS,
        random: Callable[[int], bytes] = secrets.token_bytes,
        max_tracked: int = 10000,
    ) -> None:
        for algorithm in algorithms:
            if algorithm not in _HASHES:
                raise ValueError(f"unsupported digest algorithm {algorithm!r}")
        self.realm = realm
        self.secret = secret if secret is not None else secrets.token_bytes(32)
        self.nonce_lifetime = nonce_lifetime
        self.algorithms = algorithms
        self._random = random
        self._max_tracked = max_tracked
        self._counts: OrderedDict[str, int] = OrderedDict()  # nonce → highest nc seen

    # -------------------------------------------------------------- nonces

    def make_nonce(self, now: float) -> str:
        stamp = struct.pack(">d", now) + self._random(12)
        mac = hmac.new(self.secret, stamp + self.realm.encode(), hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(stamp + mac).decode().rstrip("=")

    def nonce_time(self, nonce: str) -> float | None:
        """When ``nonce`` was made, or None when it is not one of ours."""
        try:
            raw = base64.urlsafe_b64decode(nonce + "=" * (-len(nonce) % 4))
        except (ValueError, TypeError):
            return None
        if len(raw) != 8 + 12 + 16:
            return None
        stamp, mac = raw[:20], raw[20:]
        good = hmac.new(self.secret, stamp + self.realm.encode(), hashlib.sha256).digest()[:16]
        if not hmac.compare_digest(mac, good):
            return None
        return float(struct.unpack(">d", stamp[:8])[0])

    # -------------------------------------------------------------- challenge

    def challenge(self, now: float, *, stale: bool = False) -> list[str]:
        """``WWW-Authenticate`` values, one per algorithm, sharing one nonce."""
        nonce = self.make_nonce(now)
        # Never empty, as pjsip's: an empty opaque="" trips clients whose parsers need one
        # character (sipvicious reads the next parameter into it).
        opaque = hashlib.sha256(nonce.encode()).hexdigest()[:32]
        values = []
        for algorithm in self.algorithms:
            params = [
                ("realm", self.realm, True),
                ("nonce", nonce, True),
                ("opaque", opaque, True),
                ("algorithm", algorithm, False),
                ("qop", "auth", True),
            ]
            if stale:
                params.append(("stale", "true", False))
            values.append(format_params("Digest", params))
        return values

    # -------------------------------------------------------------- verify

    def verify(
        self,
        method: str,
        authorizations: list[str],
        lookup: Callable[[str], Credentials | None],
        now: float,
    ) -> AuthResult:
        """Check the ``Authorization`` (or ``Proxy-Authorization``) values of a request.

        ``lookup(username)`` returns the user's credentials, or None for an unknown user.
        """
        ours = []
        for value in authorizations:
            try:
                scheme, params = parse_auth_header(value)
            except SipParseError:
                return AuthResult(Verdict.FAILED, reason="malformed Authorization")
            if scheme == "digest" and params.get("realm") == self.realm:
                ours.append(params)
        if not ours:
            return AuthResult(Verdict.MISSING)
        params = ours[0]
        username = params.get("username", "")
        algorithm = params.get("algorithm", "MD5").upper()
        if algorithm not in self.algorithms:
            return AuthResult(Verdict.FAILED, username, "unsupported algorithm")
        nonce = params.get("nonce", "")
        uri = params.get("uri", "")
        answer = params.get("response", "")
        qop = params.get("qop")
        nc = params.get("nc")
        cnonce = params.get("cnonce")
        count = 0
        if not (username and nonce and uri and answer):
            return AuthResult(Verdict.FAILED, username, "incomplete Authorization")
        if qop is not None:
            if qop != "auth" or not nc or not cnonce:
                return AuthResult(Verdict.FAILED, username, "bad qop/nc/cnonce")
            try:
                count = int(nc, 16)
            except ValueError:
                return AuthResult(Verdict.FAILED, username, "bad nonce-count")
        issued = self.nonce_time(nonce)
        if issued is None or issued > now + 1:
            return AuthResult(Verdict.FAILED, username, "unknown nonce")
        credentials = lookup(username)
        secret = credentials.ha1(self.realm, algorithm) if credentials is not None else None
        if secret is None:
            return AuthResult(Verdict.FAILED, username, "unknown user")
        expected = _response(algorithm, secret, method, uri, nonce, qop, nc, cnonce)
        if not hmac.compare_digest(expected, answer.lower()):
            return AuthResult(Verdict.FAILED, username, "wrong response")
        if now - issued > self.nonce_lifetime:
            return AuthResult(Verdict.STALE, username, "nonce expired")
        if qop is not None:
            last = self._counts.get(nonce, 0)
            if count <= last:
                return AuthResult(Verdict.FAILED, username, "nonce-count replayed")
            self._remember(nonce, count, now)
        else:
            # without a nonce-count a nonce is good for one request only
            if nonce in self._counts:
                return AuthResult(Verdict.FAILED, username, "nonce reused")
            self._remember(nonce, 1, now)
        return AuthResult(Verdict.OK, username)

    def _remember(self, nonce: str, count: int, now: float) -> None:
        self._counts[nonce] = count
        self._counts.move_to_end(nonce)
        # forget nonces that can no longer be accepted, and keep the table bounded
        while self._counts:
            oldest = next(iter(self._counts))
            issued = self.nonce_time(oldest)
            expired = issued is None or now - issued > self.nonce_lifetime
            if expired or len(self._counts) > self._max_tracked:
                del self._counts[oldest]
            else:
                break


# --------------------------------------------------------------------------- client


def answer_challenge(
    challenge: str,
    *,
    method: str,
    uri: str,
    username: str,
    password: str,
    nc: int = 1,
    cnonce: str | None = None,
) -> str | None:
    """The ``Authorization`` value answering one ``WWW-Authenticate`` value, or None if
    it cannot be answered (not Digest, unknown algorithm, qop without ``auth``)."""
    scheme, params = parse_auth_header(challenge)
    if scheme != "digest" or "nonce" not in params:
        return None
    algorithm = params.get("algorithm", "MD5").upper()
    if algorithm not in _HASHES:
        return None
    realm = params.get("realm", "")
    nonce = params["nonce"]
    qop_offer = [q.strip().lower() for q in params.get("qop", "").split(",") if q.strip()]
    qop = None
    nc_text = None
    if qop_offer:
        if "auth" not in qop_offer:
            return None
        qop = "auth"
        nc_text = f"{nc:08x}"
        cnonce = cnonce or secrets.token_hex(8)
    secret = ha1(username, realm, password, algorithm)
    answer = _response(algorithm, secret, method, uri, nonce, qop, nc_text, cnonce)
    out = [
        ("username", username, True),
        ("realm", realm, True),
        ("nonce", nonce, True),
        ("uri", uri, True),
        ("response", answer, True),
        ("algorithm", algorithm, False),
    ]
    if "opaque" in params:
        out.append(("opaque", params["opaque"], True))
    if qop is not None and nc_text is not None and cnonce is not None:
        out += [("qop", qop, False), ("nc", nc_text, False), ("cnonce", cnonce, True)]
    return format_params("Digest", out)


class DigestClient:
    """Answers challenges for one user, counting uses of each nonce; prefers SHA-256
    when a response offers several algorithms."""

    def __init__(self, username: str, password: str) -> None:
        self.username = username
        self.password = password
        self._nc: dict[str, int] = {}

    def authorize(self, challenges: list[str], *, method: str, uri: str) -> str | None:
        best: tuple[int, str] | None = None
        for value in challenges:
            try:
                scheme, params = parse_auth_header(value)
            except SipParseError:
                continue
            algorithm = params.get("algorithm", "MD5").upper()
            if scheme != "digest" or algorithm not in ALGORITHMS:
                continue
            rank = ALGORITHMS.index(algorithm)
            if best is None or rank < best[0]:
                best = (rank, value)
        if best is None:
            return None
        nonce = parse_auth_header(best[1])[1].get("nonce", "")
        self._nc[nonce] = self._nc.get(nonce, 0) + 1
        return answer_challenge(
            best[1],
            method=method,
            uri=uri,
            username=self.username,
            password=self.password,
            nc=self._nc[nonce],
        )
