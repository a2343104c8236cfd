"""Exact text of Asterisk 23 CLI command output.

Every function here is pure: it takes plain data (primitives or the small
frozen dataclasses defined below) and returns the complete text Asterisk
23.4.1 writes for the corresponding ``asterisk -rx "..."`` command,
including every trailing space and the final newline.  No I/O is done and
nothing else from :mod:`pyari` is imported, so the callers (the ``pyari -rx``
front end and the remote console) are responsible for gathering the data.

C ``printf`` conversions such as ``%-64.64s`` pad *and* truncate; they count
bytes, not characters.  :func:`_cfmt` reproduces that on the UTF-8 encoding
(a multi-byte character cut in half by a precision is dropped rather than
emitted as a broken byte sequence).

Functions that model a handler returning ``CLI_FAILURE`` document it; the
generic trailer Asterisk then appends is :func:`command_failed`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from pyari.core.channel import STATES

__all__ = [
    "AppForward",
    "AriApp",
    "AriUser",
    "ChannelRow",
    "ChannelType",
    "HttpRedirect",
    "HttpUri",
    "ModuleRow",
    "StasisSubscriberInfo",
    "StasisTopicInfo",
    "ari_set_debug",
    "ari_show_app",
    "ari_show_app_not_found",
    "ari_show_apps",
    "ari_show_status",
    "ari_show_user",
    "ari_show_user_not_found",
    "ari_show_users",
    "channel_state_name",
    "command_failed",
    "core_show_calls",
    "core_show_channels",
    "core_show_channeltypes",
    "core_show_uptime",
    "core_show_version",
    "ess",
    "find_best",
    "format_duration_hh_mm_ss",
    "format_sockaddr",
    "format_uptime",
    "http_show_status",
    "module_reload_result",
    "module_show",
    "parse_args",
    "stasis_show_topic",
    "stasis_show_topic_not_found",
    "stasis_show_topics",
    "unknown_command",
    "yesno",
]


# ---------------------------------------------------------------------------
# Small shared helpers
# ---------------------------------------------------------------------------


def ess(count: int) -> str:
    """Plural suffix as Asterisk's ``ESS()`` macro: ``""`` for exactly 1, else ``"s"``."""
    return "" if count == 1 else "s"


def yesno(value: bool) -> str:
    """``AST_CLI_YESNO``: ``"Yes"`` / ``"No"``."""
    return "Yes" if value else "No"


def _cfmt(value: str, width: int = 0, precision: int | None = None, left: bool = True) -> str:
    """C ``%[-]<width>[.<precision>]s`` measured in UTF-8 bytes."""
    raw = value.encode("utf-8")
    if precision is not None and len(raw) > precision:
        value = raw[:precision].decode("utf-8", errors="ignore")
        raw = value.encode("utf-8")
    pad = " " * max(0, width - len(raw))
    return value + pad if left else pad + value


def format_duration_hh_mm_ss(seconds: int) -> str:
    """``ast_format_duration_hh_mm_ss``: ``HH:MM:SS`` with hours unbounded (``%02d``)."""
    # C integer division/modulo truncate toward zero; durations here are >= 0.
    hours = seconds // 3600
    minutes = (seconds % 3600) // 60
    secs = seconds % 60
    return f"{hours:02d}:{minutes:02d}:{secs:02d}"


def format_sockaddr(host: str, port: int) -> str:
    """``ast_sockaddr_stringify`` default form: ``host:port`` or ``[v6host]:port``.

    An IPv4-mapped IPv6 address (``::ffff:a.b.c.d``) is shown as plain IPv4, as
    Asterisk does.
    """
    lowered = host.lower()
    if lowered.startswith("::ffff:") and "." in host:
        host = host[7:]
    if ":" in host:
        return f"[{host}]:{port}"
    return f"{host}:{port}"


def command_failed(command: str) -> str:
    """Trailer printed by the CLI core when a handler returns ``CLI_FAILURE``.

    ``command`` is the command line exactly as it was submitted.
    """
    return f"Command '{command}' failed.\n"


# ---------------------------------------------------------------------------
# Unknown command (main/cli.c: ast_cli_command_full, find_best, find_cli)
# ---------------------------------------------------------------------------

_CLI_RESERVED = "[]{}|*%"


def parse_args(line: str) -> list[str]:
    """Split a CLI line into words the way Asterisk's ``parse_args`` does.

    Spaces and tabs separate words; ``"`` toggles quoting (the quotes are
    removed) and ``\\`` escapes the next character.
    """
    words: list[str] = []
    current: list[str] | None = None
    quoted = False
    escaped = False
    for ch in line.lstrip():
        if ch == '"' and not escaped:
            quoted = not quoted
            if quoted and current is None:
                current = []
        elif ch in " \t" and not (quoted or escaped):
            if current is not None:
                words.append("".join(current))
                current = None
        elif ch == "\\" and not escaped:
            escaped = True
        else:
            if current is None:
                current = []
            current.append(ch)
            escaped = False
    if current is not None:
        words.append("".join(current))
    return words


def _word_match(word: str, cli_word: str) -> bool:
    """Does a typed word match one word of a registered command pattern?"""
    if not word or not cli_word:
        return False
    if cli_word[0] not in _CLI_RESERVED:
        return word.lower() == cli_word.lower()
    if cli_word[0] == "%":
        return True
    haystack = cli_word.lower()
    needle = word.lower()
    pos = haystack.find(needle)
    while pos != -1:
        end = pos + len(needle)
        # The end of the pattern counts as a separator.
        if (
            pos > 0
            and haystack[pos - 1] in _CLI_RESERVED
            and (end >= len(haystack) or haystack[end] in _CLI_RESERVED)
        ):
            return True
        pos = haystack.find(needle, pos + 1)
    return False


def _near_match(words: Sequence[str], patterns: Sequence[Sequence[str]]) -> bool:
    """Would the CLI core's loose lookup (mismatch allowed on the last word) succeed?"""
    for pattern in patterns:
        i = 0
        while i < len(words) and i < len(pattern) and _word_match(words[i], pattern[i]):
            i += 1
        rest_src = words[i:]
        rest_dst = pattern[i:]
        if not rest_dst or (len(rest_dst) == 1 and rest_dst[0].startswith("[")):
            if not rest_src:
                return True
            continue
        if not rest_src:
            continue
        if len(rest_src) == 1 and len(rest_dst) == 1:
            return True
    return False


def find_best(words: Sequence[str], commands: Iterable[str]) -> str:
    """The ``<best>`` of the unknown-command hint.

    Words are taken from the start of ``words`` until the first one for which
    no registered command matches even loosely; that word is still included.
    The join is cut to 79 bytes, like Asterisk's 80-byte buffer.  Asterisk
    always has the single-word ``!`` command registered, which makes every
    first word match; this is modelled here regardless of ``commands``.
    """
    patterns = [c.split() for c in commands]
    patterns.append(["!"])
    taken: list[str] = []
    for word in words:
        taken.append(word)
        if not _near_match(taken, patterns):
            break
    return _cfmt(" ".join(taken), 0, 79)


def unknown_command(command: str, commands: Iterable[str] = ()) -> str:
    """Text for a command line that matches no registered command.

    ``command`` is the line exactly as submitted; ``commands`` the registered
    command patterns (e.g. ``"core show channels [concise|verbose|count]"``),
    used to compute the ``core show help`` hint (see :func:`find_best`).
    An empty (all-whitespace) line prints nothing.
    """
    words = parse_args(command)
    if not words:
        return ""
    best = find_best(words, commands)
    return (
        f"No such command '{command}' (type 'core show help {best}' for other possible commands)\n"
    )


# ---------------------------------------------------------------------------
# http show status (main/http.c: handle_show_http)
# ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HttpUri:
    """A registered HTTP URI handler.

    ``uri`` has no leading slash (``"ari"``); ``has_subtree`` adds ``/...``.
    """

    uri: str
    description: str
    has_subtree: bool = False


@dataclass(frozen=True, slots=True)
class HttpRedirect:
    """A ``[general] redirect = <target> <dest>`` entry."""

    target: str
    dest: str


def http_show_status(
    prefix: str,
    servername: str,
    enabled: bool,
    bind: tuple[str, int] | None,
    tls_bind: tuple[str, int] | None,
    uris: Sequence[HttpUri | tuple[str, str]],
    redirects: Sequence[HttpRedirect | tuple[str, str]] = (),
    restrictions: Sequence[str] = (),
) -> str:
    """``http show status``.

    ``prefix`` is the configured prefix as stored (``""`` or e.g. ``"/asterisk"``).
    ``enabled``/``bind`` describe the plain HTTP server; when it is disabled
    (or ``bind`` is ``None``) the "Server Disabled" form is printed and TLS is
    not mentioned.  ``tls_bind`` is given when TLS is enabled.  ``uris`` are
    :class:`HttpUri` or ``(path, description)`` pairs where ``path`` is the
    already-joined text after the prefix (``"/ari/..."``, ``"/ws"``).
    ``restrictions`` are restricted paths without ACLs ("No ACL configured").
    """
    out = [
        "HTTP Server Status:\n",
        f"Prefix: {prefix}\n",
        f"Server: {servername}\n",
    ]
    if not enabled or bind is None:
        out.append("Server Disabled\n\n")
    else:
        out.append(f"Server Enabled and Bound to {format_sockaddr(*bind)}\n\n")
        if tls_bind is not None:
            out.append(f"HTTPS Server Enabled and Bound to {format_sockaddr(*tls_bind)}\n\n")
    out.append("Enabled URI's:\n")
    if not uris:
        out.append("None.\n")
    for entry in uris:
        if isinstance(entry, HttpUri):
            subtree = "/..." if entry.has_subtree else ""
            out.append(f"{prefix}/{entry.uri}{subtree} => {entry.description}\n")
        else:
            out.append(f"{prefix}{entry[0]} => {entry[1]}\n")
    out.append("\nEnabled Redirects:\n")
    if not redirects:
        out.append("  None.\n")
    for redirect in redirects:
        target, dest = (
            (redirect.target, redirect.dest) if isinstance(redirect, HttpRedirect) else redirect
        )
        out.append(f"  {target} => {dest}\n")
    out.append("\nPath Restrictions:\n")
    if not restrictions:
        out.append("  None.\n")
    for path in restrictions:
        out.append(f"  Path: {path}\n    No ACL configured\n")
    return "".join(out)


# ---------------------------------------------------------------------------
# ARI (res/ari/cli.c, res/stasis/app.c: stasis_app_to_cli)
# ---------------------------------------------------------------------------


def ari_show_status(enabled: bool, pretty: bool, auth_realm: str, allowed_origins: str) -> str:
    """``ari show status``."""
    return (
        "ARI Status:\n"
        f"Enabled: {yesno(enabled)}\n"
        f"Output format: {'pretty' if pretty else 'compact'}\n"
        f"Auth realm: {auth_realm}\n"
        f"Allowed Origins: {allowed_origins}\n"
    )


def ari_show_apps(names: Iterable[str]) -> str:
    """``ari show apps``; names are listed sorted (Asterisk uses a strcmp-sorted container)."""
    out = ["Application Name         \n", "=========================\n"]
    out.extend(f"{name}\n" for name in sorted(names))
    return "".join(out)


@dataclass(frozen=True, slots=True)
class AppForward:
    """One subscription of an app: object id and how many times it was subscribed."""

    id: str
    interested: int = 1


@dataclass(frozen=True, slots=True)
class AriApp:
    """What ``ari show app`` reports about a Stasis application.

    Asterisk lists only channel, bridge and endpoint subscriptions (device
    state subscriptions are not shown); the total counts all three.
    """

    name: str
    debug: bool = False
    subscribe_all: bool = False
    channels: Sequence[AppForward] = field(default_factory=tuple)
    bridges: Sequence[AppForward] = field(default_factory=tuple)
    endpoints: Sequence[AppForward] = field(default_factory=tuple)


def ari_show_app(app: AriApp) -> str:
    """``ari show app <name>`` for an existing application."""
    model = (
        "Global Resource Subscription"
        if app.subscribe_all
        else "Application/Explicit Resource Subscription"
    )
    total = len(app.channels) + len(app.bridges) + len(app.endpoints)
    out = [
        f"Name: {app.name}\n",
        f"  Debug: {yesno(app.debug)}\n",
        f"  Subscription Model: {model}\n",
        f"  Subscriptions: {total}\n",
    ]
    for title, forwards in (
        ("Channels", app.channels),
        ("Bridges", app.bridges),
        ("Endpoints", app.endpoints),
    ):
        out.append(f"    {title}:\n")
        out.extend(f"      {fwd.id} ({fwd.interested})\n" for fwd in forwards)
    return "".join(out)


def ari_show_app_not_found(command: str) -> str:
    """``ari show app <unknown>``: the handler prints nothing and fails.

    ``command`` is the submitted line; the output is the generic failure trailer.
    """
    return command_failed(command)


def ari_set_debug(app_name: str | None, on: bool) -> str:
    """``ari set debug <app|all> <on|off>``; ``app_name=None`` means ``all``.

    Asterisk treats any word other than exactly ``on`` as off, and an unknown
    app name fails like :func:`ari_show_app_not_found`.
    """
    state = "enabled" if on else "disabled"
    if app_name is None:
        return f"Debugging on all applications {state}\n"
    return f"Debugging on '{app_name}' {state}\n"


@dataclass(frozen=True, slots=True)
class AriUser:
    """An ``ari.conf`` user."""

    name: str
    read_only: bool = False
    has_acl: bool = False


def ari_show_users(users: Iterable[AriUser | tuple[str, bool]]) -> str:
    """``ari show users``; users are printed in the given order.

    Entries are :class:`AriUser` or ``(name, read_only)`` pairs (no ACL).
    """
    out = ["r/o?  ACL?  Username\n", "----  ----  --------\n"]
    for user in users:
        if not isinstance(user, AriUser):
            user = AriUser(user[0], user[1])
        out.append(f"{yesno(user.read_only):<4}  {yesno(user.has_acl):<4}  {user.name}\n")
    return "".join(out)


def ari_show_user(name: str, read_only: bool, has_acl: bool = False) -> str:
    """``ari show user <name>`` for an existing user (ACL entries are not listed)."""
    return f"Username: {name}\nRead only?: {yesno(read_only)}\nACL?: {yesno(has_acl)}\n"


def ari_show_user_not_found(name: str) -> str:
    """``ari show user <unknown>`` (the command still succeeds)."""
    return f"User '{name}' not found\n"


# ---------------------------------------------------------------------------
# Stasis topics (main/stasis.c)
# ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StasisSubscriberInfo:
    """A subscriber as listed under ``Subscribers:`` of ``stasis show topic``.

    ``topic``/``detail`` are those of the topic the subscription was made on.
    """

    uniqueid: str
    topic: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class StasisTopicInfo:
    """A topic feeding into the shown one (``Forwarded topics:``)."""

    name: str
    detail: str = ""


def stasis_show_topics(topics: Iterable[tuple[str, str]]) -> str:
    """``stasis show topics``: ``(name, detail)`` pairs, sorted case-insensitively by name."""
    rows = sorted(topics, key=lambda t: t[0].lower())
    out = ["\n", f"{'Name':<64} {'Detail':<64}\n"]
    out.extend(f"{name:<64} {detail:<64}\n" for name, detail in rows)
    out.append(f"\n{len(rows)} Total topics\n\n")
    return "".join(out)


def stasis_show_topic(
    name: str,
    detail: str,
    subscribers: Sequence[StasisSubscriberInfo] | int,
    forwarding_topics: Sequence[StasisTopicInfo] | int,
    duration_seconds: int,
) -> str:
    """``stasis show topic <name>``.

    ``subscribers`` and ``forwarding_topics`` are the listed entries, or just
    counts (then the lists under the headings are empty).
    ``duration_seconds`` is the age of the topic.
    """
    subs: Sequence[StasisSubscriberInfo] = () if isinstance(subscribers, int) else subscribers
    fwds: Sequence[StasisTopicInfo] = (
        () if isinstance(forwarding_topics, int) else forwarding_topics
    )
    n_subs = subscribers if isinstance(subscribers, int) else len(subscribers)
    n_fwds = forwarding_topics if isinstance(forwarding_topics, int) else len(forwarding_topics)
    out = [
        f"Name: {name}\n",
        f"Detail: {detail}\n",
        f"Subscribers count: {n_subs}\n",
        f"Forwarding topic count: {n_fwds}\n",
        f"Duration time: {format_duration_hh_mm_ss(duration_seconds)}\n",
        "\nSubscribers:\n",
    ]
    out.extend(f"  UniqueID: {s.uniqueid}, Topic: {s.topic}, Detail: {s.detail}\n" for s in subs)
    out.append("\nForwarded topics:\n")
    out.extend(f"  Topic: {t.name}, Detail: {t.detail}\n" for t in fwds)
    return "".join(out)


def stasis_show_topic_not_found(name: str, command: str) -> str:
    """``stasis show topic <unknown>``: message plus the failure trailer."""
    return f"Specified topic '{name}' does not exist\n" + command_failed(command)


# ---------------------------------------------------------------------------
# Channels (main/cli.c: handle_chanlist, handle_showcalls; main/channel.c)
# ---------------------------------------------------------------------------

_STATE_MUTE = 1 << 16


def channel_state_name(state: int) -> str:
    """``ast_state2str`` for the numeric ``enum ast_channel_state``."""
    if 0 <= state < len(STATES):
        return STATES[state]
    if state == _STATE_MUTE:
        return "Mute"
    return f"Unknown ({state & 0xFFFFFFFF})"


@dataclass(frozen=True, slots=True)
class ChannelRow:
    """One channel snapshot as ``core show channels`` needs it.

    ``state`` is the display name (see :func:`channel_state_name`).
    ``app``/``data`` are the current dialplan application and its argument.
    ``amaflags`` is the numeric AMA flag (3 = DOCUMENTATION, the default).
    ``duration_seconds`` is ``None`` when the creation time is unknown.
    """

    name: str
    state: str
    context: str = ""
    exten: str = ""
    priority: int = 1
    app: str = ""
    data: str = ""
    caller_number: str = ""
    accountcode: str = ""
    peer_account: str = ""
    amaflags: int = 3
    duration_seconds: int | None = None
    bridge_id: str = ""
    uniqueid: str = ""

    @property
    def location(self) -> str:
        """``exten@context:prio`` or ``(None)`` (39-byte buffer)."""
        if not self.context or not self.exten:
            return "(None)"
        return _cfmt(f"{self.exten}@{self.context}:{self.priority}", 0, 39)

    @property
    def application(self) -> str:
        """``app(data)`` or ``(None)`` (39-byte buffer)."""
        if not self.app:
            return "(None)"
        return _cfmt(f"{self.app}({self.data})", 0, 39)


ChannelsMode = Literal["normal", "concise", "verbose", "count"]


def _calls_summary(active_calls: int, calls_processed: int, max_calls: int) -> list[str]:
    if max_calls:
        pct = active_calls / max_calls * 100.0
        first = (
            f"{active_calls} of {max_calls} max active call{ess(active_calls)} "
            f"({pct:5.2f}% of capacity)\n"
        )
    else:
        first = f"{active_calls} active call{ess(active_calls)}\n"
    return [first, f"{calls_processed} call{ess(calls_processed)} processed\n"]


def _row_normal(ch: ChannelRow) -> str:
    return (
        f"{_cfmt(ch.name, 64, 64)} {_cfmt(ch.location, 32, 32)} "
        f"{_cfmt(ch.state, 7, 7)} {_cfmt(ch.application, 30, 30)}\n"
    )


def _row_concise(ch: ChannelRow) -> str:
    duration = "-" if ch.duration_seconds is None else str(ch.duration_seconds)
    fields = [
        ch.name,
        ch.context,
        ch.exten,
        str(ch.priority),
        ch.state,
        ch.app or "(None)",
        ch.data,
        ch.caller_number,
        ch.accountcode,
        ch.peer_account,
        str(ch.amaflags),
        duration,
        ch.bridge_id,
        ch.uniqueid,
    ]
    return "!".join(fields) + "\n"


def _verbose_line(cols: Sequence[str], prio: str) -> str:
    (name, context, exten, state, app, data, callerid, dur, acct, peer, bridge) = cols
    return (
        f"{_cfmt(name, 80, 80)} {_cfmt(context, 24, 24)} {_cfmt(exten, 24, 24)} {prio} "
        f"{_cfmt(state, 7, 7)} {_cfmt(app, 12, 12)} {_cfmt(data, 25, 25)} "
        f"{_cfmt(callerid, 15, 15)} {_cfmt(dur, 8, 8, left=False)} {_cfmt(acct, 11, 11)} "
        f"{_cfmt(peer, 11, 11)} {_cfmt(bridge, 20, 20)}\n"
    )


def _row_verbose(ch: ChannelRow) -> str:
    duration = "-" if ch.duration_seconds is None else format_duration_hh_mm_ss(ch.duration_seconds)
    cols = (
        ch.name,
        ch.context,
        ch.exten,
        ch.state,
        ch.app or "(None)",
        ch.data or "(Empty)",
        ch.caller_number,
        duration,
        ch.accountcode,
        ch.peer_account,
        ch.bridge_id,
    )
    return _verbose_line(cols, f"{ch.priority:4d}")


def core_show_channels(
    channels: Sequence[ChannelRow],
    mode: ChannelsMode = "normal",
    active_calls: int = 0,
    calls_processed: int = 0,
    active_channels: int | None = None,
    max_calls: int = 0,
) -> str:
    """``core show channels [concise|verbose|count]``.

    Channels are printed in the given order.  ``active_channels`` defaults to
    ``len(channels)``; ``max_calls`` is ``maxcalls`` from asterisk.conf (0 =
    unset), which switches the call line to the "of N max" form.  Concise mode
    prints rows only; count mode prints the totals only.
    """
    out: list[str] = []
    if mode == "normal":
        out.append(
            f"{_cfmt('Channel', 64)} {_cfmt('Location', 32)} {_cfmt('State', 7)} "
            f"{_cfmt('Application(Data)', 30)}\n"
        )
        out.extend(_row_normal(ch) for ch in channels)
    elif mode == "verbose":
        header = (
            "Channel",
            "Context",
            "Extension",
            "State",
            "Application",
            "Data",
            "CallerID",
            "Duration",
            "Accountcode",
            "PeerAccount",
            "BridgeID",
        )
        out.append(_verbose_line(header, _cfmt("Priority", 4, 4)))
        out.extend(_row_verbose(ch) for ch in channels)
    elif mode == "concise":
        return "".join(_row_concise(ch) for ch in channels)
    numchans = len(channels) if active_channels is None else active_channels
    out.append(f"{numchans} active channel{ess(numchans)}\n")
    out.extend(_calls_summary(active_calls, calls_processed, max_calls))
    return "".join(out)


def format_uptime(seconds: int) -> str:
    """The human form of ``print_uptimestr``: years/weeks/days/hours/minutes/seconds.

    Units are taken only when strictly exceeded (exactly 60 s prints
    ``60 seconds``), years are 365 days, and ``0 seconds`` is printed when
    nothing else was.
    """
    units = (
        ("year", 365 * 86400),
        ("week", 7 * 86400),
        ("day", 86400),
        ("hour", 3600),
        ("minute", 60),
    )
    parts: list[str] = []
    rest = seconds
    for unit, size in units:
        if rest > size:
            n = rest // size
            rest -= n * size
            parts.append(f"{n} {unit}{ess(n)}{', ' if rest else ''}")
    if rest > 0 or not parts:
        parts.append(f"{rest} second{ess(rest)}")
    return "".join(parts)


def _uptime_line(prefix: str, seconds: int | None, printsec: bool) -> str:
    if seconds is None or seconds < 0:
        return ""
    value = str(seconds) if printsec else format_uptime(seconds)
    return f"{prefix}{value}\n"


def core_show_uptime(
    startup_seconds: int | None, reload_seconds: int | None, seconds: bool = False
) -> str:
    """``core show uptime [seconds]``.

    Arguments are the elapsed seconds since start-up and since the last
    reload (``None`` = not known, line omitted).  ``seconds=True`` is the
    ``seconds`` variant printing bare numbers.
    """
    return _uptime_line("System uptime: ", startup_seconds, seconds) + _uptime_line(
        "Last reload: ", reload_seconds, seconds
    )


def core_show_calls(
    active_calls: int,
    calls_processed: int,
    max_calls: int = 0,
    uptime_seconds: int | None = None,
    seconds: bool = False,
) -> str:
    """``core show calls [uptime [seconds]]``; pass ``uptime_seconds`` for the uptime form."""
    out = _calls_summary(active_calls, calls_processed, max_calls)
    out.append(_uptime_line("System uptime: ", uptime_seconds, seconds))
    return "".join(out)


@dataclass(frozen=True, slots=True)
class ChannelType:
    """A registered channel technology for ``core show channeltypes``."""

    type: str
    description: str
    devicestate: bool = False
    presencestate: bool = False
    indications: bool = False
    transfer: bool = False


def core_show_channeltypes(rows: Sequence[ChannelType]) -> str:
    """``core show channeltypes`` (rows in registration order, newest first in Asterisk)."""

    def line(cols: Sequence[str]) -> str:
        return (
            f"{_cfmt(cols[0], 15, 15)}  {_cfmt(cols[1], 40, 40)} "
            + " ".join(_cfmt(c, 13, 13) for c in cols[2:])
            + "\n"
        )

    def yn(value: bool) -> str:
        return "yes" if value else "no"

    out = [
        line(("Type", "Description", "Devicestate", "Presencestate", "Indications", "Transfer")),
        line(("-------------",) * 6),
    ]
    for r in rows:
        out.append(
            line(
                (
                    r.type,
                    r.description,
                    yn(r.devicestate),
                    yn(r.presencestate),
                    yn(r.indications),
                    yn(r.transfer),
                )
            )
        )
    out.append(f"----------\n{len(rows)} channel drivers registered.\n")
    return "".join(out)


# ---------------------------------------------------------------------------
# Version and modules (main/asterisk.c: handle_version; main/cli.c)
# ---------------------------------------------------------------------------


def core_show_version(
    version: str,
    user: str,
    host: str,
    machine: str,
    os: str,
    date: str,
    product: str = "Asterisk",
) -> str:
    """``core show version``; ``product`` is fixed to ``Asterisk`` in Asterisk itself."""
    return f"{product} {version} built by {user} @ {host} on a {machine} running {os} on {date}\n"


@dataclass(frozen=True, slots=True)
class ModuleRow:
    """One loaded module for ``module show [like <text>]``."""

    name: str
    description: str
    use_count: int = 0
    status: str = "Running"
    support_level: str = "core"


def module_show(modules: Sequence[ModuleRow], like: str = "") -> str:
    """``module show [like <text>]``; ``like`` filters by case-insensitive substring."""

    def line(name: str, desc: str, count: str, status: str, level: str) -> str:
        return (
            f"{_cfmt(name, 30)} {_cfmt(desc, 40, 40)} {_cfmt(count, 10)} "
            f"{_cfmt(status, 11)} {_cfmt(level, 13, left=False)}\n"
        )

    shown = [m for m in modules if like.lower() in m.name.lower()]
    out = [line("Module", "Description", "Use Count", "Status", "Support Level")]
    out.extend(
        line(m.name, m.description, str(m.use_count), m.status, m.support_level) for m in shown
    )
    out.append(f"{len(shown)} modules loaded\n")
    return "".join(out)


ReloadResult = Literal[
    "success",
    "not_found",
    "not_implemented",
    "queued",
    "error",
    "in_progress",
    "uninitialized",
]


def module_reload_result(name: str, result: ReloadResult) -> str:
    """Per-module line of ``module reload <name>``."""
    if result == "success":
        return f"Module '{name}' reloaded successfully.\n"
    if result == "not_found":
        return f"No such module '{name}'\n"
    if result == "not_implemented":
        return f"The module '{name}' does not support reloads\n"
    if result == "queued":
        return "Asterisk cannot reload a module yet; request queued\n"
    if result == "error":
        return f"The module '{name}' reported a reload failure\n"
    if result == "in_progress":
        return "A module reload request is already in progress; please be patient\n"
    return (
        f"The module '{name}' was not properly initialized. Before reloading"
        f' the module, you must run "module load {name}" and fix whatever is'
        " preventing the module from being initialized.\n"
    )
