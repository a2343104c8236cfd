"""SIP messages (RFC 3261 §7, §20, §25): parsing, typed header values and serialization.

Pure code: bytes in, objects out, bytes back. Nothing here knows about sockets.

* :func:`parse_message` reads one datagram (or one framed stream message) and returns a
  :class:`Request` or :class:`Response`; :class:`StreamFramer` cuts a TCP byte stream
  into messages by ``Content-Length``.
* A message that cannot be used raises :class:`SipParseError`. Its ``status`` is the
  response a server sends (400, or 505 for an unknown SIP version) and ``respond``
  says whether one can be sent at all (never for a bad response, nor for a request
  whose Via/From/To/Call-ID/CSeq are unusable): :func:`error_response` builds it.
* Header names are case-insensitive and compact forms (``i``, ``m``, ``f``, ``t``,
  ``v``, ``l``, ``c``, ``k``, ``e``, ``s``...) are expanded; folded lines are joined.
  List headers (Via, Contact, Route, Allow...) are split at commas that are outside
  quoted strings and angle brackets; the others are never split.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

__all__ = [
    "CSeq",
    "Headers",
    "NameAddr",
    "Request",
    "Response",
    "SipMessage",
    "SipParseError",
    "StreamFramer",
    "Uri",
    "Via",
    "check_request",
    "error_response",
    "make_response",
    "parse_message",
    "parse_name_addr",
    "parse_params",
    "parse_uri",
    "reason_phrase",
    "split_header_values",
]

MAX_MESSAGE = 65535
"""The largest message accepted (a UDP datagram's limit; streams use the same cap)."""

_INT32_MAX = 2**31 - 1
_UINT32_MAX = 2**32 - 1

COMPACT = {
    "a": "accept-contact",
    "b": "referred-by",
    "c": "content-type",
    "d": "request-disposition",
    "e": "content-encoding",
    "f": "from",
    "i": "call-id",
    "j": "reject-contact",
    "k": "supported",
    "l": "content-length",
    "m": "contact",
    "n": "identity-info",
    "o": "event",
    "r": "refer-to",
    "s": "subject",
    "t": "to",
    "u": "allow-events",
    "v": "via",
    "x": "session-expires",
    "y": "identity",
}

_CANONICAL = {
    "call-id": "Call-ID",
    "cseq": "CSeq",
    "www-authenticate": "WWW-Authenticate",
    "mime-version": "MIME-Version",
    "rack": "RAck",
    "rseq": "RSeq",
    "sip-etag": "SIP-ETag",
    "sip-if-match": "SIP-If-Match",
}

# Headers whose value is a comma separated list (RFC 3261 §7.3.1); all others are kept whole.
LIST_HEADERS = frozenset(
    {
        "via",
        "contact",
        "route",
        "record-route",
        "allow",
        "allow-events",
        "supported",
        "require",
        "proxy-require",
        "unsupported",
        "accept",
        "accept-encoding",
        "accept-language",
        "content-encoding",
        "content-language",
        "in-reply-to",
        "path",
        "service-route",
        "alert-info",
        "call-info",
        "error-info",
        "reply-to",
        "warning",
    }
)

# Headers that may appear once only (a second one makes the request a 400: RFC 4475 §3.3.8).
SINGLE_HEADERS = frozenset(
    {
        "call-id",
        "cseq",
        "from",
        "to",
        "max-forwards",
        "content-length",
        "content-type",
        "expires",
        "min-expires",
    }
)

_TOKEN = r"[A-Za-z0-9\-.!%*_+`'~]+"
_TOKEN_RE = re.compile(_TOKEN)
_HEADER_NAME_RE = re.compile(_TOKEN)
_HOST_RE = re.compile(
    r"(?:\[[0-9A-Fa-f:.]+\]|[0-9]{1,3}(?:\.[0-9]{1,3}){3}|"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?\.)*[A-Za-z](?:[A-Za-z0-9\-]*[A-Za-z0-9])?\.?)"
)
# user = 1*( unreserved / escaped / user-unreserved ); password adds "&=+$,"
_USER_RE = re.compile(r"(?:[A-Za-z0-9\-_.!~*'()&=+$,;?/]|%[0-9A-Fa-f]{2})+")
_PASSWORD_RE = re.compile(r"(?:[A-Za-z0-9\-_.!~*'()&=+$,]|%[0-9A-Fa-f]{2})*")
_PARAMCHAR_RE = re.compile(r"(?:[A-Za-z0-9\-_.!~*'()\[\]/:&+$]|%[0-9A-Fa-f]{2})+")
_HEADERCHAR_RE = re.compile(r"(?:[A-Za-z0-9\-_.!~*'()\[\]/?:+$]|%[0-9A-Fa-f]{2})*")
_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+\-.]*")
_DATE_RE = re.compile(
    r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} "
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT"
)
_LWS = " \t"


def _digits(text: str, most: int) -> bool:
    """1 to ``most`` ASCII digits (``str.isdigit`` also takes ``²`` and other scripts'
    digits, which ``int()`` refuses or reads; and ``int()`` refuses over 4300 digits)."""
    return 0 < len(text) <= most and text.isascii() and text.isdigit()


REASONS = {
    100: "Trying",
    180: "Ringing",
    181: "Call Is Being Forwarded",
    182: "Queued",
    183: "Session Progress",
    200: "OK",
    202: "Accepted",
    300: "Multiple Choices",
    301: "Moved Permanently",
    302: "Moved Temporarily",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    407: "Proxy Authentication Required",
    408: "Request Timeout",
    415: "Unsupported Media Type",
    416: "Unsupported URI Scheme",
    420: "Bad Extension",
    423: "Interval Too Brief",
    480: "Temporarily Unavailable",
    481: "Call/Transaction Does Not Exist",
    482: "Loop Detected",
    483: "Too Many Hops",
    484: "Address Incomplete",
    486: "Busy Here",
    487: "Request Terminated",
    488: "Not Acceptable Here",
    491: "Request Pending",
    500: "Server Internal Error",
    501: "Not Implemented",
    503: "Service Unavailable",
    504: "Server Time-out",
    505: "Version Not Supported",
    600: "Busy Everywhere",
    603: "Decline",
    604: "Does Not Exist Anywhere",
    606: "Not Acceptable",
}


def reason_phrase(status: int) -> str:
    """The usual reason phrase of ``status`` (RFC 3261 §21), or a generic one."""
    return REASONS.get(status) or REASONS.get(status // 100 * 100, "Unknown")


class SipParseError(ValueError):
    """A message that cannot be used.

    ``reason`` says why (it becomes the reason phrase of the 400); ``status`` is the
    response code a server answers with; ``respond`` is False when no response may or
    can be sent (the message was a response, or the request lacks what a response
    needs), in which case it is silently dropped. ``request`` holds the headers read so
    far when the start line was a request, so :func:`error_response` can answer.
    """

    def __init__(
        self,
        reason: str,
        *,
        status: int = 400,
        respond: bool = True,
        request: Request | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.respond = respond
        self.request = request


def _fail(reason: str) -> SipParseError:
    return SipParseError(reason)


_NAME_CACHE_MAX = 512
"""Header names remembered by canonical_name() and header_key() (both are called for
every header of every message; a peer's own names could be many: the caches stop
growing at this size and other names are worked out each time)."""
_CANONICAL_CACHE: dict[str, str] = {}
_KEY_CACHE: dict[str, str] = {}


def canonical_name(name: str) -> str:
    """``"call-id"`` → ``"Call-ID"``, ``"v"`` → ``"Via"``, ``"x-foo"`` → ``"X-Foo"``."""
    cached = _CANONICAL_CACHE.get(name)
    if cached is not None:
        return cached
    key = name.lower()
    key = COMPACT.get(key, key)
    out = _CANONICAL.get(key) or "-".join(part.capitalize() for part in key.split("-"))
    if len(_CANONICAL_CACHE) < _NAME_CACHE_MAX:
        _CANONICAL_CACHE[name] = out
    return out


def header_key(name: str) -> str:
    """The lookup key of a header name: lower case, compact forms expanded."""
    cached = _KEY_CACHE.get(name)
    if cached is not None:
        return cached
    key = name.lower()
    key = COMPACT.get(key, key)
    if len(_KEY_CACHE) < _NAME_CACHE_MAX:
        _KEY_CACHE[name] = key
    return key


# --------------------------------------------------------------------------- splitting


def split_header_values(value: str, sep: str = ",") -> list[str]:
    """Split ``value`` at ``sep`` outside quoted strings and ``<...>``; items are stripped.

    Raises :class:`SipParseError` for an unterminated quoted string or ``<``.
    """
    if '"' not in value:
        if "<" not in value:
            if sep not in value:
                return [value.strip(_LWS)]
            return [item.strip(_LWS) for item in value.split(sep)]
        if sep not in value:
            # one <address> item (a Contact, a Route): unterminated when a '<' comes
            # after the last '>' (what the scan below finds, without a loop per character)
            if value.rfind("<") > value.rfind(">"):
                raise _fail("unterminated '<'")
            return [value.strip(_LWS)]
    items: list[str] = []
    start = 0
    i = 0
    n = len(value)
    in_quote = False
    in_angle = False
    while i < n:
        ch = value[i]
        if in_quote:
            if ch == "\\":
                i += 1
            elif ch == '"':
                in_quote = False
        elif ch == '"':
            in_quote = True
        elif in_angle:
            if ch == ">":
                in_angle = False
        elif ch == "<":
            in_angle = True
        elif ch == sep:
            items.append(value[start:i].strip(_LWS))
            start = i + 1
        i += 1
    if in_quote:
        raise _fail("unterminated quoted string")
    if in_angle:
        raise _fail("unterminated '<'")
    items.append(value[start:].strip(_LWS))
    return items


def _unquote(text: str) -> str:
    """The content of a quoted string, quoted-pairs resolved."""
    out: list[str] = []
    i = 1
    end = len(text) - 1
    while i < end:
        ch = text[i]
        if ch == "\\" and i + 1 < end:
            i += 1
            ch = text[i]
        out.append(ch)
        i += 1
    return "".join(out)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def parse_params(text: str, *, what: str = "parameter") -> dict[str, str | None]:
    """``;name=value;flag`` (leading ``;`` optional) → ``{"name": "value", "flag": None}``.

    Names are lower-cased; quoted values keep their quotes (use :func:`param_value`).
    LWS around ``;`` and ``=`` is allowed. An empty parameter is an error.
    """
    params: dict[str, str | None] = {}
    text = text.strip(_LWS)
    if not text:
        return params
    if text.startswith(";"):
        text = text[1:]
    for part in split_header_values(text, ";"):
        if not part:
            raise _fail(f"empty {what}")
        name, eq, val = part.partition("=")
        name = name.strip(_LWS)
        if not _TOKEN_RE.fullmatch(name):
            raise _fail(f"bad {what} name {name!r}")
        if eq:
            val = val.strip(_LWS)
            if val.startswith('"'):
                if len(val) < 2 or not val.endswith('"'):
                    raise _fail(f"bad quoted {what} value")
            elif not val or not _valid_gen_value(val):
                raise _fail(f"bad {what} value {val!r}")
            params[name.lower()] = val
        else:
            params[name.lower()] = None
    return params


_PARAMS_FAST = r"((?:;" + _TOKEN + r"(?:=" + _TOKEN + r")?)*)"


def _fast_params(text: str) -> dict[str, str | None]:
    """``;a=b;c`` already matched by ``_PARAMS_FAST`` → parse_params' result."""
    params: dict[str, str | None] = {}
    for part in text[1:].split(";"):
        name, eq, val = part.partition("=")
        params[name.lower()] = val if eq else None
    return params


def _valid_gen_value(val: str) -> bool:
    # gen-value = token / host / quoted-string
    return bool(_TOKEN_RE.fullmatch(val) or _HOST_RE.fullmatch(val))


def param_value(params: dict[str, str | None], name: str) -> str | None:
    """The value of parameter ``name`` with quotes removed (None when absent or a flag)."""
    val = params.get(name)
    if val is not None and len(val) >= 2 and val[0] == '"' and val[-1] == '"':
        return _unquote(val)
    return val


def _params_text(params: dict[str, str | None]) -> str:
    if not params:
        return ""
    return "".join([f";{k}" if v is None else f";{k}={v}" for k, v in params.items()])


# --------------------------------------------------------------------------- URIs


@dataclass(slots=True)
class Uri:
    """A SIP/SIPS URI (``sip:user:password@host:port;params?headers``) or, for other
    schemes, an opaque one (``opaque`` holds what follows the scheme)."""

    scheme: str = "sip"
    user: str | None = None
    host: str = ""
    port: int | None = None
    params: dict[str, str | None] = field(default_factory=dict)
    headers: str | None = None
    password: str | None = None
    opaque: str | None = None

    @property
    def is_sip(self) -> bool:
        return self.opaque is None

    @property
    def transport(self) -> str | None:
        val = self.params.get("transport")
        return val.lower() if val else None

    def host_port(self) -> str:
        return self.host if self.port is None else f"{self.host}:{self.port}"

    def __str__(self) -> str:
        if self.opaque is not None:
            return f"{self.scheme}:{self.opaque}"
        host = self.host if self.port is None else f"{self.host}:{self.port}"
        user = self.user
        if user is None:
            text = f"{self.scheme}:{host}"
        elif self.password is None:
            text = f"{self.scheme}:{user}@{host}"
        else:
            text = f"{self.scheme}:{user}:{self.password}@{host}"
        if self.params:
            text += _params_text(self.params)
        if self.headers is not None:
            text += "?" + self.headers
        return text

    def without_params(self) -> Uri:
        return Uri(self.scheme, self.user, self.host, self.port, password=self.password)

    def copy(self) -> Uri:
        return Uri(self.scheme, self.user, self.host, self.port, dict(self.params),
                   self.headers, self.password, self.opaque)  # fmt: skip


_K = TypeVar("_K")
_V = TypeVar("_V")


def _remember(cache: dict[_K, _V], key: _K, value: _V, limit: int) -> _V:
    """Keep ``value`` under ``key`` in one of this module's bounded caches (emptied when
    it holds ``limit`` entries) and return it: the miss path of every look-up here."""
    if len(cache) >= limit:
        cache.clear()
    cache[key] = value
    return value


_URI_CACHE: dict[str, Uri] = {}
_URI_CACHE_MAX = 1024
"""URIs parsed lately, by text (a phone's URIs come back in every message: Request-URI,
From, To, Contact); cleared when full. Callers get a copy, which they may change."""
_URI_BAD_CHARS = re.compile(r'[ \t\r\n<>"]')


def parse_uri(text: str) -> Uri:
    """Parse a URI. ``sip``/``sips`` URIs are checked against RFC 3261 §25.1; other
    schemes are kept opaque (but must not contain whitespace)."""
    cached = _URI_CACHE.get(text)
    if cached is not None:
        return cached.copy()
    uri = _parse_uri(text)
    _remember(_URI_CACHE, text, uri.copy(), _URI_CACHE_MAX)
    return uri


def _parse_uri(text: str) -> Uri:
    scheme, colon, rest = text.partition(":")
    if not colon or not _SCHEME_RE.fullmatch(scheme):
        raise _fail(f"bad URI {text!r}")
    if _URI_BAD_CHARS.search(rest) is not None:
        raise _fail(f"bad character in URI {text!r}")
    lowered = scheme.lower()
    if lowered not in ("sip", "sips"):
        if not rest:
            raise _fail(f"empty URI {text!r}")
        return Uri(scheme=lowered, opaque=rest)
    at = rest.rfind("@")
    user: str | None = None
    password: str | None = None
    if at >= 0:
        userinfo, rest = rest[:at], rest[at + 1 :]
        user, has_pw, pw = userinfo.partition(":")
        if not _USER_RE.fullmatch(user):
            raise _fail(f"bad user part in URI {text!r}")
        if has_pw:
            if not _PASSWORD_RE.fullmatch(pw):
                raise _fail(f"bad password in URI {text!r}")
            password = pw
    headers: str | None = None
    rest, q, hdrs = rest.partition("?")
    if q:
        for item in hdrs.split("&"):
            name, eq, val = item.partition("=")
            if not eq or not _HEADERCHAR_RE.fullmatch(name) or not name:
                raise _fail(f"bad header in URI {text!r}")
            if not _HEADERCHAR_RE.fullmatch(val):
                raise _fail(f"bad header value in URI {text!r}")
        headers = hdrs
    hostport, _, params_text = rest.partition(";")
    host, port = _split_hostport(hostport, text)
    params: dict[str, str | None] = {}
    if params_text:
        for part in params_text.split(";"):
            name, eq, val = part.partition("=")
            if not name or not _PARAMCHAR_RE.fullmatch(name):
                raise _fail(f"bad URI parameter in {text!r}")
            if eq and not _PARAMCHAR_RE.fullmatch(val):
                raise _fail(f"bad URI parameter value in {text!r}")
            params[name.lower()] = val if eq else None
    return Uri(lowered, user, host, port, params, headers, password)


def _split_hostport(hostport: str, text: str) -> tuple[str, int | None]:
    if hostport.startswith("["):
        close = hostport.find("]")
        if close < 0:
            raise _fail(f"bad IPv6 reference in {text!r}")
        host, rest = hostport[: close + 1], hostport[close + 1 :]
        port_text = rest[1:] if rest.startswith(":") else None
        if rest and port_text is None:
            raise _fail(f"bad host in {text!r}")
    else:
        host, colon, port_text_ = hostport.partition(":")
        port_text = port_text_ if colon else None
    if not host or not _HOST_RE.fullmatch(host):
        raise _fail(f"bad host {host!r} in {text!r}")
    if port_text is None:
        return host.lower(), None
    if not _digits(port_text, 5) or int(port_text) > 65535:
        raise _fail(f"bad port in {text!r}")
    return host.lower(), int(port_text)


# --------------------------------------------------------------------------- name-addr


@dataclass(slots=True)
class NameAddr:
    """``"Display" <uri>;params`` (From, To, Contact, Route, Refer-To...).

    ``wildcard`` is true for the Contact value ``*``.
    """

    uri: Uri
    display: str | None = None
    params: dict[str, str | None] = field(default_factory=dict)
    wildcard: bool = False

    @property
    def tag(self) -> str | None:
        return param_value(self.params, "tag")

    def copy(self) -> NameAddr:
        """A copy that can be changed without changing this one (URI included)."""
        return NameAddr(self.uri.copy(), self.display, dict(self.params), self.wildcard)

    def __str__(self) -> str:
        if self.wildcard:
            return "*"
        text = f"<{self.uri}>"
        if self.display:
            text = f"{_quote(self.display)} {text}"
        return text + _params_text(self.params) if self.params else text


_NAME_ADDR_FAST_RE = re.compile(r'(?:"([^"\\\r\n]*)"[ \t]*)?<([^<>"\s]+)>' + _PARAMS_FAST)
"""The usual name-addr (``"Display" <uri>;tag=token``: a display name without
quoted-pairs, no LWS around the parameters): read without the general parser."""


def parse_name_addr(text: str) -> NameAddr:
    """Parse ``name-addr`` or ``addr-spec`` with header parameters (RFC 3261 §20.10).

    In the ``addr-spec`` form (no ``<>``) every ``;param`` belongs to the header and the
    URI may not carry ``?headers``.
    """
    fast = _NAME_ADDR_FAST_RE.fullmatch(text)
    if fast is not None:
        display, inner, rest = fast.groups()
        return NameAddr(parse_uri(inner), display, _fast_params(rest) if rest else {})
    return _parse_name_addr(text)


_HEADER_NAME_ADDRS: dict[str, NameAddr] = {}
_HEADER_NAME_ADDRS_MAX = 1024
"""Name-addrs of received headers parsed lately, by text: a call's From and To come back
in each of its messages (and our BYE's 200 has them too), a phone's Contact and the To of
an INVITE in every call. Like every parsed value (:class:`Headers`) they are shared, here
by all the messages that carry the same text: never changed (copied first). Cleared when
full."""


_HEADER_URIS: dict[str, Uri] = {}
"""The URIs of received messages (Request-URIs, those of :data:`_HEADER_NAME_ADDRS`) by
text, shared the same way (never changed: parse_uri's own cache is not shared, a caller
may change what it returns); cleared when full."""


def _header_uri(text: str) -> Uri:
    """:func:`parse_uri` for a received message: the same value (or error), shared."""
    found = _HEADER_URIS.get(text)
    if found is not None:
        return found
    return _remember(_HEADER_URIS, text, parse_uri(text), _HEADER_NAME_ADDRS_MAX)


def _header_name_addr(text: str) -> NameAddr:
    """:func:`parse_name_addr` for a received header's value: the same value (or the same
    error), shared with other messages whose header has the same text."""
    found = _HEADER_NAME_ADDRS.get(text)
    if found is not None:
        return found
    fast = _NAME_ADDR_FAST_RE.fullmatch(text)
    if fast is not None:  # parse_name_addr's fast path, with a shared URI
        display, inner, rest = fast.groups()
        value = NameAddr(_header_uri(inner), display, _fast_params(rest) if rest else {})
    else:
        value = _parse_name_addr(text)
    return _remember(_HEADER_NAME_ADDRS, text, value, _HEADER_NAME_ADDRS_MAX)


def _parse_name_addr(text: str) -> NameAddr:
    """The general parser of :func:`parse_name_addr`."""
    text = text.strip(_LWS)
    if text == "*":
        return NameAddr(Uri(host="*"), wildcard=True)
    display: str | None = None
    if text.startswith('"'):
        end = _quoted_end(text)
        display = _unquote(text[: end + 1])
        text = text[end + 1 :].lstrip(_LWS)
        if not text.startswith("<"):
            raise _fail("display name without <address>")
    lt = text.find("<")
    if lt >= 0:
        if display is None:
            name = text[:lt].strip(_LWS)
            if name:
                if not all(_TOKEN_RE.fullmatch(word) for word in name.split()):
                    raise _fail(f"bad display name {name!r}")
                display = " ".join(name.split())
        gt = text.find(">", lt)
        if gt < 0:
            raise _fail("unterminated '<'")
        inner = text[lt + 1 : gt]
        if inner != inner.strip(_LWS):
            raise _fail("whitespace inside <address>")
        uri = parse_uri(inner)
        params = parse_params(text[gt + 1 :], what="header parameter")
        return NameAddr(uri, display, params)
    uri_text, semi, rest = text.partition(";")
    uri_text = uri_text.rstrip(_LWS)
    if any(ch in uri_text for ch in " \t,?"):
        raise _fail(f"bad addr-spec {uri_text!r} (a URI with , ? or ; needs <>)")
    uri = parse_uri(uri_text)
    params = parse_params(rest, what="header parameter") if semi else {}
    return NameAddr(uri, None, params)


def _quoted_end(text: str) -> int:
    i = 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == '"':
            return i
        i += 1
    raise _fail("unterminated quoted string")


# --------------------------------------------------------------------------- Via, CSeq


@dataclass(slots=True)
class Via:
    """One Via value: ``SIP/2.0/UDP host:port;branch=...;received=...;rport``."""

    transport: str
    host: str
    port: int | None = None
    params: dict[str, str | None] = field(default_factory=dict)

    @property
    def branch(self) -> str | None:
        return self.params.get("branch")

    @property
    def received(self) -> str | None:
        return self.params.get("received")

    @property
    def has_rport(self) -> bool:
        return "rport" in self.params

    @property
    def rport(self) -> int | None:
        val = self.params.get("rport")
        return int(val) if val else None

    @property
    def sent_by(self) -> str:
        return self.host if self.port is None else f"{self.host}:{self.port}"

    def copy(self) -> Via:
        return Via(self.transport, self.host, self.port, dict(self.params))

    def __str__(self) -> str:
        return f"SIP/2.0/{self.transport} {self.sent_by}{_params_text(self.params)}"


_VIA_HEAD_RE = re.compile(r"SIP[ \t]*/[ \t]*[0-9.]+[ \t]*/[ \t]*" + _TOKEN + r"[ \t]+[^;, \t]+")
_VIA_RE = re.compile(
    r"SIP[ \t]*/[ \t]*2\.0[ \t]*/[ \t]*(" + _TOKEN + r")[ \t]+([^;]+?)[ \t]*(;.*)?", re.DOTALL
)


_VIA_FAST_RE = re.compile(
    r"SIP/2\.0/([A-Za-z]+) ([A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\])(?::([0-9]{1,5}))?" + _PARAMS_FAST
)
"""The usual Via (``SIP/2.0/UDP host:port;name=token;flag``, no LWS or quotes): read
without the general parser (what it accepts, the general one reads the same way)."""


def parse_via(text: str) -> Via:
    fast = _VIA_FAST_RE.fullmatch(text)
    if fast is not None:
        transport, host, port_text, rest = fast.groups()
        if _HOST_RE.fullmatch(host) is not None and (port_text is None or int(port_text) <= 65535):
            params = _fast_params(rest) if rest else {}
            ok = True
            if "ttl" in params or "received" in params or params.get("rport") is not None:
                for key in ("ttl", "rport"):
                    val = params.get(key)
                    if val is not None and (not _digits(val, 5) or int(val) > 65535):
                        ok = False
                received = params.get("received")
                if received is not None and not _HOST_RE.fullmatch(received):
                    ok = False
            if ok:
                port = None if port_text is None else int(port_text)
                return Via(transport.upper(), host.lower(), port, params)
    return _parse_via(text)


def _parse_via(text: str) -> Via:
    m = _VIA_RE.fullmatch(text.strip(_LWS))
    if m is None:
        raise _fail(f"bad Via {text!r}")
    transport, sent_by, rest = m.group(1).upper(), m.group(2), m.group(3) or ""
    sent_by = re.sub(r"[ \t]*:[ \t]*", ":", sent_by)
    host, port = _split_hostport(sent_by, text)
    params = parse_params(rest, what="Via parameter")
    for key in ("ttl", "rport"):
        val = params.get(key)
        if val is not None and (not _digits(val, 5) or int(val) > 65535):
            raise _fail(f"bad Via {key}")
    if params.get("received") is not None and not _HOST_RE.fullmatch(params["received"] or ""):
        raise _fail("bad Via received")
    return Via(transport, host, port, params)


@dataclass(frozen=True, slots=True)
class CSeq:
    number: int
    method: str

    def __str__(self) -> str:
        return f"{self.number} {self.method}"


_CSEQ_CACHE: dict[str, CSeq] = {}
"""CSeq values parsed lately, by text (immutable: shared); cleared when full."""


def parse_cseq(text: str) -> CSeq:
    found = _CSEQ_CACHE.get(text)
    if found is not None:
        return found
    return _remember(_CSEQ_CACHE, text, _parse_cseq(text), _URI_CACHE_MAX)


def _parse_cseq(text: str) -> CSeq:
    parts = text.split()
    if len(parts) != 2 or not _digits(parts[0], 12) or not _TOKEN_RE.fullmatch(parts[1]):
        raise _fail(f"bad CSeq {text[:40]!r}")
    number = int(parts[0])
    if number > _INT32_MAX:
        raise _fail("CSeq number too large")
    return CSeq(number, parts[1])


_SMALL_UINTS = {str(number): number for number in range(2048)}
"""The usual Max-Forwards, Content-Length and Expires texts (``"70"``, ``"0"``, ``"3600"``
is not one) and their values: read with one lookup."""


def _parse_uint(text: str, what: str, maximum: int) -> int:
    value = _SMALL_UINTS.get(text)
    if value is not None and value <= maximum:
        return value
    text = text.strip(_LWS)
    if not _digits(text, 12) or int(text) > maximum:
        raise _fail(f"bad {what} {text[:40]!r}")
    return int(text)


# --------------------------------------------------------------------------- headers


class Headers:
    """Ordered, case-insensitive header fields. Each entry is one header line's
    ``(name, value)``; list headers may hold several comma separated values.

    ``parsed`` holds the typed values the message accessors made of these lines (From,
    To, Via, CSeq, Contact), so each is parsed once per message; any change to the
    headers drops it. The values are shared (a From, To or Contact also with the other
    messages whose header has the same text): a caller that wants to change one copies
    it first (:meth:`NameAddr.copy`, :meth:`Via.copy`)."""

    __slots__ = ("_items", "_keys", "parsed")

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items: list[tuple[str, str]] = []
        self._keys: list[str] = []
        self.parsed: dict[str, object] = {}
        for name, value in items:
            self.add(name, value)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and header_key(name) in self._keys

    def copy(self) -> Headers:
        new = Headers()
        new._items = list(self._items)
        new._keys = list(self._keys)
        return new

    @classmethod
    def _of(cls, items: list[tuple[str, str]], keys: list[str]) -> Headers:
        """Headers from ready lists (names canonical, keys matching): no checks."""
        new = cls.__new__(cls)
        new._items = items
        new._keys = keys
        new.parsed = {}
        return new

    def line_keys(self) -> list[str]:
        """The lookup key of each line, in order."""
        return list(self._keys)

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of ``name`` (the first line's first item for list headers)."""
        key = _KEY_CACHE.get(name) or header_key(name)
        keys = self._keys
        if key not in keys:
            return default
        if key not in LIST_HEADERS:
            return self._items[keys.index(key)][1]
        values = self.getall(name)
        return values[0] if values else default

    def getall(self, name: str) -> list[str]:
        """Every value of ``name``, list headers split at commas."""
        key = _KEY_CACHE.get(name) or header_key(name)
        if key not in self._keys:
            return []
        out: list[str] = []
        split = key in LIST_HEADERS
        for k, (_, v) in zip(self._keys, self._items, strict=True):
            if k == key:
                if split:
                    out.extend(item for item in split_header_values(v) if item)
                else:
                    out.append(v)
        return out

    def lines(self, name: str) -> list[str]:
        """The raw value of each ``name`` line (list headers not split)."""
        key = header_key(name)
        return [v for k, (_, v) in zip(self._keys, self._items, strict=True) if k == key]

    def add(self, name: str, value: str) -> None:
        self._items.append((canonical_name(name), value))
        self._keys.append(header_key(name))
        if self.parsed:
            self.parsed = {}

    def set(self, name: str, value: str) -> None:
        """Replace every ``name`` line by one (kept at the first one's position)."""
        key = header_key(name)
        if key not in self._keys:
            self.add(name, value)
            return
        self.parsed = {}
        first = self._keys.index(key)
        items = []
        keys = []
        for index, (k, item) in enumerate(zip(self._keys, self._items, strict=True)):
            if index == first:
                items.append((canonical_name(name), value))
                keys.append(k)
            elif k != key:
                items.append(item)
                keys.append(k)
        self._items, self._keys = items, keys

    def remove(self, name: str) -> None:
        key = header_key(name)
        self.parsed = {}
        pairs = [(k, item) for k, item in zip(self._keys, self._items, strict=True) if k != key]
        self._keys = [k for k, _ in pairs]
        self._items = [item for _, item in pairs]

    def insert_first(self, name: str, value: str) -> None:
        self.parsed = {}
        self._items.insert(0, (canonical_name(name), value))
        self._keys.insert(0, header_key(name))


# --------------------------------------------------------------------------- messages


@dataclass(slots=True, kw_only=True)
class SipMessage:
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""

    # typed accessors: parsed once, kept in ``headers.parsed`` until the headers change
    # (shared values: copy one before changing it)

    @property
    def call_id(self) -> str:
        parsed = self.headers.parsed
        found = parsed.get("call-id")
        if found is None:
            found = parsed["call-id"] = self.headers.get("call-id") or ""
        return found  # type: ignore[return-value]

    @property
    def cseq(self) -> CSeq:
        parsed = self.headers.parsed
        found = parsed.get("cseq")
        if found is None:
            found = parsed["cseq"] = parse_cseq(self.headers.get("cseq") or "")
        return found  # type: ignore[return-value]

    @property
    def from_(self) -> NameAddr:
        parsed = self.headers.parsed
        found = parsed.get("from")
        if found is None:
            found = parsed["from"] = _header_name_addr(self.headers.get("from") or "")
        return found  # type: ignore[return-value]

    @property
    def to(self) -> NameAddr:
        parsed = self.headers.parsed
        found = parsed.get("to")
        if found is None:
            found = parsed["to"] = _header_name_addr(self.headers.get("to") or "")
        return found  # type: ignore[return-value]

    @property
    def vias(self) -> list[Via]:
        parsed = self.headers.parsed
        found: list[Via] | None = parsed.get("vias")  # type: ignore[assignment]
        if found is None:
            found = parsed["vias"] = [parse_via(v) for v in self.headers.getall("via")]
        return list(found)

    @property
    def top_via(self) -> Via:
        parsed = self.headers.parsed
        vias: list[Via] | None = parsed.get("vias")  # type: ignore[assignment]
        if vias:
            return vias[0]
        found = parsed.get("top_via")
        if found is None:
            first = self.headers.get("via")
            if first is None:
                raise _fail("no Via")
            found = parsed["top_via"] = parse_via(first)
        return found  # type: ignore[return-value]

    @property
    def contacts(self) -> list[NameAddr]:
        parsed = self.headers.parsed
        found: list[NameAddr] | None = parsed.get("contacts")  # type: ignore[assignment]
        if found is None:
            found = parsed["contacts"] = [
                _header_name_addr(v) for v in self.headers.getall("contact")
            ]
        return list(found)

    @property
    def content_type(self) -> str | None:
        val = self.headers.get("content-type")
        return val.split(";")[0].strip().lower() if val else None

    @property
    def expires(self) -> int | None:
        val = self.headers.get("expires")
        return None if val is None else _parse_uint(val, "Expires", _UINT32_MAX)

    @property
    def max_forwards(self) -> int | None:
        val = self.headers.get("max-forwards")
        return None if val is None else _parse_uint(val, "Max-Forwards", 255)

    def header_lines(self) -> list[str]:
        lines = [
            f"{n}: {v}"
            for k, (n, v) in zip(self.headers.line_keys(), self.headers, strict=True)
            if k != "content-length"
        ]
        lines.append(f"Content-Length: {len(self.body)}")
        return lines

    def start_line(self) -> str:
        raise NotImplementedError

    def to_bytes(self) -> bytes:
        """The message on the wire; Content-Length always matches the body."""
        h = self.headers
        if "content-length" in h._keys:
            lines = [self.start_line(), *self.header_lines(), "", ""]
        else:
            # ": ".join((name, value)) is f"{name}: {value}", without a Python loop
            lines = [self.start_line(), *map(": ".join, h._items)]
            lines += (f"Content-Length: {len(self.body)}", "", "")
        return "\r\n".join(lines).encode("utf-8", "surrogateescape") + self.body


@dataclass(slots=True, kw_only=True)
class Request(SipMessage):
    method: str
    uri: Uri

    def start_line(self) -> str:
        return f"{self.method} {self.uri} SIP/2.0"


@dataclass(slots=True, kw_only=True)
class Response(SipMessage):
    status: int
    reason: str = ""

    def start_line(self) -> str:
        return f"SIP/2.0 {self.status} {self.reason}"


# --------------------------------------------------------------------------- parsing

_REQUEST_LINE_RE = re.compile(r"(" + _TOKEN + r") ([^ ]+) (SIP/[0-9]+\.[0-9]+)")
_STATUS_LINE_RE = re.compile(r"(SIP/[0-9]+\.[0-9]+) ([1-6][0-9]{2}) (.*)", re.DOTALL)


def _split_head(data: bytes) -> tuple[list[str], bytes]:
    """Header lines (folded lines joined) and the rest after the blank line."""
    end = data.find(b"\r\n\r\n")
    sep = 4
    if end < 0:
        end = data.find(b"\n\n")
        sep = 2
        if end < 0:
            raise SipParseError("no blank line after the headers", respond=False)
    head = data[:end].decode("utf-8", "surrogateescape").replace("\r\n", "\n")
    if "\n " not in head and "\n\t" not in head and head[:1] not in (" ", "\t"):
        return head.split("\n"), data[end + sep :]  # no folded lines
    lines: list[str] = []
    for raw in head.split("\n"):
        if raw[:1] in (" ", "\t"):
            if len(lines) < 2:
                raise SipParseError("continuation line without a header", respond=False)
            lines[-1] += " " + raw.strip(_LWS)
        else:
            lines.append(raw)
    return lines, data[end + sep :]


_START_LINES: dict[str, tuple[str, ...]] = {}
"""Start lines read lately (``SIP/2.0 200 OK``, a phone's ``ACK sip:...``) → the groups
of their regex (request: method, Request-URI, version; response: version, status,
reason); lines the regex refuses are not kept. Cleared when full."""

_NO_URI = Uri()
"""The Request-URI of a request whose start line could not be read (shared: never changed)."""


def parse_message(data: bytes, *, stream: bool = False) -> Request | Response:
    """Parse one SIP message.

    Over a datagram (``stream`` false) a missing Content-Length means "the rest of
    the datagram"; bytes beyond Content-Length are discarded; a Content-Length larger
    than what arrived is an error. Over a stream Content-Length is required.
    """
    if len(data) > MAX_MESSAGE:
        raise SipParseError("message too large", respond=False)
    data = data.lstrip(b"\r\n")
    lines, rest = _split_head(data)
    start = lines[0]
    is_response = start.startswith("SIP/")
    groups = _START_LINES.get(start)
    if groups is None:
        m = (_STATUS_LINE_RE if is_response else _REQUEST_LINE_RE).fullmatch(start)
        if m is not None:
            groups = _remember(_START_LINES, start, m.groups(), _URI_CACHE_MAX)
    msg: Request | Response
    if is_response:
        if groups is None:
            raise SipParseError(f"bad status line {start[:80]!r}", respond=False)
        if groups[0] != "SIP/2.0":
            raise SipParseError("unsupported SIP version", respond=False)
        msg = Response(status=int(groups[1]), reason=groups[2])
    else:
        if groups is not None:
            method = groups[0]
        else:
            words = start.split()
            method = words[0] if words and _TOKEN_RE.fullmatch(words[0]) else ""
        msg = Request(method=method, uri=_NO_URI)  # the Request-URI is read below
    try:
        scan = _read_headers(msg, lines[1:])
        if not is_response:
            if groups is None:
                raise _fail("bad request line")
            if groups[2] != "SIP/2.0":
                raise SipParseError("Version Not Supported", status=505)
            assert isinstance(msg, Request)
            uri = _header_uri(groups[1])
            if uri.headers is not None:
                raise _fail("Request-URI with headers")
            msg.uri = uri
        msg.body = _body(msg, rest, stream)
        _check(msg, scan)
    except SipParseError as exc:
        if is_response:
            exc.respond = False
        elif isinstance(msg, Request):
            exc.request = msg
            exc.respond = exc.respond and _can_respond(msg)
        raise
    return msg


_NAMES: dict[str, tuple[str, str]] = {}
"""Header names seen on the wire that are valid tokens → (canonical name, lookup key):
one lookup per header line instead of a regex and two (bounded like the caches above)."""


_Scan = tuple[dict[str, str], str | None, list[str], list[list[str]], SipParseError | None]
"""What :func:`_read_headers` saw of the header lines for :func:`_check` (a plain tuple:
no call to make one): the value of each header that may appear once, the first of them
that appeared again, the Via items, the Contact lines' items, and the first list header
that could not be split (reported after the duplicates and missing headers, as those
are checked first)."""


def _read_headers(msg: SipMessage, lines: list[str]) -> _Scan:
    """The header lines into ``msg.headers``; in the same pass, what :func:`_check` looks
    at (it runs later: errors come in the same order as if it read the lines itself)."""
    items: list[tuple[str, str]] = []
    keys: list[str] = []
    first: dict[str, str] = {}
    duplicate: str | None = None
    via_items: list[str] = []
    contact_lines: list[list[str]] = []
    split_error: SipParseError | None = None
    names = _NAMES
    for line in lines:
        name, colon, value = line.partition(":")
        known = names.get(name)
        if known is None:
            name = name.strip(_LWS)
            if not colon or not _HEADER_NAME_RE.fullmatch(name):
                raise _fail(f"bad header line {line[:60]!r}")
            known = (canonical_name(name), header_key(name))
            if len(names) < _NAME_CACHE_MAX:
                names[name] = known
        value = value.strip(_LWS)
        key = known[1]
        items.append((known[0], value))
        keys.append(key)
        if key in SINGLE_HEADERS:
            if key not in first:
                first[key] = value
            elif duplicate is None:
                duplicate = key
        elif key in LIST_HEADERS:
            # so that getall() of a parsed message never fails
            try:
                values = split_header_values(value)
            except SipParseError as exc:
                split_error = split_error or exc
                continue
            if key == "via":
                via_items.extend(values)
            elif key == "contact":
                contact_lines.append(values)
    msg.headers = Headers._of(items, keys)
    return first, duplicate, via_items, contact_lines, split_error


def _body(msg: SipMessage, rest: bytes, stream: bool) -> bytes:
    keys = msg.headers._keys
    count = keys.count("content-length")
    if not count:
        if stream:
            raise _fail("no Content-Length on a stream transport")
        return rest
    if count > 1:
        raise _fail("more than one Content-Length")
    value = msg.headers._items[keys.index("content-length")][1]
    length = _parse_uint(value, "Content-Length", MAX_MESSAGE)
    if length > len(rest):
        raise _fail("Content-Length larger than the message")
    return rest[:length]


def _check(msg: Request | Response, scan: _Scan) -> None:
    """Checks the headers a transaction or dialog relies on (RFC 3261 §8.1.1), from what
    :func:`_read_headers` saw of them. What it parses (Via, From, To, CSeq, Contact) is
    kept in ``headers.parsed`` for the accessors: a received message's headers are
    parsed once."""
    h = msg.headers
    keys = h._keys
    first, duplicate, via_items, contact_lines, split_error = scan
    if duplicate is not None:
        raise _fail(f"more than one {canonical_name(duplicate)}")
    for required in ("via", "from", "to", "call-id", "cseq"):
        if required not in first and required not in keys:
            raise _fail(f"missing {canonical_name(required)}")
    if split_error is not None:
        raise split_error
    if not all(via_items):
        raise _fail("empty Via value")
    parsed = h.parsed
    parsed["vias"] = [parse_via(via) for via in via_items]
    from_ = _header_name_addr(first["from"])
    to = _header_name_addr(first["to"])
    call_id = first["call-id"]
    if not call_id or " " in call_id or "\t" in call_id:
        raise _fail("bad Call-ID")
    cseq = parse_cseq(first["cseq"])
    if isinstance(msg, Request) and cseq.method != msg.method:
        raise _fail("CSeq method does not match the request method")
    max_forwards = first.get("max-forwards")
    if max_forwards is not None:
        _parse_uint(max_forwards, "Max-Forwards", 255)
    expires = first.get("expires")
    if expires is not None:
        _parse_uint(expires, "Expires", _UINT32_MAX)
    contacts: list[NameAddr] = []
    for values in contact_lines:
        if not all(values):
            raise _fail("empty Contact value")
        for item in values:
            contact = _header_name_addr(item)
            exp = param_value(contact.params, "expires")
            if exp is not None:
                _parse_uint(exp, "Contact expires", _UINT32_MAX)
            contacts.append(contact)
    if "route" in keys or "record-route" in keys:
        for name in ("route", "record-route"):
            for item in h.getall(name):
                parse_name_addr(item)
    if "date" in keys:
        date = h.get("date")
        if date is not None and not _DATE_RE.fullmatch(date):
            raise _fail("bad Date")
    parsed["from"] = from_
    parsed["to"] = to
    parsed["cseq"] = cseq
    parsed["contacts"] = contacts
    parsed["call-id"] = call_id


def _can_respond(msg: Request) -> bool:
    """Whether a 400 can be built: the fields every response copies are present."""
    h = msg.headers
    try:
        vias = h.getall("via")
    except SipParseError:
        return False
    if not msg.method or not vias or _VIA_HEAD_RE.match(vias[0]) is None:
        return False
    return all(h.get(name) for name in ("from", "to", "call-id", "cseq"))


# --------------------------------------------------------------------------- responses


_COPIED_TO_RESPONSES = frozenset({"via", "from", "to", "call-id", "cseq", "record-route"})


def make_response(
    request: Request,
    status: int,
    reason: str | None = None,
    *,
    to_tag: str | None = None,
    headers: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
) -> Response:
    """A response to ``request`` (RFC 3261 §8.2.6.2): Via, From, To, Call-ID and CSeq
    copied, a To tag added (unless it has one or status is 100), ``headers`` appended.
    Record-Route is copied too (§12.1.1, as pjsip does for every response): a proxy
    that record-routes stays in the dialog the response makes."""
    items: list[tuple[str, str]] = []
    keys: list[str] = []
    req = request.headers
    copied = _COPIED_TO_RESPONSES
    for key, item in zip(req._keys, req._items, strict=True):
        # a Headers' names are canonical already: its lines are copied as they are
        if key not in copied:
            continue
        if key == "to":
            if to_tag and status != 100 and not _has_tag(request, item[1]):
                item = ("To", f"{item[1]};tag={to_tag}")
        elif key == "record-route" and status == 100:
            continue
        items.append(item)
        keys.append(key)
    for name, value in headers:
        items.append((_CANONICAL_CACHE.get(name) or canonical_name(name), value))
        keys.append(_KEY_CACHE.get(name) or header_key(name))
    return Response(
        status=status,
        reason=reason or REASONS.get(status) or reason_phrase(status),
        headers=Headers._of(items, keys),
        body=body,
    )


def _has_tag(request: Request, value: str) -> bool:
    """Whether ``value``, a To of ``request``, has a tag (its parsed To when it is that)."""
    try:
        to = request.to if value == request.headers.get("to") else parse_name_addr(value)
        return to.tag is not None
    except SipParseError:
        return ";tag=" in value.replace(" ", "").lower()


def error_response(error: SipParseError, *, to_tag: str | None = None) -> Response | None:
    """The response a server sends for ``error`` (400/505 with the reason), or None when
    the message must be dropped."""
    if not error.respond or error.request is None:
        return None
    reason = "Version Not Supported" if error.status == 505 else f"Bad Request - {error.reason}"
    return make_response(error.request, error.status, _printable(reason), to_tag=to_tag)


def _printable(text: str) -> str:
    return "".join(ch if " " <= ch < "\x7f" else "?" for ch in text)[:120]


# --------------------------------------------------------------------------- streams


class StreamFramer:
    """Cuts a stream (TCP/TLS) into messages by Content-Length (RFC 3261 §18.3).

    ``feed(data)`` returns the complete messages, parsed; blank lines between messages
    (keep-alives) are skipped. A malformed message raises :class:`SipParseError`: the
    stream has lost its framing and must be closed.
    """

    def __init__(self, max_size: int = MAX_MESSAGE) -> None:
        self._buffer = bytearray()
        self._max = max_size

    def feed(self, data: bytes) -> list[Request | Response]:
        self._buffer += data
        out: list[Request | Response] = []
        while True:
            while self._buffer[:2] == b"\r\n":
                del self._buffer[:2]
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buffer) > self._max:
                    raise SipParseError("headers too large", respond=False)
                return out
            head = bytes(self._buffer[:end])
            length = _stream_length(head)
            total = end + 4 + length
            if total > self._max:
                raise SipParseError("message too large", respond=False)
            if len(self._buffer) < total:
                return out
            chunk = bytes(self._buffer[:total])
            del self._buffer[:total]
            out.append(parse_message(chunk, stream=True))


_CL_RE = re.compile(rb"^(?:content-length|l)[ \t]*:[ \t]*([0-9]+)[ \t]*\r?$", re.I | re.M)


def _stream_length(head: bytes) -> int:
    found = _CL_RE.findall(head)
    if len(found) != 1:
        raise SipParseError("stream message without exactly one Content-Length", respond=False)
    if len(found[0]) > 12:
        raise SipParseError("message too large", respond=False)
    return int(found[0])


# --------------------------------------------------------------------------- UAS checks


def check_request(
    request: Request,
    *,
    supported: Iterable[str] = (),
    accepted_types: Iterable[str] = ("application/sdp",),
) -> Response | None:
    """The checks a UAS makes before handling a well-formed request (RFC 3261 §8.2.1-§8.2.3),
    as a ready error response, or None when the request may be processed.

    Unknown Request-URI scheme → 416; Max-Forwards 0 on anything but OPTIONS → 483;
    an unsupported ``Require`` option → 420 with ``Unsupported``; a body of a type not in
    ``accepted_types`` → 415 with ``Accept``; an ``Accept`` that excludes SDP on an
    INVITE/OPTIONS → 406.
    """
    if request.method == "ACK":
        return None
    if not request.uri.is_sip and request.uri.scheme != "tel":
        return make_response(request, 416)
    if request.max_forwards == 0 and request.method != "OPTIONS":
        return make_response(request, 483)
    required = request.headers.getall("require")
    unsupported: list[str] = []
    if required:
        known = {item.lower() for item in supported}
        unsupported = [option for option in required if option.lower() not in known]
    if unsupported and request.method not in ("CANCEL",):
        return make_response(request, 420, headers=[("Unsupported", ", ".join(unsupported))])
    types = tuple(accepted_types)
    content_type = request.content_type
    if request.body and content_type is not None and content_type not in types:
        return make_response(request, 415, headers=[("Accept", ", ".join(types))])
    if request.method in ("INVITE", "OPTIONS") and "accept" in request.headers:
        accepted = [a.split(";")[0].strip().lower() for a in request.headers.getall("accept")]
        if not any(a in ("application/sdp", "application/*", "*/*") for a in accepted):
            return make_response(request, 406, headers=[("Accept", ", ".join(types))])
    return None
