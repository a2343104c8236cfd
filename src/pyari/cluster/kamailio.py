"""A Kamailio configuration for the SIP edge of a pyari cluster (decision 0025).

Kamailio (Debian's ``kamailio``, 5.6) stands in front of the nodes:

* **registrar**: phones REGISTER to Kamailio (in memory, ``usrloc`` without a database);
* **dispatcher**: a call from a phone goes to one node of dispatcher set 1, chosen
  **round robin** (every node gets its share even with few calls; a hash over the
  Call-ID, ``algorithm="call-id"``, spreads few calls worse and keeps nothing more
  on its node than record-routing does). Each node is probed with OPTIONS every second
  (``ds_probing_mode`` 1: every node, always); a node that misses
  ``probing_threshold`` probes in a row leaves the set, and comes back after
  ``inactive_threshold`` answered ones. An INVITE a node does not answer within
  ``fr_timer`` (or answers with 408/5xx) is sent to the next node, and the node
  is marked (inactive for no answer, "trying" for an error answer);
* **outbound**: a request from a node (its source address is in the dispatcher set) is
  for a phone: ``lookup("location")`` on the Request-URI's user, then relayed;
  a user that is not registered gets 404;
* **record-routing** of dialog-forming requests; in-dialog requests follow their
  Route headers (``loose_route``); those of clients that ignore Record-Route (SIPp's
  stock ``uac``) go to the node their call went to, remembered by Call-ID (``htable``,
  in memory, until the BYE or for 2 hours).

Everything here is pure text building: :func:`kamailio_config` returns the
``kamailio.cfg`` and ``dispatcher.list`` texts, :func:`write_kamailio_config` writes
them into a folder, :func:`kamailio_command` is the command that runs Kamailio in
the foreground (``-DD -E``: no daemon, logs on stderr) with its runtime files in a
folder of the caller's choosing, and :func:`node_pjsip_conf` is what a node's
pjsip.conf needs to take calls from Kamailio and send calls through it.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

__all__ = [
    "DISPATCHER_SET",
    "KamailioConfig",
    "KamailioFiles",
    "KamailioOptions",
    "SipAddress",
    "kamailio_command",
    "kamailio_config",
    "node_pjsip_conf",
    "parse_sip_address",
    "write_kamailio_config",
]

DISPATCHER_SET = 1
"""The dispatcher set of the pyari nodes."""

KAMAILIO = "/usr/sbin/kamailio"
"""Where Debian's package puts the binary."""

Protocol = Literal["udp", "tcp"]
_PROTOCOLS = ("udp", "tcp")
_HOSTNAME = re.compile(
    r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}))*$"
)
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


@dataclass(frozen=True, slots=True)
class SipAddress:
    """A transport address: ``udp:127.0.0.1:5060``, with an optional node name."""

    protocol: Protocol
    host: str
    """An IP address (IPv6 without brackets) or a host name."""
    port: int
    name: str = ""

    @property
    def hostport(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def socket(self) -> str:
        """Kamailio's socket notation (``listen=``): ``udp:127.0.0.1:5060``."""
        return f"{self.protocol}:{self.hostport}"

    @property
    def uri(self) -> str:
        """The SIP URI of the address (``;transport=tcp`` for TCP)."""
        suffix = ";transport=tcp" if self.protocol == "tcp" else ""
        return f"sip:{self.hostport}{suffix}"


def parse_sip_address(text: str, *, default_port: int = 5060) -> SipAddress:
    """``[NAME=][udp:|tcp:]HOST[:PORT]`` or ``[NAME=]sip:HOST[:PORT][;transport=tcp]``.

    HOST is an IPv4 address, a bracketed IPv6 address or a host name. ValueError says
    what is wrong (nothing that is not an address reaches the configuration text).
    """
    original = text
    text = text.strip()
    name = ""
    if "=" in text.split(":", 1)[0]:
        name, _, text = text.partition("=")
        name = name.strip()
        if not _NAME.match(name):
            raise ValueError(f"{original!r}: a node name is letters, digits, '_', '.', '-'")
    protocol = "udp"
    lowered = text.lower()
    if lowered.startswith("sip:"):
        text, _, params = text[4:].partition(";")
        for param in params.split(";"):
            key, _, value = param.partition("=")
            if key.strip().lower() == "transport":
                protocol = value.strip().lower()
            elif key.strip() and key.strip().lower() != "lr":
                raise ValueError(f"{original!r}: only ;transport= is understood in the URI")
    else:
        head, sep, rest = text.partition(":")
        if sep and head.lower() in ("udp", "tcp", "tls", "sctp", "ws", "wss"):
            protocol, text = head.lower(), rest
    if protocol not in _PROTOCOLS:
        raise ValueError(f"{original!r}: the protocol must be udp or tcp")
    host, port = _split_hostport(text, original, default_port)
    return SipAddress(protocol, host, port, name)  # type: ignore[arg-type]


def _split_hostport(text: str, original: str, default_port: int) -> tuple[str, int]:
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep:
            raise ValueError(f"{original!r}: unbalanced '[' in the address")
        port_text = rest[1:] if rest.startswith(":") else ""
        if rest and not rest.startswith(":"):
            raise ValueError(f"{original!r}: garbage after the address")
        try:
            ipaddress.IPv6Address(host)
        except ValueError as exc:
            raise ValueError(f"{original!r}: {host!r} is not an IPv6 address") from exc
    else:
        host, sep, port_text = text.rpartition(":")
        if not sep:
            host, port_text = text, ""
        if ":" in host:
            raise ValueError(f"{original!r}: write an IPv6 address in brackets: [::1]:5060")
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            if not _HOSTNAME.match(host):
                raise ValueError(f"{original!r}: {host!r} is not an address or host name") from None
    port = default_port
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ValueError(f"{original!r}: the port must be 1 to 65535")
        port = int(port_text)
    return host, port


@dataclass(frozen=True, slots=True)
class KamailioOptions:
    """What can be tuned in the generated configuration (the defaults suit a LAN)."""

    ping_interval: int = 1
    """Seconds between two OPTIONS probes of every node (``ds_ping_interval``)."""
    probing_threshold: int = 2
    """Probes missed in a row before a node leaves the set (``ds_probing_threshold``)."""
    inactive_threshold: int = 1
    """Probes answered in a row before a node rejoins (``ds_inactive_threshold``)."""
    fr_timer_ms: int = 2000
    """How long a node (or a phone) may leave a request without any answer, probes
    included (tm ``fr_timer``): the time a dead node costs the call that finds it."""
    fr_inv_timer_ms: int = 120000
    """How long an INVITE may ring once something answered it (tm ``fr_inv_timer``)."""
    algorithm: Literal["round-robin", "call-id"] = "round-robin"
    """How a node is chosen: ``round-robin`` (alg 4) or ``call-id`` (hash, alg 0)."""
    match_node_port: bool = True
    """Recognize a node by source IP *and* port (needed when nodes share an IP with
    phones, e.g. on one machine); False for nodes that send over TCP from other ports."""
    children: int = 2
    """Kamailio worker processes per UDP socket."""
    aliases: tuple[str, ...] = ()
    """Other names (``host`` or ``host:port``) the proxy is known by (``alias=``)."""
    debug: int = 2
    """Kamailio's log level (2: notices, warnings, errors; 3: info)."""
    module_path: str | None = None
    """``mpath``: where the modules are, when not in the binary's default place."""

    def check(self) -> None:
        """ValueError for settings Kamailio could not run with."""
        if self.ping_interval < 1:
            raise ValueError("ping_interval must be at least 1 second")
        if self.probing_threshold < 1 or self.inactive_threshold < 1:
            raise ValueError("the probing thresholds must be at least 1")
        if self.fr_timer_ms < 100 or self.fr_inv_timer_ms < self.fr_timer_ms:
            raise ValueError("fr_timer_ms must be >= 100 and fr_inv_timer_ms >= fr_timer_ms")
        if self.algorithm not in ("round-robin", "call-id"):
            raise ValueError("algorithm must be round-robin or call-id")
        if not 1 <= self.children <= 64:
            raise ValueError("children must be 1 to 64")
        if not 0 <= self.debug <= 4:
            raise ValueError("debug must be 0 to 4")
        for alias in self.aliases:
            parse_sip_address(alias)
        if self.module_path is not None and any(c in self.module_path for c in '"\n\r'):
            raise ValueError("module_path cannot hold quotes or line breaks")


@dataclass(frozen=True, slots=True)
class KamailioConfig:
    """The texts of the two files Kamailio reads."""

    cfg: str
    """``kamailio.cfg``."""
    dispatcher_list: str
    """``dispatcher.list`` (the file ``cfg`` names in ``list_file``)."""
    listen: tuple[SipAddress, ...]
    nodes: tuple[SipAddress, ...]


@dataclass(frozen=True, slots=True)
class KamailioFiles:
    cfg: Path
    dispatcher_list: Path


def _addresses(items: Iterable[str | SipAddress]) -> tuple[SipAddress, ...]:
    return tuple(i if isinstance(i, SipAddress) else parse_sip_address(i) for i in items)


def _dispatcher_list(nodes: Sequence[SipAddress]) -> str:
    lines = [
        "# pyari nodes: setid destination flags priority attributes",
        "# (written by `pyari cluster kamailio-config`; flags 8 = probed with OPTIONS)",
    ]
    for index, node in enumerate(nodes, 1):
        duid = node.name or f"node{index}"
        lines.append(f"{DISPATCHER_SET} {node.uri} 8 0 duid={duid}")
    return "\n".join(lines) + "\n"


def kamailio_config(
    listen: Sequence[str | SipAddress],
    nodes: Sequence[str | SipAddress],
    *,
    dispatcher_list_path: str | Path,
    options: KamailioOptions | None = None,
) -> KamailioConfig:
    """The configuration of a Kamailio listening on ``listen`` in front of ``nodes``.

    ``listen`` and ``nodes`` are addresses as :func:`parse_sip_address` reads them
    (``127.0.0.1:5060``, ``tcp:10.0.0.1:5060``, ``n1=127.0.0.1:5070``);
    ``dispatcher_list_path`` is where the dispatcher list will be (absolute: Kamailio
    resolves a relative one against its own working folder). ValueError for bad input.
    """
    opts = options or KamailioOptions()
    opts.check()
    listens = _addresses(listen)
    node_addrs = _addresses(nodes)
    if not listens:
        raise ValueError("at least one listen address is needed")
    if not node_addrs:
        raise ValueError("at least one node is needed")
    seen: set[tuple[str, str, int]] = set()
    for node in node_addrs:
        key = (node.protocol, node.host, node.port)
        if key in seen:
            raise ValueError(f"node {node.socket} is given twice")
        seen.add(key)
        if any((node.protocol, node.host, node.port) == (a.protocol, a.host, a.port)
               for a in listens):  # fmt: skip
            raise ValueError(f"node {node.socket} is also a listen address")
    list_path = str(dispatcher_list_path)
    if any(c in list_path for c in '"\n\r'):
        raise ValueError("the dispatcher list path cannot hold quotes or line breaks")
    return KamailioConfig(
        cfg=_cfg(listens, list_path, opts),
        dispatcher_list=_dispatcher_list(node_addrs),
        listen=listens,
        nodes=node_addrs,
    )


def write_kamailio_config(
    out_dir: str | Path,
    listen: Sequence[str | SipAddress],
    nodes: Sequence[str | SipAddress],
    *,
    options: KamailioOptions | None = None,
) -> KamailioFiles:
    """Write ``kamailio.cfg`` and ``dispatcher.list`` into ``out_dir`` (made if needed)."""
    folder = Path(out_dir).resolve()
    files = KamailioFiles(folder / "kamailio.cfg", folder / "dispatcher.list")
    config = kamailio_config(
        listen, nodes, dispatcher_list_path=files.dispatcher_list, options=options
    )
    folder.mkdir(parents=True, exist_ok=True)
    files.dispatcher_list.write_text(config.dispatcher_list)
    files.cfg.write_text(config.cfg)
    return files


def kamailio_command(
    cfg: str | Path,
    run_dir: str | Path,
    *,
    binary: str = KAMAILIO,
    shm_mb: int = 64,
    pkg_mb: int = 8,
    check_only: bool = False,
) -> list[str]:
    """The command line that runs Kamailio with ``cfg`` in the foreground, logging on
    stderr, with its runtime files in ``run_dir`` (which must exist);
    ``check_only``: only check the configuration (``-c``) and exit."""
    if check_only:
        return [binary, "-c", "-f", str(cfg), "-Y", str(run_dir), "-m", str(shm_mb),
                "-M", str(pkg_mb)]  # fmt: skip
    return [binary, "-f", str(cfg), "-DD", "-E", "-Y", str(run_dir), "-m", str(shm_mb),
            "-M", str(pkg_mb)]  # fmt: skip


def node_pjsip_conf(
    kamailio: str | SipAddress,
    *,
    context: str = "from-kamailio",
    endpoint: str = "kamailio",
    codecs: Sequence[str] = ("ulaw", "alaw"),
) -> str:
    """The pjsip.conf sections a node needs behind Kamailio (append them to the node's
    pjsip.conf, next to its transport): an endpoint ``kamailio`` identified by
    Kamailio's IP address whose calls run the dialplan at ``context``, with an AOR
    whose contact is Kamailio, so ``PJSIP/alice@kamailio`` calls the phone registered
    as alice, and ``outbound_proxy`` so every call of the endpoint goes through it."""
    addr = kamailio if isinstance(kamailio, SipAddress) else parse_sip_address(kamailio)
    if _unspecified(addr.host):
        raise ValueError(
            f"{addr.host}: give Kamailio's address as the nodes reach it, not a wildcard"
        )
    for value in (context, endpoint, *codecs):
        if not _NAME.match(value):
            raise ValueError(f"{value!r}: letters, digits, '_', '.', '-' only")
    allow = "\n".join(f"allow = {c}" for c in codecs)
    return f"""
; Calls from and to the phones behind Kamailio ({addr.socket}).
[{endpoint}]
type = endpoint
context = {context}
disallow = all
{allow}
aors = {endpoint}
outbound_proxy = {addr.uri}\\;lr
direct_media = no
rtp_symmetric = yes

[{endpoint}]
type = aor
contact = {addr.uri}

[{endpoint}]
type = identify
endpoint = {endpoint}
match = {addr.host}
"""


def _cfg(listens: Sequence[SipAddress], list_path: str, opts: KamailioOptions) -> str:
    tcp = any(a.protocol == "tcp" for a in listens)
    algorithm = 4 if opts.algorithm == "round-robin" else 0
    from_mode = 2 if opts.match_node_port else 3
    first = listens[0]
    ping_host = first.hostport
    if _unspecified(first.host):
        ping_host = _alias(opts.aliases[0]) if opts.aliases else "localhost"
    head = [
        "#!KAMAILIO",
        "#",
        "# The SIP edge of a pyari cluster: registrar (in memory) and dispatcher over",
        "# the pyari nodes (dispatcher set 1, probed with OPTIONS). Written by",
        "# `pyari cluster kamailio-config`; see docs/cluster-kamailio.md.",
        "#",
        "# Run in the foreground, logging on stderr:",
        "#   kamailio -f kamailio.cfg -DD -E -Y RUNDIR -m 64 -M 8",
        "",
        "####### Global parameters #########",
        f"debug={opts.debug}",
        "log_stderror=yes",
        "fork=yes",
        f"children={opts.children}",
        "auto_aliases=no",
        *(f"listen={a.socket}" for a in listens),
        *(f"alias={_alias(a)}" for a in opts.aliases),
        *([] if tcp else ["disable_tcp=yes"]),
        'server_header="Server: pyari-edge (kamailio)"',
        'user_agent_header="User-Agent: pyari-edge (kamailio)"',
        "",
        "####### Modules #########",
        *([f'mpath="{opts.module_path}"'] if opts.module_path else []),
        *(f'loadmodule "{m}.so"' for m in _MODULES),
        "",
        "# transactions: a request nobody answers fails after fr_timer (then the",
        "# dispatcher tries the next node); a ringing INVITE may last fr_inv_timer",
        f'modparam("tm", "fr_timer", {opts.fr_timer_ms})',
        f'modparam("tm", "fr_inv_timer", {opts.fr_inv_timer_ms})',
        'modparam("rr", "append_fromtag", 0)',
        "# registrations in memory only",
        'modparam("usrloc", "db_mode", 0)',
        'modparam("registrar", "max_expires", 3600)',
        "# the pyari nodes",
        f'modparam("dispatcher", "list_file", "{list_path}")',
        "# flag 2: failover to the other nodes of the set (ds_next_dst)",
        'modparam("dispatcher", "flags", 2)',
        'modparam("dispatcher", "ds_ping_method", "OPTIONS")',
        f'modparam("dispatcher", "ds_ping_from", "sip:kamailio@{ping_host}")',
        f'modparam("dispatcher", "ds_ping_interval", {opts.ping_interval})',
        "# probe every node all the time, not only the ones already failing",
        'modparam("dispatcher", "ds_probing_mode", 1)',
        f'modparam("dispatcher", "ds_probing_threshold", {opts.probing_threshold})',
        f'modparam("dispatcher", "ds_inactive_threshold", {opts.inactive_threshold})',
        "# probes on their own timer process, not behind retransmissions",
        'modparam("dispatcher", "ds_timer_mode", 1)',
        "# the node of each call from a phone, by Call-ID, for the in-dialog requests of",
        "# clients that ignore Record-Route (forgotten at the BYE, or after 2 hours)",
        'modparam("htable", "htable", "calls=>size=12;autoexpire=7200;")',
        "",
    ]
    return "\n".join(head) + _ROUTES.format(SET=DISPATCHER_SET, ALG=algorithm, FROM_MODE=from_mode)


def _unspecified(host: str) -> bool:
    """0.0.0.0 or :: (listen on every address)."""
    try:
        return ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False


def _alias(text: str) -> str:
    addr = parse_sip_address(text)
    return addr.hostport if ":" in text.split("]")[-1] else addr.host


_MODULES = (
    "kex",
    "tm",
    "tmx",
    "sl",
    "rr",
    "pv",
    "maxfwd",
    "textops",
    "siputils",
    "xlog",
    "usrloc",
    "registrar",
    "dispatcher",
    "htable",
)

_ROUTES = """
####### Routing #########

request_route {{
	if (!mf_process_maxfwd_header("10")) {{
		sl_send_reply("483", "Too Many Hops");
		exit;
	}}
	if (is_method("CANCEL")) {{
		if (t_check_trans()) {{
			t_relay();
		}}
		exit;
	}}
	# retransmissions of requests being handled
	if (!is_method("ACK")) {{
		if (t_precheck_trans()) {{
			t_check_trans();
			exit;
		}}
		t_check_trans();
	}}
	if (has_totag()) {{
		route(IN_DIALOG);
		exit;
	}}
	if (is_method("ACK")) {{
		# the ACK of a failed INVITE
		if (t_check_trans()) {{
			t_relay();
		}}
		exit;
	}}
	# a new request: routes a client preloaded end here
	remove_hf("Route");
	if (is_method("REGISTER")) {{
		route(REGISTRAR);
		exit;
	}}
	if (is_method("OPTIONS") && uri == myself && $rU == $null) {{
		sl_send_reply("200", "OK");
		exit;
	}}
	if (is_method("INVITE|SUBSCRIBE|REFER")) {{
		record_route();
	}}
	if (ds_is_from_list("{SET}", "{FROM_MODE}")) {{
		# a pyari node calls a phone
		route(TO_PHONE);
		exit;
	}}
	# a phone calls: one of the pyari nodes takes it
	route(TO_NODE);
}}

route[RELAY] {{
	if (!t_relay()) {{
		sl_reply_error();
	}}
	exit;
}}

route[IN_DIALOG] {{
	$var(node) = $sht(calls=>$ci);
	if (is_method("BYE")) {{
		$sht(calls=>$ci) = $null;
	}}
	if (loose_route()) {{
		route(RELAY);
	}}
	# no Route for us (a client that ignores Record-Route): to a node when the
	# Request-URI names one, else to the node the call went to
	if (ds_is_from_list("{SET}", "{FROM_MODE}", "$ru")) {{
		route(RELAY);
	}}
	if ($var(node) != $null && $var(node) != 0) {{
		$du = $var(node);
		route(RELAY);
	}}
	if (is_method("ACK")) {{
		if (t_check_trans()) {{
			t_relay();
		}}
		exit;
	}}
	sl_send_reply("404", "Not here");
	exit;
}}

route[REGISTRAR] {{
	if (!save("location")) {{
		sl_reply_error();
	}}
	exit;
}}

route[TO_PHONE] {{
	if (!lookup("location")) {{
		xlog("L_INFO", "pyari-edge: $rm to $rU ($ci): not registered\\n");
		sl_send_reply("404", "Not Found");
		exit;
	}}
	route(RELAY);
}}

route[TO_NODE] {{
	if (!ds_select_dst("{SET}", "{ALG}")) {{
		xlog("L_WARN", "pyari-edge: $rm to $rU ($ci): no pyari node is up\\n");
		sl_send_reply("503", "No pyari node available");
		exit;
	}}
	if (is_method("INVITE")) {{
		$sht(calls=>$ci) = $du;
	}}
	t_on_failure("NODE_FAILED");
	route(RELAY);
}}

failure_route[NODE_FAILED] {{
	if (t_is_canceled()) {{
		exit;
	}}
	if (t_branch_timeout() && !t_branch_replied()) {{
		xlog("L_WARN", "pyari-edge: node $du did not answer $rm ($ci): marked inactive\\n");
		ds_mark_dst("ip");
	}} else if (t_check_status("408|5[0-9][0-9]")) {{
		xlog("L_NOTICE", "pyari-edge: node $du answered $T_reply_code to $rm ($ci)\\n");
		ds_mark_dst("tp");
	}} else {{
		exit;
	}}
	if (ds_next_dst()) {{
		xlog("L_NOTICE", "pyari-edge: $rm ($ci) sent again, to node $du\\n");
		if (is_method("INVITE")) {{
			$sht(calls=>$ci) = $du;
		}}
		t_on_failure("NODE_FAILED");
		t_relay();
	}}
}}

# the node is $du when a call marked it, $ru when a probe did
event_route[dispatcher:dst-down] {{
	if ($du != $null) {{
		xlog("L_WARN", "pyari-edge: node $du is down\\n");
	}} else {{
		xlog("L_WARN", "pyari-edge: node $ru is down\\n");
	}}
}}

event_route[dispatcher:dst-up] {{
	if ($du != $null) {{
		xlog("L_WARN", "pyari-edge: node $du is up\\n");
	}} else {{
		xlog("L_WARN", "pyari-edge: node $ru is up\\n");
	}}
}}
"""
