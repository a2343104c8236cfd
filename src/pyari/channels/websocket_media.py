"""WebSocket media channels: ``WebSocket/<connection_id>[/<options>]`` (chan_websocket).

A WebSocket media channel carries a call's audio over one WebSocket: binary
messages are audio in the channel's format, text messages are control
commands (from the application) and events (from pyari).

Connections
    ``WebSocket/INCOMING`` waits for the application to connect to
    ``ws(s)://<pyari>/media/<connection id>``; the connection id is a new UUID,
    given in the channel variable ``MEDIA_WEBSOCKET_CONNECTION_ID`` (ARI's
    ``externalMedia`` answer lists it in ``channelvars``).
    ``WebSocket/<name>`` connects out, when called, to the URI of ``[name]`` in
    websocket_client.conf.

Once connected pyari sends ``MEDIA_START`` and answers the channel (unless
option ``n``). Options, as Asterisk's dial string: ``c(<codec>)``, ``n`` (no
auto answer), ``v(<k=v,...>)`` (URI parameters of a client connection),
``p`` (passthrough: each binary message is one frame), ``f(plain-text|json)``
(control message format), ``d(both|in|out)`` (media direction, seen from the
application: ``in`` the application only receives, ``out`` it only sends).

Audio from the application is cut into frames of
``MEDIA_WEBSOCKET_OPTIMAL_FRAME_SIZE`` bytes and queued (at most 1000; at 900
pyari sends ``MEDIA_XOFF``, below 800 ``MEDIA_XON``); the call hears one
frame per 20 ms. Commands: ``ANSWER``, ``HANGUP``, ``START_MEDIA_BUFFERING``,
``STOP_MEDIA_BUFFERING [id]``, ``MARK_MEDIA [id]``, ``FLUSH_MEDIA``,
``REPORT_QUEUE_DRAINED``, ``GET_STATUS``, ``PAUSE_MEDIA``, ``CONTINUE_MEDIA``,
``SET_MEDIA_DIRECTION`` (JSON only). Events: ``MEDIA_START``, ``MEDIA_XOFF``,
``MEDIA_XON``, ``QUEUE_DRAINED``, ``MEDIA_BUFFERING_COMPLETED``,
``MEDIA_MARK_PROCESSED``, ``DTMF_END``, ``STATUS``, ``ERROR``. In ``json``
format commands are objects with a ``command`` key and events objects with
an ``event`` key.

:class:`MediaSession` is the protocol with no I/O; :func:`run_socket` joins it
to an aiohttp WebSocket (either side).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import re
import ssl
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp

from pyari.channels.external import (
    ExternalMediaPlan,
    ExternalMediaRequest,
    Unsupported,
)
from pyari.channels.paced import Pacer
from pyari.config.websocket_client import client_ssl_context
from pyari.core import causes
from pyari.core.channel import Channel
from pyari.core.tech import BadDialString, EndpointNotFound, pvt_of, pvt_or_none
from pyari.media.frames import FORMATS, SLIN, MediaFormat
from pyari.media.service import media_of

if TYPE_CHECKING:
    from pyari.config.websocket_client import WebSocketClient
    from pyari.core.engine import Core

log = logging.getLogger(__name__)

INCOMING = "INCOMING"
QUEUE_LENGTH_MAX = 1000
QUEUE_LENGTH_XOFF_LEVEL = 900
QUEUE_LENGTH_XON_LEVEL = 800
MAX_TEXT_MESSAGE_LEN = 128
PTIME_MS = 20

STATUS_NORMAL = 1000
STATUS_GOING_AWAY = 1001
STATUS_UNSUPPORTED_DATA = 1003
STATUS_INTERNAL_ERROR = 1011

CAUSE_FAILURE = 38
"""Q.850 network out of order (Asterisk's AST_CAUSE_FAILURE)."""

FORMAT_PLAIN = "plain-text"
FORMAT_JSON = "json"

_OPTION = re.compile(r"([a-zA-Z])(?:\(([^)]*)\))?")
_URI_PARAM = re.compile(r"^[A-Za-z0-9\-._~%]*$")


# --- dial strings -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DialOptions:
    codec: str | None = None
    no_auto_answer: bool = False
    uri_params: str | None = None
    passthrough: bool = False
    control_format: str | None = None
    direction: str = "both"


def parse_options(text: str) -> DialOptions:
    """Dial string options (``c(ulaw)n``...); BadDialString when they cannot be parsed."""
    found: dict[str, str | None] = {}
    pos = 0
    while pos < len(text):
        match = _OPTION.match(text, pos)
        if match is None:
            raise BadDialString()
        found[match.group(1)] = match.group(2)
        pos = match.end()
    direction = found.get("d") or "both"
    if "d" in found and direction not in ("both", "in", "out"):
        raise BadDialString()
    control: str | None = None
    if "f" in found:
        value = (found["f"] or "").lower()
        control = value if value in (FORMAT_PLAIN, FORMAT_JSON) else FORMAT_PLAIN
    params = found.get("v") or None
    if params is not None:
        for pair in params.split(","):
            for part in pair.split("="):
                if not _URI_PARAM.match(part):
                    raise BadDialString()
        params = params.replace(",", "&")
    return DialOptions(
        codec=found.get("c") or None,
        no_auto_answer="n" in found,
        uri_params=params,
        passthrough="p" in found,
        control_format=control,
        direction=direction,
    )


def _compact(obj: dict[str, Any]) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


# --- the protocol (no I/O) --------------------------------------------------------------


class MediaSession:
    """One WebSocket media channel: queues, commands and events.

    ``send_text`` / ``send_binary`` (set by :meth:`connected`) hand messages
    to the socket; they must not block.
    """

    def __init__(
        self,
        chan: Channel,
        connection_id: str,
        fmt: MediaFormat,
        *,
        control_format: str = FORMAT_PLAIN,
        passthrough: bool = False,
        no_auto_answer: bool = False,
        direction: str = "both",
    ) -> None:
        self.chan = chan
        self.connection_id = connection_id
        self.format = fmt
        self.control_format = control_format
        self.passthrough = passthrough
        self.no_auto_answer = no_auto_answer
        self.direction = direction
        self.optimal_frame_size = fmt.rate * PTIME_MS // 1000 * (1 if fmt.encoded else 2)
        self.queue: deque[bytes | str] = deque()
        """Audio frames and, between them, events sent when the call reaches them."""
        self.frame_queue_length = 0
        self.queue_full = False
        self.queue_paused = False
        self.bulk_media = False
        self.report_queue_drained = False
        self.leftover = bytearray()
        self.send_text: Callable[[str], None] | None = None
        self.send_binary: Callable[[bytes], None] | None = None
        self.tech_cause = 0
        """WebSocket close code to use when the channel hangs up (0: 1000)."""

    # -- events ---------------------------------------------------------------------

    @property
    def _json(self) -> bool:
        return self.control_format == FORMAT_JSON

    def _nodata(self, event: str) -> str:
        if self._json:
            return _compact({"event": event, "channel_id": self.chan.id})
        return event

    def event_media_start(self) -> str:
        chan = self.chan
        if self._json:
            return _compact(
                {
                    "event": "MEDIA_START",
                    "connection_id": self.connection_id,
                    "channel": chan.name,
                    "channel_id": chan.id,
                    "format": self.format.name,
                    "optimal_frame_size": self.optimal_frame_size,
                    "ptime": PTIME_MS,
                    "channel_variables": dict(chan.variables),
                }
            )
        return (
            f"MEDIA_START connection_id:{self.connection_id} channel:{chan.name} "
            f"channel_id:{chan.id} format:{self.format.name} "
            f"optimal_frame_size:{self.optimal_frame_size} ptime:{PTIME_MS}"
        )

    def _with_id(self, event: str, correlation_id: str | None) -> str:
        if self._json:
            return _compact(
                {"event": event, "channel_id": self.chan.id, "correlation_id": correlation_id or ""}
            )
        return f"{event} {correlation_id}" if correlation_id else event

    def event_dtmf_end(self, digit: str) -> str:
        if self._json:
            return _compact({"event": "DTMF_END", "channel_id": self.chan.id, "digit": digit})
        return f"DTMF_END digit:{digit} channel_id:{self.chan.id}"

    def event_status(self) -> str:
        if self._json:
            return _compact(
                {
                    "event": "STATUS",
                    "channel_id": self.chan.id,
                    "queue_length": self.frame_queue_length,
                    "xon_level": QUEUE_LENGTH_XON_LEVEL,
                    "xoff_level": QUEUE_LENGTH_XOFF_LEVEL,
                    "queue_full": self.queue_full,
                    "bulk_media": self.bulk_media,
                    "media_paused": self.queue_paused,
                }
            )

        def flag(value: bool) -> str:
            return "true" if value else "false"

        return (
            f"STATUS channel_id:{self.chan.id} queue_length:{self.frame_queue_length} "
            f"xon_level:{QUEUE_LENGTH_XON_LEVEL} xoff_level:{QUEUE_LENGTH_XOFF_LEVEL} "
            f"queue_full:{flag(self.queue_full)} bulk_media:{flag(self.bulk_media)} "
            f"media_paused:{flag(self.queue_paused)}"
        )

    def event_error(self, text: str) -> str:
        if self._json:
            return _compact({"event": "ERROR", "channel_id": self.chan.id, "error_text": text})
        return f"ERROR channel_id:{self.chan.id} error_text:{text}"

    def _send(self, text: str) -> None:
        if self.send_text is not None:
            self.send_text(text)

    # -- the connection ---------------------------------------------------------------

    def connected(
        self, send_text: Callable[[str], None], send_binary: Callable[[bytes], None]
    ) -> None:
        """The socket is up: MEDIA_START, then answer (unless ``n``)."""
        self.send_text, self.send_binary = send_text, send_binary
        self._send(self.event_media_start())
        if not self.no_auto_answer:
            self.chan.answer()

    def request_hangup(self, cause: int, tech_cause: int) -> None:
        if tech_cause:
            self.tech_cause = tech_cause
        self.chan.queue_hangup(cause)

    def closed_by_peer(self) -> None:
        self.request_hangup(causes.NORMAL_CLEARING, STATUS_GOING_AWAY)

    def unsupported(self) -> None:
        log.warning("%s: WebSocket frame type not supported", self.chan.name)
        self.request_hangup(CAUSE_FAILURE, STATUS_UNSUPPORTED_DATA)

    # -- from the application ---------------------------------------------------------

    def on_text(self, text: str) -> None:
        if not text:
            log.warning("%s: WebSocket TEXT message has 0 length", self.chan.name)
            return
        if len(text.encode()) > MAX_TEXT_MESSAGE_LEN:
            log.warning(
                "%s: WebSocket TEXT message of length %d exceeds maximum length of %d",
                self.chan.name,
                len(text.encode()),
                MAX_TEXT_MESSAGE_LEN,
            )
            return
        self.command(text.strip())

    def _refused(self, command: str, *, direction_in: bool) -> bool:
        if self.passthrough:
            self._send(self.event_error(f"{command} not supported in passthrough mode"))
            return True
        if direction_in and self.direction == "in":
            self._send(self.event_error(f"{command} not supported while media direction is 'in'"))
            return True
        return False

    def command(self, text: str) -> None:
        body: dict[str, Any] = {}
        data: str | None = None
        if self._json:
            try:
                loaded = json.loads(text)
            except (ValueError, RecursionError):  # RecursionError: nested too deep
                loaded = None
            if not isinstance(loaded, dict):
                self._send(self.event_error("Unable to parse JSON command"))
                return
            body = loaded
            value = body.get("command")
            command = value if isinstance(value, str) else ""
        else:
            command, _, rest = text.partition(" ")
            data = rest if _ else None

        def correlation() -> str | None:
            if self._json:
                value = body.get("correlation_id")
                return value if isinstance(value, str) else None
            return data

        if command == "ANSWER":
            self.chan.answer()
        elif command == "HANGUP":
            self.request_hangup(causes.NORMAL_CLEARING, STATUS_NORMAL)
        elif command == "START_MEDIA_BUFFERING":
            if not self._refused(command, direction_in=True):
                self.bulk_media = True
        elif command == "STOP_MEDIA_BUFFERING":
            if self._refused(command, direction_in=True):
                return
            self.bulk_media = False
            if self.leftover:
                self._queue_frame(bytes(self.leftover))
            self.leftover.clear()
            self.queue.append(self._with_id("MEDIA_BUFFERING_COMPLETED", correlation()))
        elif command == "MARK_MEDIA":
            if not self._refused(command, direction_in=True):
                self.queue.append(self._with_id("MEDIA_MARK_PROCESSED", correlation()))
        elif command == "FLUSH_MEDIA":
            if self._refused(command, direction_in=False):
                return
            self.queue.clear()
            self.frame_queue_length = 0
            self.bulk_media = False
            self.leftover.clear()
        elif command == "REPORT_QUEUE_DRAINED":
            if not self._refused(command, direction_in=False):
                self.report_queue_drained = True
        elif command == "GET_STATUS":
            self._send(self.event_status())
        elif command == "PAUSE_MEDIA":
            if not self._refused(command, direction_in=True):
                self.queue_paused = True
        elif command == "CONTINUE_MEDIA":
            if not self._refused(command, direction_in=True):
                self.queue_paused = False
        elif command == "SET_MEDIA_DIRECTION":
            self._set_direction(command, body)
        else:
            log.warning("%s: WebSocket %s command unknown", self.chan.name, command)

    def _set_direction(self, command: str, body: dict[str, Any]) -> None:
        if self._refused(command, direction_in=False):
            return
        if not self._json:
            self._send(self.event_error(f"{command} only supports JSON format.\n"))
            return
        direction = body.get("direction")
        if not isinstance(direction, str):
            self._send(self.event_error(f"{command} requires a 'direction' parameter.\n"))
            return
        if direction not in ("both", "in", "out"):
            self._send(self.event_error(f"'{direction}' is not a valid direction for {command}.\n"))
            return
        self.direction = direction

    def on_binary(self, payload: bytes) -> None:
        if self.direction == "in":
            return
        if self.frame_queue_length >= QUEUE_LENGTH_MAX:
            return
        if self.passthrough:
            self._queue_frame(payload)
            return
        size = self.optimal_frame_size
        view = memoryview(payload)
        if self.bulk_media and self.leftover:
            need = size - len(self.leftover)
            take = min(need, len(view))
            self.leftover += view[:take]
            if take < need:
                return
            self._queue_frame(bytes(self.leftover))
            view = view[take:]
            self.leftover.clear()
        if not self.bulk_media:
            self.leftover.clear()
        while len(view) >= size:
            self._queue_frame(bytes(view[:size]))
            view = view[size:]
        if self.bulk_media and len(view):
            self.leftover[:] = view

    def _queue_frame(self, frame: bytes) -> None:
        self.queue.append(frame)
        self.frame_queue_length += 1
        if not self.queue_full and self.frame_queue_length >= QUEUE_LENGTH_XOFF_LEVEL:
            self.queue_full = True
            self._send(self._nodata("MEDIA_XOFF"))

    # -- the media clock --------------------------------------------------------------

    def next_frame(self) -> bytes | None:
        """The frame the call hears this tick (None: nothing), sending queued events."""
        if self.direction == "in" or self.queue_paused:
            return None
        if self.queue_full and self.frame_queue_length < QUEUE_LENGTH_XON_LEVEL:
            self.queue_full = False
            self._send(self._nodata("MEDIA_XON"))
        queue = self.queue
        if not queue:
            if self.report_queue_drained:
                self.report_queue_drained = False
                self._send(self._nodata("QUEUE_DRAINED"))
            return None
        item = queue.popleft()
        while isinstance(item, str):
            self._send(item)
            if not queue:
                return None
            item = queue.popleft()
        self.frame_queue_length -= 1
        return item

    def tick(self) -> None:
        frame = self.next_frame()
        if frame is None:
            return
        cm = self.chan.media
        if cm is not None:
            cm.stream.push(frame)

    # -- to the application -----------------------------------------------------------

    def audio_out(self, payload: bytes) -> None:
        """What the call says, to the application (unless its direction is ``out``)."""
        if self.direction == "out" or self.send_binary is None:
            return
        self.send_binary(payload)

    def dtmf(self, digit: str) -> None:
        self._send(self.event_dtmf_end(digit))


# --- the socket -------------------------------------------------------------------------


class Link:
    """A session's socket: an outbox drained by a writer task, and the close."""

    MAX_OUTBOX = 500

    def __init__(self, session: MediaSession, ws: Any) -> None:
        self.session = session
        self.ws = ws
        self.outbox: asyncio.Queue[tuple[bool, str | bytes] | None] = asyncio.Queue()
        self.done = asyncio.Event()
        self.close_code = STATUS_NORMAL

    def send_text(self, text: str) -> None:
        self.outbox.put_nowait((True, text))

    def send_binary(self, data: bytes) -> None:
        if self.outbox.qsize() < self.MAX_OUTBOX:
            self.outbox.put_nowait((False, data))

    def close(self, code: int) -> None:
        self.close_code = code
        self.outbox.put_nowait(None)

    async def _writer(self) -> None:
        ws = self.ws
        while True:
            item = await self.outbox.get()
            if item is None:
                break
            text, data = item
            if text:
                await ws.send_str(data)
            else:
                await ws.send_bytes(data)
        await ws.close(code=self.close_code)

    async def run(self) -> None:
        """Read until the socket closes or the channel hangs up."""
        session = self.session
        writer = asyncio.get_running_loop().create_task(self._writer())
        session.connected(self.send_text, self.send_binary)
        try:
            async for msg in self.ws:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    session.on_text(msg.data)
                elif msg.type == aiohttp.WSMsgType.BINARY:
                    session.on_binary(msg.data)
                elif msg.type in (aiohttp.WSMsgType.PING, aiohttp.WSMsgType.PONG):
                    continue
                else:
                    break
            if not session.chan.hungup:
                session.closed_by_peer()
        except (ConnectionError, RuntimeError, asyncio.CancelledError):
            if not session.chan.hungup:
                session.request_hangup(CAUSE_FAILURE, STATUS_GOING_AWAY)
            raise
        finally:
            if not writer.done():
                self.outbox.put_nowait(None)
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(writer, timeout=1.0)
            writer.cancel()
            session.send_text = session.send_binary = None
            self.done.set()


# --- the channel technology -------------------------------------------------------------


class WebSocketMediaTech:
    name = "WebSocket"
    description = "Media over WebSocket Channel Driver"

    def __init__(self, clients: Callable[[], dict[str, WebSocketClient]] | None = None) -> None:
        self.clients = clients or dict
        self.control_format = FORMAT_PLAIN
        """chan_websocket.conf ``control_message_format`` (plain-text or json)."""
        self.incoming: dict[str, MediaSession] = {}
        self.links: dict[str, Link] = {}
        self.pacer = Pacer()
        self._seq = itertools.count(1)

    def request_channel(
        self, core: Core, resource: str, *, uniqueid: str | None, fmt: MediaFormat | None
    ) -> Channel:
        connection_id, _, options_text = resource.partition("/")
        if not connection_id:
            raise BadDialString()
        options = parse_options(options_text)
        if options.codec is not None:
            found = FORMATS.get(options.codec)
            if found is None:
                raise BadDialString()
            fmt = found
        fmt = fmt or SLIN
        incoming = connection_id == INCOMING
        if incoming:
            if options.uri_params:
                raise BadDialString()
            conn_id = str(uuid.uuid4())
        else:
            if connection_id not in self.clients():
                raise EndpointNotFound()
            conn_id = connection_id
        media_format = fmt

        def setup(chan: Channel) -> _Pvt:
            session = MediaSession(
                chan,
                conn_id,
                media_format,
                control_format=options.control_format or self.control_format,
                passthrough=options.passthrough,
                no_auto_answer=options.no_auto_answer,
                direction=options.direction,
            )
            if incoming:
                self.incoming[conn_id] = session
            return _Pvt(session, incoming, options.uri_params)

        chan = core.new_channel(
            self,
            f"WebSocket/{connection_id}/0x{0x7F0000000000 + 0x40 * next(self._seq):x}",
            uniqueid=uniqueid,
            setup=setup,
            state="Down",
        )
        session = pvt_of(chan, _Pvt).session
        chan.set_var("MEDIA_WEBSOCKET_OPTIMAL_FRAME_SIZE", str(session.optimal_frame_size))
        chan.set_var("MEDIA_WEBSOCKET_CONNECTION_ID", conn_id)
        return chan

    def request(
        self, core: Core, resource: str, *, uniqueid: str | None, other_id: str | None
    ) -> Channel:
        return self.request_channel(core, resource, uniqueid=uniqueid, fmt=None)

    def call(self, chan: Channel, timeout: float | None) -> None:
        pvt = pvt_of(chan, _Pvt)
        media = media_of(chan.core)
        if media is not None:
            media.channel_media(chan)
        self.pacer.add(chan.core, pvt.session)
        if not pvt.incoming:
            pvt.task = chan.core.spawn(self._connect_out(chan, pvt), name=f"ws-media {chan.name}")

    def answered(self, chan: Channel) -> None:
        pass

    # -- incoming connections (the /media/<id> route) --------------------------------

    def check(self, connection_id: str) -> tuple[int, str, str] | None:
        """Why ``/media/<connection_id>`` cannot be taken: (status, title, text), or None."""
        session = self.incoming.get(connection_id)
        if session is None or session.chan.destroyed:
            return (404, "Not found", "WebSocket instance not found")
        if connection_id in self.links:
            return (409, "Conflict", "Another websocket connection exists for this connection id")
        return None

    async def serve(self, connection_id: str, ws: Any) -> None:
        """Run an accepted ``/media/<connection_id>`` socket until it ends."""
        session = self.incoming.get(connection_id)
        if session is None or session.chan.hungup:
            await ws.close(code=STATUS_INTERNAL_ERROR)
            return
        link = self.links[connection_id] = Link(session, ws)
        try:
            await link.run()
        finally:
            if self.links.get(connection_id) is link:
                del self.links[connection_id]

    # -- outgoing connections ----------------------------------------------------------

    async def _connect_out(self, chan: Channel, pvt: _Pvt) -> None:
        session = pvt.session
        client = self.clients().get(session.connection_id)
        if client is None:
            chan.queue_hangup(CAUSE_FAILURE)
            return
        uri = client.uri
        if pvt.uri_params:
            uri += ("&" if "?" in uri else "?") + pvt.uri_params
        attempts = max(client.reconnect_attempts, 1)
        if client.connection_type == "persistent":
            attempts = max(attempts, 1_000_000)
        auth = aiohttp.BasicAuth(client.username, client.password) if client.username else None
        ssl_ctx: ssl.SSLContext | bool = False
        if client.tls_enabled or uri.startswith("wss:"):
            ssl_ctx = client_ssl_context(client)
        async with aiohttp.ClientSession() as http:
            ws: aiohttp.ClientWebSocketResponse | None = None
            for attempt in range(attempts):
                if chan.hungup:
                    return
                try:
                    ws = await http.ws_connect(
                        uri,
                        protocols=client.protocol_list,
                        auth=auth,
                        ssl=ssl_ctx,
                        timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=2.0),
                        autoping=True,
                        max_msg_size=0,
                    )
                    break
                except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                    if attempt + 1 >= attempts:
                        log.warning(
                            "%s: Websocket connection to %s failed after %d tries: %s.  "
                            "Hanging up after exhausting retries.",
                            chan.name,
                            client.uri,
                            attempts,
                            exc,
                        )
                        break
                    if not await chan.sleep(client.reconnect_interval / 1000):
                        return
            if ws is None:
                chan.queue_hangup(causes.NO_ROUTE_DESTINATION)
                return
            if chan.hungup:
                await ws.close()
                return
            link = pvt.link = Link(session, ws)
            await link.run()

    # -- media ------------------------------------------------------------------------

    def media_format(self, chan: Channel) -> MediaFormat:
        pvt = pvt_of(chan, _Pvt)
        return pvt.session.format

    def media_output(self, chan: Channel, payload: bytes) -> None:
        pvt = pvt_or_none(chan, _Pvt)
        if pvt is not None:
            pvt.session.audio_out(payload)

    def send_digit(self, chan: Channel, digit: str, duration_ms: int) -> None:
        pvt = pvt_or_none(chan, _Pvt)
        if pvt is not None:
            pvt.session.dtmf(digit)

    def hangup(self, chan: Channel) -> None:
        pvt = pvt_or_none(chan, _Pvt)
        chan.tech_pvt = None
        if pvt is None:
            return
        session = pvt.session
        self.pacer.remove(session)
        if self.incoming.get(session.connection_id) is session:
            del self.incoming[session.connection_id]
        link = self.links.get(session.connection_id) if pvt.incoming else pvt.link
        if link is not None and link.session is session:
            link.close(session.tech_cause or STATUS_NORMAL)
        elif pvt.task is not None and not pvt.task.done():
            pvt.task.cancel()


@dataclass(eq=False)
class _Pvt:
    session: MediaSession
    incoming: bool
    uri_params: str | None
    task: asyncio.Task[None] | None = None
    link: Link | None = None


async def external_media_plan(core: Core, req: ExternalMediaRequest) -> ExternalMediaPlan:
    """``externalMedia`` with ``transport=websocket``: the dial string Asterisk builds."""
    tech = core.techs.get("websocket")
    if not isinstance(tech, WebSocketMediaTech):
        raise Unsupported()
    direction = f"d({req.direction})" if req.direction else ""
    extra = ""
    if req.transport_data:
        extra = "/" + req.transport_data
    elif direction:
        extra = "/"
    resource = f"{req.external_host}{extra}{direction}"
    endpoint = f"WebSocket/{resource}"
    # Fail now (400) rather than after the answer for a dial string that cannot work.
    parse_options(resource.partition("/")[2])

    def request() -> Channel:
        return tech.request_channel(core, resource, uniqueid=req.uniqueid, fmt=req.format)

    return ExternalMediaPlan(endpoint, request)


__all__ = [
    "INCOMING",
    "DialOptions",
    "Link",
    "MediaSession",
    "WebSocketMediaTech",
    "external_media_plan",
    "parse_options",
]
