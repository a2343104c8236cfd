"""/sounds from the installed Debian prompts (asterisk-core-sounds-en-wav)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import aiohttp

from ari.ari_ops_helpers import call
from conftest import auth_headers, make_server
from pyari.server import Server


async def test_sounds_list_and_get(server: Server, http: aiohttp.ClientSession) -> None:
    status, sounds = await call(http, "GET", "/sounds")
    assert status == 200
    ids = [s["id"] for s in sounds]
    assert len(ids) >= 500
    assert ids == sorted(ids)
    assert "tt-monkeys" in ids and "digits/1" in ids
    status, body = await call(http, "GET", "/sounds/tt-monkeys")
    assert status == 200
    assert body["id"] == "tt-monkeys"
    assert body["formats"] == [{"language": "en_US_f_Allison", "format": "slin"}]
    status, body = await call(http, "GET", "/sounds/digits%2F1")
    assert (status, body["id"]) == (200, "digits/1")
    status, body = await call(http, "GET", "/sounds/no-such-sound")
    assert (status, body) == (404, {"message": "Sound not found"})


async def test_sounds_filters(server: Server, http: aiohttp.ClientSession) -> None:
    status, all_sounds = await call(http, "GET", "/sounds")
    status, slin = await call(http, "GET", "/sounds", params={"format": "slin"})
    assert len(slin) == len(all_sounds)
    none = {"message": "No sounds found that matched the query"}  # Asterisk: 404, not []
    status, body = await call(http, "GET", "/sounds", params={"format": "gsm"})
    assert (status, body) == (404, none)
    status, body = await call(http, "GET", "/sounds", params={"lang": "fr"})
    assert (status, body) == (404, none)
    status, body = await call(
        http, "GET", "/sounds", params={"lang": "en_US_f_Allison", "format": "slin"}
    )
    assert len(body) == len(all_sounds)


async def test_sounds_of_a_custom_data_dir(tmp_path: Path) -> None:
    lang = tmp_path / "data" / "sounds" / "fr"
    lang.mkdir(parents=True)
    (lang / "bonjour.ulaw").write_bytes(b"\xff" * 160)
    (lang / "bonjour.sln16").write_bytes(b"\x00" * 640)
    (lang / "notes.wav49").write_bytes(b"\x00" * 65)  # no format registered
    srv = make_server()
    srv.config = dataclasses.replace(
        srv.config, asterisk=dataclasses.replace(srv.config.asterisk, astdatadir=tmp_path / "data")
    )
    await srv.start()
    try:
        async with aiohttp.ClientSession(
            f"http://127.0.0.1:{srv.http_port}", headers=auth_headers()
        ) as http:
            status, body = await call(http, "GET", "/sounds")
            assert status == 200
            assert body == [
                {
                    "id": "bonjour",
                    "formats": [
                        {"language": "fr", "format": "slin16"},
                        {"language": "fr", "format": "ulaw"},
                    ],
                }
            ]
    finally:
        await srv.stop()
