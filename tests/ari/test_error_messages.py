"""Every error text pyari answers against the recorded list of Asterisk's (issue #15 item 5).

``ASTERISK`` is the list of the ``message`` texts Asterisk 23's ARI answers with, recorded
by hand from res/res_ari.c, res/ari/resource_*.c, res/ari/ari_websocket_requests.c and the
generated parameter readers res/res_ari_*.c (``%s`` where Asterisk fills a value in). The
test reads pyari's sources and finds every text it can answer with (``AriError``, the
``*Error(status, text)`` exceptions handlers turn into ARI errors, ``not_found``, the
``missing=`` texts of ``@handles``, the external media refusals, the events socket's
``Refused``); each must be Asterisk's or one of
``PYARI_OWN``, each with its reason. Each of Asterisk's texts pyari never answers is in
``NOT_USED`` with the reason. docs/behaviours-coverage.md has the same list as a table.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "pyari"
DOC = Path(__file__).resolve().parents[2] / "docs" / "behaviours-coverage.md"

Status = int | tuple[int, ...]

ASTERISK: tuple[tuple[Status, str, str], ...] = (
    (400, "%s of object '%s' failed field value validation", "asterisk"),
    (400, "'server' connection_type can only be used with the websocket transport", "channels"),
    (400, "app cannot be empty", "channels"),
    (400, "Application name is required", "channels"),
    (400, "Application or extension must be specified", "channels"),
    (400, "application parameter is required", "events"),
    (400, "At least one variable name is required", "bridges, channels"),
    (400, "Bridge ID is required", "bridges"),
    (400, "Can't upgrade to websocket from a websocket", "res_ari"),
    (400, "Channel ID is required", "channels"),
    ((400, 404), "Channel not found", "bridges, channels"),
    (400, "channelId parameter is required", "events"),
    (400, "Configuration levels are required", "asterisk"),
    (400, "data can not be empty", "channels"),
    (400, "Direction is required", "channels"),
    (400, "Direction must be specified for at least spy or whisper", "channels"),
    (400, "DTMF is required", "channels"),
    (
        400,
        "Each object value in 'variables' must include string field 'value'",
        "bridges, channels",
    ),
    (
        400,
        "Each value in 'variables' must be a string or an object with 'value' and optional 'report_events'",  # noqa: E501
        "bridges, channels",
    ),
    (400, "encapsulation must be 'none' for websocket transport", "channels"),
    (400, "Endpoint must be specified", "channels"),
    (400, "Error parsing request body", "res_ari"),
    (400, "external_host is required for all but websocket server connections", "channels"),
    (
        400,
        "external_host must be <host>:<port> for all transports other than websocket",
        "channels",
    ),
    (400, "external_host must be a valid websocket_client connection id.", "channels"),
    (400, "Failed to execute function", "bridges, channels"),
    (400, "Field 'report_events' in 'variables' entries must be boolean", "bridges, channels"),
    (400, "Fields must be provided to update object '%s'", "asterisk"),
    (400, "format cannot be empty", "channels"),
    (400, "ifExists invalid", "bridges, channels"),
    (400, "Invalid destination recording name", "recordings"),
    (400, "Invalid direction specified", "channels"),
    (400, "Invalid direction specified for spy", "channels"),
    (400, "Invalid direction specified for whisper", "channels"),
    (400, "Invalid endpoint specified", "channels"),
    (400, "Invalid event source URI scheme", "applications, events"),
    (400, "Invalid format definition", "applications"),
    (400, "Invalid operation %s", "playbacks"),
    (400, "Invalid reason for hangup reason code provided", "channels"),
    (400, "Invalid reason for hangup reason provided", "channels"),
    (400, "Invalid states value", "channels"),
    (400, "Invalid userevent data", "events"),
    (400, "max_duration_seconds cannot be negative", "channels"),
    (400, "max_silence_seconds cannot be negative", "channels"),
    (400, "Missing operation", "playbacks"),
    (400, "Missing parameter application", "events"),
    (400, "Missing parameter applicationName", "applications"),
    (400, "Missing parameter channel", "bridges"),
    (400, "Missing parameter eventSource", "applications"),
    (400, "offsetms cannot be negative", "channels"),
    (400, "Only string values in the 'variables' object allowed", "endpoints"),
    (400, "Originator and formats can't both be specified", "channels"),
    (400, "Provided format (%s) was not found", "channels"),
    (400, "Provided originator channel was not found", "channels"),
    (400, "Recording name invalid", "bridges, channels"),
    (400, "Requested priority is illegal", "channels"),
    (400, "Required parameter 'endpoint' not provided.", "channels"),
    (400, "skipms cannot be negative", "channels"),
    (400, "states must not be empty", "channels"),
    (400, "terminateOn invalid", "bridges, channels"),
    (400, "The 'variables' field is required", "bridges, channels"),
    (400, "The 'variables' field must be a JSON object", "bridges, channels"),
    (400, "The reason and reason_code can't both be specified", "channels"),
    (400, "To must be specified", "endpoints"),
    (400, "transport must be 'tcp' for audiosocket encapsulation", "channels"),
    (400, "transport must be 'udp' for rtp encapsulation", "channels"),
    (400, "Uniqueid length exceeds maximum of %s", "channels"),
    (400, "Variable name is required", "asterisk, bridges, channels"),
    (400, "Variable names are required", "bridges, channels"),
    (401, "Authentication required", "res_ari"),
    (403, "Access denied by ACL", "res_ari"),
    (403, "Cannot create sorcery objects of type '%s'", "asterisk"),
    (403, "Cannot update sorcery objects of type '%s'", "asterisk"),
    (403, "Could not delete object with id '%s'", "asterisk"),
    (403, "Destination file path is forbidden", "recordings"),
    (403, "Invalid access", "res_ari"),
    (403, "Permission denied", "res_ari"),
    (403, "Recording could not be opened", "recordings"),
    (403, "Unsupported channel type", "channels"),
    (403, "Write access denied", "res_ari"),
    (404, "Application not found", "applications, events"),
    (404, "ARI URLs do not end with a slash. Try /ari/%s", "res_ari"),
    (404, "Bridge not found", "bridges"),
    (404, "Callee not found", "channels"),
    (404, "Channel not found or not in broadcast state", "events"),
    (404, "Channel's tech not found", "channels"),
    (404, "configClass '%s' not found", "asterisk"),
    (404, "Device name is missing", "device_states"),
    (404, "Endpoint not found", "endpoints"),
    (404, "Log channel does not exist", "asterisk"),
    (404, "Mailbox does not exist", "mailboxes"),
    (404, "Mailbox is does not exist", "mailboxes"),
    (404, "Module could not be found", "asterisk"),
    (404, "Module could not be found in running modules", "asterisk"),
    (404, "Module not found in running modules", "asterisk"),
    (404, "No Endpoints found - invalid tech %s", "endpoints"),
    (404, "No sounds found that matched the query", "sounds"),
    (404, "Object with id '%s' not found", "asterisk"),
    (404, "objectType '%s' not found", "asterisk"),
    (404, "Playback not found", "playbacks"),
    (404, "Provided bridge was not found", "bridges"),
    (404, "Provided channel was not found", "channels"),
    (404, "Provided variable was not found", "bridges, channels"),
    (404, "Recording not found", "recordings"),
    (404, "Requested label can not be found", "channels"),
    (404, "Resource not found", "res_ari"),
    (404, "RTP info not found", "channels"),
    (404, "Sound not found", "sounds"),
    (404, "Statistics not found", "channels"),
    (405, "Invalid method", "res_ari"),
    (405, "Unsupported method", "res_ari"),
    (409, "A recording with the same name already exists on the system", "recordings"),
    (409, "An unknown error occurred while reloading the module", "asterisk"),
    (409, "Another reload is currently in progress", "asterisk"),
    (409, "Bridge isn't playing music", "bridges"),
    (409, "Bridge not in Stasis application", "bridges"),
    (409, "Bridge with id '%s' already exists", "bridges"),
    (409, "Can only %s while media is playing", "playbacks"),
    (409, "Channel %s currently recording", "bridges"),
    (409, "Channel has already been claimed by another application", "events"),
    (409, "Channel is not in the 'Down' state", "channels"),
    ((409, 422), "Channel not in Stasis application", "bridges, channels"),
    (409, "Channel with given unique ID already exists", "channels"),
    (409, "Dialing a channel not created by ARI", "channels"),
    (409, "Log channel already exists", "asterisk"),
    (409, "Module could not be loaded properly", "asterisk"),
    (409, "Module could not be unloaded", "asterisk"),
    (409, "Module does not support reloading", "asterisk"),
    (409, "Module has not been initialized", "asterisk"),
    (409, "Module information could not be retrieved", "asterisk"),
    (409, "Module is already loaded", "asterisk"),
    (409, "Module load declined", "asterisk"),
    (409, "Module was skipped", "asterisk"),
    (409, "Recording '%s' already exists and can not be overwritten", "bridges, channels"),
    (409, "Recording not in session", "recordings"),
    (409, "Uncontrolled device specified", "device_states"),
    (412, "Channel in invalid state", "channels"),
    (413, "Request body too large", "res_ari"),
    (422, "Channel not in this bridge", "bridges"),
    (422, "Endpoint parameter '%s' does not contain tech/resource", "channels"),
    (422, "Endpoint technology '%s' does not match channel technology '%s'", "channels"),
    (422, "Event source does not exist", "applications"),
    (422, "Event source was not found", "events"),
    (422, "Event source was not subscribed to", "applications"),
    (422, "No resource provided in endpoint parameter '%s'", "channels"),
    (422, "specified announcer_format is unknown on this system", "bridges"),
    (422, "specified format is unknown on this system", "bridges, channels"),
    (422, "specified recorder_format is unknown on this system", "bridges"),
    (500, "Allocation Error", "sounds"),
    (500, "Allocation failed", "applications, asterisk"),
    (500, "Allocation Failed", "asterisk"),
    (500, "An internal error prevented this request from being handled", "channels"),
    (500, "Cannot delete device with subscribers", "device_states"),
    (500, "Cannot find file", "res_ari"),
    (500, "Cannot find rest-api directory", "res_ari"),
    (500, "Copy failed", "recordings"),
    (500, "Could not %s playback", "playbacks"),
    (500, "Could not create playback channel", "bridges"),
    (500, "Could not forward playback channel stasis messages to bridge topic", "bridges"),
    (500, "Could not forward record channel stasis messages to bridge topic", "bridges"),
    (500, "Could not stop playback", "playbacks"),
    (500, "Delete failed", "recordings"),
    (500, "Error building response", "device_states, mailboxes, playbacks, recordings"),
    (500, "Error parsing request", "bridges, channels"),
    (500, "Error processing request", "applications, events, res_ari"),
    (500, "Error updating mailbox", "mailboxes"),
    (500, "Failed to answer channel", "channels"),
    (500, "Failed to claim channel", "events"),
    (500, "Failed to create recording channel", "bridges"),
    (500, "Failed to delete the mailbox", "mailboxes"),
    (500, "Failed to get control snapshot", "bridges"),
    (500, "Failed to put playback channel into the bridge", "bridges"),
    (500, "Failed to put recording channel into the bridge", "bridges"),
    (500, "Failed to queue media for playback", "channels"),
    (500, "Failed to redirect channel", "channels"),
    (500, "Failed to switch Stasis applications", "channels"),
    (500, "Format specified by recording not available or loaded", "recordings"),
    (500, "Internal Server Error", "bridges, channels"),
    (500, "Message bus not initialized", "endpoints"),
    (500, "Out of memory", "channels, res_ari"),
    (500, "Recording operation failed", "recordings"),
    (500, "Response body is not valid", "asterisk"),
    (500, "Snoop channel could not be created", "channels"),
    (500, "Sounds index not available", "sounds"),
    (500, "Unable to create bridge", "bridges"),
    (500, "Unable to create bridge. Possible duplicate bridge id '%s'", "bridges"),
    (500, "Unable to create snapshot for new bridge", "bridges"),
    (500, "Unable to find channel snapshot for '%s'", "channels"),
    (500, "Unable to read provided function", "bridges, channels"),
    (500, "Unknown device", "device_states"),
    (500, "URI handler config missing", "res_ari"),
    (500, "Yikes! Cannot parse resource", "res_ari"),
    (501, "Broadcast functionality not available (res_stasis_broadcast not loaded)", "events"),
    (501, "Method not implemented", "res_ari"),
    (501, "The encapsulation and/or transport is not supported", "channels"),
    (503, "Asterisk not booted", "res_ari"),
    (500, "No message to parse.", "ari_websocket_requests"),
    (400, "No 'type' property.", "ari_websocket_requests"),
    (400, "Unknown request type.", "ari_websocket_requests"),
    (400, "Empty or missing 'uri' property.", "ari_websocket_requests"),
    (400, "Unknown or missing 'method' property.", "ari_websocket_requests"),
    (400, "Unable to parse 'query_strings' array.", "ari_websocket_requests"),
    (400, "No 'content_type' for 'message_body'.", "ari_websocket_requests"),
    (
        400,
        "Unable to parse 'message_body' as 'application/x-www-form-urlencoded'.",
        "ari_websocket_requests",
    ),
    (400, "Unable to parse 'message_body' as 'application/json'.", "ari_websocket_requests"),
    (400, "Unknown content type.", "ari_websocket_requests"),
    (400, "Too many values for channel", "res_ari_bridges (generated)"),
    (400, "Too many values for event_source", "res_ari_applications (generated)"),
    (400, "Too many values for media", "res_ari_bridges, res_ari_channels (generated)"),
    (400, "Too many values for only", "res_ari_asterisk (generated)"),
    (400, "Too many values for source", "res_ari_events (generated)"),
    (400, "Too many values for variables", "res_ari_bridges, res_ari_channels (generated)"),
    (500, "Response validation failed", "res_ari_* (generated)"),
)
"""(status, text, where in Asterisk's source) of each of Asterisk's ARI error texts."""

_INTERNAL = (
    "an internal failure pyari does not have (memory, a helper channel or thread, a forward)"
)
_FILES = "api-docs are built from ari/spec, not read from files"
_ROUTER = "pyari's router never takes an empty path segment for an id"

NOT_USED: dict[str, str] = {
    "Allocation Error": _INTERNAL,
    "Allocation Failed": _INTERNAL,
    "An internal error prevented this request from being handled": _INTERNAL,
    "Asterisk not booted": "pyari takes requests only once it has started",
    "Bridge ID is required": _ROUTER,
    "Broadcast functionality not available (res_stasis_broadcast not loaded)": (
        "StasisBroadcast is always there (stasis/broadcast.py)"
    ),
    "Callee not found": "the channel cannot go between the two look-ups (one event loop)",
    "Cannot create sorcery objects of type '%s'": "every objectType pyari offers can be created",
    "Cannot delete device with subscribers": (
        "pyari counts no subscribers on Stasis: devices; deleting one always succeeds"
    ),
    "Cannot find file": _FILES,
    "Cannot find rest-api directory": _FILES,
    "Cannot update sorcery objects of type '%s'": "every objectType pyari offers can be updated",
    "Channel ID is required": _ROUTER,
    "Channel's tech not found": "every pyari channel has its technology",
    "Could not create playback channel": _INTERNAL,
    "Could not delete object with id '%s'": "deleting a stored object fails only as not found",
    "Could not forward playback channel stasis messages to bridge topic": _INTERNAL,
    "Could not forward record channel stasis messages to bridge topic": _INTERNAL,
    "Error building response": _INTERNAL,
    "Error parsing request": (
        "Asterisk's 500 for a recording without name or format; pyari answers 400 "
        "'Missing parameter name/format' first (decision 0003)"
    ),
    "Error processing request": _INTERNAL,
    "Error updating mailbox": "pyari's mailboxes are kept in memory and cannot fail to update",
    "Failed to answer channel": (
        "POST /channels/{id}/answer cannot fail in pyari once the channel is found in Stasis "
        "(the words are only a RecordingFailed cause, stasis/recording.py)"
    ),
    "Failed to claim channel": _INTERNAL,
    "Failed to create recording channel": _INTERNAL,
    "Failed to delete the mailbox": "pyari's mailboxes are kept in memory and cannot fail to go",
    "Failed to execute function": (
        "pyari queues a variable's assignment on the channel and reports no function failure"
    ),
    "Failed to get control snapshot": _INTERNAL,
    "Failed to put playback channel into the bridge": _INTERNAL,
    "Failed to put recording channel into the bridge": _INTERNAL,
    "Failed to queue media for playback": _INTERNAL,
    "Failed to redirect channel": _INTERNAL,
    "Failed to switch Stasis applications": _INTERNAL,
    "Format specified by recording not available or loaded": (
        "pyari serves a stored recording's file in the format it was stored in"
    ),
    "Invalid access": _FILES,
    "Invalid userevent data": (
        "variables that are not an object are refused first (400 'Invalid value for "
        "parameter variables', decision 0003)"
    ),
    "Message bus not initialized": "the bus exists from the start (bus/topic.py)",
    "Method not implemented": (
        "every declared operation has a handler; a part this server runs without "
        "answers 501 'Not implemented'"
    ),
    "Module could not be found": "a module the list has can always be reloaded or refused",
    "Module could not be loaded properly": "pyari's modules load or decline",
    "Module has not been initialized": "pyari's modules load or decline",
    "Module was skipped": "pyari's modules load or decline",
    "No message to parse.": "a text frame always holds a message (an empty one is unparsable)",
    "Out of memory": _INTERNAL,
    "Permission denied": _FILES,
    "Recording operation failed": _INTERNAL,
    "Response body is not valid": _INTERNAL,
    "Snoop channel could not be created": _INTERNAL,
    "Sounds index not available": "the sounds index is built on first use and always there",
    "Statistics not found": "a channel with RTP always has its statistics",
    "URI handler config missing": "ari.conf is loaded before the HTTP server starts",
    "Unable to create bridge": _INTERNAL,
    "Unable to create snapshot for new bridge": _INTERNAL,
    "Unable to find channel snapshot for '%s'": _INTERNAL,
    "Unable to parse 'message_body' as 'application/x-www-form-urlencoded'.": (
        "any text parses as a form (unparsable pairs are left out)"
    ),
    "Unknown device": (
        "an unknown device state is refused first (400 'Invalid value for parameter "
        "deviceState', decision 0003)"
    ),
    "Yikes! Cannot parse resource": _FILES,
    "Response validation failed": (
        "pyari does not check its own answers against the models while serving "
        "(the contract and model tests do)"
    ),
}
"""Asterisk's texts pyari never answers with, and why."""

PYARI_OWN: dict[str, str] = {
    "Application '%s' is held by a read-write user": "decision 0012",
    "Application must be specified": (
        "channels/create without app: Asterisk does not check it; pyari refuses (decision 0003)"
    ),
    "Bad Pyari-Resume header": "pyari's event streams (docs/event-streams.md, decision 0020)",
    "Bridge id must not be empty": "a bridge needs an id to be found again",
    "Invalid bridge type '%s'": "decision 0003 (Asterisk ignores the word, then answers 500)",
    "Invalid value for parameter %s": "decision 0003",
    "Log channel name invalid": "decision 0013 (a log file outside the log folder)",
    "Missing parameter %s": (
        "Asterisk's form for its own checks ('Missing parameter channel'); pyari uses it "
        "for every required parameter a handler reads (decision 0003)"
    ),
    "Not implemented": "a part this embedded server runs without (ari/errors.py available)",
    "Playback with id '%s' already exists": (
        "Asterisk starts a second playback under a live id; pyari refuses it (409)"
    ),
    "Recording directory not configured": "a server without a recordings folder",
    "Request body must be a JSON object": "decision 0003 (Asterisk ignores such a body)",
    "Too many query parameters": "a bound on what one request may carry (decision 0018)",
    "Upgrade Required": "a WebSocket path asked without an upgrade, inside pyari's pipeline",
}
"""pyari's texts that Asterisk does not have, and why."""

PASS_THROUGH = frozenset(
    {"str(exc)", "refusal.message", "exc.message", "not_object", "missing", "unknown_source"}
)
"""Message expressions the reading does not resolve: each carries a text found elsewhere
(an exception built with one of the texts here, a parameter given one of them)."""

_CALLS = ("AriError", "error", "__init__")


def _text(node: ast.expr, consts: dict[str, ast.expr], depth: int = 0) -> list[str] | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.Name) and node.id in consts and depth < 3:
        return _text(consts[node.id], consts, depth + 1)
    if isinstance(node, ast.JoinedStr):
        return ["".join(v.value if isinstance(v, ast.Constant) else "%s" for v in node.values)]
    if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "get" and node.args:
        return _text(node.args[-1], consts, depth)  # mapping.get(key, default text)
    if isinstance(node, ast.IfExp):
        a, b = _text(node.body, consts, depth), _text(node.orelse, consts, depth)
        return a + b if a is not None and b is not None else None
    return None


def _consts(tree: ast.Module) -> dict[str, ast.expr]:
    """Names assigned once with ``=`` anywhere in the module (constants, locals)."""
    found: dict[str, ast.expr] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                found[target.id] = node.value
    return found


def _status_first(node: ast.Call) -> bool:
    first = node.args[0] if node.args else None
    return isinstance(first, ast.Constant) and isinstance(first.value, int)


def _refusals(trees: Iterable[ast.Module]) -> frozenset[str]:
    """The classes of ``core/refusals.py`` and every class built on them (their first
    argument is the text the client is told)."""
    names = set(REFUSAL_KINDS)
    classes = [n for tree in trees for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]
    grew = True
    while grew:
        grew = False
        for cls in classes:
            if cls.name not in names and any(
                isinstance(b, ast.Name) and b.id in names for b in cls.bases
            ):
                names.add(cls.name)
                grew = True
    return frozenset(names)


@cache
def pyari_texts() -> tuple[frozenset[str], frozenset[str]]:
    """The texts pyari's ARI can answer with, and the expressions left unresolved."""
    texts: set[str] = set()
    unresolved: set[str] = set()
    files = [p for p in SRC.rglob("*.py") if p.relative_to(SRC).parts[0] in READ]
    trees = {path: ast.parse(path.read_text()) for path in files}
    shared: dict[str, ast.expr] = {}  # an imported constant: its module's value
    for tree in trees.values():
        shared.update(_consts(tree))
    refusals = _refusals(trees.values())
    for path, tree in trees.items():
        consts = {**shared, **_consts(tree)}

        def take(node: ast.expr, consts: dict[str, ast.expr] = consts) -> None:
            found = _text(node, consts)
            if found is None:
                unresolved.add(ast.unparse(node))
            else:
                texts.update(t for t in found if t)

        for cls in (n for n in tree.body if isinstance(n, ast.ClassDef) and n.name in SURFACED):
            for node in ast.walk(cls):  # their super().__init__(text)
                if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "__init__":
                    take(node.args[0])
        for node in ast.walk(tree):
            if isinstance(node, ast.Dict) and path.parent.name in ("ari", "resources"):
                # {"message": text} written out by hand
                for key, value in zip(node.keys, node.values, strict=True):
                    if (
                        isinstance(key, ast.Constant)
                        and key.value == "message"
                        and not isinstance(value, ast.Dict)  # a schema, not an answer
                    ):
                        take(value)
            if isinstance(node, ast.Assign) and path.name == "service.py":
                for target in node.targets:
                    if isinstance(target, ast.Name) and target.id == "message":
                        take(node.value)
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if name == "not_found" and node.args:
                if path.name != "errors.py":
                    found = _text(node.args[0], consts)
                    assert found is not None, ast.unparse(node)
                    texts.update(f"{t} not found" for t in found)
            elif name == "Refused" and len(node.args) == 3:
                take(node.args[2])
            elif (name == "InvalidRequest" or name in refusals) and node.args:
                take(node.args[0])  # its text, or a refusal of core/refusals.py
            elif name in FORWARDED and len(node.args) > FORWARDED[name]:
                take(node.args[FORWARDED[name]])
            elif (
                (name in _CALLS or name.endswith("Error"))
                and len(node.args) >= 2
                and _status_first(node)
                and not (path.name == "errors.py" and "what" in ast.unparse(node))
            ):
                take(node.args[1])
            for kw in node.keywords:
                if name == "handles" and kw.arg == "missing" and isinstance(kw.value, ast.Dict):
                    for value in kw.value.values:
                        take(value)
                elif kw.arg == "not_object":  # json_variables' text for a non-object
                    take(kw.value)
    return frozenset(texts), frozenset(unresolved)


READ = ("ari", "core", "channels", "stasis", "media")
"""The packages whose refusals reach an ARI answer."""
FORWARDED = {"find_channel": 2, "find_live": 2, "_change_sources": 3}
"""Helpers given the text they answer with, and the argument that holds it (their
parameters ``missing`` and ``unknown_source`` in ``PASS_THROUGH``)."""
REFUSAL_KINDS = ("Refused", "NotFound", "Conflict", "Invalid", "Failed")
"""``core/refusals.py``: what core turns down, by kind (``ari/errors.py`` gives the status)."""
SURFACED = frozenset({"Unsupported", "DuplicateId"})
"""Exception classes whose own text an ARI answer carries (``request_refused``)."""


def _pattern(text: str) -> re.Pattern[str]:
    return re.compile(re.escape(text).replace("%s", ".+") + r"\Z", re.S)


def _asterisk_texts() -> list[str]:
    return [text for _, text, _ in ASTERISK]


def _used(text: str, texts: frozenset[str]) -> bool:
    """Whether pyari answers ``text`` (the same text, or a pattern that makes it)."""
    return text in texts or any("%s" in t and _pattern(t).match(text) for t in texts)


def test_the_reading_finds_what_is_plainly_there() -> None:
    texts, _ = pyari_texts()
    for known in (
        "Channel not found",  # not_found / constants
        "Access denied by ACL",  # service.py
        "Uncontrolled device specified",  # core DeviceError (UncontrolledDevice)
        "Module does not support reloading",  # core ModuleError (ModuleRefused)
        "Log channel does not exist",  # core LogChannelError (LogChannelNotFound)
        "Empty or missing 'uri' property.",  # the events socket's Refused
        "Provided format (%s) was not found",  # external media InvalidRequest
        "Channel with given unique ID already exists",  # DuplicateId
        "Missing parameter media",  # @handles(missing=...)
        "Application '%s' is held by a read-write user",  # service.py message =
    ):
        assert known in texts, known


def test_every_text_pyari_answers_is_asterisks_or_its_own() -> None:
    texts, unresolved = pyari_texts()
    asterisk = set(_asterisk_texts())
    own = [_pattern(t) for t in PYARI_OWN]
    strays = sorted(
        t
        for t in texts
        if t not in asterisk
        and not any(p.match(t) for p in own)
        and not ("%s" in t and any(_pattern(t).match(a) for a in asterisk))
    )
    assert not strays, "texts neither Asterisk's nor recorded as pyari's own: " + repr(strays)
    assert unresolved <= PASS_THROUGH, sorted(unresolved - PASS_THROUGH)


def test_the_recorded_lists_are_current() -> None:
    texts, _ = pyari_texts()
    asterisk = _asterisk_texts()
    assert len(asterisk) == len(set(asterisk))
    for text in asterisk:
        used = _used(text, texts)
        assert used != (text in NOT_USED), (text, "used" if used else "not used")
    assert set(NOT_USED) <= set(asterisk)
    for text in PYARI_OWN:
        assert text in texts, f"{text!r} is no longer answered"
        assert text not in asterisk


def table_texts() -> list[str]:
    section = DOC.read_text().split("## Error texts", 1)[1].split("\n## ", 1)[0]
    return [
        row.split("|")[2].strip().removeprefix("`").removesuffix("`")
        for row in section.splitlines()
        if row.startswith("| ") and not row.startswith("| #")
    ]


def test_the_table_lists_the_same_texts() -> None:
    assert sorted(table_texts()) == sorted(_asterisk_texts() + list(PYARI_OWN))
