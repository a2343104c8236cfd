"""The CLI commands of a running server (what ``pyari -rx`` runs).

Each command is registered with the words that name it; the text it
prints comes from :mod:`pyari.cli.formats`, which mirrors Asterisk's.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyari
from pyari.cli import formats as fmt
from pyari.cli import outbound_formats as obf
from pyari.cli import pjsip_formats as pjf
from pyari.core import causes
from pyari.core.tech import TechError
from pyari.stasis.originate import (
    InApplication,
    InDialplan,
    OriginateRequest,
    Target,
    originate,
)

if TYPE_CHECKING:
    from pyari.config import pjsip as pjsip_conf
    from pyari.core.channel import Channel
    from pyari.server import Server

CommandFn = Callable[["Server", list[str], str], Awaitable[str] | str]


@dataclass(frozen=True)
class Command:
    words: tuple[str, ...]
    usage: str
    summary: str
    fn: CommandFn


COMMANDS: list[Command] = []


def command(usage: str, summary: str) -> Callable[[CommandFn], CommandFn]:
    """Register a command; ``usage``'s leading plain words name it."""
    words = tuple(w for w in usage.split() if w[0] not in "<[{")

    def register(fn: CommandFn) -> CommandFn:
        COMMANDS.append(Command(words, usage, summary, fn))
        return fn

    return register


def _find(words: list[str]) -> tuple[Command, list[str]] | None:
    lowered = [w.lower() for w in words]
    best: tuple[Command, list[str]] | None = None
    for cmd in COMMANDS:
        n = len(cmd.words)
        if tuple(lowered[:n]) == cmd.words and (best is None or n > len(best[0].words)):
            best = (cmd, words[n:])
    return best


async def run_command(server: Server, line: str) -> str:
    words = fmt.parse_args(line)
    found = _find(words)
    if found is None:
        return fmt.unknown_command(line.strip(), [c.usage for c in COMMANDS])
    cmd, args = found
    result = cmd.fn(server, args, line.strip())
    if asyncio.iscoroutine(result):
        result = await result
    assert isinstance(result, str)
    return result


# -- help ------------------------------------------------------------------------


@command("core show help", "Display help list, or specific help on a command")
def core_show_help(server: Server, args: list[str], line: str) -> str:
    prefix = [a.lower() for a in args]
    rows = [c for c in COMMANDS if list(c.words[: len(prefix)]) == prefix]
    width = max((len(c.usage) for c in rows), default=0)
    return "".join(
        f"{c.usage:<{width}} -- {c.summary}\n" for c in sorted(rows, key=lambda c: c.usage)
    )


# -- http and ari ----------------------------------------------------------------


@command("http show status", "Display HTTP server status")
def http_show_status(server: Server, args: list[str], line: str) -> str:
    s = server.config.http
    plain = next(((b.host, b.port) for b in server.http.bindings if not b.tls), None)
    tls = next(((b.host, b.port) for b in server.http.bindings if b.tls), None)
    prefix = s.url_prefix
    # longest first, as Asterisk keeps them
    uris = [(f"{prefix}/static/...", "Asterisk HTTP Static Delivery")] if s.enablestatic else []
    uris += [
        (f"{prefix}/media/...", "Media over Websocket"),
        (f"{prefix}/ari/...", "Asterisk RESTful API"),
    ]
    if any(t.protocol in ("ws", "wss") for t in server.pjsip.settings.transports.values()):
        uris.append((f"{prefix}/ws", "Asterisk HTTP WebSocket"))
    return fmt.http_show_status(prefix, s.servername, s.enabled, plain, tls, uris)


@command("ari show status", "Show ARI settings")
def ari_show_status(server: Server, args: list[str], line: str) -> str:
    a = server.config.ari
    return fmt.ari_show_status(a.enabled, a.pretty, a.auth_realm, ",".join(a.allowed_origins))


@command("ari show apps", "List registered ARI applications")
def ari_show_apps(server: Server, args: list[str], line: str) -> str:
    return fmt.ari_show_apps(server.stasis.names())


@command("ari show app <name>", "Display details of a registered ARI application")
def ari_show_app(server: Server, args: list[str], line: str) -> str:
    app = server.stasis.get(args[0]) if args else None
    if app is None:
        return fmt.ari_show_app_not_found(line)
    return fmt.ari_show_app(
        fmt.AriApp(
            name=app.name,
            subscribe_all=app.subscribe_all,
            channels=[fmt.AppForward(i) for i in app.ids("channel") if i != "all"],
            bridges=[fmt.AppForward(i) for i in app.ids("bridge") if i != "all"],
            endpoints=[fmt.AppForward(i) for i in app.ids("endpoint")],
        )
    )


@command("ari show users", "List ARI users")
def ari_show_users(server: Server, args: list[str], line: str) -> str:
    users = server.config.ari.users.values()
    return fmt.ari_show_users([(u.name, u.read_only) for u in sorted(users, key=lambda u: u.name)])


@command("ari show user <name>", "List single ARI user")
def ari_show_user(server: Server, args: list[str], line: str) -> str:
    user = server.config.ari.users.get(args[0]) if args else None
    if user is None:
        return fmt.ari_show_user_not_found(args[0] if args else "")
    return fmt.ari_show_user(user.name, user.read_only)


@command("ari show outbound-websockets", "Shows all ARI outbound-websockets")
def ari_show_outbound_websockets(server: Server, args: list[str], line: str) -> str:
    owcs = server.outbound.configs
    return obf.show_outbound_websockets(owcs[name] for name in sorted(owcs))


@command("ari show outbound-websocket <id>", "Shows a specific ARI outbound websocket")
def ari_show_outbound_websocket(server: Server, args: list[str], line: str) -> str:
    owc = server.outbound.configs.get(args[0]) if args else None
    if owc is None:
        return obf.NO_CONFIG
    return obf.show_outbound_websocket(owc)


@command("ari start outbound-websocket <id>", "Starts a specific ARI outbound websocket")
def ari_start_outbound_websocket(server: Server, args: list[str], line: str) -> str:
    name = args[0] if args else ""
    if name not in server.outbound.configs:
        return obf.NO_CONFIG
    text = obf.start_outbound_websocket(name)
    if not server.outbound.start(name):
        text += "Error starting outbound websocket\n"
    return text


@command("ari show websocket sessions", "Shows all ARI websocket sessions")
def ari_show_websocket_sessions(server: Server, args: list[str], line: str) -> str:
    rows = [
        obf.SessionRow(
            c.session_id, c.kind, c.remote_addr, "Up" if c.connected else "Down", ",".join(c.apps)
        )
        for c in server.outbound.connections()
    ]
    rows += [
        obf.SessionRow(o.name, "per_call_config", "", "N/A", o.apps_text)
        for o in server.outbound.per_call_configs()
    ]
    rows += [
        obf.SessionRow(i.connection_id, "inbound", i.remote_addr, "Up", ",".join(s.apps))
        for s, i in list(server.ari.inbound.items())
        if not s.closed
    ]
    return obf.show_websocket_sessions(rows)


@command("ari shutdown websocket sessions", "Shuts down all ARI websocket sessions")
def ari_shutdown_websocket_sessions(server: Server, args: list[str], line: str) -> str:
    server.outbound.shutdown_all()
    return obf.SHUTTING_DOWN_ALL


@command("ari shutdown websocket session <id>", "Shuts down ARI websocket session")
def ari_shutdown_websocket_session(server: Server, args: list[str], line: str) -> str:
    session_id = args[0] if args else ""
    if not server.outbound.shutdown(session_id):
        return obf.session_not_found(session_id)
    return obf.shutting_down(session_id)


# -- stasis --------------------------------------------------------------------------


@command("stasis show topics", "Show all topics")
def stasis_show_topics(server: Server, args: list[str], line: str) -> str:
    return fmt.stasis_show_topics((t.name, t.detail) for t in server.core.bus.topics.values())


@command("stasis show topic <name>", "Show stasis topic detail info")
def stasis_show_topic(server: Server, args: list[str], line: str) -> str:
    name = args[0] if args else ""
    topic = server.core.bus.get(name)
    if topic is None:
        return fmt.stasis_show_topic_not_found(name, line)
    return fmt.stasis_show_topic(
        topic.name,
        topic.detail,
        [fmt.StasisSubscriberInfo(s.uniqueid, s.topic.name, s.topic.detail)
         for s in topic.subscribers],
        [fmt.StasisTopicInfo(f.source.name, f.source.detail) for f in topic.sources],
        int(time.monotonic() - topic.created),
    )  # fmt: skip


# -- core ---------------------------------------------------------------------------


def _row(chan: Channel) -> fmt.ChannelRow:
    return fmt.ChannelRow(
        name=chan.name,
        state=chan.state,
        context=chan.context,
        exten=chan.exten,
        priority=chan.priority,
        app=chan.app_name,
        data=chan.app_data,
        caller_number=chan.caller.number,
        accountcode=chan.accountcode,
        duration_seconds=int(time.time() - chan.created),
        uniqueid=chan.id,
    )


@command("core show channels [concise|verbose|count]", "Display information on channels")
def core_show_channels(server: Server, args: list[str], line: str) -> str:
    mode = args[0].lower() if args else "normal"
    if mode not in ("normal", "concise", "verbose", "count"):
        return fmt.command_failed(line)
    chans = list(server.core.channels.values())
    calls = len({c.linkedid for c in chans})
    return fmt.core_show_channels(
        [_row(c) for c in chans],
        mode,  # type: ignore[arg-type]
        active_calls=calls,
        calls_processed=server.core.calls_processed,
    )


@command("core show version", "Display version info")
def core_show_version(server: Server, args: list[str], line: str) -> str:
    info = server.info()["build"]
    return fmt.core_show_version(
        pyari.__version__,
        info["user"],
        server.hostname,
        info["machine"],
        info["os"],
        info["date"],
        product="pyari",
    )


@command("core show uptime [seconds]", "Show uptime information")
def core_show_uptime(server: Server, args: list[str], line: str) -> str:
    now = time.time()
    return fmt.core_show_uptime(
        int(now - server.core.startup),
        int(now - server.core.last_reload),
        seconds=bool(args and args[0].lower() == "seconds"),
    )


@command("core show channeltypes", "List available channel types")
def core_show_channeltypes(server: Server, args: list[str], line: str) -> str:
    rows = [
        fmt.ChannelType(t.name, t.description, devicestate=t.name == "Local", indications=True)
        for t in reversed(list(server.core.techs.values()))
    ]
    return fmt.core_show_channeltypes(rows)


@command("core stop now", "Shut down pyari immediately")
def core_stop_now(server: Server, args: list[str], line: str) -> str:
    asyncio.get_running_loop().call_later(
        0.05, lambda: asyncio.ensure_future(server.stop(reason="core stop now"))
    )
    return ""


@command("core stop gracefully", "Gracefully shut down pyari")
def core_stop_gracefully(server: Server, args: list[str], line: str) -> str:
    asyncio.get_running_loop().call_later(
        0.05,
        lambda: asyncio.ensure_future(server.stop(graceful=True, reason="core stop gracefully")),
    )
    return ""


# -- channels ------------------------------------------------------------------------


@command(
    "channel originate <tech/data> <application|extension> <appname|exten@context> [data]",
    "Originate a call",
)
def channel_originate(server: Server, args: list[str], line: str) -> str:
    if len(args) < 3 or args[1].lower() not in ("application", "extension"):
        return fmt.command_failed(line)
    endpoint, kind, where = args[0], args[1].lower(), args[2]
    target: Target
    if kind == "application":
        target = InApplication(where, " ".join(args[3:]))
    else:
        exten, _, context = where.partition("@")
        target = InDialplan(context or "default", exten, 1)
    try:
        originate(server.pbx, server.stasis, OriginateRequest(endpoint, target))
    except TechError as exc:
        return f"Unable to request channel {endpoint}: {exc}\n"
    return ""


@command("channel request hangup <channel|all>", "Request a hangup on a given channel")
def channel_request_hangup(server: Server, args: list[str], line: str) -> str:
    if not args:
        return fmt.command_failed(line)
    if args[0].lower() == "all":
        chans = list(server.core.channels.values())
        for chan in chans:
            chan.request_hangup(causes.NORMAL_CLEARING)
        return "".join(f"Requested Hangup on channel '{c.name}'\n" for c in chans)
    found = server.core.find_channel(args[0])
    if found is None:
        return f"{args[0]} is not a known channel\n"
    found.request_hangup(causes.NORMAL_CLEARING)
    return f"Requested Hangup on channel '{found.name}'\n"


# -- dialplan and reloads -----------------------------------------------------------------


@command("dialplan reload", "Reload extensions and *only* extensions")
def dialplan_reload(server: Server, args: list[str], line: str) -> str:
    result = server.reload_dialplan()
    return "Dialplan reloaded.\n" if result == "Dialplan reloaded." else result + "\n"


@command("dialplan show [context]", "Show dialplan")
def dialplan_show(server: Server, args: list[str], line: str) -> str:
    target = args[0] if args else None
    if target is not None and "@" in target:
        target = target.partition("@")[2] or None
    return server.dialplan.show(target)


@command("module show [like <keyword>]", "List modules and info")
def module_show(server: Server, args: list[str], line: str) -> str:
    like = args[1] if len(args) >= 2 and args[0].lower() == "like" else ""
    rows = [
        fmt.ModuleRow(m.name, m.description, m.use_count, m.status, m.support_level)
        for m in server.modules.list()
    ]
    return fmt.module_show(rows, like)


@command("module reload [module]", "Reload configuration for a module")
async def module_reload(server: Server, args: list[str], line: str) -> str:
    return await _module_reload(server, args, line)


async def _module_reload(server: Server, args: list[str], line: str) -> str:
    names = args or ["res_ari.so", "http", "extensions"]
    out: list[str] = []
    for name in names:
        key = name.removesuffix(".so")
        if key in ("res_ari", "ari"):
            msg = server.reload_ari()
            if "failed" in msg:
                out.append(fmt.module_reload_result(name, "error"))
            else:
                out.append(fmt.module_reload_result(name, "success"))
        elif key in ("http", "res_http"):
            msg = await server.reload_http()
            if msg:  # the log line the console would show: names the setting and file
                out.append(msg + "\n")
            out.append(fmt.module_reload_result(name, "error" if msg else "success"))
        elif key in ("res_pjsip", "pjsip"):
            msg = await server.reload_res_pjsip()
            out.append(fmt.module_reload_result(name, "error" if "failed" in msg else "success"))
        elif key in ("res_rtp_asterisk", "rtp"):
            # rtp.conf: port range and ICE addresses for the streams opened from now on
            server.rtp.apply(server.load_rtp())
            out.append(fmt.module_reload_result(name, "success"))
        elif key in ("codec_opus", "res_format_attr_opus"):
            # codecs.conf [opus]: this server's calls made from now on
            server.pjsip.reload_codecs(server.load_codecs())
            out.append(fmt.module_reload_result(name, "success"))
        elif key in ("pbx_config", "extensions"):
            msg = server.reload_dialplan()
            ok = msg == "Dialplan reloaded."
            out.append(fmt.module_reload_result(name, "success" if ok else "error"))
        else:
            out.append(fmt.module_reload_result(name, "not_found"))
    return "".join(out) if args else ""


@command("reload [module]", "Reload configuration for a module")
async def reload(server: Server, args: list[str], line: str) -> str:
    out = await _module_reload(server, args, line)
    return out if args else ""


# -- pjsip -----------------------------------------------------------------------------


def _pjsip_contacts(server: Server, aor: str) -> list[pjf.ContactRow]:
    tech = server.pjsip
    rows = []
    for binding in tech.ua.location.lookup(aor, tech.now()):
        state = tech.contacts.get((aor, binding.uri))
        status = state.status if state is not None else "NonQualified"
        rtt = state.rtt * 1000 if state is not None and state.rtt is not None else None
        rows.append(pjf.ContactRow(aor, binding.uri, status, rtt))
    return sorted(rows, key=lambda r: r.uri)


def _pjsip_aor(server: Server, name: str) -> pjf.AorRow:
    conf = server.pjsip.settings.aors.get(name)
    return pjf.AorRow(name, conf.max_contacts if conf else 0, _pjsip_contacts(server, name))


def _pjsip_transport(server: Server, conf: pjsip_conf.Transport) -> pjf.TransportRow:
    host, port = conf.bind
    service = server.pjsip.service
    if service is not None and conf.name in service.transports:
        port = service.transports[conf.name].address[1]
    return pjf.TransportRow(conf.name, conf.protocol, f"{host}:{port}")


def _pjsip_endpoint(server: Server, conf: pjsip_conf.Endpoint) -> pjf.EndpointRow:
    tech = server.pjsip
    name = conf.name
    endpoint = server.core.endpoints.find(f"PJSIP/{name}")
    chans = [server.core.channels[c] for c in (endpoint.channel_ids if endpoint else [])
             if c in server.core.channels]  # fmt: skip
    if not tech.endpoint_online(conf):
        state = "Unavailable"
    elif any(c.state == "Ringing" for c in chans):
        state = "Ringing"
    elif chans:
        state = "In use"
    else:
        state = "Not in use"
    auths = tech.settings.auths
    transport = tech.settings.transports.get(conf.transport or "")

    def auth_rows(ref: str | None) -> list[tuple[str, str]]:
        found = auths.get(ref or "")
        return [(found.name, found.username)] if found is not None else []

    now = time.time()
    channel_rows = [
        pjf.ChannelRow(
            c.name,
            c.state,
            fmt.format_duration_hh_mm_ss(int(now - c.created)),
            c.exten,
            f'"{c.connected.name}" <{c.connected.number}>',
        )
        for c in chans
    ]
    identifies = [
        (i.name, [str(n) for n in i.networks] + list(i.hostnames))
        for i in tech.settings.identifies.values()
        if i.endpoint == name
    ]

    def yes(flag: bool) -> str:
        return "true" if flag else "false"

    details = [
        ("context", conf.context),
        ("allow", "(" + "|".join(conf.allow) + ")"),
        ("aors", ",".join(conf.aors)),
        ("auth", conf.auth or ""),
        ("outbound_auth", conf.outbound_auth or ""),
        ("callerid", conf.callerid or ""),
        ("direct_media", yes(conf.direct_media)),
        ("dtmf_mode", conf.dtmf_mode),
        ("force_rport", yes(conf.force_rport)),
        ("rewrite_contact", yes(conf.rewrite_contact)),
        ("rtp_symmetric", yes(conf.rtp_symmetric)),
        ("transport", conf.transport or ""),
    ]
    details += [  # WebRTC and secure media (webrtc = yes already expanded)
        ("webrtc", yes(conf.webrtc)),
        ("media_encryption", conf.media_encryption),
        ("dtls_setup", conf.dtls_setup),
        ("dtls_verify", conf.dtls_verify),
        ("dtls_fingerprint", conf.dtls_fingerprint),
        ("dtls_auto_generate_cert", yes(conf.dtls_auto_generate_cert)),
        ("ice_support", yes(conf.ice_support)),
        ("use_avpf", yes(conf.use_avpf)),
        ("rtcp_mux", yes(conf.rtcp_mux)),
        ("bundle", yes(conf.bundle)),
        ("media_use_received_transport", yes(conf.media_use_received_transport)),
    ]
    return pjf.EndpointRow(
        name=name,
        callerid_number=conf.callerid_number,
        device_state=state,
        channel_count=len(chans),
        out_auths=auth_rows(conf.outbound_auth),
        in_auths=auth_rows(conf.auth),
        aors=[_pjsip_aor(server, a) for a in conf.aors],
        transport=_pjsip_transport(server, transport) if transport else None,
        identifies=identifies,
        channels=channel_rows,
        details=details,
    )


@command("pjsip show endpoints", "List PJSIP Endpoints")
def pjsip_show_endpoints(server: Server, args: list[str], line: str) -> str:
    endpoints = server.pjsip.settings.endpoints
    return pjf.show_endpoints([_pjsip_endpoint(server, endpoints[n]) for n in sorted(endpoints)])


@command("pjsip show endpoint <name>", "Show PJSIP Endpoint")
def pjsip_show_endpoint(server: Server, args: list[str], line: str) -> str:
    if not args:
        return "Usage: pjsip show endpoint <id>\n       Show the configured PJSIP endpoint\n"
    conf = server.pjsip.settings.endpoints.get(args[0])
    return pjf.show_endpoint(_pjsip_endpoint(server, conf) if conf else None, args[0])


@command("pjsip show contacts", "Show PJSIP Contacts")
def pjsip_show_contacts(server: Server, args: list[str], line: str) -> str:
    rows = [c for a in sorted(server.pjsip.settings.aors) for c in _pjsip_contacts(server, a)]
    return pjf.show_contacts(rows)


@command("pjsip show aors", "Show PJSIP Aors")
def pjsip_show_aors(server: Server, args: list[str], line: str) -> str:
    return pjf.show_aors([_pjsip_aor(server, a) for a in sorted(server.pjsip.settings.aors)])


@command("pjsip show transports", "Show PJSIP Transports")
def pjsip_show_transports(server: Server, args: list[str], line: str) -> str:
    transports = server.pjsip.settings.transports
    return pjf.show_transports(
        [_pjsip_transport(server, transports[n]) for n in sorted(transports)]
    )


@command("pjsip reload", "Reload res_pjsip and its configuration")
def pjsip_reload(server: Server, args: list[str], line: str) -> str:
    return server.reload_pjsip()


# -- cluster (pyari's own; the commands live in their module) -------------------------

from pyari.cli import cluster_commands as _cluster_commands  # noqa: E402, F401
