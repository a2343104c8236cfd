"""The OpenAPI document (/ari/openapi.json) tells the truth about what is sent.

* Every status a handler can answer, read from the handlers' code (not a
  hand-kept list), is declared on its operation.
* What the request pipeline answers, probed over real HTTP for every operation
  (no credentials, a read-only user, a bad body, bad parameter values, an
  unloaded module ...), is declared on the operation.
* Timestamps in real responses and events match the declared pattern
  (Asterisk's ``2026-12-07T13:01:19.632+0000``, which is not RFC 3339).
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import json
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

import pyari
from conftest import auth_headers, make_server
from pyari.ari.apidocs import openapi
from pyari.ari.errors import refusal_status
from pyari.ari.resources import load_all
from pyari.ari.spec import Operation, answers, operations
from pyari.config import AriUser
from pyari.core.refusals import Refused
from pyari.server import Server

SRC = Path(pyari.__file__).parent
RESOURCES = SRC / "ari" / "resources"
HELPERS = (SRC / "ari" / "errors.py", SRC / "ari" / "params.py")
RO = ("looker", "l00k-only")

NOT_REACHED: dict[tuple[str, int], str] = {
    ("bridges.get", 409): "find_bridge(stasis=False) shows a bridge outside Stasis, never refuses",
    ("asterisk.deleteLog", 409): "LogChannels raises its 409s only when adding a channel",
    ("asterisk.rotateLog", 409): "LogChannels raises its 409s only when adding a channel",
    ("asterisk.deleteLog", 500): "LogChannels raises its 500 only when adding a channel",
    ("asterisk.rotateLog", 500): "LogChannels raises its 500 only when adding a channel",
}
"""Statuses the code reading over-approximates (it follows calls, not arguments)."""

PART_MISSING = 501
"""``available(part)`` / ``_not_implemented()``: an embedded AriContext without a part.

pyari's Server has every part (checked by :func:`test_server_has_every_part`),
so the document does not declare it."""


# -- reading the handlers ------------------------------------------------------------


class Unresolved(Exception):
    """A status the reading cannot follow: make it a literal, or teach the reading."""


def _call_name(node: ast.Call) -> str | None:
    f = node.func
    if isinstance(f, ast.Name):
        return f.id
    if isinstance(f, ast.Attribute):
        return f.attr
    return None


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    raise Unresolved(ast.unparse(node))


def _ints(node: ast.AST) -> set[int]:
    return {
        n.value
        for n in ast.walk(node)
        if isinstance(n, ast.Constant) and type(n.value) is int and 100 <= n.value <= 599
    }


Function = ast.FunctionDef | ast.AsyncFunctionDef


class Code:
    """Every function of the ARI resources and the helpers they use (nested ones too)."""

    def __init__(self) -> None:
        self.functions: dict[tuple[str, str], Function] = {}
        self.by_line: dict[tuple[str, int], tuple[str, str]] = {}
        self.top: dict[tuple[str, str], tuple[str, str]] = {}
        self.imports: dict[str, dict[str, str]] = {}
        self._called: set[str] | None = None
        for path in [*sorted(RESOURCES.glob("*.py")), *HELPERS]:
            mod = path.stem if path.parent == RESOURCES else f"ari.{path.stem}"
            tree = ast.parse(path.read_text(), str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    key = (mod, f"{node.name}@{node.lineno}")
                    self.functions[key] = node
                    for line in (node.lineno, *(d.lineno for d in node.decorator_list)):
                        self.by_line[(mod, line)] = key
            imported: dict[str, str] = {}
            for node in tree.body:
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    self.top[(mod, node.name)] = (mod, f"{node.name}@{node.lineno}")
                elif isinstance(node, ast.ImportFrom) and node.module:
                    target = node.module
                    if target.startswith("pyari.ari.resources."):
                        target = target.removeprefix("pyari.ari.resources.")
                    elif target.startswith("pyari.ari."):
                        target = "ari." + target.removeprefix("pyari.ari.")
                    for alias in node.names:
                        imported[alias.asname or alias.name] = target
            self.imports[mod] = imported

    def resolve(self, mod: str, name: str) -> tuple[str, str] | None:
        found = self.top.get((mod, name))
        if found is None and name in self.imports.get(mod, {}):
            found = self.top.get((self.imports[mod][name], name))
        return found

    def called(self) -> set[str]:
        """The names pyari calls anywhere (``UncontrolledDevice(...)`` raises one)."""
        if self._called is None:
            self._called = {
                name
                for path in SRC.rglob("*.py")
                for node in ast.walk(ast.parse(path.read_text(), str(path)))
                if isinstance(node, ast.Call) and (name := _call_name(node)) is not None
            }
        return self._called

    def refusal_statuses(self, mod: str, name: str) -> set[int]:
        """The statuses answering refusals of class ``name`` (as ``mod`` imports it):
        the kind (``core/refusals.py``) of each subclass pyari raises, mapped by the
        ARI layer (``ari/errors.py``)."""
        where = self.imports.get(mod, {}).get(name)
        if where is None:
            raise Unresolved(f"{mod}.py: where {name} comes from")
        cls = getattr(importlib.import_module(where), name)
        if not (isinstance(cls, type) and issubclass(cls, Refused)):
            raise Unresolved(f"{mod}.py: {name} is no refusal of core/refusals.py")
        family: list[type[Refused]] = [cls]
        for kind in family:
            family.extend(kind.__subclasses__())
        found: set[int] = set()
        for kind in family:
            if kind.__name__ not in self.called():
                continue
            try:
                found.add(refusal_status(kind))
            except TypeError as exc:
                raise Unresolved(str(exc)) from None
        if not found:
            raise Unresolved(f"no raise site of {name} or its subclasses")
        return found


def _catcher(fn: Function, call: ast.AST, name: str) -> list[str] | None:
    """The classes of the ``except K as name`` clause around ``call``."""
    for node in ast.walk(fn):
        if (
            isinstance(node, ast.ExceptHandler)
            and node.name == name
            and node.type is not None
            and any(call in ast.walk(stmt) for stmt in node.body)
        ):
            kinds = node.type.elts if isinstance(node.type, ast.Tuple) else [node.type]
            return [_name(k) for k in kinds]
    return None


def _assigned(fn: Function, name: str) -> Iterator[ast.expr]:
    for node in ast.walk(fn):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            yield node.value


def _statuses(code: Code, key: tuple[str, str], seen: set[tuple[str, str]]) -> set[int]:
    """Statuses ``key`` (and what it calls) can answer: AriError/Reply statuses."""
    if key in seen:
        return set()
    seen.add(key)
    mod = key[0]
    fn = code.functions[key]
    out: set[int] = set()
    for node in ast.walk(fn):
        if isinstance(node, ast.Subscript) and ast.unparse(node.value) == "p":
            out.add(400)  # Params.__getitem__: a required parameter is missing
        if not isinstance(node, ast.Call):
            continue
        name = _call_name(node)
        if name in ("AriError", "Reply") and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and type(first.value) is int:
                out.add(first.value)
            elif isinstance(first, ast.Name) and any(True for _ in _assigned(fn, first.id)):
                for value in _assigned(fn, first.id):
                    out |= _ints(value)
            else:
                raise Unresolved(f"{mod}.py:{node.lineno}: {ast.unparse(node)}")
        elif name == "as_ari_error":
            for arg in node.args:
                out |= code.refusal_statuses(mod, _name(arg))
        elif name == "refused":
            if key[1].startswith("as_ari_error@"):
                continue  # the callers of as_ari_error name the refusal classes
            given = node.args[0] if node.args else None
            kinds = _catcher(fn, node, given.id) if isinstance(given, ast.Name) else None
            if kinds is None:
                raise Unresolved(f"{mod}.py:{node.lineno}: {ast.unparse(node)}")
            for cls in kinds:
                out |= code.refusal_statuses(mod, cls)
        elif isinstance(node.func, ast.Name):
            callee = code.resolve(mod, node.func.id)
            if callee is not None:
                out |= _statuses(code, callee, seen)
    return out


def _success(fn: Function) -> set[int]:
    """200 for a body, 204 for None (the pipeline's rule); a Reply's own status is read."""
    ann = ast.unparse(fn.returns) if fn.returns is not None else "None"
    if ann == "None":
        return {204}
    if ann == "Reply":
        return set()
    if "None" in [part.strip() for part in ann.split("|")]:
        return {200, 204}
    return {200}


def handler_statuses() -> dict[str, set[int]]:
    """Operation key -> every status its handler can answer."""
    code = Code()
    out: dict[str, set[int]] = {}
    for key, reg in load_all().items():
        fn = inspect.unwrap(reg.fn)
        mod = Path(inspect.getfile(fn)).stem
        fkey = code.by_line[(mod, fn.__code__.co_firstlineno)]
        out[key] = _statuses(code, fkey, set()) | _success(code.functions[fkey])
    return out


# -- the document ------------------------------------------------------------------------


DOC = openapi("http://127.0.0.1/ari")


def declared(op: Operation) -> set[int]:
    responses = DOC["paths"][op.path][op.method.lower()]["responses"]
    return {int(code) for code in responses}


def test_every_operation_has_a_handler() -> None:
    assert set(load_all()) >= {op.key for op in operations() if not op.websocket}


def test_handler_statuses_are_declared() -> None:
    found = handler_statuses()
    # The reading must see what is plainly there, or it proves nothing.
    assert found["channels.rtpstatistics"] >= {200, 403, 404}
    assert found["bridges.record"] >= {201, 404, 409, 422}
    assert found["endpoints.sendMessage"] >= {202}
    # through as_ari_error(ModuleError) ...: the kinds of the subclasses raised
    assert found["asterisk.loadModule"] >= {204, 404, 409}
    assert found["deviceStates.update"] >= {204, 400, 404, 409}
    assert found["asterisk.addLog"] >= {204, 400, 409, 500}
    assert found["channels.externalMedia"] >= {400, 409}  # through except ... as exc
    missing: list[str] = []
    for op in operations():
        statuses = found.get(op.key, set()) - {PART_MISSING}
        for status in sorted(statuses - declared(op)):
            if (op.key, status) not in NOT_REACHED:
                missing.append(f"{op.method} {op.path} ({op.key}): {status}")
    assert not missing, "undeclared statuses:\n" + "\n".join(missing)


def test_not_reached_list_is_current() -> None:
    """Every exemption is still something the reading finds and the document leaves out."""
    found = handler_statuses()
    ops = {op.key: op for op in operations()}
    for (key, status), reason in NOT_REACHED.items():
        assert reason
        assert status in found[key], (key, status)
        assert status not in declared(ops[key]), (key, status)


def test_more_errors_are_all_answered() -> None:
    """Each status pyari adds to an operation is one its handler can answer (none stale)."""
    found = handler_statuses()
    for key, errors in answers.MORE_ERRORS.items():
        for err in errors:
            assert err.code in found[key], (key, err.code)


def test_no_undeclared_success_or_documented_only_success() -> None:
    """The success status declared is one the handler answers."""
    found = handler_statuses()
    for op in operations():
        if op.websocket:
            continue
        success = {s for s in declared(op) if s < 300}
        assert len(success) == 1, op.key
        assert success <= found[op.key], (op.key, success, found[op.key])


def test_date_is_a_pattern_not_date_time() -> None:
    text = json.dumps(DOC)
    assert '"date-time"' not in text
    pattern = DOC["components"]["schemas"]["Bridge"]["properties"]["creationtime"]["pattern"]
    assert re.match(pattern, "2026-12-07T13:01:19.632+0000")
    assert not re.match(pattern, "2026-12-07T13:01:19.632Z")
    assert not re.match(pattern, "2026-12-07T13:01:19+00:00")


# -- over real HTTP --------------------------------------------------------------------------


@pytest.fixture(params=["httptools", "aiohttp"])
async def server(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Server]:
    monkeypatch.setenv("PYARI_HTTP_BACKEND", request.param)
    srv = make_server()
    ari = srv.config.ari
    users = {**ari.users, RO[0]: AriUser(RO[0], read_only=True, password=RO[1])}
    srv.config = dataclasses.replace(srv.config, ari=dataclasses.replace(ari, users=users))
    await srv.start()
    try:
        yield srv
    finally:
        await srv.stop()


async def test_server_has_every_part(server: Server) -> None:
    """What makes 501 (a missing part) unreachable in pyari's Server."""
    ctx = server.ari_context
    for part in ("devices", "mailboxes", "modules", "logchannels", "directories"):
        assert getattr(ctx, part) is not None, part
    assert ctx.core.media is not None


def _url(server: Server, op: Operation) -> str:
    path = re.sub(r"\{[^}]+\}", "nope", op.path)
    return f"http://127.0.0.1:{server.http_port}/ari{path}"


BAD_VALUES = {"int": "x1", "long": "x1", "double": "x1", "boolean": "perhaps"}


def _bad_queries(op: Operation) -> Iterator[dict[str, str]]:
    for param in op.params:
        if param.where != "query":
            continue
        if param.values is not None:
            yield {param.name: "no-such-value"}
        elif param.type in BAD_VALUES:
            yield {param.name: BAD_VALUES[param.type]}


async def _probe(
    s: aiohttp.ClientSession, server: Server, op: Operation, seen: dict[str, set[int]]
) -> None:
    url = _url(server, op)
    rw = auth_headers()
    tries: list[dict[str, Any]] = [
        {"headers": {}},
        {"headers": auth_headers(*RO)},
        {"headers": rw},
        {"headers": {**rw, "Content-Type": "application/json"}, "data": b"{"},
        {"headers": {**rw, "Content-Type": "application/json"}, "data": b" " * 40961},
        {"headers": rw, "params": [(f"k{i}", "v") for i in range(513)]},
        *({"headers": rw, "params": q} for q in _bad_queries(op)),
    ]
    for kw in tries:
        async with s.request(op.method, url, **kw) as r:
            await r.read()
            seen.setdefault(op.key, set()).add(r.status)


async def test_pipeline_statuses_are_declared(server: Server) -> None:
    """Whatever the server answers to each operation's probes is declared on it."""
    seen: dict[str, set[int]] = {}
    async with aiohttp.ClientSession() as s:
        for op in operations():
            await _probe(s, server, op, seen)
        # An unloaded module answers every operation of its resource with 404.
        modules = server.ari_context.modules
        assert modules is not None
        for spec in list(modules.running.values()):
            if spec.resource is None:
                continue
            try:
                modules.unload(spec.name)
            except Exception:
                continue  # not unloadable (the events socket)
            try:
                for op in operations():
                    if op.resource == spec.resource:
                        async with s.request(
                            op.method, _url(server, op), headers=auth_headers()
                        ) as r:
                            await r.read()
                            seen[op.key].add(r.status)
                            assert r.status == 404
            finally:
                modules.load(spec.name)
        # The events socket's refusals.
        ws = next(op for op in operations() if op.websocket)
        url = _url(server, ws)
        with pytest.raises(aiohttp.WSServerHandshakeError) as exc:
            await s.ws_connect(url, headers=auth_headers())  # no app
        seen[ws.key].add(exc.value.status)
        held = await s.ws_connect(url + "?app=held", headers=auth_headers())
        try:
            with pytest.raises(aiohttp.WSServerHandshakeError) as exc:
                await s.ws_connect(url + "?app=held", headers=auth_headers(*RO))
            seen[ws.key].add(exc.value.status)
        finally:
            await held.close()
    undeclared: list[str] = []
    for op in operations():
        got = seen[op.key]
        assert not {st for st in got if st >= 500}, (op.key, got)
        for status in sorted(got - declared(op)):
            undeclared.append(f"{op.method} {op.path}: {status}")
    assert not undeclared, "undeclared statuses:\n" + "\n".join(undeclared)
    # The probes reached what they aim at (so the check above is not vacuous).
    lacking = [op.key for op in operations() if not op.websocket and not {401, 413} <= seen[op.key]]
    assert not lacking, [(k, seen[k]) for k in lacking]
    assert all(403 in seen[op.key] for op in operations() if op.method != "GET")
    ws_key = next(op.key for op in operations() if op.websocket)
    assert seen[ws_key] >= {400, 401, 403, 426}


# -- timestamps ----------------------------------------------------------------------------------


def _validator(schema_name: str) -> Draft202012Validator:
    resource: Resource[Any] = DRAFT202012.create_resource(DOC)
    registry: Registry[Any] = Registry().with_resource("urn:pyari-openapi", resource)
    return Draft202012Validator(
        {"$ref": f"urn:pyari-openapi#/components/schemas/{schema_name}"}, registry=registry
    )


def _dates(value: Any, schema_name: str, found: list[tuple[str, str]]) -> None:
    """Collect (property, value) of every Date-typed property the document declares."""
    pattern = DOC["components"]["schemas"]["Bridge"]["properties"]["creationtime"]["pattern"]
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, str) and re.fullmatch(r"\d{4}-\d\d-\d\dT.*", v):
                found.append((k, v))
                assert re.match(pattern, v), (schema_name, k, v)
            else:
                _dates(v, schema_name, found)
    elif isinstance(value, list):
        for v in value:
            _dates(v, schema_name, found)


async def test_timestamps_match_the_declared_pattern(server: Server) -> None:
    base = f"http://127.0.0.1:{server.http_port}/ari"
    checked: list[tuple[str, str]] = []

    def check(body: Any, schema_name: str) -> None:
        errors = list(_validator(schema_name).iter_errors(body))
        assert not errors, (schema_name, [e.message for e in errors])
        _dates(body, schema_name, checked)

    async with aiohttp.ClientSession(headers=auth_headers()) as s:
        ws = await s.ws_connect(f"{base.replace('http', 'ws')}/events?app=ts&subscribeAll=true")
        try:
            async with s.get(f"{base}/asterisk/info") as r:
                check(await r.json(), "AsteriskInfo")
            async with s.post(f"{base}/bridges", params={"bridgeId": "b1"}) as r:
                check(await r.json(), "Bridge")
            async with s.post(
                f"{base}/channels/create",
                params={"endpoint": "Local/1000@ARI-test", "app": "ts", "channelId": "c1"},
            ) as r:
                assert r.status == 200, await r.text()
                check(await r.json(), "Channel")
            async with s.get(f"{base}/channels/c1") as r:
                check(await r.json(), "Channel")
            async with s.post(f"{base}/events/user/tick", params={"application": "ts"}) as r:
                assert r.status == 204
            kinds: set[str] = set()
            while "ChannelUserevent" not in kinds:
                msg = await ws.receive(timeout=5)
                event = json.loads(msg.data)
                kinds.add(event["type"])
                check(event, event["type"])
        finally:
            await ws.close()
    names = {name for name, _ in checked}
    assert {"startup_time", "last_reload_time", "creationtime", "timestamp"} <= names, names
    assert {"BridgeCreated", "ChannelUserevent"} <= kinds


async def test_any_path_byte_reaches_ari(server: Server) -> None:
    """A newline (%0A) in a path is ARI's to answer (JSON), on both cores."""
    async with aiohttp.ClientSession(headers=auth_headers()) as s:
        base = f"http://127.0.0.1:{server.http_port}/ari"
        for path, status in (("/channels/a%0Ab/ring", 404), ("/recordings/stored/x%0A", 404)):
            async with s.delete(base + path) as r:
                assert r.status == status
                assert r.content_type == "application/json"
                assert r.headers["Server"] == "Asterisk"
