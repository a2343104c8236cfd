"""The ARI request pipeline, independent of any HTTP server.

``AriService.handle`` takes a plain :class:`AriRequest` and returns an
:class:`AriResponse`; ``AriService.open_events`` opens the events WebSocket's
session (or refuses it) through the same checks; :mod:`pyari.http` adapts both
to the HTTP server core.
"""

from __future__ import annotations

import base64
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

import msgspec

from pyari import wallclock
from pyari.ari import apidocs
from pyari.ari.cluster_hook import ClusterHook, RoutedRequest
from pyari.ari.context import AriContext
from pyari.ari.encoding import JSON, BadJson, encode
from pyari.ari.encoding import decode as decode_json
from pyari.ari.errors import AriError
from pyari.ari.events_ws import EventEncoder, EventSession, Requests, SendText
from pyari.ari.params import Args, Field, fields, parse_params
from pyari.ari.resources import Registered, Reply, load_all
from pyari.ari.router import MethodNotAllowed, Router
from pyari.ari.spec import Operation, operations
from pyari.config.acl import NO_ACL, Acl
from pyari.config.values import TRUE_WORDS
from pyari.core.security import FailureGuard, SecurityEvent, address_ie, emit, notice, quoted

if TYPE_CHECKING:
    from pyari.config import AriSettings

log = logging.getLogger("pyari.ari")

MAX_BODY = 1024 * 1024
"""The largest body of a request that did not come over HTTP (a RESTRequest's
``message_body``, a request forwarded between cluster nodes)."""
HTTP_MAX_BODY = 40960
"""The largest JSON or form body over HTTP: Asterisk's ``MAX_CONTENT_LENGTH``
(main/http.c); more is answered ``413 Request body too large``."""
MAX_QUERY_KEYS = 512
AUTH_CACHE_SIZE = 1024
"""Verified credentials remembered (crypt(3) checks are slow); cleared on reload."""


@dataclass(slots=True)
class AriRequest:
    method: str
    path: str
    """Path below ``/ari``, starting with ``/``."""
    query: list[tuple[str, str]]
    headers: Mapping[str, str]
    """Case-insensitive mapping of request headers."""
    body: bytes = b""
    scheme: str = "http"
    peer: tuple[str, int] | None = None
    """The client's address (for security events and the login back-off)."""
    local: tuple[str, int] | None = None
    """The server's address the request came to."""
    http: bool = False
    """Came over HTTP: the body is read as Asterisk's HTTP server reads it (JSON only
    with ``Content-Type: application/json``, a form only with its own type, any other
    body ignored; :data:`HTTP_MAX_BODY` at most). Other callers give a JSON body."""


@dataclass(slots=True)
class AriResponse:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    static: bool = False
    """The same request bytes get the same answer while :meth:`AriService.static_epoch`
    is unchanged (the HTTP core may replay it)."""
    page: str | None = None
    """Not JSON: the HTTP core answers with its HTML error page for ``status``, this
    text in it (the events socket's 426 and 400, as Asterisk's HTTP server sends them)."""


@dataclass(frozen=True, slots=True)
class User:
    name: str
    read_only: bool
    acl: Acl = NO_ACL
    """The addresses the user may connect from (ari.conf ``permit``/``deny``/``acl``);
    :data:`NO_ACL` itself when there are no rules."""


@dataclass(frozen=True, slots=True)
class InboundSocket:
    """An accepted events socket as ``ari show websocket sessions`` lists it."""

    connection_id: str
    """A UUID, as Asterisk names each WebSocket session."""
    remote_addr: str
    """``address:port`` of the application (``[v6]:port``), or empty."""


@dataclass(frozen=True, slots=True)
class _Plan:
    """How an operation is answered: its handler and its parameters' checks."""

    registered: Registered
    checks: tuple[Field, ...]


FORM = "application/x-www-form-urlencoded"


def _form_body(req: AriRequest) -> list[tuple[str, str]] | None:
    """A form body's pairs (``Content-Type: application/x-www-form-urlencoded``), read
    as Asterisk's HTTP server reads POST variables (``+`` is a space, a piece without
    ``=`` an empty value); None for any other body."""
    if not req.body:
        return None
    content_type = req.headers.get("Content-Type")
    if content_type is None or content_type.partition(";")[0].lower() != FORM:
        return None
    if len(req.body) > (HTTP_MAX_BODY if req.http else MAX_BODY):
        raise AriError(413, "Request body too large")
    try:
        text = req.body.decode()
    except UnicodeDecodeError:
        raise AriError(400, "Error parsing request body") from None
    return form_pairs(text)


def _json_body(req: AriRequest) -> Any:
    """The JSON of the body, or None for none. Over HTTP, as Asterisk's
    ``ast_http_get_json``: only a body sent as ``application/json`` is read (any other
    is ignored), and one over :data:`HTTP_MAX_BODY` is refused."""
    if not req.body:
        return None
    if req.http:
        content_type = req.headers.get("Content-Type")
        if content_type is None or content_type.partition(";")[0].lower() != JSON:
            return None
    if len(req.body) > (HTTP_MAX_BODY if req.http else MAX_BODY):
        raise AriError(413, "Request body too large")
    if not req.body.strip():
        return None
    try:
        return decode_json(req.body)
    except BadJson:
        raise AriError(400, "Error parsing request body") from None


def form_pairs(text: str) -> list[tuple[str, str]]:
    """``a=1&b`` as Asterisk's form reader splits it (every piece kept, ``+`` is a space);
    a form body over HTTP and a RESTRequest's form ``message_body`` alike."""
    pairs = []
    for piece in text.split("&"):
        name, _, value = piece.partition("=")
        pairs.append((unquote_plus(name), unquote_plus(value)))
    return pairs


def _sockaddr(peer: tuple[str, int] | None) -> str:
    if not peer:
        return ""
    host, port = peer[0], peer[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class AriService:
    def __init__(self, ctx: AriContext) -> None:
        self.ctx = ctx
        self.router = Router(operations())
        self.handlers: dict[str, Registered] = load_all()
        self._plans: dict[int, _Plan] = {
            id(op): _Plan(reg, fields(op, reg.lenient))
            for op in operations()
            if (reg := self.handlers.get(op.key)) is not None
        }
        """What answers each declared operation (by the operation's identity: the router
        holds every one for good), worked out once; an operation without a handler has
        none."""
        self._docs_cache: dict[tuple[str, str, bool], bytes] = {}
        self._auth_users: object = None
        self._auth_cache: dict[str | tuple[str, str | None], User] = {}
        """Credentials already verified against ``_auth_users`` (the users in force): by the
        text of a Basic ``Authorization`` header, or ``("api_key", value)``."""
        self.guard = FailureGuard()
        """Client addresses that keep failing to log in (ari.conf ``auth_failure_*``)."""
        self.socket_paths = frozenset(op.path for op in operations() if op.websocket)
        """Paths below ``/ari`` whose GET opens a WebSocket (:meth:`open_events`)."""
        self.sessions: set[EventSession] = set()
        """The open events sockets' sessions."""
        self.inbound: dict[EventSession, InboundSocket] = {}
        """The accepted ``/ari/events`` sockets among them (``ari show websocket sessions``)."""
        self.event_queue_size = 100_000
        """Events a socket may fall behind by before it is closed."""
        self.cluster: ClusterHook | None = None
        """Where requests run when this node is one of a cluster (set by the cluster's
        REST forwarding, :mod:`pyari.cluster.forward`); None: here, alone."""

    def static_epoch(self) -> tuple[object, ...]:
        """What static answers depend on: settings, loaded modules, the info facts.

        Each changes identity on a reload (or a module load/unload); an answer
        marked static stays right while this compares equal.
        """
        ctx = self.ctx
        modules = ctx.modules
        return (ctx.settings(), modules.generation if modules is not None else 0, ctx.info())

    # -- auth and CORS -----------------------------------------------------------

    def authenticate(
        self,
        headers: Mapping[str, str],
        query: Mapping[str, str],
        users: Mapping[str, Any] | None = None,
        *,
        peer: tuple[str, int] | None = None,
        local: tuple[str, int] | None = None,
        tls: bool = False,
    ) -> User | None:
        """The user the request speaks for; Basic auth wins over ``api_key``.

        A failed login is logged (a security event and a NOTICE, decision 0016) and
        counted against the client's address; while the address is blocked, credentials
        not verified before are refused unchecked."""
        if users is None:
            users = self.ctx.settings().users
        if users is not self._auth_users:  # a reload: forget what was verified
            self._auth_users = users
            self._auth_cache.clear()
        auth = headers.get("Authorization")
        basic = auth is not None and auth[:6].lower() == "basic "
        key: str | tuple[str, str | None] = (
            auth if basic and auth is not None else ("api_key", query.get("api_key"))
        )
        cached = self._auth_cache.get(key)
        if cached is not None:
            return cached
        host = peer[0] if peer is not None else ""
        now = wallclock.monotonic()
        if self.guard.blocked(host, now):
            name = _claimed_name(auth if basic else None, query)
            if name is not None:
                self._failed(users, name, peer, local, tls, now)
            return None
        user = self._verify(users, auth if basic else None, query)
        if user is None:
            name = _claimed_name(auth if basic else None, query)
            if name is not None:
                self._failed(users, name, peer, local, tls, now)
        else:
            if len(self._auth_cache) >= AUTH_CACHE_SIZE:
                self._auth_cache.clear()
            self._auth_cache[key] = user
        return user

    def _request_user(
        self, req: AriRequest, query: Mapping[str, str], users: Mapping[str, Any]
    ) -> User | None:
        """:meth:`authenticate` for a request that came over HTTP (its addresses and scheme)."""
        return self.authenticate(
            req.headers, query, users, peer=req.peer, local=req.local, tls=req.scheme == "https"
        )

    def _failed(
        self,
        users: Mapping[str, Any],
        name: str,
        peer: tuple[str, int] | None,
        local: tuple[str, int] | None,
        tls: bool,
        now: float,
    ) -> None:
        """Log a failed login as AMI does in Asterisk (InvalidAccountID or InvalidPassword,
        with its NOTICE) and count it against the client's address."""
        self.guard.configure(self.ctx.settings().auth_backoff)
        transport = "TLS" if tls else "TCP"
        host = peer[0] if peer is not None else ""
        shown = f"[{host}]" if ":" in host else host
        who = quoted(name)
        known = name in users
        event = SecurityEvent(
            "InvalidPassword" if known else "InvalidAccountID",
            "ARI",
            name,
            f"{shown}:{peer[1]}" if peer is not None else "",
            address_ie(transport, local),
            address_ie(transport, peer),
        )
        if known:
            notice(log, "res_ari.c", f"{shown} failed to authenticate as '{who}'")
        else:
            notice(log, "res_ari.c", f"{shown} tried to authenticate with nonexistent user '{who}'")
        emit(event)
        self.guard.failed(host, now)

    def check_acl(self, user: User, req: AriRequest) -> None:
        """Refuse (403, as Asterisk's res_ari.c) a request from an address the user's ACL
        does not let in, logged as a ``FailedACL`` security event with acl.c's NOTICE.

        Asterisk checks a request that comes over HTTP (the events socket's upgrade
        included), not one that travels on an open events socket: ``req.peer`` None."""
        if not user.acl or req.peer is None:
            return
        host = req.peer[0]
        refused_by = user.acl.refusing(host)
        if refused_by is None:
            return
        transport = "TLS" if req.scheme == "https" else "TCP"
        shown = f"[{host}]" if ":" in host else host
        emit(
            SecurityEvent(
                "FailedACL",
                "ARI",
                user.name,
                f"{shown}:{req.peer[1]}",
                address_ie(transport, req.local),
                address_ie(transport, req.peer),
                (("ACLName", refused_by),),
            )
        )
        notice(
            log,
            "acl.c",
            f"ARI User ACLRejecting '{host}' due to a failure to pass ACL '{quoted(refused_by)}'",
        )
        raise AriError(403, "Access denied by ACL")

    @staticmethod
    def _verify(
        users: Mapping[str, Any], auth: str | None, query: Mapping[str, str]
    ) -> User | None:
        name = password = None
        if auth and auth[:6].lower() == "basic ":
            try:
                decoded = base64.b64decode(auth[6:].strip(), validate=True).decode()
            except ValueError:  # not base64 (or not ASCII at all), or not UTF-8
                return None
            name, sep, password = decoded.partition(":")
            if not sep:
                return None
        else:
            key = query.get("api_key")
            if key is not None:
                name, sep, password = key.partition(":")
                if not sep:
                    return None
        if name is None or password is None:
            return None
        user = users.get(name)
        if user is None or not user.check_password(password):
            return None
        return User(user.name, user.read_only, user.acl or NO_ACL)  # (none: NO_ACL itself)

    def cors_headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        origin = headers.get("Origin")
        if not origin:
            return {}
        allowed = self.ctx.settings().allowed_origins
        if origin in allowed or "*" in allowed:
            return {
                "Access-Control-Allow-Origin": origin,
                "Access-Control-Allow-Credentials": "true",
            }
        return {}

    # -- the pipeline --------------------------------------------------------------

    def error(
        self, status: int, message: str, headers: dict[str, str] | None = None
    ) -> AriResponse:
        body = encode({"message": message}, self.ctx.settings().pretty)
        return AriResponse(status, body, {"Content-Type": JSON, **(headers or {})})

    async def handle(self, req: AriRequest) -> AriResponse:
        try:
            resp = await self._handle(req)
        except AriError as exc:
            extra = {"Allow": exc.allow} if isinstance(exc, MethodNotAllowed) else None
            resp = self.error(exc.status, exc.message, extra)
        except Exception:
            log.exception("ARI %s %s failed", req.method, req.path)
            resp = self.error(500, "Internal Server Error")
        if req.headers.get("Origin"):
            resp.headers.update(self.cors_headers(req.headers))
        return resp

    async def _handle(
        self, req: AriRequest, trusted: User | None = None, hook: ClusterHook | None = None
    ) -> AriResponse:
        """The pipeline; ``trusted``: the user another node authenticated (see
        :meth:`handle_as`), and ``hook`` instead of :attr:`cluster` for it."""
        raw_query = req.query
        form = _form_body(req) if req.body else None
        if form is not None:  # its values, then the query's (which win), as Asterisk's
            raw_query = form + raw_query
        if len(raw_query) > MAX_QUERY_KEYS:
            raise AriError(400, "Too many query parameters")
        query = dict(raw_query) if raw_query else {}  # a repeated key: the last one wins
        method, path = req.method, req.path
        if trusted is None:
            if method == "OPTIONS":
                return self.options(req)
            settings = self.ctx.settings()
            user = self._request_user(req, query, settings.users)
            if user is None:
                return self.error(401, "Authentication required", _challenge(settings))
            if user.acl is not NO_ACL:
                self.check_acl(user, req)
            if path[:10] == "/api-docs/" or path == "/openapi.json":
                if method != "GET":
                    raise AriError(405, "Unsupported method")  # Asterisk's: no Allow list here
                return self.api_docs(req)
            hook = self.cluster
        else:
            settings = self.ctx.settings()
            user = trusted
        op, path_values = self._operation(user, method, path)
        if op.websocket:
            raise AriError(426, "Upgrade Required")
        body = _json_body(req) if req.body and form is None else None
        plan = self._plans.get(id(op))
        if plan is None:
            raise AriError(501, "Not implemented")
        reg = plan.registered
        args = parse_params(
            op,
            path_values,
            query,
            body,
            reg.missing,
            reg.lenient,
            args_type=reg.args_type,
            checks=plan.checks,
        )
        if hook is not None:
            local = partial(self._run, reg, args, settings)
            resp = await hook.route(RoutedRequest(user, op, path_values, req, args, local))
            if resp is not None:
                return resp
        return self._answer(await reg.fn(self.ctx, args), settings)

    async def handle_as(
        self, user: User, req: AriRequest, hook: ClusterHook | None = None
    ) -> AriResponse:
        """Answer ``req`` for ``user``, already authenticated elsewhere (another node of
        the cluster forwarded it): no credentials, ACL, CORS or api-docs; ``hook``
        instead of :attr:`cluster` (None: run here, never forwarded again)."""
        try:
            return await self._handle(req, user, hook)
        except AriError as exc:
            extra = {"Allow": exc.allow} if isinstance(exc, MethodNotAllowed) else None
            return self.error(exc.status, exc.message, extra)
        except Exception:
            log.exception("ARI %s %s (forwarded) failed", req.method, req.path)
            return self.error(500, "Internal Server Error")

    async def _run(self, reg: Registered, args: Args, settings: AriSettings) -> AriResponse:
        """Run the operation's handler here (what a cluster hook calls ``local``)."""
        return self._answer(await reg.fn(self.ctx, args), settings)

    @staticmethod
    def _answer(result: Any, settings: AriSettings) -> AriResponse:
        """The response to a handler's result."""
        if isinstance(result, Reply):
            if result.body is None:
                return AriResponse(result.status, b"", dict(result.headers))
            if isinstance(result.body, bytes):
                return AriResponse(result.status, result.body, dict(result.headers), result.static)
            return AriResponse(
                result.status,
                encode(result.body, settings.pretty),
                {"Content-Type": JSON, **result.headers},
                result.static,
            )
        if result is None:
            return AriResponse(204)
        return AriResponse(200, encode(result, settings.pretty), {"Content-Type": JSON})

    def _operation(self, user: User, method: str, path: str) -> tuple[Operation, dict[str, str]]:
        """The declared operation of a request and its path values, if ``user`` may use it."""
        op, path_values = self.router.resolve(method, path)
        modules = self.ctx.modules
        if modules is not None and not modules.resource_enabled(op.resource):
            raise AriError(404, "Resource not found")  # its res_ari_*.so is unloaded
        if user.read_only and method != "GET":
            raise AriError(403, "Write access denied")
        return op, path_values

    # -- the events WebSocket ------------------------------------------------------------

    def open_events(
        self,
        req: AriRequest,
        send: SendText,
        handshake: Callable[[], bool] | None = None,
    ) -> EventSession | AriResponse | None:
        """Open the events WebSocket ``req`` asks for (a GET of a :attr:`socket_paths` path).

        Checked in Asterisk's order: credentials (401), the declared operation (routing,
        its module loaded), a WebSocket upgrade (426), ``app`` (400), then a read-only
        user may not take an application over from a read-write user (403,
        docs/decisions/0012-read-only-app-takeover.md). Then ``handshake`` (if given)
        tells whether the HTTP core can accept the upgrade; when it cannot, nothing is
        opened and None is returned (the core answers). The session returned has its
        applications registered already, before the core sends its 101, so no event
        after the client sees it is lost; ``send`` writes one text frame. A core that
        then fails the handshake closes the session.
        """
        try:
            return self._open_events(req, send, handshake)
        except AriError as exc:
            return self.error(exc.status, exc.message)

    def _open_events(
        self, req: AriRequest, send: SendText, handshake: Callable[[], bool] | None
    ) -> EventSession | AriResponse | None:
        if len(req.query) > MAX_QUERY_KEYS:
            raise AriError(400, "Too many query parameters")
        query = dict(req.query)
        settings = self.ctx.settings()
        user = self._request_user(req, query, settings.users)
        if user is None:
            return AriResponse(
                401,
                b'{"message": "Authentication required"}',
                {"Content-Type": JSON, **_challenge(settings)},
            )
        self.check_acl(user, req)
        self._operation(user, req.method, req.path)
        if req.headers.get("Upgrade", "").lower() != "websocket":
            return AriResponse(426, page="")
        apps = [a.strip() for a in query.get("app", "").split(",") if a.strip()]
        if not apps:
            return AriResponse(400, page="HTTP request is missing param: [app]")
        stasis = self.ctx.stasis
        if user.read_only:
            held = stasis.held_by_writer(apps)
            if held is not None:
                # Not Asterisk's behaviour: docs/decisions/0012-read-only-app-takeover.md.
                message = f"Application '{held}' is held by a read-write user"
                return AriResponse(
                    403, b'{"message": %s}' % msgspec.json.encode(message), {"Content-Type": JSON}
                )
        resume = _resume_header(req.headers.get("Pyari-Resume"))
        if resume is None:
            raise AriError(400, "Bad Pyari-Resume header")
        if handshake is not None and not handshake():
            return None
        stasis.configure(settings.event_streams)
        session = EventSession(
            stasis,
            apps,
            send,
            EventEncoder(self.ctx.core.entity_id, settings.pretty),
            subscribe_all=query.get("subscribeAll", "").lower() in TRUE_WORDS,
            read_only=user.read_only,
            max_queue=self.event_queue_size,
            write_timeout=max(settings.websocket_write_timeout, 1) / 1000.0,
            on_close=self._forget_inbound,
            sequenced=bool(resume) or req.headers.get("Pyari-Sequence", "").strip() == "1",
            resume=resume,
        )
        session.requests = self.socket_requests(session, req)
        session.open()
        if not session.closed:  # (closed at once if its replay overflowed its queue)
            self.sessions.add(session)
            self.inbound[session] = InboundSocket(str(uuid.uuid4()), _sockaddr(req.peer))
        return session

    def _forget_inbound(self, session: EventSession) -> None:
        self.sessions.discard(session)
        self.inbound.pop(session, None)

    def open_outbound_events(
        self, user_name: str, apps: list[str], send: SendText, *, subscribe_all: bool = False
    ) -> EventSession:
        """An events session for an outbound connection (ari.conf ``outbound_websocket``).

        It speaks for ``user_name`` (``local_ari_user``) and registers ``apps`` at once,
        before any connection is up, as Asterisk does: events queue until the connection
        writes them. It outlives a connection (the caller reconnects and writes on).
        """
        settings = self.ctx.settings()
        user = settings.users.get(user_name)
        session = EventSession(
            self.ctx.stasis,
            apps,
            send,
            EventEncoder(self.ctx.core.entity_id, settings.pretty),
            subscribe_all=subscribe_all,
            read_only=user is not None and user.read_only,
            max_queue=self.event_queue_size,
            write_timeout=max(settings.websocket_write_timeout, 1) / 1000.0,
            on_close=self.sessions.discard,
        )
        # The RESTRequests arriving on the connection carry the user's credentials, as
        # Asterisk builds an Authorization header for them (a user that is gone: 401s).
        password = user.password if user is not None else ""
        token = base64.b64encode(f"{user_name}:{password}".encode()).decode("ascii")
        origin = AriRequest("GET", "/events", [], {"Authorization": f"Basic {token}"})
        session.requests = self.socket_requests(session, origin)
        session.open()
        if not session.closed:  # (closed at once if its replay overflowed its queue)
            self.sessions.add(session)
        return session

    def socket_requests(self, session: EventSession, origin: AriRequest) -> Requests:
        """What answers the ``RESTRequest`` messages on ``session``'s socket, with the
        credentials of ``origin`` (the upgrade request, or for an outbound connection one
        that carries ``local_ari_user``'s Basic credentials, as Asterisk builds it)."""
        from pyari.ari.socket_requests import SocketRequests  # it builds on this module

        return SocketRequests(self, session, origin).answer

    def close_event_sessions(self) -> None:
        """Close every events socket's session (the server stops)."""
        for session in list(self.sessions):
            session.close()

    def options(self, req: AriRequest) -> AriResponse:
        if req.path.startswith("/api-docs/") or req.path == "/openapi.json":
            allow = "OPTIONS,GET"
        else:
            route, _ = self.router.find(req.path)
            allow = route.allow
        headers = {"Allow": allow}
        cors = self.cors_headers(req.headers)
        wanted = req.headers.get("Access-Control-Request-Method")
        if cors and wanted:
            if wanted not in allow.split(","):
                return AriResponse(405, b"", {"Allow": allow})
            headers.update(cors)
            headers["Access-Control-Allow-Methods"] = allow
            asked = req.headers.get("Access-Control-Request-Headers")
            headers["Access-Control-Allow-Headers"] = asked or "Content-Type, Authorization"
        return AriResponse(204, b"", headers)

    def api_docs(self, req: AriRequest) -> AriResponse:
        host = req.headers.get("Host") or "localhost:8088"
        base = f"{req.scheme}://{host}/ari"
        name = "openapi.json" if req.path == "/openapi.json" else req.path[len("/api-docs/") :]
        pretty = self.ctx.settings().pretty
        key = (name, base, pretty)
        data = self._docs_cache.get(key)
        if data is None:
            if req.path == "/openapi.json":
                doc = apidocs.openapi(base)
            elif name == "resources.json":
                doc = apidocs.resource_listing(base)
            elif name.endswith(".json"):
                try:
                    doc = apidocs.api_declaration(name[: -len(".json")], base)
                except KeyError:
                    raise AriError(404, "Resource not found") from None
            else:
                raise AriError(404, "Resource not found")
            data = encode(doc, pretty)
            if len(self._docs_cache) < 256:
                self._docs_cache[key] = data
        return AriResponse(200, data, {"Content-Type": JSON}, static=True)


def _challenge(settings: AriSettings) -> dict[str, str]:
    """The 401's header that asks for Basic credentials (ari.conf ``auth_realm``)."""
    return {"WWW-Authenticate": f'Basic realm="{settings.auth_realm}"'}


def _resume_header(value: str | None) -> dict[str, int] | None:
    """``Pyari-Resume: app=seq[,app=seq]`` (docs/event-streams.md); None if malformed."""
    if value is None:
        return {}
    resume: dict[str, int] = {}
    for part in value.split(","):
        name, sep, seq = part.strip().partition("=")
        name, seq = name.strip(), seq.strip()
        if not sep or not name or not seq.isdigit() or not seq.isascii() or len(seq) > 19:
            return None
        resume[name] = int(seq)
    return resume


def _claimed_name(auth: str | None, query: Mapping[str, str]) -> str | None:
    """The user name a request's credentials claim (``""`` when they cannot be read), or
    None when it brings none (an anonymous request is no failed login)."""
    if auth is not None:
        try:
            decoded = base64.b64decode(auth[6:].strip(), validate=True).decode()
        except ValueError:  # not base64 (or not ASCII at all), or not UTF-8
            return ""
        return decoded.partition(":")[0]
    key = query.get("api_key")
    return key.partition(":")[0] if key is not None else None
