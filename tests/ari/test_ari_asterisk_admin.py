"""/asterisk administration over real HTTP: modules, log channels, dynamic config objects."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from conftest import auth_headers, make_server
from pyari.cli.commands import run_command
from pyari.config import write_samples
from pyari.server import Server


async def call(
    http: aiohttp.ClientSession, method: str, path: str, **kwargs: Any
) -> tuple[int, Any]:
    async with http.request(method, f"/ari{path}", **kwargs) as r:
        return r.status, (await r.json() if r.content_length else None)


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    d = tmp_path / "etc"
    write_samples(d)
    return d


@pytest.fixture
async def conf_server(config_dir: Path) -> AsyncIterator[Server]:
    srv = make_server(config_dir)
    await srv.start(control_socket=False)
    try:
        yield srv
    finally:
        await srv.stop()


@pytest.fixture
async def conf_http(conf_server: Server) -> AsyncIterator[aiohttp.ClientSession]:
    base = f"http://127.0.0.1:{conf_server.http_port}"
    async with aiohttp.ClientSession(base, headers=auth_headers()) as session:
        yield session


# -- modules -----------------------------------------------------------------------------------


async def test_list_and_get_modules(http: aiohttp.ClientSession) -> None:
    status, modules = await call(http, "GET", "/asterisk/modules")
    assert status == 200
    names = [m["name"] for m in modules]
    assert names == sorted(names, key=str.lower)
    for expected in (
        "res_ari.so",
        "res_ari_channels.so",
        "res_ari_bridges.so",
        "res_ari_device_states.so",
        "res_ari_mailboxes.so",
        "res_stasis.so",
        "app_stasis.so",
        "res_http_websocket.so",
        "pbx_config.so",
        "res_stasis_device_state.so",
        "res_mwi_external.so",
    ):
        assert expected in names
    assert "chan_local.so" not in names  # Local channels are built into Asterisk's core
    by_name = {m["name"]: m for m in modules}
    # res_ari is held by every res_ari_<resource> module and app_stasis.
    users = [n for n in names if n.startswith("res_ari_") and n != "res_ari_model.so"]
    assert by_name["res_ari.so"] == {
        "name": "res_ari.so",
        "description": "Asterisk RESTful Interface",
        "use_count": len(users) + 1,
        "status": "Running",
        "support_level": "core",
    }
    assert by_name["res_ari_sounds.so"]["use_count"] == 0
    status, body = await call(http, "GET", "/asterisk/modules/res_ari_channels.so")
    assert status == 200
    assert body == {
        "name": "res_ari_channels.so",
        "description": "RESTful API module - Channel resources",
        "use_count": 0,
        "status": "Running",
        "support_level": "core",
    }


async def test_module_lookup_errors(http: aiohttp.ClientSession) -> None:
    assert await call(http, "GET", "/asterisk/modules/nope.so") == (
        404,
        {"message": "Module could not be found in running modules"},
    )
    # Found ignoring .so, but the information is keyed by the exact name.
    assert await call(http, "GET", "/asterisk/modules/res_ari") == (
        409,
        {"message": "Module information could not be retrieved"},
    )
    assert await call(http, "POST", "/asterisk/modules/res_ari.so") == (
        409,
        {"message": "Module is already loaded"},
    )
    assert await call(http, "POST", "/asterisk/modules/RES_ARI") == (
        409,
        {"message": "Module is already loaded"},
    )
    assert await call(http, "POST", "/asterisk/modules/nope.so") == (
        409,
        {"message": "Module load declined"},
    )
    assert await call(http, "DELETE", "/asterisk/modules/nope.so") == (
        404,
        {"message": "Module not found in running modules"},
    )
    assert await call(http, "PUT", "/asterisk/modules/nope.so") == (
        404,
        {"message": "Module not found in running modules"},
    )
    # In use: a soft unload fails.  Not in use but part of pyari's core: refused too.
    for name in ("res_ari.so", "res_stasis.so", "pbx_config.so", "res_ari_events.so"):
        assert await call(http, "DELETE", f"/asterisk/modules/{name}") == (
            409,
            {"message": "Module could not be unloaded"},
        )
    assert await call(http, "PUT", "/asterisk/modules/res_stasis.so") == (
        409,
        {"message": "Module does not support reloading"},
    )


async def test_unload_and_load_an_ari_resource(http: aiohttp.ClientSession) -> None:
    assert (await call(http, "GET", "/mailboxes"))[0] == 200
    # res_stasis_mailbox is held by res_ari_mailboxes.
    _, before = await call(http, "GET", "/asterisk/modules/res_stasis_mailbox.so")
    assert before["use_count"] == 1
    assert await call(http, "DELETE", "/asterisk/modules/res_ari_mailboxes.so") == (204, None)
    assert await call(http, "GET", "/mailboxes") == (404, {"message": "Resource not found"})
    assert await call(http, "PUT", "/mailboxes/x?oldMessages=1&newMessages=1") == (
        404,
        {"message": "Resource not found"},
    )
    assert (await call(http, "GET", "/asterisk/modules/res_ari_mailboxes.so"))[0] == 404
    _, modules = await call(http, "GET", "/asterisk/modules")
    assert "res_ari_mailboxes.so" not in [m["name"] for m in modules]
    _, after = await call(http, "GET", "/asterisk/modules/res_stasis_mailbox.so")
    assert after["use_count"] == 0
    assert await call(http, "DELETE", "/asterisk/modules/res_ari_mailboxes.so") == (
        404,
        {"message": "Module not found in running modules"},
    )
    assert await call(http, "PUT", "/asterisk/modules/res_ari_mailboxes.so") == (
        404,
        {"message": "Module not found in running modules"},
    )
    assert await call(http, "POST", "/asterisk/modules/res_ari_mailboxes.so") == (204, None)
    assert await call(http, "GET", "/mailboxes") == (200, [])
    _, again = await call(http, "GET", "/asterisk/modules/res_stasis_mailbox.so")
    assert again["use_count"] == 1


async def test_reload_res_ari_rereads_ari_conf(
    conf_http: aiohttp.ClientSession, conf_server: Server, config_dir: Path
) -> None:
    conf = config_dir / "ari.conf"
    conf.write_text(
        conf.read_text() + "\n[other]\ntype = user\npassword = secret\npassword_format = plain\n"
    )
    base = f"http://127.0.0.1:{conf_server.http_port}"
    async with (
        aiohttp.ClientSession(base, headers=auth_headers("other", "secret")) as other,
        other.get("/ari/asterisk/ping") as r,
    ):
        assert r.status == 401
    assert await call(conf_http, "PUT", "/asterisk/modules/res_ari.so") == (204, None)
    async with (
        aiohttp.ClientSession(base, headers=auth_headers("other", "secret")) as other,
        other.get("/ari/asterisk/ping") as r,
    ):
        assert r.status == 200
    # A broken ari.conf is refused; the users in force stay.
    conf.write_text("[general]\nenabled = maybe\n")
    assert await call(conf_http, "PUT", "/asterisk/modules/res_ari.so") == (
        409,
        {"message": "An unknown error occurred while reloading the module"},
    )
    assert (await call(conf_http, "GET", "/asterisk/ping"))[0] == 200


async def test_reload_pbx_config_rereads_the_dialplan(
    conf_http: aiohttp.ClientSession, conf_server: Server, config_dir: Path
) -> None:
    ext = config_dir / "extensions.conf"
    assert not conf_server.dialplan.exists("ARI-test", "4242")
    ext.write_text(ext.read_text() + "\n[ARI-test]\nexten => 4242,1,NoOp()\n")
    assert await call(conf_http, "PUT", "/asterisk/modules/pbx_config") == (204, None)
    assert conf_server.dialplan.exists("ARI-test", "4242")
    ext.write_text("[broken\n")
    assert await call(conf_http, "PUT", "/asterisk/modules/pbx_config.so") == (
        409,
        {"message": "An unknown error occurred while reloading the module"},
    )
    assert conf_server.dialplan.exists("ARI-test", "4242")


async def test_cli_module_show(http: aiohttp.ClientSession, server: Server) -> None:
    out = await run_command(server, "module show like device_state")
    lines = out.splitlines()
    assert lines[0].split()[:2] == ["Module", "Description"]
    assert [ln.split()[0] for ln in lines[1:-1]] == [
        "res_ari_device_states.so",
        "res_stasis_device_state.so",
    ]
    assert lines[-1] == "2 modules loaded"
    assert "Stasis application device state support" in out
    full = await run_command(server, "module show")
    _, modules = await call(http, "GET", "/asterisk/modules")
    assert full.splitlines()[-1] == f"{len(modules)} modules loaded"
    await call(http, "DELETE", "/asterisk/modules/res_ari_sounds.so")
    assert "res_ari_sounds.so" not in await run_command(server, "module show like sounds")


# -- log channels ---------------------------------------------------------------------------


async def test_default_log_channels(http: aiohttp.ClientSession) -> None:
    # No logger.conf: Asterisk's fallback console channel.
    assert await call(http, "GET", "/asterisk/logging") == (
        200,
        [
            {
                "channel": "",
                "type": "Console",
                "status": "Enabled",
                "configuration": "NOTICE WARNING ERROR VERBOSE ",
            }
        ],
    )


async def test_add_write_rotate_delete(http: aiohttp.ClientSession, server: Server) -> None:
    logdir = server.config.asterisk.astlogdir
    path = logdir / "mylog"
    assert await call(http, "POST", "/asterisk/logging/mylog?configuration=warning,error") == (
        204,
        None,
    )
    _, channels = await call(http, "GET", "/asterisk/logging")
    assert channels[0] == {
        "channel": str(path),
        "type": "File",
        "status": "Enabled",
        "configuration": "WARNING ERROR ",
    }
    assert len(channels) == 2  # newest first, then the console
    log = logging.getLogger("pyari.test_admin")
    log.setLevel(logging.DEBUG)  # let NOTICE records reach the channel's own filter
    try:
        log.warning("first warning")
        log.info("not for this channel")
    finally:
        log.setLevel(logging.NOTSET)
    text = path.read_text()
    assert "WARNING[" in text and "first warning" in text
    assert "not for this channel" not in text
    # Rotation (sequential): mylog → mylog.0, then mylog.1; logging goes on in a new file.
    assert await call(http, "PUT", "/asterisk/logging/mylog/rotate") == (204, None)
    assert "first warning" in (logdir / "mylog.0").read_text()
    log.error("second")
    assert "second" in path.read_text() and "first warning" not in path.read_text()
    assert await call(http, "PUT", "/asterisk/logging/mylog/rotate") == (204, None)
    assert "second" in (logdir / "mylog.1").read_text()
    assert await call(http, "DELETE", "/asterisk/logging/mylog") == (204, None)
    log.error("after removal")
    assert "after removal" not in path.read_text()
    assert len((await call(http, "GET", "/asterisk/logging"))[1]) == 1


async def test_log_channel_errors(http: aiohttp.ClientSession) -> None:
    assert await call(http, "POST", "/asterisk/logging/x") == (
        400,
        {"message": "Configuration levels are required"},
    )
    assert await call(http, "POST", "/asterisk/logging/x?configuration=") == (
        400,
        {"message": "Configuration levels are required"},
    )
    assert await call(http, "POST", "/asterisk/logging/x?configuration=notice") == (204, None)
    assert await call(http, "POST", "/asterisk/logging/x?configuration=error") == (
        409,
        {"message": "Log channel already exists"},
    )
    assert await call(http, "POST", "/asterisk/logging/console?configuration=error") == (
        409,
        {"message": "Log channel already exists"},
    )
    for method, path in (
        ("DELETE", "/asterisk/logging/nope"),
        ("DELETE", "/asterisk/logging/console"),  # configured channels stay
        ("PUT", "/asterisk/logging/nope/rotate"),
        ("PUT", "/asterisk/logging/console/rotate"),  # not a file
    ):
        assert await call(http, method, path) == (404, {"message": "Log channel does not exist"})


async def test_logger_conf_channels(tmp_path: Path) -> None:
    etc = tmp_path / "etc"
    write_samples(etc)
    (etc / "logger.conf").write_text(
        "[general]\nrotatestrategy = rotate\n\n[logfiles]\n"
        "console => notice,warning,error\nmessages.log => notice,warning,error\n"
        "full => *\n"
    )
    srv = make_server(etc)
    await srv.start(control_socket=False)
    try:
        logdir = srv.config.asterisk.astlogdir
        async with aiohttp.ClientSession(
            f"http://127.0.0.1:{srv.http_port}", headers=auth_headers()
        ) as http:
            status, channels = await call(http, "GET", "/asterisk/logging")
            assert status == 200
            assert channels == [
                {
                    "channel": str(logdir / "full"),
                    "type": "File",
                    "status": "Enabled",
                    "configuration": "DEBUG TRACE NOTICE WARNING ERROR VERBOSE DTMF SECURITY ",
                },
                {
                    "channel": str(logdir / "messages.log"),
                    "type": "File",
                    "status": "Enabled",
                    "configuration": "NOTICE WARNING ERROR ",
                },
                {
                    "channel": "",
                    "type": "Console",
                    "status": "Enabled",
                    "configuration": "NOTICE WARNING ERROR VERBOSE ",
                },
            ]
            assert await call(http, "DELETE", "/asterisk/logging/messages.log") == (
                404,
                {"message": "Log channel does not exist"},
            )
            logging.getLogger("pyari.test_admin").error("one")
            # rotatestrategy = rotate: the newest old file is always .0
            assert await call(http, "PUT", "/asterisk/logging/messages.log/rotate") == (204, None)
            logging.getLogger("pyari.test_admin").error("two")
            assert await call(http, "PUT", "/asterisk/logging/messages.log/rotate") == (204, None)
            assert "two" in (logdir / "messages.log.0").read_text()
            assert "one" in (logdir / "messages.log.1").read_text()
    finally:
        await srv.stop()
    # Stopping detaches the handlers.
    logging.getLogger("pyari.test_admin").error("three")
    assert "three" not in (srv.config.asterisk.astlogdir / "messages.log").read_text()


# -- dynamic configuration objects ----------------------------------------------------------

MWI = "/asterisk/config/dynamic/res_mwi_external/mailboxes"


async def test_dynamic_config_not_found(http: aiohttp.ClientSession) -> None:
    for method in ("GET", "PUT", "DELETE"):
        assert await call(http, method, "/asterisk/config/dynamic/res_pjsip/endpoint/1") == (
            404,
            {"message": "configClass 'res_pjsip' not found"},
        )
        assert await call(http, method, "/asterisk/config/dynamic/res_mwi_external/endpoint/1") == (
            404,
            {"message": "objectType 'endpoint' not found"},
        )
    for method in ("GET", "DELETE"):
        assert await call(http, method, f"{MWI}/nobody") == (
            404,
            {"message": "Object with id 'nobody' not found"},
        )


async def test_dynamic_mailbox_objects(http: aiohttp.ClientSession) -> None:
    # Created without fields: the defaults.
    assert await call(http, "PUT", f"{MWI}/a") == (
        200,
        [{"attribute": "msgs_new", "value": "0"}, {"attribute": "msgs_old", "value": "0"}],
    )
    fields = {"fields": [{"attribute": "msgs_new", "value": "4"}]}
    assert await call(http, "PUT", f"{MWI}/a", json=fields) == (
        200,
        [{"attribute": "msgs_new", "value": "4"}, {"attribute": "msgs_old", "value": "0"}],
    )
    assert await call(http, "GET", f"{MWI}/a") == (
        200,
        [{"attribute": "msgs_new", "value": "4"}, {"attribute": "msgs_old", "value": "0"}],
    )
    # The same objects as /mailboxes.
    assert await call(http, "GET", "/mailboxes/a") == (
        200,
        {"name": "a", "old_messages": 0, "new_messages": 4},
    )
    await call(http, "PUT", "/mailboxes/a?oldMessages=2&newMessages=3")
    assert (await call(http, "GET", f"{MWI}/a"))[1] == [
        {"attribute": "msgs_new", "value": "3"},
        {"attribute": "msgs_old", "value": "2"},
    ]
    assert await call(http, "PUT", f"{MWI}/a") == (
        400,
        {"message": "Fields must be provided to update object 'a'"},
    )
    for bad in (
        [{"attribute": "color", "value": "red"}],
        [{"attribute": "msgs_new", "value": "-1"}],
        [{"attribute": "msgs_new", "value": "lots"}],
        [{"attribute": "msgs_new"}],
        ["msgs_new"],
    ):
        assert await call(http, "PUT", f"{MWI}/a", json={"fields": bad}) == (
            400,
            {"message": "Update of object 'a' failed field value validation"},
        )
    assert await call(
        http, "PUT", f"{MWI}/b", json={"fields": [{"attribute": "x", "value": "1"}]}
    ) == (400, {"message": "Creation of object 'b' failed field value validation"})
    assert (await call(http, "GET", f"{MWI}/b"))[0] == 404
    assert (await call(http, "GET", f"{MWI}/a"))[1][0] == {"attribute": "msgs_new", "value": "3"}
    assert await call(http, "DELETE", f"{MWI}/a") == (204, None)
    assert (await call(http, "GET", "/mailboxes/a"))[0] == 404
