"""A raw HTTP/1.x client over loopback sockets, for tests of the HTTP cores' rules."""

from __future__ import annotations

import asyncio
import dataclasses

from conftest import auth_headers

AUTH = auth_headers()["Authorization"]


def request(
    method: str,
    path: str,
    *,
    version: str = "1.1",
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    auth: bool = True,
) -> bytes:
    lines = [f"{method} {path} HTTP/{version}", "Host: 127.0.0.1"]
    if auth:
        lines.append(f"Authorization: {AUTH}")
    for k, v in (headers or {}).items():
        lines.append(f"{k}: {v}")
    if body and not any(k.lower() == "transfer-encoding" for k in headers or {}):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@dataclasses.dataclass
class Reply:
    version: str
    status: int
    headers: dict[str, str]
    body: bytes


async def read_reply(reader: asyncio.StreamReader) -> Reply:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    first, *lines = head.decode().split("\r\n")[:-2]
    version, status = first.split(" ")[0], int(first.split(" ")[1])
    headers: dict[str, str] = {}
    for line in lines:
        k, _, v = line.partition(": ")
        headers[k] = v
    length = int(headers.get("Content-Length", "0"))
    body = await asyncio.wait_for(reader.readexactly(length), 5) if length else b""
    return Reply(version, status, headers, body)


async def at_eof(reader: asyncio.StreamReader) -> bool:
    """True when the server closed the connection."""
    return await asyncio.wait_for(reader.read(1), 5) == b""
