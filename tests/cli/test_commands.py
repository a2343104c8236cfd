"""CLI commands (``pyari -rx ...``) against an in-process server."""

from __future__ import annotations

import asyncio
import json
import re
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from conftest import PASSWORD, USER, auth_headers, make_server, wait_for
from pyari.cli.commands import COMMANDS, run_command
from pyari.config import write_samples
from pyari.core.channel import Channel
from pyari.core.events import Event
from pyari.server import Server


def chans(server: Server) -> list[Channel]:
    return sorted(server.core.channels.values(), key=lambda c: c.name)


async def originate_parked(server: Server) -> tuple[Channel, Channel]:
    """Local/s@default, both halves in Wait(30) of the default dialplan."""
    out = await run_command(server, "channel originate Local/s@default extension s@default")
    assert out == ""
    await wait_for(
        lambda: (
            len(server.core.channels) == 2
            and all(c.app_name == "Wait" for c in server.core.channels.values())
        )
    )
    one, two = chans(server)
    return one, two


@pytest.fixture
async def conf_server(tmp_path: Path) -> AsyncIterator[tuple[Server, Path]]:
    conf = tmp_path / "conf"
    write_samples(conf)
    srv = make_server(config_dir=conf)
    await srv.start()
    try:
        yield srv, conf
    finally:
        await srv.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- help, unknown commands ---------------------------------------------------------


async def test_unknown_command(server: Server) -> None:
    out = await run_command(server, "frobnicate the widget")
    assert out.startswith("No such command 'frobnicate the widget' (type 'core show help ")
    assert out.endswith(" for other possible commands)\n")
    assert await run_command(server, "   ") == ""


async def test_core_show_help(server: Server) -> None:
    out = await run_command(server, "core show help")
    lines = out.splitlines()
    assert len(lines) == len(COMMANDS)
    assert any(line.startswith("http show status") for line in lines)
    assert "-- Display HTTP server status" in out
    assert lines == sorted(lines)
    sub = await run_command(server, "core show help ari show")
    assert {line.split()[2] for line in sub.splitlines()} == {
        "status",
        "apps",
        "app",
        "users",
        "user",
        "outbound-websockets",
        "outbound-websocket",
        "websocket",
    }


async def test_commands_are_case_insensitive(server: Server) -> None:
    assert await run_command(server, "CORE SHOW VERSION") == await run_command(
        server, "core show version"
    )


# -- http and ari -------------------------------------------------------------------------


async def test_http_show_status(server: Server) -> None:
    out = await run_command(server, "http show status")
    assert out.startswith("HTTP Server Status:\nPrefix: \nServer: Asterisk\n")
    assert f"Server Enabled and Bound to 127.0.0.1:{server.http_port}\n" in out
    assert "/ari/... => Asterisk RESTful API\n" in out
    assert "Enabled Redirects:\n  None.\n" in out


async def test_ari_show_status(server: Server) -> None:
    assert await run_command(server, "ari show status") == (
        "ARI Status:\n"
        "Enabled: Yes\n"
        "Output format: pretty\n"
        "Auth realm: Asterisk REST Interface\n"
        "Allowed Origins: http://ari.asterisk.org\n"
    )


async def test_ari_show_apps_and_app(server: Server) -> None:
    empty = await run_command(server, "ari show apps")
    assert empty == "Application Name         \n=========================\n"
    events: list[Event] = []
    server.stasis.register("zeta", events.append)
    app = server.stasis.register("alpha", events.append)
    out = await run_command(server, "ari show apps")
    assert out.splitlines()[2:] == ["alpha", "zeta"]

    one, _ = await originate_parked(server)
    app.subscribe(one.topic.name)
    shown = await run_command(server, "ari show app alpha")
    assert shown == (
        "Name: alpha\n"
        "  Debug: No\n"
        "  Subscription Model: Application/Explicit Resource Subscription\n"
        "  Subscriptions: 1\n"
        "    Channels:\n"
        f"      {one.id} (1)\n"
        "    Bridges:\n"
        "    Endpoints:\n"
    )
    assert await run_command(server, "ari show app nope") == "Command 'ari show app nope' failed.\n"
    assert await run_command(server, "ari show app") == "Command 'ari show app' failed.\n"


async def test_ari_show_app_subscribe_all(server: Server) -> None:
    server.stasis.register("everything", lambda e: None, subscribe_all=True)
    out = await run_command(server, "ari show app everything")
    assert "Subscription Model: Global Resource Subscription" in out
    # The all-channels/all-bridges topics are not listed as subscriptions.
    assert "Subscriptions: 0" in out


async def test_ari_show_users_and_user(server: Server) -> None:
    assert await run_command(server, "ari show users") == (
        "r/o?  ACL?  Username\n----  ----  --------\nNo    No    testARI\n"
    )
    assert await run_command(server, "ari show user testARI") == (
        "Username: testARI\nRead only?: No\nACL?: No\n"
    )
    assert await run_command(server, "ari show user ghost") == "User 'ghost' not found\n"


# -- stasis -------------------------------------------------------------------------------


async def test_stasis_show_topics(server: Server) -> None:
    server.stasis.register("hello", lambda e: None)
    out = await run_command(server, "stasis show topics")
    names = [
        line.split()[0] for line in out.splitlines()[2:] if line.strip() and "Total" not in line
    ]
    assert names == sorted(names, key=str.lower)
    assert {"channel:all", "bridge:all", "ari:application/hello"} <= set(names)
    assert f"\n{len(server.core.bus.topics)} Total topics\n" in out


async def test_stasis_show_topic(server: Server) -> None:
    server.stasis.register("hello", lambda e: None)
    out = await run_command(server, "stasis show topic ari:application/hello")
    assert out.startswith(
        "Name: ari:application/hello\n"
        "Detail: Stasis app hello\n"
        "Subscribers count: 1\n"
        "Forwarding topic count: 0\n"
        "Duration time: 00:00:00\n"
    )
    topic = server.core.bus.get("ari:application/hello")
    assert topic is not None
    (sub,) = topic.subscribers
    assert out.endswith(
        "\nSubscribers:\n"
        f"  UniqueID: {sub.uniqueid}, Topic: ari:application/hello, Detail: Stasis app hello\n"
        "\nForwarded topics:\n"
    )
    assert sub.uniqueid.startswith("ari:application/hello-")
    one, two = await originate_parked(server)
    all_chans = await run_command(server, "stasis show topic channel:all")
    assert "Forwarding topic count: 2\n" in all_chans
    forwarded = all_chans.split("\nForwarded topics:\n")[1].splitlines()
    assert sorted(forwarded) == sorted(
        f"  Topic: {c.topic.name}, Detail: {c.topic.detail}" for c in (one, two)
    )
    missing = await run_command(server, "stasis show topic nope")
    assert missing == (
        "Specified topic 'nope' does not exist\nCommand 'stasis show topic nope' failed.\n"
    )


# -- core -----------------------------------------------------------------------------------


async def test_core_show_channels_all_modes(server: Server) -> None:
    empty = await run_command(server, "core show channels")
    assert empty.splitlines()[1:] == ["0 active channels", "0 active calls", "0 calls processed"]
    one, two = await originate_parked(server)

    normal = await run_command(server, "core show channels")
    lines = normal.splitlines()
    assert lines[0].split() == ["Channel", "Location", "State", "Application(Data)"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[1:3]}
    assert rows[one.name] == ["s@default:3", "Up", "Wait(30)"]
    assert rows[two.name] == ["s@default:3", "Up", "Wait(30)"]
    assert lines[3:] == ["2 active channels", "1 active call", "0 calls processed"]

    concise = await run_command(server, "core show channels concise")
    fields = {line.split("!")[0]: line.split("!") for line in concise.splitlines()}
    assert set(fields) == {one.name, two.name}
    f = fields[two.name]
    assert len(f) == 14
    assert f[1:7] == ["default", "s", "3", "Up", "Wait", "30"]
    assert f[10] == "3"
    assert f[13] == two.id

    verbose = await run_command(server, "core show channels verbose")
    vlines = verbose.splitlines()
    assert vlines[0].split()[:4] == ["Channel", "Context", "Extension", "Prio"]
    assert any(line.startswith(one.name) and " Wait " in line for line in vlines)
    assert vlines[-3:] == ["2 active channels", "1 active call", "0 calls processed"]

    count = await run_command(server, "core show channels count")
    assert count == "2 active channels\n1 active call\n0 calls processed\n"

    bad = await run_command(server, "core show channels sideways")
    assert bad == "Command 'core show channels sideways' failed.\n"

    await run_command(server, "channel request hangup all")
    await wait_for(lambda: not server.core.channels)
    after = await run_command(server, "core show channels count")
    assert after == "0 active channels\n0 active calls\n2 calls processed\n"


async def test_core_show_channels_duration(server: Server) -> None:
    one, _ = await originate_parked(server)
    concise = await run_command(server, "core show channels concise")
    durations = [line.split("!")[11] for line in concise.splitlines()]
    assert all(d.isdigit() for d in durations)
    verbose = await run_command(server, "core show channels verbose")
    row = next(line for line in verbose.splitlines() if line.startswith(one.name))
    assert re.search(r" 00:00:\d\d ", row)


async def test_core_show_version(server: Server) -> None:
    out = await run_command(server, "core show version")
    assert re.fullmatch(r"pyari \S+ built by \S+ @ \S+ on a \S+ running \S+ on .+\n", out)


async def test_core_show_uptime(server: Server) -> None:
    out = await run_command(server, "core show uptime")
    assert re.fullmatch(r"System uptime: \d+ seconds?\nLast reload: \d+ seconds?\n", out)
    secs = await run_command(server, "core show uptime seconds")
    assert re.fullmatch(r"System uptime: \d+\nLast reload: \d+\n", secs)


async def test_core_show_channeltypes(server: Server) -> None:
    out = await run_command(server, "core show channeltypes")
    lines = out.splitlines()
    assert lines[0].split() == [
        "Type",
        "Description",
        "Devicestate",
        "Presencestate",
        "Indications",
        "Transfer",
    ]
    local = next(line for line in lines if line.startswith("Local "))
    assert "Local Proxy Channel Driver" in local
    assert local.split()[-4:] == ["yes", "no", "yes", "no"]
    assert any(line.startswith("Sim ") for line in lines)
    assert lines[-1] == f"{len(server.core.techs)} channel drivers registered."


# -- channels ------------------------------------------------------------------------------


async def test_channel_originate_application(server: Server) -> None:
    out = await run_command(server, "channel originate Local/s@default application Wait 30")
    assert out == ""
    await wait_for(lambda: len(server.core.channels) == 2)
    one, two = chans(server)
    assert one.name.endswith(";1") and two.name.endswith(";2")
    await wait_for(lambda: one.app_name == "Wait" and one.app_data == "30")
    # ;1 runs the application, ;2 the dialplan at s@default.
    await wait_for(lambda: two.app_name == "Wait" and two.priority == 3)
    assert one.up and two.up


async def test_channel_originate_extension(server: Server) -> None:
    one, _two = await originate_parked(server)
    assert (one.context, one.exten) == ("default", "s")
    assert one.name.startswith("Local/s@default-")


async def test_channel_originate_errors(server: Server) -> None:
    out = await run_command(server, "channel originate Bogus/x application Wait 1")
    assert out == "Unable to request channel Bogus/x: No such channel technology 'Bogus'\n"
    bad = await run_command(server, "channel originate Local/s@default sideways s")
    assert bad == "Command 'channel originate Local/s@default sideways s' failed.\n"
    short = await run_command(server, "channel originate Local/s@default")
    assert short == "Command 'channel originate Local/s@default' failed.\n"
    assert server.core.channels == {}


async def test_channel_request_hangup(server: Server) -> None:
    one, two = await originate_parked(server)
    out = await run_command(server, f"channel request hangup {one.name}")
    assert out == f"Requested Hangup on channel '{one.name}'\n"
    await wait_for(lambda: one.destroyed and two.destroyed)
    assert await run_command(server, "channel request hangup nope") == (
        "nope is not a known channel\n"
    )
    assert await run_command(server, "channel request hangup") == (
        "Command 'channel request hangup' failed.\n"
    )


async def test_channel_request_hangup_by_id_and_all(server: Server) -> None:
    _one, two = await originate_parked(server)
    out = await run_command(server, f"channel request hangup {two.id}")
    assert out == f"Requested Hangup on channel '{two.name}'\n"
    await wait_for(lambda: not server.core.channels)
    a1, a2 = await originate_parked(server)
    out = await run_command(server, "channel request hangup all")
    assert set(out.splitlines()) == {
        f"Requested Hangup on channel '{a1.name}'",
        f"Requested Hangup on channel '{a2.name}'",
    }
    await wait_for(lambda: not server.core.channels)


# -- dialplan ----------------------------------------------------------------------------


async def test_dialplan_show(server: Server) -> None:
    out = await run_command(server, "dialplan show")
    assert "[ Context 'ARI-test' created by 'pbx_config' ]" in out
    assert "[ Context 'default' created by 'pbx_config' ]" in out
    assert "3. Stasis(hello)" in out
    assert out.endswith("-= 2 extensions (8 priorities) in 2 contexts. =-\n")
    one = await run_command(server, "dialplan show ARI-test")
    assert "'default'" not in one
    assert one.endswith("-= 1 extension (4 priorities) in 1 context. =-\n")
    assert await run_command(server, "dialplan show 1000@ARI-test") == one


async def test_dialplan_reload_keeps_old_dialplan_on_error(
    conf_server: tuple[Server, Path],
) -> None:
    server, conf = conf_server
    before = await run_command(server, "dialplan show")
    old_plan = server.dialplan
    ext = conf / "extensions.conf"
    ext.write_text("[ARI-test]\nexten => 1000,1,NoOp()\n\n[broken]\nsame => n,NoOp()\n")
    out = await run_command(server, "dialplan reload")
    assert out.startswith("Dialplan reload failed: ")
    assert f"{ext}:5:" in out
    assert out.endswith("\n")
    assert server.dialplan is old_plan
    assert await run_command(server, "dialplan show") == before
    # A broken file (not just a broken dialplan) is also refused.
    ext.write_text("[ARI-test\nexten => 1000,1,NoOp()\n")
    out = await run_command(server, "dialplan reload")
    assert out.startswith("Dialplan reload failed: ")
    assert str(ext) in out
    assert server.dialplan is old_plan


async def test_dialplan_reload_applies_to_new_calls(conf_server: tuple[Server, Path]) -> None:
    server, conf = conf_server
    ext = conf / "extensions.conf"
    text = ext.read_text()
    ext.write_text(
        text + "\n[reloaded]\nexten => 2000,1,Set(GLOBAL(RELOADED)=yes)\nsame => n,Wait(30)\n"
    )
    assert "reloaded" not in await run_command(server, "dialplan show")
    out = await run_command(server, "dialplan reload")
    assert out == "Dialplan reloaded.\n"
    assert "[ Context 'reloaded' created by 'pbx_config' ]" in await run_command(
        server, "dialplan show reloaded"
    )
    assert (
        await run_command(server, "channel originate Local/2000@reloaded application Wait 30") == ""
    )
    await wait_for(lambda: server.core.globals.get("RELOADED") == "yes")
    # module reload extensions does the same.
    assert await run_command(server, "module reload extensions") == (
        "Module 'extensions' reloaded successfully.\n"
    )


async def test_dialplan_reload_reads_only_extensions_conf(conf_server: tuple[Server, Path]) -> None:
    """As Asterisk's pbx_config: another broken file does not stop a dialplan reload."""
    server, conf = conf_server
    (conf / "ari.conf").write_text("[general\nenabled = yes\n")
    ext = conf / "extensions.conf"
    ext.write_text(ext.read_text() + "\n[later]\nexten => 3000,1,NoOp()\n")
    assert await run_command(server, "dialplan reload") == "Dialplan reloaded.\n"
    assert "later" in await run_command(server, "dialplan show later")


# -- module reload / reload ---------------------------------------------------------------


async def test_module_reload_res_ari_picks_up_a_new_user(conf_server: tuple[Server, Path]) -> None:
    server, conf = conf_server
    base = f"http://127.0.0.1:{server.http_port}"
    new_user = auth_headers("newbie", "s3cret")
    async with aiohttp.ClientSession(base_url=base) as http:
        async with http.get("/ari/asterisk/info", headers=new_user) as resp:
            assert resp.status == 401
        ari = conf / "ari.conf"
        ari.write_text(
            ari.read_text()
            + "\n[newbie]\ntype = user\nread_only = yes\npassword = s3cret\n"
            + "password_format = plain\n"
        )
        out = await run_command(server, "module reload res_ari.so")
        assert out == "Module 'res_ari.so' reloaded successfully.\n"
        users = await run_command(server, "ari show users")
        assert "Yes   No    newbie\n" in users
        assert "No    No    testARI\n" in users
        assert await run_command(server, "ari show user newbie") == (
            "Username: newbie\nRead only?: Yes\nACL?: No\n"
        )
        async with http.get("/ari/asterisk/info", headers=new_user) as resp:
            assert resp.status == 200
        async with http.post("/ari/channels/x/answer", headers=new_user) as resp:
            assert resp.status == 403


async def test_module_reload_unknown_module(server: Server) -> None:
    assert await run_command(server, "module reload res_nothing.so") == (
        "No such module 'res_nothing.so'\n"
    )
    assert await run_command(server, "module reload") == ""


async def test_reload_http_moves_to_a_new_port_keeping_websockets(
    conf_server: tuple[Server, Path],
) -> None:
    server, conf = conf_server
    old_port = server.http_port
    new_port = free_port()
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(
            f"ws://127.0.0.1:{old_port}/ari/events?app=hello&api_key={USER}:{PASSWORD}"
        )
        try:
            await wait_for(lambda: server.stasis.get("hello") is not None)
            http_conf = conf / "http.conf"
            http_conf.write_text(
                re.sub(r"(?m)^bindport=.*$", f"bindport={new_port}", http_conf.read_text())
            )
            out = await run_command(server, "reload http")
            assert out == "Module 'http' reloaded successfully.\n"
            assert server.http_port == new_port
            status = await run_command(server, "http show status")
            assert f"Bound to 127.0.0.1:{new_port}\n" in status
            # The new port serves ARI; the old one no longer accepts connections.
            async with http.get(
                f"http://127.0.0.1:{new_port}/ari/asterisk/info", headers=auth_headers()
            ) as resp:
                assert resp.status == 200
            with pytest.raises(aiohttp.ClientConnectionError):
                async with http.get(f"http://127.0.0.1:{old_port}/ari/asterisk/info"):
                    pass
            # The WebSocket opened before the reload still gets events.
            out = await run_command(
                server, "channel originate Local/1000@ARI-test application Wait 30"
            )
            assert out == ""
            msg = await asyncio.wait_for(ws.receive(), 5)
            types = []
            while True:
                assert msg.type == aiohttp.WSMsgType.TEXT
                event = json.loads(msg.data)
                types.append(event["type"])
                if event["type"] == "StasisStart":
                    break
                msg = await asyncio.wait_for(ws.receive(), 5)
            assert event["application"] == "hello"
            assert event["channel"]["name"].endswith(";2")
        finally:
            await ws.close()
