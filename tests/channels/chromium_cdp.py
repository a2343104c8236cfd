"""Headless Chromium (Debian's) driven over the DevTools protocol: enough to run
JavaScript in a page and await its promises. Nothing is downloaded; the browser runs
with fake media devices and loopback ICE candidates allowed."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import shutil
from pathlib import Path
from typing import Any

import aiohttp

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


class Chromium:
    def __init__(self, profile: Path, fake_audio: Path | None = None) -> None:
        self.profile = profile
        self.fake_audio = fake_audio
        self.proc: asyncio.subprocess.Process | None = None
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.http: aiohttp.ClientSession | None = None
        self._ids = itertools.count(1)
        self._drainer: asyncio.Future[None] | None = None

    async def start(self) -> None:
        assert CHROMIUM is not None
        args = [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1",
            f"--user-data-dir={self.profile}",
            "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            "--allow-loopback-in-peer-connection",
            "--disable-features=WebRtcHideLocalIpsWithMdns",
            "--autoplay-policy=no-user-gesture-required",
        ]  # fmt: skip
        if self.fake_audio is not None:
            args.append(f"--use-file-for-fake-audio-capture={self.fake_audio}")
        self.proc = await asyncio.create_subprocess_exec(
            CHROMIUM, *args, "about:blank",
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert self.proc.stderr is not None
        port = None
        while port is None:
            line = await asyncio.wait_for(self.proc.stderr.readline(), 20)
            if not line:
                raise RuntimeError("chromium exited")
            found = re.search(rb"DevTools listening on ws://127\.0\.0\.1:(\d+)/", line)
            if found:
                port = int(found.group(1))
        self._drainer = asyncio.ensure_future(self._drain())
        self.http = aiohttp.ClientSession()
        async with self.http.get(f"http://127.0.0.1:{port}/json/list") as r:
            pages = [p for p in await r.json() if p.get("type") == "page"]
        self.ws = await self.http.ws_connect(pages[0]["webSocketDebuggerUrl"], max_msg_size=0)

    async def _drain(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        with contextlib.suppress(Exception):
            while await self.proc.stderr.readline():
                pass

    async def open_blank_page(self) -> None:
        """A blank page served from 127.0.0.1 (a secure context, unlike about:blank)."""
        from aiohttp import web

        app = web.Application()

        async def blank(_request: web.Request) -> web.Response:
            return web.Response(text="<html></html>", content_type="text/html")

        app.router.add_get("/", blank)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        await self.navigate(f"http://127.0.0.1:{port}/")

    async def navigate(self, url: str) -> None:
        """Open ``url`` (a page on 127.0.0.1 is a secure context: media devices work)."""
        await self._call("Page.navigate", {"url": url})
        for _ in range(100):
            state = await self.evaluate("location.href + ' ' + document.readyState")
            if state == f"{url} complete":
                return
            await asyncio.sleep(0.05)
        raise RuntimeError(f"{url} did not load")

    async def _call(self, method: str, params: dict[str, Any], timeout: float = 20) -> Any:
        assert self.ws is not None
        msg_id = next(self._ids)
        await self.ws.send_str(json.dumps({"id": msg_id, "method": method, "params": params}))
        while True:
            msg = await asyncio.wait_for(self.ws.receive(), timeout)
            if msg.type != aiohttp.WSMsgType.TEXT:
                raise RuntimeError(f"devtools socket: {msg.type}")
            data = json.loads(msg.data)
            if data.get("id") == msg_id:
                return data.get("result", {})

    async def evaluate(self, expression: str, timeout: float = 20) -> Any:
        """The value of ``expression`` (an async function body's result is awaited)."""
        params = {"expression": expression, "awaitPromise": True, "returnByValue": True}
        result = await self._call("Runtime.evaluate", params, timeout)
        if "exceptionDetails" in result:
            raise RuntimeError(json.dumps(result["exceptionDetails"])[:800])
        return result.get("result", {}).get("value")

    async def close(self) -> None:
        runner = getattr(self, "_runner", None)
        if runner is not None:
            await runner.cleanup()
        if self.ws is not None:
            await self.ws.close()
        if self.http is not None:
            await self.http.close()
        if self.proc is not None and self.proc.returncode is None:
            if self._drainer is not None:
                self._drainer.cancel()
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 5)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
