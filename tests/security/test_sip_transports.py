"""SIP transports under abuse (issue #11, items 3 and 9).

* TCP connections are bounded (decision 0017): a request sent in part is cut after the
  message timeout, a silent connection after the idle timeout unless a registration
  uses it, connections over the per-transport or per-address cap are closed at once,
  and calls and registrations go on meanwhile. The limits are set short in pjsip.conf.
* A ``udp`` and a ``tcp`` transport on the same host and port both bind (REGISTER works
  over each); a transport that cannot bind stops the start with one error line.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from conftest import auth_headers, make_server, wait_for
from pyari.config.loader import load_config
from pyari.server import Server
from pyari.sip.message import make_response
from pyari.sip.transport import SipEndpoint
from sip.sip_phone_helpers import Events, Phone, StreamPhone
from sip.test_sip_tcp_out import answer_invite, config_dir, register

PYARI = str(Path(sys.executable).parent / "pyari")


def tcp_transport(**options: object) -> str:
    lines = "".join(f"{key} = {value}\n" for key, value in options.items())
    return f"\n[transport-tcp]\ntype = transport\nprotocol = tcp\nbind = 127.0.0.1:5060\n{lines}"


async def start(tmp_path: Path, **options: object) -> Server:
    srv = make_server(config_dir(tmp_path, tcp_transport(**options)))
    await srv.start(control_socket=False)
    return srv


def tcp_endpoint(server: Server) -> SipEndpoint:
    assert server.pjsip.service is not None
    return server.pjsip.service.transports["transport-tcp"]


async def closed_by_server(reader: asyncio.StreamReader, timeout: float = 5.0) -> None:
    """Read until the server closes the connection (EOF or a reset)."""
    try:
        async with asyncio.timeout(timeout):
            while await reader.read(65536):
                pass
    except (ConnectionError, ssl.SSLError):
        pass


def options_request(port: int, call_id: str) -> bytes:
    return (
        f"OPTIONS sip:1000@127.0.0.1 SIP/2.0\r\n"
        f"Via: SIP/2.0/TCP 127.0.0.1:{port};branch=z9hG4bK{call_id}\r\n"
        f"From: <sip:probe@127.0.0.1>;tag=t{call_id}\r\nTo: <sip:1000@127.0.0.1>\r\n"
        f"Call-ID: {call_id}@test\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()


async def connect(server: Server) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection(*server.pjsip.address("transport-tcp"))


# ----------------------------------------------------------------- timeouts


async def test_a_half_sent_request_is_cut_after_the_message_timeout(tmp_path: Path) -> None:
    srv = await start(tmp_path, tcp_message_timeout=0.3, tcp_idle_timeout=0)
    try:
        ep = tcp_endpoint(srv)
        loop = asyncio.get_running_loop()
        # a first request that never ends, on a new connection
        began = loop.time()
        reader, writer = await connect(srv)
        writer.write(options_request(writer.get_extra_info("sockname")[1], "half1")[:60])
        await closed_by_server(reader)
        assert loop.time() - began >= 0.3
        # a whole request answered, then a second one sent in part: cut as well
        reader, writer = await connect(srv)
        port = writer.get_extra_info("sockname")[1]
        writer.write(options_request(port, "whole"))
        assert b"SIP/2.0 200 OK" in await asyncio.wait_for(reader.read(65536), 5)
        began = loop.time()
        writer.write(options_request(port, "half2")[:80])
        await closed_by_server(reader)
        assert loop.time() - began >= 0.3
        await wait_for(lambda: ep.timed_out == 2 and not ep.conns)
    finally:
        await srv.stop()


async def test_a_trickled_request_does_not_outlive_the_message_timeout(tmp_path: Path) -> None:
    """A byte now and then does not reset the clock of the message being received."""
    srv = await start(tmp_path, tcp_message_timeout=0.5, tcp_idle_timeout=0)
    try:
        loop = asyncio.get_running_loop()
        began = loop.time()  # before the accept: a new connection's clock starts there
        reader, writer = await connect(srv)
        data = options_request(writer.get_extra_info("sockname")[1], "trickle")
        sent = 0
        while not reader.at_eof() and sent < len(data) - 1 and loop.time() - began < 5:
            writer.write(data[sent : sent + 1])
            sent += 1
            with contextlib.suppress(TimeoutError, ConnectionError):
                await asyncio.wait_for(reader.read(65536), 0.05)
        assert reader.at_eof() or writer.is_closing()
        assert sent < len(data) - 1
        assert 0.5 <= loop.time() - began < 5
    finally:
        await srv.stop()


async def test_a_silent_connection_is_closed_after_the_idle_timeout(tmp_path: Path) -> None:
    srv = await start(tmp_path, tcp_idle_timeout=0.3, tcp_message_timeout=0)
    try:
        reader, writer = await connect(srv)
        writer.write(options_request(writer.get_extra_info("sockname")[1], "idle"))
        assert b"SIP/2.0 200 OK" in await asyncio.wait_for(reader.read(65536), 5)
        loop = asyncio.get_running_loop()
        answered = loop.time()
        await closed_by_server(reader)
        assert loop.time() - answered >= 0.25
        assert tcp_endpoint(srv).timed_out == 1
    finally:
        await srv.stop()


async def test_a_connection_with_a_registration_is_not_idle(tmp_path: Path) -> None:
    """The phone's connection is the only path to it: quiet, it stays while the
    registration lasts; a connection opened with it that carries nothing is closed."""
    srv = await start(tmp_path, tcp_idle_timeout=0.2, tcp_message_timeout=0)
    phone = StreamPhone("TCP")
    try:
        ep = tcp_endpoint(srv)
        await phone.open(srv.pjsip.address("transport-tcp"))
        assert (await register(phone)).status == 200
        reader, _writer = await connect(srv)
        registered = srv.pjsip.now()
        await closed_by_server(reader)
        conn = ep.conns[tuple(phone.address)]  # type: ignore[index]
        # the idle clock of the phone's connection ran out and was started again
        await wait_for(lambda: conn.last > registered + 0.2)
        await wait_for(lambda: conn.last > registered + 0.4)
        assert ep.timed_out == 1
        req = phone.request("OPTIONS", "1000")
        phone.send(req)
        assert (await phone.response(req)).status == 200
    finally:
        await phone.close()
        await srv.stop()


# ----------------------------------------------------------------- caps


@pytest.fixture
async def http_for() -> AsyncIterator[dict[str, aiohttp.ClientSession]]:
    sessions: dict[str, aiohttp.ClientSession] = {}
    yield sessions
    for session in sessions.values():
        await session.close()


def session(server: Server, sessions: dict[str, aiohttp.ClientSession]) -> aiohttp.ClientSession:
    base = f"http://127.0.0.1:{server.http_port}"
    sessions[base] = aiohttp.ClientSession(base_url=base, headers=auth_headers())
    return sessions[base]


async def test_connections_over_the_cap_are_refused_while_a_call_goes_on(
    tmp_path: Path, http_for: dict[str, aiohttp.ClientSession]
) -> None:
    srv = await start(tmp_path, tcp_max_connections=4, tcp_max_connections_per_address=0,
                      tcp_message_timeout=0)  # fmt: skip
    http = session(srv, http_for)
    phone = StreamPhone("TCP")
    idle: list[asyncio.StreamWriter] = []
    try:
        ep = tcp_endpoint(srv)
        await phone.open(srv.pjsip.address("transport-tcp"))
        assert (await register(phone)).status == 200
        async with http.ws_connect("/ari/events?app=cap") as ws:
            events = Events(ws)
            r = await http.post("/ari/channels", params={"endpoint": "PJSIP/2222", "app": "cap"})
            assert r.status == 200
            chan_id = (await r.json())["id"]
            await answer_invite(phone, await phone.incoming("INVITE"))
            await events.wait("StasisStart")
            for _ in range(3):
                _reader, writer = await connect(srv)
                idle.append(writer)
            await wait_for(lambda: len(ep.streams) == 4)
            refused = []
            for _ in range(5):
                reader, writer = await connect(srv)
                refused.append(reader)
            for reader in refused:
                await closed_by_server(reader)
            assert ep.refused == 5
            assert len(ep.streams) == 4
            # the call is still there and ends normally on the phone's connection
            r = await http.get(f"/ari/channels/{chan_id}")
            assert r.status == 200 and (await r.json())["state"] == "Up"
            r = await http.delete(f"/ari/channels/{chan_id}")
            assert r.status == 204
            bye = await phone.incoming("BYE")
            phone.send(make_response(bye, 200))
            await events.wait("StasisEnd")
            events.task.cancel()
        # a freed place is taken again
        idle.pop().close()
        await wait_for(lambda: len(ep.streams) == 3)
        reader, writer = await connect(srv)
        idle.append(writer)
        writer.write(options_request(writer.get_extra_info("sockname")[1], "again"))
        assert b"SIP/2.0 200 OK" in await asyncio.wait_for(reader.read(65536), 5)
    finally:
        for writer in idle:
            writer.close()
        await phone.close()
        await srv.stop()


async def test_the_per_address_cap(tmp_path: Path) -> None:
    srv = await start(tmp_path, tcp_max_connections=0, tcp_max_connections_per_address=3,
                      tcp_message_timeout=0)  # fmt: skip
    kept: list[asyncio.StreamWriter] = []
    try:
        ep = tcp_endpoint(srv)
        for _ in range(3):
            _reader, writer = await connect(srv)
            kept.append(writer)
        await wait_for(lambda: len(ep.streams) == 3)
        reader, _writer = await connect(srv)
        await closed_by_server(reader)
        assert ep.refused == 1
    finally:
        for writer in kept:
            writer.close()
        await srv.stop()


async def test_clients_get_in_while_idle_connections_are_open(
    tmp_path: Path, http_for: dict[str, aiohttp.ClientSession]
) -> None:
    """50 idle connections (under the default caps) do not stop a phone from registering
    and being called over TCP; a flood that fills the cap is reaped by the first-message
    timeout, and the phone gets in after it."""
    srv = await start(tmp_path, tcp_max_connections=60, tcp_message_timeout=1.0)
    http = session(srv, http_for)
    idle: list[asyncio.StreamWriter] = []
    phone = StreamPhone("TCP")
    try:
        ep = tcp_endpoint(srv)
        for _ in range(50):
            _reader, writer = await connect(srv)
            idle.append(writer)
        await wait_for(lambda: len(ep.streams) == 50)
        await phone.open(srv.pjsip.address("transport-tcp"))
        assert (await register(phone)).status == 200
        async with http.ws_connect("/ari/events?app=busy") as ws:
            events = Events(ws)
            r = await http.post("/ari/channels", params={"endpoint": "PJSIP/2222", "app": "busy"})
            assert r.status == 200
            chan_id = (await r.json())["id"]
            await answer_invite(phone, await phone.incoming("INVITE"))
            await events.wait("StasisStart")
            # the idle ones never sent a message: gone after the message timeout
            await wait_for(lambda: ep.timed_out >= 50)
            assert list(ep.streams) == [tuple(phone.address)]
            r = await http.delete(f"/ari/channels/{chan_id}")
            assert r.status == 204
            bye = await phone.incoming("BYE")
            phone.send(make_response(bye, 200))
            await events.wait("StasisEnd")
            events.task.cancel()
    finally:
        for writer in idle:
            writer.close()
        await phone.close()
        await srv.stop()


async def test_a_flood_at_the_cap_drains_and_lets_a_phone_in(tmp_path: Path) -> None:
    srv = await start(tmp_path, tcp_max_connections=20, tcp_max_connections_per_address=0,
                      tcp_message_timeout=0.4)  # fmt: skip
    flood: list[asyncio.StreamWriter] = []
    phone = StreamPhone("TCP")
    try:
        ep = tcp_endpoint(srv)
        for _ in range(20):
            _reader, writer = await connect(srv)
            flood.append(writer)
        await wait_for(lambda: len(ep.streams) == 20)
        reader, _writer = await connect(srv)
        await closed_by_server(reader)
        assert ep.refused == 1
        await wait_for(lambda: not ep.streams)
        await phone.open(srv.pjsip.address("transport-tcp"))
        assert (await register(phone)).status == 200
    finally:
        for writer in flood:
            writer.close()
        await phone.close()
        await srv.stop()


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")
async def test_tls_handshake_and_caps(tmp_path: Path) -> None:
    """TLS: a client that never starts its handshake is cut after the message timeout,
    one over the per-address cap is refused after its handshake, a phone registers."""
    from sip.test_sip_tls import client_context, tls_transport

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    limits = "tcp_message_timeout = 1.0\ntcp_max_connections_per_address = 2\n"
    srv = make_server(config_dir(tmp_path, tls_transport(cert, key) + limits))
    await srv.start(control_socket=False)
    phone = StreamPhone("TLS")
    try:
        ep = srv.pjsip.service.transports["transport-tls"]  # type: ignore[union-attr]
        address = srv.pjsip.address("transport-tls")
        loop = asyncio.get_running_loop()
        began = loop.time()
        reader, _writer = await asyncio.open_connection(*address)  # plain TCP: no handshake
        await closed_by_server(reader)
        assert loop.time() - began >= 1.0
        await phone.open(address, client_context())
        assert (await register(phone)).status == 200
        _r, second = await asyncio.open_connection(*address, ssl=client_context())
        await wait_for(lambda: len(ep.streams) == 2)
        third, _w = await asyncio.open_connection(*address, ssl=client_context())
        await closed_by_server(third)
        assert ep.refused == 1
        second.close()
    finally:
        await phone.close()
        await srv.stop()


def test_limits_are_read_from_pjsip_conf(tmp_path: Path) -> None:
    from pyari.config.errors import ConfigError
    from pyari.config.loader import load_one
    from pyari.config.pjsip import PjsipSettings

    folder = config_dir(tmp_path, tcp_transport(tcp_idle_timeout=45, tcp_message_timeout=2.5,
                                                tcp_max_connections=100,
                                                tcp_max_connections_per_address=0))  # fmt: skip
    conf = PjsipSettings.from_sections(load_one(folder, "pjsip.conf")).transports["transport-tcp"]
    assert (conf.tcp_idle_timeout, conf.tcp_message_timeout) == (45.0, 2.5)
    assert (conf.tcp_max_connections, conf.tcp_max_connections_per_address) == (100, 0)
    udp = PjsipSettings.from_sections(load_one(folder, "pjsip.conf")).transports["transport-udp"]
    assert (udp.tcp_idle_timeout, udp.tcp_message_timeout) == (600.0, 10.0)
    assert (udp.tcp_max_connections, udp.tcp_max_connections_per_address) == (512, 64)
    for bad in ("tcp_idle_timeout = -1", "tcp_message_timeout = soon",
                "tcp_max_connections = 1.5", "tcp_idle_timeout = nan"):  # fmt: skip
        pjsip = folder / "pjsip.conf"
        text = pjsip.read_text()
        key = bad.split(" =")[0]
        pjsip.write_text(re.sub(rf"(?m)^{key} = .*$", bad, text, count=1))
        with pytest.raises(ConfigError, match=key):
            PjsipSettings.from_sections(load_one(folder, "pjsip.conf"))
        pjsip.write_text(text)


# ----------------------------------------------------------------- one port, two transports


def free_port_for_both() -> int:
    """A loopback port free for TCP and UDP both."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
            t.bind(("127.0.0.1", 0))
            port = int(t.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                try:
                    u.bind(("127.0.0.1", port))
                except OSError:
                    continue
        return port
    raise RuntimeError("no port free for TCP and UDP")


def shared_port_config(tmp_path: Path, port: int) -> Path:
    """Asterisk's usual pair: ``transport-udp`` and ``transport-tcp`` on one address."""
    folder = config_dir(tmp_path, tcp_transport())
    pjsip = folder / "pjsip.conf"
    text = pjsip.read_text()
    assert text.count("bind = 127.0.0.1:5060") == 2
    pjsip.write_text(text.replace("bind = 127.0.0.1:5060", f"bind = 127.0.0.1:{port}"))
    return folder


def server_on_configured_ports(folder: Path) -> Server:
    srv = make_server(folder)
    srv.sip_port = None  # the ports of pjsip.conf, not free ones
    return srv


async def test_udp_and_tcp_transports_share_a_port(tmp_path: Path) -> None:
    port = free_port_for_both()
    srv = server_on_configured_ports(shared_port_config(tmp_path, port))
    await srv.start(control_socket=False)
    udp_phone = Phone()
    tcp_phone = StreamPhone("TCP")
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(lambda: udp_phone,
                                                       local_addr=("127.0.0.1", 0))  # fmt: skip
    try:
        assert srv.pjsip.address("transport-udp") == ("127.0.0.1", port)
        assert srv.pjsip.address("transport-tcp") == ("127.0.0.1", port)
        udp_phone.server = ("127.0.0.1", port)
        reply = await udp_phone.authorized(
            udp_phone.request("REGISTER", "2222", headers=[("Expires", "600")])
        )
        assert reply.status == 200
        assert [b.transport for b in srv.pjsip.ua.location.all()] == ["UDP"]
        await tcp_phone.open(("127.0.0.1", port))
        assert (await register(tcp_phone)).status == 200
        assert [b.transport for b in srv.pjsip.ua.location.all()] == ["TCP"]
    finally:
        transport.close()
        await tcp_phone.close()
        await srv.stop()


SIPP_REGISTER = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="pyari register with digest">
  <send retrans="500">
    <![CDATA[

      REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];rport;branch=[branch]
      From: <sip:2222@[remote_ip]>;tag=[pid]SIPpTag[call_number]
      To: <sip:2222@[remote_ip]>
      Call-ID: [call_id]
      CSeq: 1 REGISTER
      Contact: <sip:2222@[local_ip]:[local_port];transport=[transport]>
      Expires: 600
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="401" auth="true"/>
  <send retrans="500">
    <![CDATA[

      REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];rport;branch=[branch]
      From: <sip:2222@[remote_ip]>;tag=[pid]SIPpTag[call_number]
      To: <sip:2222@[remote_ip]>
      Call-ID: [call_id]
      CSeq: 2 REGISTER
      Contact: <sip:2222@[local_ip]:[local_port];transport=[transport]>
      [authentication username=2222 password=pyari-2222]
      Expires: 600
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200"/>
</scenario>
"""


async def sipp_register(tmp_path: Path, port: int, transport: str) -> tuple[int, str]:
    scenario = tmp_path / "register.xml"
    scenario.write_text(SIPP_REGISTER)
    proc = await asyncio.create_subprocess_exec(
        "sipp", f"127.0.0.1:{port}", "-sf", str(scenario), "-t", transport, "-i", "127.0.0.1",
        "-p", "0", "-m", "1", "-timeout", "15s", "-nostdin",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=tmp_path,
    )  # fmt: skip
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), 30)
    except TimeoutError:
        proc.kill()
        out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode(errors="replace")


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("sipp") is None, reason="sipp (sip-tester) not installed")
async def test_sipp_registers_over_udp_and_tcp_on_one_port(tmp_path: Path) -> None:
    port = free_port_for_both()
    srv = server_on_configured_ports(shared_port_config(tmp_path, port))
    await srv.start(control_socket=False)
    try:
        for transport, kind in (("u1", "UDP"), ("t1", "TCP")):
            code, out = await sipp_register(tmp_path, port, transport)
            assert code == 0, out
            [binding] = srv.pjsip.ua.location.all()
            assert binding.transport == kind
    finally:
        await srv.stop()


async def test_a_transport_that_cannot_bind_stops_the_start(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        folder = config_dir(tmp_path, tcp_transport())
        pjsip = folder / "pjsip.conf"
        pjsip.write_text(pjsip.read_text().replace("127.0.0.1:5060\n",
                                                   f"127.0.0.1:{port}\n"))  # fmt: skip
        srv = server_on_configured_ports(folder)
        # OSError, or the server's own start error carrying its text
        with pytest.raises(Exception, match=rf"^pjsip transport transport-tcp \(tcp\) could "
                                            rf"not bind 127\.0\.0\.1:{port}: address already "
                                            rf"in use$"):  # fmt: skip
            await srv.start(control_socket=False)
        await srv.stop()


@pytest.mark.slow
def test_pyari_serve_fails_with_one_line_when_a_transport_cannot_bind(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        folder = tmp_path / "etc"
        subprocess.run([PYARI, "samples", str(folder)], check=True, capture_output=True)
        http = folder / "http.conf"
        http.write_text(re.sub(r"(?m)^bindport=.*$", "bindport=0", http.read_text()))
        cfg = load_config(folder)
        assert cfg.http.bindport == 0
        pjsip = folder / "pjsip.conf"
        text = pjsip.read_text().replace("127.0.0.1:5060", f"127.0.0.1:{free_port_for_both()}")
        pjsip.write_text(text + tcp_transport().replace("5060", str(port)))
        env = {**os.environ, "PYARI_STATE_DIR": str(tmp_path / "state")}
        done = subprocess.run([PYARI, "-C", str(folder), "serve"], capture_output=True,
                              text=True, env=env, timeout=30)  # fmt: skip
    assert done.returncode == 1
    assert "ready" not in done.stdout
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("pyari: ")
    assert line.endswith(
        f"pjsip transport transport-tcp (tcp) could not bind 127.0.0.1:{port}: "
        "address already in use"
    )
