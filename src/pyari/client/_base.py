"""Runtime support of the generated client: model bases and the HTTP calls."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple, TypeAlias, TypeVar
from urllib.parse import quote

import aiohttp
import msgspec
import yarl

from pyari.client.errors import AriConnectionError, AriHttpError, NotBound

if TYPE_CHECKING:
    from pyari.client._models import Message
    from pyari.client._operations import AriApi

M = TypeVar("M", bound="AriModel")
E_contra = TypeVar("E_contra", contravariant=True)

EventHandler: TypeAlias = Callable[[E_contra], Awaitable[None] | None]
"""A sync or async callable taking one event."""
Unsubscribe: TypeAlias = Callable[[], None]
"""Call it to remove the handler it was returned for."""

_encode = msgspec.json.Encoder().encode


class AriModel(msgspec.Struct, kw_only=True, dict=True, repr_omit_defaults=True):
    """Base of every ARI model. Unknown fields are ignored when decoding."""

    def _bind(self, api: AriApi) -> None:
        self.__dict__["_c"] = api

    def _api(self) -> AriApi:
        api: AriApi | None = self.__dict__.get("_c")
        if api is None:
            raise NotBound(f"{type(self).__name__} was not obtained from a client")
        return api

    def to_dict(self) -> dict[str, Any]:
        """The model as JSON-compatible data, with ARI's field names."""
        data: dict[str, Any] = msgspec.to_builtins(self)
        return data


class Handle(AriModel, kw_only=True):
    """An ARI object that has methods (channel, bridge, playback ...).

    Its methods call the client it came from (an operation's result or an
    event's field); a handle built by hand raises :class:`NotBound`.
    """

    @property
    def _key(self) -> tuple[str, str]:  # overridden by every generated handle
        raise NotImplementedError

    @property
    def ref(self) -> str:
        """The object's id as ARI parameters name it (``tech/resource`` for endpoints)."""
        return self._key[1]


class MessageBase(AriModel, kw_only=True, tag_field="type"):
    """Base of the WebSocket messages: a tagged union on ``type``."""

    pyari_sequence: int | None = None
    """The event's sequence in its application's log, on a pyari server that numbers
    events (docs/event-streams.md); None from Asterisk."""

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        if data.get("pyari_sequence", 0) is None:
            del data["pyari_sequence"]
        return data

    @property
    def type(self) -> str:
        """The message type, e.g. ``StasisStart``."""
        t = self.__dict__.get("_type")
        if t is not None:
            return str(t)
        return str(self.__struct_config__.tag)

    @property
    def extra(self) -> dict[str, Any]:
        """All fields of an event of a type this client does not know; else ``{}``."""
        raw: dict[str, Any] = self.__dict__.get("_raw", {})
        return raw

    def _objects(self) -> tuple[Handle, ...]:
        """The objects the event is about (channel, bridge ...), for per-object handlers."""
        return ()

    def _bind(self, api: AriApi) -> None:
        self.__dict__["_c"] = api
        for obj in self._objects():
            obj.__dict__["_c"] = api


class OpInfo(NamedTuple):
    """One operation as ARI names it (for name-driven callers such as aioari)."""

    method: str
    path: str
    response: str
    params: tuple[tuple[str, str, bool, str], ...]
    """``(name, where, multiple, type)`` per parameter."""
    websocket: bool = False


def path_segment(value: str | Handle) -> str:
    """A path parameter, URL-quoted (``/`` included)."""
    if isinstance(value, Handle):
        value = value.ref
    return quote(str(value), safe="")


def query_value(value: Any) -> str:
    """One query value as ARI reads it: booleans as true/false, lists comma-joined."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Handle):
        return value.ref
    if isinstance(value, Sequence):
        return ",".join(query_value(v) for v in value)
    return str(value)


def encode_query(query: Sequence[tuple[str, Any]]) -> str:
    return "&".join(
        f"{quote(name, safe='')}={quote(query_value(v), safe=',')}"
        for name, v in query
        if v is not None
    )


class ApiBase:
    """HTTP side of the client: performs one ARI request per call."""

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        *,
        session: aiohttp.ClientSession | None = None,
        request_timeout: float = 30.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        if self.base_url.endswith("/ari"):
            self.base_url = self.base_url[: -len("/ari")]
        self.username = username
        self._ari_url = self.base_url + "/ari"
        self._auth_headers = {"Authorization": aiohttp.encode_basic_auth(username, password)}
        self._session = session
        self._own_session = session is None
        self._timeout = aiohttp.ClientTimeout(total=request_timeout)
        self._decoders: dict[Any, msgspec.json.Decoder[Any]] = {}
        self._init_resources()

    def _init_resources(self) -> None:
        """Generated: creates one attribute per resource."""

    def _on_object(
        self, key: tuple[str, str], event_type: str, handler: EventHandler[Any]
    ) -> Unsubscribe:
        raise NotImplementedError("per-object events need an AriClient")

    def event_stream(self, *types: str | type[Message], maxsize: int = 0) -> EventStream:
        raise NotImplementedError("event streams need an AriClient")

    # -- HTTP --------------------------------------------------------------------------

    def http_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=self._timeout, headers={"Accept": "application/json"}
            )
            self._own_session = True
        return self._session

    async def close_http(self) -> None:
        if self._own_session and self._session is not None:
            await self._session.close()
        self._session = None

    async def request(
        self,
        method: str,
        path: str,
        query: Sequence[tuple[str, Any]] = (),
        body: Any = None,
    ) -> bytes:
        """Perform one ARI request; raises :class:`AriHttpError` on an error status."""
        url = self._ari_url + path
        qs = encode_query(query)
        if qs:
            url += "?" + qs
        headers = self._auth_headers
        data: bytes | None = None
        if isinstance(body, Mapping):
            body = {k: v for k, v in body.items() if v is not None}
        if body:
            data = _encode(body)
            headers = {**self._auth_headers, "Content-Type": "application/json"}
        session = self.http_session()
        try:
            async with session.request(
                method, yarl.URL(url, encoded=True), data=data, headers=headers
            ) as resp:
                raw = await resp.read()
                status = resp.status
        except aiohttp.ClientConnectionError as exc:
            raise AriConnectionError(f"{method} {path}: {exc}") from exc
        if status >= 400:
            raise AriHttpError.for_status(status, error_message(raw), method, path)
        return raw

    def _decoder(self, t: Any) -> msgspec.json.Decoder[Any]:
        dec = self._decoders.get(t)
        if dec is None:
            dec = self._decoders[t] = msgspec.json.Decoder(t)
        return dec

    async def call_none(
        self, method: str, path: str, query: Sequence[tuple[str, Any]], body: Any
    ) -> None:
        await self.request(method, path, query, body)

    async def call_bytes(
        self, method: str, path: str, query: Sequence[tuple[str, Any]], body: Any
    ) -> bytes:
        return await self.request(method, path, query, body)

    async def call_model(
        self, method: str, path: str, query: Sequence[tuple[str, Any]], body: Any, cls: type[M]
    ) -> M:
        raw = await self.request(method, path, query, body)
        obj: M = self._decoder(cls).decode(raw)
        obj._bind(self)  # type: ignore[arg-type]
        return obj

    async def call_list(
        self, method: str, path: str, query: Sequence[tuple[str, Any]], body: Any, cls: type[M]
    ) -> list[M]:
        raw = await self.request(method, path, query, body)
        items: list[M] = self._decoder(list[cls]).decode(raw)  # type: ignore[valid-type]
        for obj in items:
            obj._bind(self)  # type: ignore[arg-type]
        return items

    async def websocket(
        self, path: str, query: Sequence[tuple[str, Any]]
    ) -> AsyncIterator[Message]:
        """Messages of one events WebSocket connection, decoded."""
        from pyari.client._codec import MessageDecoder

        decode = MessageDecoder(self)  # type: ignore[arg-type]
        url = self._ari_url + path + "?" + encode_query(query)
        try:
            ws = await self.http_session().ws_connect(
                yarl.URL(url, encoded=True), headers=self._auth_headers, protocols=("ari",)
            )
        except aiohttp.WSServerHandshakeError as exc:
            raise AriHttpError.for_status(exc.status, exc.message, "GET", path) from exc
        except aiohttp.ClientConnectionError as exc:
            raise AriConnectionError(f"GET {path}: {exc}") from exc
        try:
            async for msg in ws:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    event = decode(msg.data.encode() if isinstance(msg.data, str) else msg.data)
                    if event is not None:
                        yield event
                elif msg.type in (aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSED):
                    break
        finally:
            await ws.close()


class EventStream:
    """``async for event in client.events(): ...``: every event, in arrival order.

    Ends when the client closes or the stream is closed (``await
    stream.aclose()`` or leaving ``async with client.events() as stream``).
    """

    _END: ClassVar[object] = object()

    def __init__(
        self, registry: set[EventStream], types: frozenset[str] | None, maxsize: int
    ) -> None:
        self._registry = registry
        self._types = types
        self._queue: asyncio.Queue[Any] = asyncio.Queue(maxsize)
        self.dropped = 0
        """Events dropped because the stream's ``maxsize`` was reached."""
        self.closed = False

    def _put(self, event: Message) -> None:
        if self._types is not None and event.type not in self._types:
            return
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped += 1

    def _end(self) -> None:
        self.closed = True
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(self._END)

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> Message:
        if self.closed and self._queue.empty():
            raise StopAsyncIteration
        item = await self._queue.get()
        if item is self._END:
            self.closed = True
            raise StopAsyncIteration
        event: Message = item
        return event

    async def aclose(self) -> None:
        self._registry.discard(self)
        self._end()

    async def __aenter__(self) -> EventStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class ResourceApi:
    """Base of a generated resource class (``api.channels`` ...)."""

    def __init__(self, api: ApiBase) -> None:
        self._t = api


class EventsResourceApi(ResourceApi):
    """Base of ``client.events``: also callable, ``client.events()`` streams events."""

    def __call__(self, *types: str | type[Message], maxsize: int = 0) -> EventStream:
        """An async iterator over the client's events (all, or only ``types``).

        ``async for event in client.events("StasisStart"): ...``. ``maxsize``
        bounds the backlog (0: unbounded); beyond it events are dropped and
        counted in ``stream.dropped``.
        """
        return self._t.event_stream(*types, maxsize=maxsize)


def error_message(raw: bytes) -> str:
    """ARI's ``{"message": ...}`` text of an error answer (or the raw body)."""
    try:
        data = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return raw.decode("utf-8", "replace").strip()
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return str(data["message"])
    return raw.decode("utf-8", "replace").strip()
