"""Headless Chromium (Debian's ``chromium``) driven over the DevTools protocol.

The browser is started by the test on loopback with its own profile folder and
``HOME``; its DevTools endpoint is on a free port it picks itself
(``--remote-debugging-port=0``: the port is read from its first lines), and commands
go over one WebSocket (``websockets``, flat sessions). Fake media devices: the
microphone plays a WAV file (``--use-file-for-fake-audio-capture``) and the permission
prompt is granted. Certificate errors are ignored (the test's self-signed certificate).
Chromium's own network services (updates, sync, safe browsing ...) are turned off:
nothing leaves the machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import websockets

BINARY = shutil.which("chromium") or shutil.which("chromium-browser")


class BrowserError(Exception):
    pass


class Chromium:
    """One headless Chromium with one page."""

    def __init__(self, folder: Path, *, fake_audio: Path | None = None) -> None:
        self.folder = folder
        self.fake_audio = fake_audio
        self.proc: asyncio.subprocess.Process | None = None
        self.ws: Any = None
        self.session = ""
        self.output: list[str] = []
        """What the browser printed (for a failure's message)."""
        self.console: list[str] = []
        """The page's console messages and exceptions."""
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._tasks: list[asyncio.Task[None]] = []

    def flags(self) -> list[str]:
        profile = self.folder / "profile"
        out = [
            "--headless=new",
            "--no-sandbox",  # tests may run as root
            "--disable-gpu",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-default-apps",
            "--disable-extensions",
            "--disable-client-side-phishing-detection",
            "--password-store=basic",
            "--disable-features=Translate,MediaRouter,OptimizationHints,"
            "DialMediaRouteProvider,WebRtcHideLocalIpsWithMdns",
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            "--autoplay-policy=no-user-gesture-required",
            "--ignore-certificate-errors",
            "--allow-loopback-in-peer-connection",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            f"--user-data-dir={profile}",
        ]
        if self.fake_audio is not None:
            out.append(f"--use-file-for-fake-audio-capture={self.fake_audio}")
        return [*out, "about:blank"]

    async def start(self, timeout: float = 30.0) -> None:
        if BINARY is None:
            raise BrowserError("chromium is not installed")
        home = self.folder / "home"
        home.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "HOME": str(home)}
        self.proc = await asyncio.create_subprocess_exec(
            BINARY, *self.flags(), env=env,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert self.proc.stderr is not None
        url = await asyncio.wait_for(self._devtools_url(self.proc.stderr), timeout)
        self._tasks.append(asyncio.ensure_future(self._drain(self.proc.stderr)))
        self.ws = await websockets.connect(url, max_size=None)
        self._tasks.append(asyncio.ensure_future(self._read()))
        target = await self.send("Target.createTarget", {"url": "about:blank"}, browser=True)
        attached = await self.send(
            "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True},
            browser=True,
        )  # fmt: skip
        self.session = attached["sessionId"]
        await self.send("Runtime.enable")
        await self.send("Page.enable")

    async def _devtools_url(self, stderr: asyncio.StreamReader) -> str:
        while line := await stderr.readline():
            text = line.decode(errors="replace").rstrip()
            self.output.append(text)
            found = re.search(r"DevTools listening on (ws://\S+)", text)
            if found:
                return found.group(1)
        raise BrowserError("chromium exited: " + "\n".join(self.output[-20:]))

    async def _drain(self, stderr: asyncio.StreamReader) -> None:
        while line := await stderr.readline():
            self.output.append(line.decode(errors="replace").rstrip())
            del self.output[:-200]

    async def _read(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in self.ws:
                msg = json.loads(raw)
                waiter = self._waiting.pop(msg.get("id", -1), None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(msg)
                elif msg.get("method") == "Runtime.consoleAPICalled":
                    args = msg["params"].get("args", [])
                    self.console.append(" ".join(str(a.get("value", a.get("description")))
                                                 for a in args))  # fmt: skip
                elif msg.get("method") == "Runtime.exceptionThrown":
                    self.console.append(str(msg["params"]["exceptionDetails"]))
        for waiter in self._waiting.values():
            if not waiter.done():
                waiter.set_exception(BrowserError("the browser went away"))

    async def send(
        self, method: str, params: dict[str, Any] | None = None, *, browser: bool = False
    ) -> dict[str, Any]:
        """One DevTools command (to the page, or to the browser); its result."""
        ident = next(self._ids)
        msg: dict[str, Any] = {"id": ident, "method": method, "params": params or {}}
        if not browser:
            msg["sessionId"] = self.session
        waiter: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[ident] = waiter
        await self.ws.send(json.dumps(msg))
        reply = await asyncio.wait_for(waiter, 30)
        if "error" in reply:
            raise BrowserError(f"{method}: {reply['error']}")
        result: dict[str, Any] = reply.get("result", {})
        return result

    async def navigate(self, url: str) -> None:
        result = await self.send("Page.navigate", {"url": url})
        if result.get("errorText"):
            raise BrowserError(f"navigate {url}: {result['errorText']}")

    async def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (JSON-able)."""
        result = await self.send(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True}
        )
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def wait_for(self, expression: str, timeout: float = 15.0) -> Any:
        """Poll ``expression`` until it is truthy; its value."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            with contextlib.suppress(BrowserError):
                value = await self.evaluate(expression)
                if value:
                    return value
            if loop.time() > deadline:
                state = await self.evaluate("JSON.stringify(window.softphone || null)")
                raise AssertionError(
                    f"{expression} not true in {timeout:g} s; page state {state}; "
                    f"console {self.console[-10:]}"
                )
            await asyncio.sleep(0.1)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
