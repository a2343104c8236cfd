"""The ARI application of the cluster's acceptance tests: aioari (PyPI, unmodified), run as
its own process so a test can SIGKILL it and start it again.

python aioari_app.py BASE_URL JOURNAL [MARK]

It registers ``hello`` on the node at BASE_URL. On a channel's ``StasisStart`` it answers
the channel and, unless the call's Stasis arguments are ``hold``, plays a tone and hangs it
up — every REST request through that one node, whatever node owns the channel.

Each event it has processed is appended to JOURNAL (one JSON line: sequence, type,
channel, the node that made it, what the REST requests answered), and only then counts as
processed. It uses pyari's exactly-once protocol (docs/event-streams.md), which any
client can speak by one request header: it connects with ``Pyari-Sequence: 1`` the first
time and ``Pyari-Resume: hello=<last sequence in JOURNAL>`` after a restart, and skips an
event whose sequence it has already processed. A ``StasisStart`` whose processing was cut
short by a kill (a ``begin`` line without its event line) is processed again after the
restart; its channel may be gone meanwhile (404), which is then recorded as ``gone``.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import urllib.parse
from pathlib import Path
from typing import Any

import aioari
import aiohttp
from aiohttp import web_exceptions
from aioswagger11.http_client import ApiKeyAuthenticator, AsynchronousHttpClient

USER, PASSWORD = "testARI", "Sup3rM3ga$tr0ng"
APP = "hello"


class Journal:
    """The application's durable state: what it processed, one JSON line each."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.last = 0
        self.begun: set[str] = set()
        if path.exists():
            for line in path.read_text().splitlines():
                try:
                    row = json.loads(line)
                except ValueError:  # a line cut by the kill
                    continue
                if row.get("phase") == "begin":
                    self.begun.add(row["channel"])
                elif isinstance(row.get("seq"), int):
                    self.last = max(self.last, row["seq"])
                    if row["type"] == "StasisStart":
                        self.begun.discard(row["channel"])
        self.file = path.open("a")

    def write(self, row: dict[str, Any]) -> None:
        self.file.write(json.dumps(row) + "\n")
        self.file.flush()


async def main(base_url: str, journal_path: Path, mark: str) -> None:
    journal = Journal(journal_path)
    retry = set(journal.begun)
    header = {"Pyari-Resume": f"{APP}={journal.last}"} if journal.last else {"Pyari-Sequence": "1"}
    host = urllib.parse.urlparse(base_url).netloc.split(":")[0]
    http_client = AsynchronousHttpClient(auth=ApiKeyAuthenticator(host, f"{USER}:{PASSWORD}"))
    await http_client.session.close()
    http_client.session = aiohttp.ClientSession(headers=header)
    client = aioari.Client(base_url, http_client)
    await client.init()

    async def rest(channel: str, hold: bool) -> str:
        try:
            await client.channels.answer(channelId=channel)
            if not hold:
                await client.channels.play(channelId=channel, media="tone:beep")
                await client.channels.hangup(channelId=channel)
        except web_exceptions.HTTPError as exc:  # aioari raises aiohttp.web's HTTP errors
            if exc.status == 404 and channel in retry:
                return "gone"
            return f"{exc.status} {exc.text}"
        return "ok"

    async def on_event(event: dict[str, Any]) -> None:
        seq = event.get("pyari_sequence")
        if isinstance(seq, int) and seq <= journal.last:
            return  # already processed (exactly once)
        row: dict[str, Any] = {
            "seq": seq,
            "type": event["type"],
            "node": event.get("asterisk_id"),
            "t": time.time(),
        }
        channel = event.get("channel")
        if isinstance(channel, dict):
            row["channel"] = channel.get("id")
            row["name"] = channel.get("name")
        if event["type"] == "StasisStart" and isinstance(channel, dict):
            journal.write({"phase": "begin", "channel": channel["id"]})
            hold = event.get("args") == ["hold"]
            row["rest"] = await rest(channel["id"], hold)
            row["args"] = event.get("args")
        if event["type"] == "EventsLost":
            row.update(count=event.get("count"))
        journal.write(row)
        if isinstance(seq, int):
            journal.last = seq

    client.on_event("*", on_event)
    runner = asyncio.create_task(client.run(apps=APP))
    while not client.websockets and not runner.done():
        await asyncio.sleep(0.01)
    print(mark, flush=True)  # the events socket is up: the application is registered
    await runner


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], Path(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else "up"))
