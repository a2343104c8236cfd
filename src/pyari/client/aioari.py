"""A drop-in replacement for the ``aioari`` package, on top of :class:`AriClient`.

``from pyari.client import aioari`` and an aioari program runs unchanged:
``await aioari.connect(url, user, password)``, ``client.on_channel_event(...)``,
``client.on_event(...)``, ``await client.run(apps=...)``, ``await client.close()``,
the repositories (``client.channels.originate(endpoint=..., app=...)``) and
the object methods (``channel.answer()``, ``bridge.addChannel(channel=...)``),
with ARI's own parameter names.  Events reach callbacks as JSON dicts, objects
as :class:`BaseObject` with ``.id`` and ``.json``.

What is better than aioari: no Swagger download at connect time (the
operations are generated into :mod:`pyari.client._operations`), the events
socket reconnects by itself and re-registers the apps (``run()`` returns
only after :meth:`Client.close`), a slow callback does not hold up the others,
and errors are :class:`pyari.client.AriHttpError` subclasses carrying the
status and ARI's message (aioari raised aiohttp's ``web_exceptions``).
"""

from __future__ import annotations

import inspect
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import msgspec

from pyari.client._base import OpInfo, path_segment
from pyari.client._models import EVENT_OBJECT_FIELDS, Message
from pyari.client._operations import OPERATIONS
from pyari.client.client import AriClient

__all__ = [
    "BaseObject",
    "Bridge",
    "Channel",
    "Client",
    "DeviceState",
    "Endpoint",
    "LiveRecording",
    "Mailbox",
    "Playback",
    "Repository",
    "Sound",
    "StoredRecording",
    "connect",
]

log = logging.getLogger("pyari.client.aioari")

Callback = Callable[..., Any]


async def connect(
    base_url: str, username: str, password: str, loop: Any = None, **options: Any
) -> Client:
    """Connect to ARI at ``base_url`` (``http://localhost:8088``), as aioari does.

    ``options`` are :class:`AriClient`'s keyword arguments, e.g.
    ``transport="websocket"``.
    """
    client = Client(base_url, username, password, **options)
    await client.init()
    return client


def _strip_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_strip_none(v) for v in value]
    return value


def event_json(event: Message) -> dict[str, Any]:
    """The event as the JSON dict aioari hands to callbacks."""
    raw = event.extra
    if raw:
        return raw
    data: dict[str, Any] = _strip_none(msgspec.to_builtins(event))
    return data


class Repository:
    """``client.channels``: the operations of one ARI resource, by ARI name."""

    def __init__(self, client: Client, name: str) -> None:
        self.client = client
        self.name = name
        self.operations = OPERATIONS[name]

    def __repr__(self) -> str:
        return f"Repository({self.name})"

    def __getattr__(self, item: str) -> Callable[..., Awaitable[Any]]:
        op = self.operations.get(item)
        if op is None:
            raise AttributeError(f"Resource '{self.name}' has no operation '{item}'")

        async def call(**kwargs: Any) -> Any:
            return await self.client._run_operation(op, item, kwargs)

        return call


class BaseObject:
    """An ARI object (channel, bridge ...): its JSON, and its resource's operations."""

    resource = ""
    id_fields: tuple[tuple[str, str], ...] = (("", "id"),)
    """``(operation parameter, JSON field)`` naming the object."""

    def __init__(self, client: Client, as_json: dict[str, Any]) -> None:
        self.client = client
        self.json = as_json
        self.id = "/".join(str(as_json.get(f, "")) for _, f in self.id_fields)
        self.api = client.repositories[self.resource]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.id})"

    def __getattr__(self, item: str) -> Callable[..., Awaitable[Any]]:
        if item.startswith("__"):
            raise AttributeError(item)
        op = OPERATIONS[self.resource].get(item)
        if op is None:
            raise AttributeError(f"'{self!r}' object has no attribute '{item}'")
        ids = {p: self.json.get(f) for p, f in self.id_fields}

        async def call(**kwargs: Any) -> Any:
            kwargs.update(ids)
            return await self.client._run_operation(op, item, kwargs)

        return call

    def on_event(self, event_type: str, fn: Callback, *args: Any, **kwargs: Any) -> Any:
        """Call ``fn(obj, event, *args, **kwargs)`` for events about this object."""
        model = type(self).__name__

        def filtered(objects: Any, event: dict[str, Any], *a: Any, **kw: Any) -> Any:
            found = objects.values() if isinstance(objects, dict) else [objects]
            if any(o is not None and o.id == self.id for o in found):
                return fn(objects, event, *a, **kw)
            return None

        return self.client.on_object_event(event_type, filtered, model, *args, **kwargs)


class Channel(BaseObject):
    resource = "channels"
    id_fields = (("channelId", "id"),)


class Bridge(BaseObject):
    resource = "bridges"
    id_fields = (("bridgeId", "id"),)


class Playback(BaseObject):
    resource = "playbacks"
    id_fields = (("playbackId", "id"),)


class LiveRecording(BaseObject):
    resource = "recordings"
    id_fields = (("recordingName", "name"),)


class StoredRecording(BaseObject):
    resource = "recordings"
    id_fields = (("recordingName", "name"),)


class Endpoint(BaseObject):
    resource = "endpoints"
    id_fields = (("tech", "technology"), ("resource", "resource"))


class DeviceState(BaseObject):
    resource = "deviceStates"
    id_fields = (("deviceName", "name"),)


class Sound(BaseObject):
    resource = "sounds"
    id_fields = (("soundId", "id"),)


class Mailbox(BaseObject):
    resource = "mailboxes"
    id_fields = (("mailboxName", "name"),)


CLASS_MAP: dict[str, type[BaseObject]] = {
    cls.__name__: cls
    for cls in (
        Channel,
        Bridge,
        Playback,
        LiveRecording,
        StoredRecording,
        Endpoint,
        DeviceState,
        Sound,
        Mailbox,
    )
}


class _Unsubscriber:
    def __init__(self, listeners: list[Any], entry: Any) -> None:
        self._listeners = listeners
        self._entry = entry

    def close(self) -> None:
        """Remove the callback."""
        if self._entry in self._listeners:
            self._listeners.remove(self._entry)


class Client:
    """aioari's ``Client``: repositories as attributes, callbacks, ``run()``."""

    def __init__(self, base_url: str, username: str, password: str, **options: Any) -> None:
        self.ari = AriClient(base_url, username, password, **options)
        """The typed client underneath."""
        self.repositories = {name: Repository(self, name) for name in OPERATIONS}
        self.event_listeners: dict[str, list[tuple[Callback, tuple[Any, ...], dict[str, Any]]]]
        self.event_listeners = {}
        self.exception_handler: Callable[[BaseException], None] = lambda ex: log.exception(
            "Event listener threw exception", exc_info=ex
        )
        self.ari.on("*", self._process)

    async def init(self) -> None:
        """Check the server answers and the credentials are right.

        Over ``transport="websocket"`` there is no socket before :meth:`run`
        names the apps: the check is the socket's handshake, in :meth:`run`.
        """
        if self.ari.transport == "http":
            await self.ari.asterisk.get_info()

    def __getattr__(self, item: str) -> Repository:
        repos: dict[str, Repository] = self.__dict__.get("repositories", {})
        repo = repos.get(item)
        if repo is None:
            raise AttributeError(f"'{self!r}' object has no attribute '{item}'")
        return repo

    def get_repo(self, name: str) -> Repository | None:
        return self.repositories.get(name)

    async def close(self) -> None:
        """Close the events socket and the HTTP session."""
        await self.ari.close()

    async def run(self, apps: str | Sequence[str]) -> None:
        """Open the events socket for ``apps`` and process events until :meth:`close`."""
        names = apps.split(",") if isinstance(apps, str) else list(apps)
        await self.ari.connect(names)
        try:
            await self.ari.run_forever()
        finally:
            await self.ari.close()

    async def serve(self, host: str = "127.0.0.1", port: int = 0, **options: Any) -> None:
        """Accept the server's outbound ARI WebSockets (see :meth:`AriClient.serve`)
        and process their events until :meth:`close`; ``run()``'s counterpart."""
        await self.ari.serve(host, port, **options)
        try:
            await self.ari.run_forever()
        finally:
            await self.ari.close()

    # -- events ------------------------------------------------------------------------

    async def _process(self, event: Message) -> None:
        etype = event.type
        listeners = [*self.event_listeners.get(etype, ()), *self.event_listeners.get("*", ())]
        if not listeners:
            return
        msg = event_json(event)
        for callback, args, kwargs in listeners:
            try:
                res = callback(msg, *args, **kwargs)
                if inspect.isawaitable(res):
                    await res
            except Exception as exc:
                self.exception_handler(exc)

    def on_event(self, event_type: str, event_cb: Callback, *args: Any, **kwargs: Any) -> Any:
        """Call ``event_cb(event_dict, *args, **kwargs)`` for events of ``event_type``."""
        listeners = self.event_listeners.setdefault(event_type, [])
        for entry in list(listeners):
            if entry[0] == event_cb:
                listeners.remove(entry)
        entry = (event_cb, args, kwargs)
        listeners.append(entry)
        return _Unsubscriber(listeners, entry)

    def on_object_event(
        self, event_type: str, event_cb: Callback, model_id: str, *args: Any, **kwargs: Any
    ) -> Any:
        """Call ``event_cb(obj, event, ...)`` with the event's ``model_id`` objects.

        With one such field the object is passed; with several a dict of them.
        """
        fields = [f for f, m in EVENT_OBJECT_FIELDS.get(event_type, ()) if m == model_id]
        if event_type != "*" and not fields:
            raise ValueError(f"Event model '{event_type}' has no fields of type {model_id}")
        factory = CLASS_MAP[model_id]

        def extract(event: dict[str, Any], *a: Any, **kw: Any) -> Any:
            names = fields or [
                f for f, m in EVENT_OBJECT_FIELDS.get(event.get("type", ""), ()) if m == model_id
            ]
            objs = {f: factory(self, event[f]) for f in names if event.get(f)}
            obj: Any = objs
            if len(names) == 1:
                obj = next(iter(objs.values()), None)
            return event_cb(obj, event, *a, **kw)

        return self.on_event(event_type, extract, *args, **kwargs)

    def on_channel_event(self, event_type: str, fn: Callback, *args: Any, **kwargs: Any) -> Any:
        return self.on_object_event(event_type, fn, "Channel", *args, **kwargs)

    def on_bridge_event(self, event_type: str, fn: Callback, *args: Any, **kwargs: Any) -> Any:
        return self.on_object_event(event_type, fn, "Bridge", *args, **kwargs)

    def on_playback_event(self, event_type: str, fn: Callback, *args: Any, **kwargs: Any) -> Any:
        return self.on_object_event(event_type, fn, "Playback", *args, **kwargs)

    def on_live_recording_event(
        self, event_type: str, fn: Callback, *args: Any, **kwargs: Any
    ) -> Any:
        return self.on_object_event(event_type, fn, "LiveRecording", *args, **kwargs)

    def on_stored_recording_event(
        self, event_type: str, fn: Callback, *args: Any, **kwargs: Any
    ) -> Any:
        return self.on_object_event(event_type, fn, "StoredRecording", *args, **kwargs)

    def on_endpoint_event(self, event_type: str, fn: Callback, *args: Any, **kwargs: Any) -> Any:
        return self.on_object_event(event_type, fn, "Endpoint", *args, **kwargs)

    def on_device_state_event(
        self, event_type: str, fn: Callback, *args: Any, **kwargs: Any
    ) -> Any:
        return self.on_object_event(event_type, fn, "DeviceState", *args, **kwargs)

    def on_sound_event(self, event_type: str, fn: Callback, *args: Any, **kwargs: Any) -> Any:
        return self.on_object_event(event_type, fn, "Sound", *args, **kwargs)

    # -- operations --------------------------------------------------------------------

    async def _run_operation(self, op: OpInfo, nickname: str, kwargs: dict[str, Any]) -> Any:
        path = op.path
        query: list[tuple[str, Any]] = []
        body: Any = None
        for name, where, _multiple, ptype in op.params:
            value = kwargs.pop(name, None)
            if value is None:
                continue
            if isinstance(value, BaseObject):
                value = value.id
            if where == "path":
                path = path.replace("{" + name + "}", path_segment(str(value)))
            elif where == "query":
                query.append((name, value))
            elif ptype == "containers":
                body = body if isinstance(body, dict) else {}
                body[name] = value
            else:
                body = value
        if kwargs:
            raise TypeError(f"'{nickname}' does not have parameters {list(kwargs)!r}")
        if "{" in path:
            missing = re.findall(r"\{(\w+)\}", path)
            raise TypeError(f"Missing required parameter {missing[0]!r} for {nickname!r}")
        raw = await self.ari.request(op.method, path, query, body)
        return self._promote(raw, op.response)

    def _promote(self, raw: bytes, response: str) -> Any:
        if not raw.strip():
            return None
        if response == "binary":
            return raw
        m = re.fullmatch(r"List\[(.+)\]", response)
        cls = CLASS_MAP.get(m.group(1) if m else response)
        data = msgspec.json.decode(raw)
        if cls is None:
            return data
        if m:
            return [cls(self, item) for item in data]
        return cls(self, data)
