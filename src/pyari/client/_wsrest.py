"""REST over the events WebSocket: RESTRequest out, RESTResponse back, on one socket.

The wire format is Asterisk's (22+): the application sends
``{"type": "RESTRequest", "transaction_id", "request_id", "method", "uri",
"query_strings": [{"name", "value"}], "content_type", "message_body"}`` with
``uri`` relative to ``/ari/``; the server answers, among its events, with
``{"type": "RESTResponse", "transaction_id", "request_id", "status_code",
"reason_phrase", "uri", "content_type", "message_body", ...}``.  An error
status becomes the same :class:`AriHttpError` subclass as over HTTP.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import msgspec

from pyari.client._base import error_message, query_value
from pyari.client.errors import AriConnectionError, AriHttpError

__all__ = ["RestOverSocket", "request_frame"]

SendText = Callable[[str], Awaitable[None]]

_encode = msgspec.json.Encoder().encode


class _Reply(msgspec.Struct):
    """The fields of a RESTResponse the client reads (unknown ones ignored)."""

    type: str = ""
    request_id: str = ""
    status_code: int = 0
    reason_phrase: str = ""
    message_body: str | None = None


_reply = msgspec.json.Decoder(_Reply)


def request_frame(
    request_id: str,
    method: str,
    path: str,
    query: Sequence[tuple[str, Any]] = (),
    body: Any = None,
    transaction_id: str = "",
) -> bytes:
    """One RESTRequest message for ``method path`` (``path`` as the operations write it)."""
    frame: dict[str, Any] = {
        "type": "RESTRequest",
        "transaction_id": transaction_id or request_id,
        "request_id": request_id,
        "method": method,
        "uri": path.lstrip("/"),
    }
    qs = [{"name": name, "value": query_value(v)} for name, v in query if v is not None]
    if qs:
        frame["query_strings"] = qs
    if isinstance(body, Mapping):
        body = {k: v for k, v in body.items() if v is not None}
    if body:
        frame["content_type"] = "application/json"
        frame["message_body"] = _encode(body).decode()
    return _encode(frame)


class RestOverSocket:
    """The REST requests in flight on one socket, matched to their answers by ``request_id``."""

    def __init__(self, send: SendText, timeout: float = 30.0) -> None:
        self._send = send
        self._timeout = timeout
        self._pending: dict[str, asyncio.Future[_Reply]] = {}
        self._ids = itertools.count(1)
        self._prefix = os.urandom(4).hex()
        self._error: AriConnectionError | None = None

    @property
    def in_flight(self) -> int:
        return len(self._pending)

    async def request(
        self, method: str, path: str, query: Sequence[tuple[str, Any]] = (), body: Any = None
    ) -> bytes:
        """Send one request and wait for its answer; raises as :meth:`ApiBase.request` does."""
        if self._error is not None:
            raise AriConnectionError(f"{method} {path}: {self._error}")
        rid = f"{self._prefix}-{next(self._ids)}"
        fut: asyncio.Future[_Reply] = asyncio.get_running_loop().create_future()
        self._pending[rid] = fut
        try:
            try:
                await self._send(request_frame(rid, method, path, query, body).decode())
            except (ConnectionError, RuntimeError, OSError) as exc:
                raise AriConnectionError(f"{method} {path}: {exc}") from exc
            try:
                reply = await asyncio.wait_for(fut, self._timeout)
            except TimeoutError as exc:
                raise AriConnectionError(f"{method} {path}: no RESTResponse in time") from exc
        finally:
            self._pending.pop(rid, None)
        raw = (reply.message_body or "").encode()
        if reply.status_code >= 400:
            message = error_message(raw) if raw else reply.reason_phrase
            raise AriHttpError.for_status(reply.status_code, message, method, path)
        return raw

    def answer(self, raw: bytes) -> bool:
        """Take ``raw`` if it is a RESTResponse (True); else it is an event (False)."""
        if b"RESTResponse" not in raw:
            return False
        try:
            reply = _reply.decode(raw)
        except msgspec.MsgspecError:
            return False
        if reply.type != "RESTResponse":
            return False
        fut = self._pending.get(reply.request_id)
        if fut is not None and not fut.done():
            fut.set_result(reply)
        return True

    def fail(self, reason: str) -> None:
        """The socket is gone: every request in flight, and every later one, fails."""
        self._error = AriConnectionError(reason)
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(AriConnectionError(reason))
