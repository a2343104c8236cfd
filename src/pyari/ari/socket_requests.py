"""REST over the events WebSocket: a ``RESTRequest`` message in, a ``RESTResponse`` out.

An application may send ``{"type": "RESTRequest", "transaction_id",
"request_id", "method", "uri", "query_strings", "content_type",
"message_body"}`` on its events socket (Asterisk 22+). The message is read
as Asterisk's res/ari/ari_websocket_requests.c reads it (the same checks, in
the same order, with the same messages), turned into an :class:`AriRequest`
and answered by :meth:`AriService.handle` -- the pipeline HTTP requests take,
so the socket's credentials (the upgrade's ``Authorization`` header or its
``api_key``), a read-only user's refusal and every operation's parameters
are the same as over HTTP.

The answer goes on the socket's event queue once the operation has returned,
so it follows every event the operation published before it returned and
precedes the events published after (the events of a call it starts, say).
Messages are answered one at a time, in the order they arrive, as Asterisk's
socket reader does.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

import msgspec

from pyari import wallclock
from pyari.ari.encoding import JSON, BadJson
from pyari.ari.encoding import decode as decode_json
from pyari.ari.service import AriRequest, AriResponse, AriService, form_pairs

if TYPE_CHECKING:
    from pyari.ari.events_ws import EventSession

log = logging.getLogger("pyari.ari")

_encoder = msgspec.json.Encoder()

METHODS = frozenset(("GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS"))
"""The method names Asterisk's HTTP server knows (case matters)."""
FORM = "application/x-www-form-urlencoded"
BAD = "Bad request"
"""The reason phrase of a message Asterisk refuses to read."""
NOT_ACCEPTABLE = "Not Acceptable.  Use HTTP GET"


class Refused(Exception):
    """A message that is not a request that can be run (answered with ``status``)."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message


class Ids(msgspec.Struct):
    """What a response repeats of its request."""

    transaction_id: str = ""
    request_id: str = ""
    uri: str = ""


class Message(msgspec.Struct):
    """The properties of a message that are read (a property of another type counts as
    absent, as in Asterisk; other properties are ignored)."""

    type: str | None = None
    transaction_id: str | None = None
    request_id: str | None = None
    method: str | None = None
    uri: str | None = None
    query_strings: Any = None
    content_type: str | None = None
    message_body: str | None = None


_message = msgspec.json.Decoder(Message)


def _text(msg: Any, key: str) -> str | None:
    """A string property of the message (None when absent or not a string)."""
    value = msg.get(key) if isinstance(msg, dict) else None
    return value if isinstance(value, str) else None


def parse(text: str | bytes) -> Message:
    """The message ``text`` holds; :class:`BadJson` when it is not JSON."""
    try:
        return _message.decode(text)
    except msgspec.ValidationError:
        pass  # not an object, or a property of another type: read it one by one
    except (msgspec.DecodeError, UnicodeError, RecursionError):
        raise BadJson("not valid JSON") from None
    msg = decode_json(text)
    return Message(
        _text(msg, "type"),
        _text(msg, "transaction_id"),
        _text(msg, "request_id"),
        _text(msg, "method"),
        _text(msg, "uri"),
        msg.get("query_strings") if isinstance(msg, dict) else None,
        _text(msg, "content_type"),
        _text(msg, "message_body"),
    )


def read(msg: Message, origin: AriRequest, ids: Ids) -> AriRequest:
    """The request a decoded ``RESTRequest`` message asks for, with ``origin``'s credentials
    (its ``Authorization`` header, or its ``api_key``).

    Fills ``ids`` as far as the message was read; raises :class:`Refused` with
    Asterisk's status and message for a message it would not run.
    """
    ids.transaction_id = msg.transaction_id or ""
    ids.request_id = msg.request_id or ""
    kind = msg.type
    if not kind:
        raise Refused(400, BAD, "No 'type' property.")
    if kind != "RESTRequest":
        raise Refused(400, BAD, "Unknown request type.")
    uri = msg.uri
    if not uri:
        raise Refused(400, BAD, "Empty or missing 'uri' property.")
    query: list[tuple[str, str]] = []
    path, mark, raw_query = uri.partition("?")
    ids.uri = path
    if mark:
        query.extend(form_pairs(raw_query))
    method = msg.method
    if method is None or method not in METHODS:
        raise Refused(400, BAD, "Unknown or missing 'method' property.")
    listed = msg.query_strings
    if isinstance(listed, list):
        for item in listed:
            name = item.get("name") if isinstance(item, dict) else None
            value = item.get("value") if isinstance(item, dict) else None
            if not isinstance(name, str) or not isinstance(value, str):
                raise Refused(400, BAD, "Unable to parse 'query_strings' array.")
            query.append((name, value))
    # The socket's own api_key (when it logged in with one) speaks for the request,
    # unless the request names one itself: the first api_key is the one used.
    for pair in query:
        if pair[0] == "api_key":
            break
    else:
        for pair in origin.query:
            if pair[0] == "api_key":
                query.append(pair)
                break
    body = b""
    text = msg.message_body
    if text:
        content_type = msg.content_type
        if not content_type:
            raise Refused(400, BAD, "No 'content_type' for 'message_body'.")
        if content_type == FORM:
            query.extend(form_pairs(text))
        elif content_type == JSON:
            body = text.encode()
            try:
                decode_json(body)
            except BadJson:
                raise Refused(
                    400, BAD, "Unable to parse 'message_body' as 'application/json'."
                ) from None
        else:
            raise Refused(400, BAD, "Unknown content type.")
    return AriRequest(
        method,
        "/" + path,
        query,
        origin.headers,
        body,
        origin.scheme,
        # No address: as in Asterisk, a request on an open socket is not checked against
        # the user's ACL (the upgrade was) nor counted as a login from an address.
    )


def response(
    ids: Ids,
    status: int,
    reason: str,
    body: bytes | None,
    application: str,
    asterisk_id: str,
    pretty: bool,
) -> bytes:
    """The ``RESTResponse`` message, its fields in Asterisk's order.

    The bytes are those of the message as a dict encoded by msgspec (and
    ``msgspec.json.format(indent=2)`` when ``pretty``), put together from
    pre-encoded pieces: the fixed parts are kept per (application, asterisk_id).
    """
    layout = _layouts.get((application, asterisk_id, pretty))
    if layout is None:
        layout = _layout(application, asterisk_id, pretty)
    enc = _encode
    return b"".join(
        (
            layout[0],
            enc(ids.transaction_id),
            layout[1],
            enc(ids.request_id),
            layout[2],
            str(status).encode(),
            layout[3],
            enc(reason),
            layout[4],
            enc(ids.uri),
            layout[5] if body else b"",
            enc(body.decode()) if body else b"",
            layout[6],
            wallclock.ari_timestamp().encode(),
            layout[7],
        )
    )


_encode = _encoder.encode
_layouts: dict[tuple[str, str, bool], tuple[bytes, ...]] = {}


def _layout(application: str, asterisk_id: str, pretty: bool) -> tuple[bytes, ...]:
    """The fixed pieces between a response's variable fields (see :func:`response`)."""
    sep, colon, start, end = (
        (b",\n  ", b": ", b"{\n  ", b"\n}") if pretty else (b",", b":", b"{", b"}")
    )

    def key(name: str) -> bytes:
        return _encode(name) + colon

    tail = sep + key("application") + _encode(application) + sep + key("timestamp") + b'"'
    layout = (
        start + key("type") + _encode("RESTResponse") + sep + key("transaction_id"),
        sep + key("request_id"),
        sep + key("status_code"),
        sep + key("reason_phrase"),
        sep + key("uri"),
        sep + key("content_type") + _encode(JSON) + sep + key("message_body"),
        tail,
        b'"' + sep + key("asterisk_id") + _encode(asterisk_id) + end,
    )
    if len(_layouts) > 1024:  # applications come and go: keep it bounded
        _layouts.clear()
    _layouts[(application, asterisk_id, pretty)] = layout
    return layout


_REASONS = {int(s): s.phrase for s in HTTPStatus}


def _reason(status: int) -> str:
    return _REASONS.get(status, "")


def _body(resp: AriResponse) -> tuple[int, str, bytes | None]:
    """Status, reason and compact JSON body of an answer, as a socket can carry it."""
    if not resp.body:
        return resp.status, _reason(resp.status), None
    if resp.headers.get("Content-Type", JSON) != JSON:
        # A file (a recording's audio): only HTTP can carry it.
        return 406, NOT_ACCEPTABLE, None
    # Inside a message the body is compact JSON (no spaces), whatever ari.conf's ``pretty``.
    return resp.status, _reason(resp.status), msgspec.json.format(resp.body, indent=-1)


class SocketRequests:
    """Answers the ``RESTRequest`` messages of one events socket."""

    __slots__ = ("origin", "service", "session")

    def __init__(self, service: AriService, session: EventSession, origin: AriRequest) -> None:
        self.service = service
        self.session = session
        self.origin = origin
        """The socket's upgrade request: its headers and ``api_key`` are the credentials."""

    async def answer(self, text: str | bytes) -> None:
        """Run the request ``text`` asks for and queue its ``RESTResponse`` on the socket."""
        service = self.service
        session = self.session
        ids = Ids()
        try:
            try:
                msg = parse(text)
            except BadJson:
                log.warning("WebSocket input failed to parse")
                raise Refused(400, "Failed to parse request message JSON", "") from None
            req = read(msg, self.origin, ids)
        except Refused as exc:
            if exc.message:
                peer = self.origin.peer
                log.warning(
                    "%s: %s Request: %s",
                    f"{peer[0]}:{peer[1]}" if peer is not None else "",
                    exc.reason,
                    text if isinstance(text, str) else text.decode(errors="replace"),
                )
                body: bytes | None = _encoder.encode({"message": exc.message})
            else:
                body = None
            status, reason = exc.status, exc.reason
        else:
            resp = await service.handle(req)
            if resp.status == 426 and req.method == "GET" and req.path in service.socket_paths:
                status, reason = 400, BAD
                body = _encoder.encode({"message": "Can't upgrade to websocket from a websocket"})
            elif req.path[:2] == "//" and req.method != "OPTIONS" and resp.status == 404:
                # A uri that starts with "/" names Asterisk's root, which has no methods.
                status, reason = 405, _reason(405)
                body = _encoder.encode({"message": "Invalid method"})
            else:
                status, reason, body = _body(resp)
        settings = service.ctx.settings()
        session.reply(
            response(
                ids,
                status,
                reason,
                body,
                session.apps[0] if session.apps else "",
                service.ctx.core.entity_id,
                settings.pretty,
            )
        )
