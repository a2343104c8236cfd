"""The SIP edge of a cluster: the Kamailio configuration pyari writes
(:mod:`pyari.cluster.kamailio`, ``pyari cluster kamailio-config``), checked by Kamailio
itself, and run for real on loopback in front of two in-process pyari nodes:

* SIPp calls through Kamailio are spread over both nodes, none fails;
* a node stopped mid-run: the calls that follow all go to the other one, none fails
  (the INVITE a dead node does not answer fails over), and OPTIONS probing takes
  the node out of the set within seconds;
* a phone registered at Kamailio as alice (SIPp as UAS) is called from a node, by
  ``PJSIP/alice@kamailio`` (the AOR's contact) and through the endpoint's
  ``outbound_proxy`` (``PJSIP/kamailio/sip:alice@pyari.invalid``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from cluster.conftest import make_node
from conftest import udp_port_taken
from pyari.cli.main import main
from pyari.cluster.kamailio import (
    KamailioOptions,
    SipAddress,
    kamailio_command,
    kamailio_config,
    node_pjsip_conf,
    parse_sip_address,
    write_kamailio_config,
)
from pyari.config import parse_text
from pyari.config.embedded import embedded_names, embedded_text
from pyari.config.pjsip import PjsipSettings
from pyari.server import Server

KAMAILIO = shutil.which("kamailio") or (
    "/usr/sbin/kamailio" if os.access("/usr/sbin/kamailio", os.X_OK) else None
)
needs_kamailio = pytest.mark.skipif(KAMAILIO is None, reason="kamailio is not installed")
needs_sipp = pytest.mark.skipif(shutil.which("sipp") is None, reason="sipp is not installed")
SCENARIOS = Path(__file__).parent / "sipp"
USER = "testARI"
PASSWORD = "Sup3rM3ga$tr0ng"


# ------------------------------------------------------------------ addresses


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:5070", SipAddress("udp", "127.0.0.1", 5070)),
        ("127.0.0.1", SipAddress("udp", "127.0.0.1", 5060)),
        ("tcp:10.0.0.2:5080", SipAddress("tcp", "10.0.0.2", 5080)),
        ("n1=udp:127.0.0.1:5070", SipAddress("udp", "127.0.0.1", 5070, "n1")),
        ("sip:10.0.0.2:5062;transport=tcp", SipAddress("tcp", "10.0.0.2", 5062)),
        ("n2=sip:node2.example.com", SipAddress("udp", "node2.example.com", 5060, "n2")),
        ("[::1]:5070", SipAddress("udp", "::1", 5070)),
    ],
)
def test_addresses_are_read(text: str, expected: SipAddress) -> None:
    assert parse_sip_address(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "127.0.0.1:0",
        "127.0.0.1:65536",
        "127.0.0.1:x",
        "tls:127.0.0.1:5061",
        "::1:5060",
        '10.0.0.1";drop',
        "host name:5060",
        "a b=127.0.0.1",
        "sip:10.0.0.1;maddr=1.2.3.4",
        "[::g]:5060",
        "",
    ],
)
def test_bad_addresses_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_sip_address(text)


def test_address_notations() -> None:
    tcp = SipAddress("tcp", "::1", 5070)
    assert tcp.socket == "tcp:[::1]:5070"
    assert tcp.uri == "sip:[::1]:5070;transport=tcp"
    assert SipAddress("udp", "10.0.0.1", 5060).uri == "sip:10.0.0.1:5060"


# ------------------------------------------------------------------ the texts


def test_config_has_registrar_dispatcher_probing_and_routing() -> None:
    config = kamailio_config(
        ["127.0.0.1:5060"],
        ["n1=127.0.0.1:5070", "127.0.0.1:5080"],
        dispatcher_list_path="/tmp/edge/dispatcher.list",
    )
    cfg = config.cfg
    assert cfg.startswith("#!KAMAILIO\n")
    assert "listen=udp:127.0.0.1:5060\n" in cfg
    assert "disable_tcp=yes\n" in cfg
    for module in ("tm", "sl", "rr", "usrloc", "registrar", "dispatcher", "maxfwd"):
        assert f'loadmodule "{module}.so"' in cfg
    assert 'modparam("usrloc", "db_mode", 0)' in cfg  # no database
    assert 'modparam("dispatcher", "list_file", "/tmp/edge/dispatcher.list")' in cfg
    assert 'modparam("dispatcher", "ds_ping_interval", 1)' in cfg
    assert 'modparam("dispatcher", "ds_probing_mode", 1)' in cfg
    assert 'modparam("dispatcher", "ds_probing_threshold", 2)' in cfg
    assert 'modparam("dispatcher", "ds_inactive_threshold", 1)' in cfg
    assert 'modparam("dispatcher", "flags", 2)' in cfg  # failover list
    assert 'modparam("tm", "fr_timer", 2000)' in cfg
    assert 'ds_select_dst("1", "4")' in cfg  # round robin
    assert 'ds_is_from_list("1", "2")' in cfg  # a node: IP and port
    assert 'save("location")' in cfg and 'lookup("location")' in cfg
    assert "record_route();" in cfg and "loose_route()" in cfg
    assert "failure_route[NODE_FAILED]" in cfg and "ds_next_dst()" in cfg
    assert 'ds_mark_dst("ip")' in cfg
    assert "$sht(calls=>$ci) = $du;" in cfg  # each call's node, for clients without Route
    assert config.dispatcher_list.splitlines()[2:] == [
        "1 sip:127.0.0.1:5070 8 0 duid=n1",
        "1 sip:127.0.0.1:5080 8 0 duid=node2",
    ]


def test_options_change_the_config() -> None:
    options = KamailioOptions(
        ping_interval=3,
        probing_threshold=4,
        inactive_threshold=2,
        fr_timer_ms=1500,
        algorithm="call-id",
        match_node_port=False,
        children=4,
        aliases=("sip.example.com", "edge.example.com:5070"),
        module_path="/opt/kamailio/modules",
    )
    cfg = kamailio_config(
        ["udp:10.0.0.1:5060", "tcp:10.0.0.1:5060"],
        ["tcp:10.0.0.2:5060"],
        dispatcher_list_path="/d.list",
        options=options,
    ).cfg
    assert "listen=tcp:10.0.0.1:5060\n" in cfg and "disable_tcp" not in cfg
    assert 'modparam("dispatcher", "ds_ping_interval", 3)' in cfg
    assert 'modparam("dispatcher", "ds_probing_threshold", 4)' in cfg
    assert 'modparam("dispatcher", "ds_inactive_threshold", 2)' in cfg
    assert 'modparam("tm", "fr_timer", 1500)' in cfg
    assert 'ds_select_dst("1", "0")' in cfg
    assert 'ds_is_from_list("1", "3")' in cfg
    assert "children=4\n" in cfg
    assert "alias=sip.example.com\n" in cfg and "alias=edge.example.com:5070\n" in cfg
    assert 'mpath="/opt/kamailio/modules"' in cfg


@pytest.mark.parametrize(
    ("listen", "nodes", "options", "path"),
    [
        ([], ["127.0.0.1:5070"], None, "/d"),
        (["127.0.0.1"], [], None, "/d"),
        (["127.0.0.1"], ["127.0.0.1:5070", "udp:127.0.0.1:5070"], None, "/d"),
        (["127.0.0.1:5070"], ["127.0.0.1:5070"], None, "/d"),
        (["127.0.0.1"], ["127.0.0.1:5070"], KamailioOptions(ping_interval=0), "/d"),
        (["127.0.0.1"], ["127.0.0.1:5070"], KamailioOptions(probing_threshold=0), "/d"),
        (["127.0.0.1"], ["127.0.0.1:5070"], KamailioOptions(fr_timer_ms=10), "/d"),
        (["127.0.0.1"], ["127.0.0.1:5070"], KamailioOptions(children=0), "/d"),
        (["127.0.0.1"], ["127.0.0.1:5070"], KamailioOptions(aliases=("a b",)), "/d"),
        (["127.0.0.1"], ["127.0.0.1:5070"], KamailioOptions(module_path='/x"'), "/d"),
        (["127.0.0.1"], ["127.0.0.1:5070"], None, '/d"\nloadmodule "x'),
    ],
)
def test_bad_input_is_refused(
    listen: list[str], nodes: list[str], options: KamailioOptions | None, path: str
) -> None:
    with pytest.raises(ValueError):
        kamailio_config(listen, nodes, dispatcher_list_path=path, options=options)


def test_node_pjsip_conf_is_a_valid_pjsip_conf() -> None:
    text = node_pjsip_conf("127.0.0.1:5060")
    conf = PjsipSettings.from_sections(parse_text(text, "pjsip.conf"))
    endpoint = conf.endpoints["kamailio"]
    assert endpoint.context == "from-kamailio"
    assert endpoint.outbound_proxy == "sip:127.0.0.1:5060;lr"
    assert endpoint.aors == ("kamailio",)
    assert conf.aors["kamailio"].contacts == ("sip:127.0.0.1:5060",)
    found = conf.identify("127.0.0.1")
    assert found is not None and found.name == "kamailio"
    assert conf.identify("127.0.0.2") is None
    with pytest.raises(ValueError):
        node_pjsip_conf("127.0.0.1", context="bad context")


def test_wildcard_listen() -> None:
    cfg = kamailio_config(["0.0.0.0:5060"], ["10.0.0.2"], dispatcher_list_path="/d").cfg
    assert "listen=udp:0.0.0.0:5060\n" in cfg
    assert '"ds_ping_from", "sip:kamailio@localhost"' in cfg
    options = KamailioOptions(aliases=("pbx.example.com",))
    cfg = kamailio_config(["0.0.0.0"], ["10.0.0.2"], dispatcher_list_path="/d", options=options).cfg
    assert '"ds_ping_from", "sip:kamailio@pbx.example.com"' in cfg
    with pytest.raises(ValueError, match="wildcard"):
        node_pjsip_conf("0.0.0.0:5060")


def test_command_runs_in_the_foreground_with_small_memory() -> None:
    cmd = kamailio_command("/e/kamailio.cfg", "/e/run", binary="kamailio")
    assert cmd == ["kamailio", "-f", "/e/kamailio.cfg", "-DD", "-E", "-Y", "/e/run",
                   "-m", "64", "-M", "8"]  # fmt: skip
    assert "-c" in kamailio_command("/e/k.cfg", "/e/run", check_only=True)


def test_cli_writes_the_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "edge"
    code = main(["cluster", "kamailio-config", "--listen", "127.0.0.1:5060",
                 "--node", "n1=127.0.0.1:5070", "--node", "127.0.0.1:5080",
                 "--out", str(out), "--pjsip", "--probing-threshold", "3"])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    cfg = (out / "kamailio.cfg").read_text()
    assert f'"list_file", "{out / "dispatcher.list"}"' in cfg
    assert 'modparam("dispatcher", "ds_probing_threshold", 3)' in cfg
    assert "duid=n1" in (out / "dispatcher.list").read_text()
    assert (out / "run").is_dir()
    assert f"-f {out / 'kamailio.cfg'} -DD -E -Y {out / 'run'} -m 64 -M 8" in printed
    assert "outbound_proxy = sip:127.0.0.1:5060\\;lr" in printed


def test_cli_wildcard_listen_needs_the_address_nodes_reach(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["cluster", "kamailio-config", "--listen", "0.0.0.0:5060", "--node", "10.0.0.2",
            "--pjsip", "--out", str(tmp_path)]  # fmt: skip
    assert main(args) == 2
    assert "wildcard" in capsys.readouterr().err
    assert main([*args, "--nodes-reach", "10.0.0.1:5060"]) == 0
    printed = capsys.readouterr().out
    assert "match = 10.0.0.1" in printed and "point the phones at 10.0.0.1:5060" in printed


def test_cli_refuses_bad_addresses(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["cluster", "kamailio-config", "--listen", "127.0.0.1:5060",
                 "--node", "127.0.0.1:99999", "--out", str(tmp_path / "x")])  # fmt: skip
    assert code == 2
    assert "port" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
    assert main(["cluster"]) == 2


# ------------------------------------------------------------------ Kamailio itself


def _run_check(cfg: Path, run_dir: Path) -> tuple[int, str]:
    import subprocess

    assert KAMAILIO is not None
    run_dir.mkdir(exist_ok=True)
    proc = subprocess.run(
        kamailio_command(cfg, run_dir, binary=KAMAILIO, check_only=True),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return proc.returncode, proc.stdout + proc.stderr


@pytest.mark.slow
@needs_kamailio
@pytest.mark.parametrize(
    ("listen", "nodes", "options"),
    [
        (["127.0.0.1:5060"], ["n1=127.0.0.1:5070", "n2=127.0.0.1:5080"], KamailioOptions()),
        (
            ["udp:127.0.0.1:5060", "tcp:127.0.0.1:5060"],
            ["tcp:127.0.0.1:5070"],
            KamailioOptions(algorithm="call-id", match_node_port=False, aliases=("edge.test",)),
        ),
        (["0.0.0.0:5060"], ["10.0.0.2", "10.0.0.3"], KamailioOptions(aliases=("pbx.test",))),
    ],
)
def test_kamailio_accepts_the_config(
    tmp_path: Path, listen: list[str], nodes: list[str], options: KamailioOptions
) -> None:
    files = write_kamailio_config(tmp_path, listen, nodes, options=options)
    code, out = _run_check(files.cfg, tmp_path / "run")
    assert code == 0, out
    assert "config file ok" in out
    # and the check does fail on a broken file (so the line above means something)
    files.cfg.write_text(files.cfg.read_text() + "\nroute[BROKEN] { no_such_function(); }\n")
    code, out = _run_check(files.cfg, tmp_path / "run")
    assert code != 0


# ------------------------------------------------------------------ real runs


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Udp(asyncio.DatagramProtocol):
    """A UDP socket on loopback that keeps what it receives."""

    def __init__(self) -> None:
        self.got: asyncio.Queue[bytes] = asyncio.Queue()
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.got.put_nowait(data)

    @classmethod
    async def open(cls) -> Udp:
        loop = asyncio.get_running_loop()
        _t, proto = await loop.create_datagram_endpoint(cls, local_addr=("127.0.0.1", 0))
        return proto

    @property
    def port(self) -> int:
        assert self.transport is not None
        return int(self.transport.get_extra_info("sockname")[1])

    async def ask(self, text: str, port: int, timeout: float = 1.0) -> str:
        """Send ``text`` to 127.0.0.1:``port`` and return the first final response."""
        assert self.transport is not None
        self.transport.sendto(text.replace("\n", "\r\n").encode(), ("127.0.0.1", port))
        async with asyncio.timeout(timeout):
            while True:
                answer = (await self.got.get()).decode(errors="replace")
                if not answer.startswith("SIP/2.0 1"):
                    return answer

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


def _request(method: str, ruri: str, port: int, extra: str = "", cseq: int = 1) -> str:
    tag = os.urandom(4).hex()
    return (
        f"{method} {ruri} SIP/2.0\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{port};rport;branch=z9hG4bK{os.urandom(6).hex()}\n"
        f"From: <sip:test@127.0.0.1>;tag={tag}\n"
        f"To: <{ruri}>\n"
        f"Call-ID: {os.urandom(8).hex()}@test\n"
        f"CSeq: {cseq} {method}\n"
        "Max-Forwards: 70\n"
        f"{extra}"
        "Content-Length: 0\n\n"
    )


class Kamailio:
    """Kamailio started from the generated configuration, its log in a file."""

    def __init__(
        self, root: Path, port: int, nodes: list[str], options: KamailioOptions | None = None
    ) -> None:
        self.root = root
        self.port = port
        self.files = write_kamailio_config(root, [f"127.0.0.1:{port}"], nodes, options=options)
        self.run_dir = root / "run"
        self.run_dir.mkdir(exist_ok=True)
        self.log = root / "kamailio.log"
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        assert KAMAILIO is not None
        with self.log.open("wb") as log:
            self.proc = await asyncio.create_subprocess_exec(
                *kamailio_command(self.files.cfg, self.run_dir, binary=KAMAILIO),
                stdout=log,
                stderr=log,
                start_new_session=True,  # its children in a group of their own
            )
        udp = await Udp.open()
        try:
            for _ in range(100):  # up when it answers OPTIONS itself
                with contextlib.suppress(TimeoutError):
                    probe = _request("OPTIONS", f"sip:127.0.0.1:{self.port}", udp.port)
                    if (await udp.ask(probe, self.port, 0.2)).startswith("SIP/2.0 200"):
                        return
                if self.proc.returncode is not None:
                    break
            raise AssertionError(f"kamailio did not start:\n{self.text()}")
        finally:
            udp.close()

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    async def stop(self) -> None:
        proc = self.proc
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()


FROM_KAMAILIO = """
[from-kamailio]
exten => 1000,1,Answer()
 same => n,Wait(20)
 same => n,Hangup()
exten => 2000,1,Ringing()
 same => n,Wait(20)
 same => n,Answer()
"""


def node_conf(root: Path, name: str, kamailio_port: int) -> Path:
    """A node's configuration folder: the defaults, the `kamailio` endpoint of
    :func:`node_pjsip_conf`, and a [from-kamailio] context: 1000 answers and waits, 2000
    rings."""
    conf = root / name / "conf"
    conf.mkdir(parents=True)
    for item in embedded_names():
        text = embedded_text(item)
        if text is not None:
            (conf / item).write_text(text)
    with (conf / "pjsip.conf").open("a") as f:
        f.write(node_pjsip_conf(f"127.0.0.1:{kamailio_port}"))
    with (conf / "extensions.conf").open("a") as f:
        f.write(FROM_KAMAILIO)
    return conf


async def run_sipp(*args: str, timeout: float = 60.0) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        "sipp", *args, "-nostdin", "-timeout", f"{int(timeout)}s",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout + 10)
    except TimeoutError:
        proc.kill()
        out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode(errors="replace")


def sipp_calls(kamailio: Kamailio, tmp_path: Path, calls: int) -> list[str]:
    return [
        f"127.0.0.1:{kamailio.port}", "-sf", str(SCENARIOS / "uac_kamailio.xml"),
        "-s", "1000", "-i", "127.0.0.1", "-p", str(free_udp_port()),
        "-m", str(calls), "-r", "10", "-l", "10", "-mp", str(free_udp_port()),
        "-trace_err", "-error_file", str(tmp_path / f"sipp-err-{os.urandom(3).hex()}.log"),
    ]  # fmt: skip


@contextlib.asynccontextmanager
async def running_edge(
    root: Path,
    nodes: int = 2,
    *,
    dead: Sequence[int] = (),
    options: KamailioOptions | None = None,
) -> AsyncIterator[tuple[Kamailio, list[Server]]]:
    """Kamailio on a free port in front of ``nodes`` started pyari nodes (n1, n2...) and,
    first in its dispatcher list, loopback ports ``dead`` where nothing answers (yet)."""
    port = free_udp_port()
    servers: list[Server] = []
    kamailio: Kamailio | None = None
    try:
        for i in range(1, nodes + 1):
            node = make_node(node_conf(root, f"n{i}", port))
            servers.append(node)
            await node.start()
        addresses = [f"dead{i}=127.0.0.1:{p}" for i, p in enumerate(dead, 1)]
        addresses += [f"n{i}=127.0.0.1:{s.pjsip.address()[1]}" for i, s in enumerate(servers, 1)]
        kamailio = Kamailio(root / "kamailio", port, addresses, options)
        await kamailio.start()
        yield kamailio, servers
    finally:
        if kamailio is not None:
            await kamailio.stop()
        for node in reversed(servers):
            with contextlib.suppress(Exception):
                await node.stop()


@pytest.fixture
async def edge(tmp_path: Path) -> AsyncIterator[tuple[Kamailio, list[Server]]]:
    """Kamailio on a free port in front of two started pyari nodes."""
    async with running_edge(tmp_path) as found:
        yield found


async def wait_until(predicate: Any, timeout: float, what: str) -> float:
    """Poll ``predicate`` until true; the seconds it took (AssertionError after ``timeout``)."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    while not predicate():
        if loop.time() - start > timeout:
            raise AssertionError(f"not in {timeout} s: {what}")
        await asyncio.sleep(0.05)
    return loop.time() - start


@pytest.mark.slow
@needs_kamailio
@needs_sipp
async def test_calls_are_spread_and_a_stopped_node_leaves_the_set(
    edge: tuple[Kamailio, list[Server]], tmp_path: Path
) -> None:
    kamailio, (n1, n2) = edge
    code, out = await run_sipp(*sipp_calls(kamailio, tmp_path, 20))
    assert code == 0, out + kamailio.text()
    await wait_until(lambda: n1.core.calls_processed + n2.core.calls_processed == 20, 10,
                     "every call ended on a node")  # fmt: skip
    first = (n1.core.calls_processed, n2.core.calls_processed)
    assert min(first) >= 5, first  # round robin: both nodes took their share

    n2_port = n2.pjsip.address()[1]
    await n2.stop()
    # OPTIONS probing (every second, 2 misses of 2 s each) takes it out of the set
    down = f"node sip:127.0.0.1:{n2_port} is down"
    took = await wait_until(lambda: down in kamailio.text(), 15, "kamailio saw the node go down")
    assert took < 8, took
    seen = len(kamailio.text())
    code, out = await run_sipp(*sipp_calls(kamailio, tmp_path, 10))
    assert code == 0, out + kamailio.text()
    await wait_until(lambda: n1.core.calls_processed == first[0] + 10, 10, "n1 took them all")
    # straight to n1: no call was sent to n2 and had to wait for a failover
    assert "sent again" not in kamailio.text()[seen:]


@pytest.mark.slow
@needs_kamailio
@needs_sipp
async def test_a_call_a_dead_node_does_not_answer_goes_to_the_next(tmp_path: Path) -> None:
    """Before probing notices (probes every 60 s here), a node that does not answer the
    INVITE costs the call fr_timer, then the call goes to the next node and succeeds."""
    slow_probes = KamailioOptions(ping_interval=60)
    edge = running_edge(tmp_path, 1, dead=[free_udp_port()], options=slow_probes)
    async with edge as (kamailio, (n1,)):
        code, out = await run_sipp(*sipp_calls(kamailio, tmp_path, 6))
        assert code == 0, out + kamailio.text()
        await wait_until(lambda: n1.core.calls_processed == 6, 10, "n1 took them all")
        text = kamailio.text()
        assert "did not answer INVITE" in text and "marked inactive" in text
        assert "sent again, to node sip:127.0.0.1:" in text


@pytest.mark.slow
@needs_kamailio
@needs_sipp
async def test_sipps_stock_uac_that_ignores_record_route_works_too(
    edge: tuple[Kamailio, list[Server]], tmp_path: Path
) -> None:
    """``sipp -sn uac`` sends its ACK and BYE to Kamailio's own URI without Route
    headers: Kamailio sends them to the node the call went to (remembered by Call-ID)."""
    kamailio, (n1, n2) = edge
    code, out = await run_sipp(
        f"127.0.0.1:{kamailio.port}", "-sn", "uac", "-s", "1000", "-i", "127.0.0.1",
        "-p", str(free_udp_port()), "-m", "6", "-r", "10", "-mp", str(free_udp_port()),
    )  # fmt: skip
    assert code == 0, out + kamailio.text()
    await wait_until(lambda: n1.core.calls_processed + n2.core.calls_processed == 6, 10,
                     "every call ended by its BYE")  # fmt: skip
    assert n1.core.calls_processed and n2.core.calls_processed
    assert not n1.core.channels and not n2.core.channels
    assert "Not here" not in kamailio.text()


@pytest.mark.slow
@needs_kamailio
@needs_sipp
async def test_a_cancel_reaches_the_ringing_node(
    edge: tuple[Kamailio, list[Server]], tmp_path: Path
) -> None:
    kamailio, (n1, n2) = edge
    code, out = await run_sipp(
        f"127.0.0.1:{kamailio.port}", "-sf", str(SCENARIOS / "uac_cancel_kamailio.xml"),
        "-s", "2000", "-i", "127.0.0.1", "-p", str(free_udp_port()), "-m", "4", "-r", "10",
        "-mp", str(free_udp_port()), "-trace_err", "-error_file", str(tmp_path / "err.log"),
        "-trace_msg", "-message_file", str(tmp_path / "msg.log"),
    )  # fmt: skip
    assert code == 0, (
        out + kamailio.text() + _read(tmp_path / "err.log") + _read(tmp_path / "msg.log")
    )
    # the nodes' ringing channels ended with the CANCEL, long before their Wait(20)
    await wait_until(lambda: n1.core.calls_processed + n2.core.calls_processed == 4, 5,
                     "every cancelled call ended on its node")  # fmt: skip
    assert n1.core.calls_processed and n2.core.calls_processed


def _read(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


class FakeNode(asyncio.DatagramProtocol):
    """A node in trouble on a loopback port: OPTIONS get 200, INVITEs ``status``."""

    def __init__(self, status: int) -> None:
        self.status = status
        self.seen: list[str] = []
        self.transport: asyncio.DatagramTransport | None = None

    @classmethod
    async def open(cls, port: int, status: int) -> FakeNode:
        loop = asyncio.get_running_loop()
        _t, proto = await loop.create_datagram_endpoint(
            lambda: cls(status), local_addr=("127.0.0.1", port)
        )
        return proto

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: Any) -> None:
        head = data.decode(errors="replace").partition("\r\n\r\n")[0]
        first, *lines = head.split("\r\n")
        method = first.split(" ", 1)[0]
        if first.startswith("SIP/2.0") or method == "ACK" or self.transport is None:
            return
        self.seen.append(method)
        status = 200 if method == "OPTIONS" else self.status
        copied = ("via", "v", "from", "f", "call-id", "i", "cseq")
        keep = [line for line in lines if line.split(":", 1)[0].strip().lower() in copied]
        to = next(line for line in lines if line.split(":", 1)[0].strip().lower() in ("to", "t"))
        if ";tag=" not in to:
            to += ";tag=fake"
        reply = [f"SIP/2.0 {status} {'OK' if status == 200 else 'Trouble'}", *keep, to]
        self.transport.sendto(("\r\n".join([*reply, "Content-Length: 0", "", ""])).encode(), addr)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


@pytest.mark.slow
@needs_kamailio
@needs_sipp
async def test_a_node_that_answers_again_rejoins_and_a_5xx_fails_over(tmp_path: Path) -> None:
    port = free_udp_port()
    async with running_edge(tmp_path, 1, dead=[port]) as (kamailio, (n1,)):
        node = f"node sip:127.0.0.1:{port}"
        await wait_until(lambda: f"{node} is down" in kamailio.text(), 15, "probes failed")
        fake = await FakeNode.open(port, 503)
        try:
            took = await wait_until(lambda: f"{node} is up" in kamailio.text(), 10, "rejoined")
            assert took < 5, took  # one answered probe
            code, out = await run_sipp(*sipp_calls(kamailio, tmp_path, 6))
            assert code == 0, out + kamailio.text()
            await wait_until(lambda: n1.core.calls_processed == 6, 10, "n1 took every call")
            assert "INVITE" in fake.seen  # it was chosen again, answered 503, and
            assert f"{node} answered 503 to INVITE" in kamailio.text()
            assert "sent again, to node sip:127.0.0.1:" in kamailio.text()  # the call moved
        finally:
            fake.close()


REGISTER_CONTACT = "Contact: <sip:alice@127.0.0.1:{port}>\nExpires: 300\n"


@pytest.mark.slow
@needs_kamailio
@needs_sipp
@pytest.mark.parametrize(
    "endpoint", ["PJSIP/alice@kamailio", "PJSIP/kamailio/sip:alice@pyari.invalid"]
)
async def test_a_node_calls_a_phone_registered_at_kamailio(
    edge: tuple[Kamailio, list[Server]], tmp_path: Path, endpoint: str
) -> None:
    kamailio, (n1, _n2) = edge
    uas_port = free_udp_port()
    udp = await Udp.open()
    try:
        # alice's phone registers (SIPp as UAS cannot: this REGISTER names its port)
        register = _request(
            "REGISTER", f"sip:127.0.0.1:{kamailio.port}", udp.port,
            REGISTER_CONTACT.format(port=uas_port),
        )  # fmt: skip
        register = register.replace("sip:test@", "sip:alice@").replace(
            f"To: <sip:127.0.0.1:{kamailio.port}>", f"To: <sip:alice@127.0.0.1:{kamailio.port}>"
        )
        answer = await udp.ask(register, kamailio.port, 3)
        assert answer.startswith("SIP/2.0 200"), answer
        assert f"sip:alice@127.0.0.1:{uas_port}" in answer
    finally:
        udp.close()
    msg_log = tmp_path / "uas-msg.log"
    sipp = await asyncio.create_subprocess_exec(
        "sipp", "-sn", "uas", "-i", "127.0.0.1", "-p", str(uas_port), "-m", "1",
        "-mp", str(free_udp_port()), "-nostdin", "-timeout", "30s",
        "-trace_msg", "-message_file", str(msg_log),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        # (Kamailio gives an unanswered INVITE fr_timer, 2 s: alice's phone must be
        # listening before it is called, however slowly SIPp starts on a busy machine)
        await wait_until(lambda: udp_port_taken(uas_port), 10, "SIPp listening as alice")
        base = f"http://127.0.0.1:{n1.http_port}"
        auth = {"Authorization": aiohttp.encode_basic_auth(USER, PASSWORD)}
        async with (
            aiohttp.ClientSession(base_url=base, headers=auth) as http,
            http.ws_connect("/ari/events?app=out") as ws,
        ):
            r = await http.post("/ari/channels", params={"endpoint": endpoint, "app": "out"})
            assert r.status == 200, await r.text()
            chan_id = (await r.json())["id"]
            start = await _next(ws, "StasisStart")
            assert start["channel"]["id"] == chan_id
            assert start["channel"]["state"] == "Up"
            r = await http.delete(f"/ari/channels/{chan_id}")
            assert r.status == 204
            await _next(ws, "StasisEnd")
        out, _ = await asyncio.wait_for(sipp.communicate(), 20)
        assert sipp.returncode == 0, out.decode(errors="replace") + kamailio.text()
        log = msg_log.read_text(errors="replace")
        invite = log.split("INVITE sip:", 1)[1].split("\n\n", 1)[0]
        # it came through Kamailio (its Via on top, its Record-Route), to alice
        assert f"SIP/2.0/UDP 127.0.0.1:{kamailio.port};branch=" in invite
        assert f"Record-Route: <sip:127.0.0.1:{kamailio.port};lr" in invite
        assert invite.startswith(f"alice@127.0.0.1:{uas_port}")
        assert "BYE sip:" in log
    finally:
        if sipp.returncode is None:
            sipp.kill()
            await sipp.wait()


async def _next(ws: aiohttp.ClientWebSocketResponse, kind: str) -> dict[str, Any]:
    async def read() -> dict[str, Any]:
        while True:
            msg = await ws.receive_json()
            if msg["type"] == kind:
                return msg  # type: ignore[no-any-return]

    return await asyncio.wait_for(read(), 15)


@pytest.mark.slow
@needs_kamailio
async def test_a_node_calling_an_unregistered_user_gets_404(
    edge: tuple[Kamailio, list[Server]],
) -> None:
    kamailio, (n1, _n2) = edge
    base = f"http://127.0.0.1:{n1.http_port}"
    auth = {"Authorization": aiohttp.encode_basic_auth(USER, PASSWORD)}
    async with (
        aiohttp.ClientSession(base_url=base, headers=auth) as http,
        http.ws_connect("/ari/events?app=out") as ws,
    ):
        r = await http.post(
            "/ari/channels", params={"endpoint": "PJSIP/bob@kamailio", "app": "out"}
        )
        assert r.status == 200, await r.text()
        destroyed = await _next(ws, "ChannelDestroyed")
        assert destroyed["cause"] == 1, destroyed  # 404 → unallocated number
    assert "$rU" not in kamailio.text()
    assert "to bob" in kamailio.text() and "not registered" in kamailio.text()
