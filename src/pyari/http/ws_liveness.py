"""Keeping a client WebSocket alive: TCP keepalives and WebSocket PING/PONG.

websocket_client.conf's ``enable_tcp_keepalives`` (``tcp_keepalive_time``,
``tcp_keepalive_interval``, ``tcp_keepalive_probes``, seconds / count) and
``enable_pingpongs`` (``pingpong_interval`` seconds, ``pingpong_probes``), as
res_websocket_client.c defines them: a PING goes out every interval; one that has no
PONG by the time the next is due is missed, and ``pingpong_probes`` missed in a row
close the connection (so a dead peer is found after between probes x interval and
(probes + 1) x interval seconds), after which the connection's usual reconnect applies.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from typing import TYPE_CHECKING

from aiohttp import WSMsgType

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import aiohttp
    from aiohttp import WSMessage

log = logging.getLogger("pyari.ari")

PINGPONG_CLOSE_CODE = 1001


def set_tcp_keepalive(sock: socket.socket, idle: int, interval: int, probes: int) -> None:
    """Turn TCP keepalives on for ``sock`` (the per-socket timers where the OS has them)."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    timers = (("TCP_KEEPIDLE", idle), ("TCP_KEEPINTVL", interval), ("TCP_KEEPCNT", probes))
    for name, value in timers:
        opt = getattr(socket, name, None)
        if opt is not None:
            sock.setsockopt(socket.IPPROTO_TCP, opt, value)


class PingPong:
    """A client WebSocket opened with ``autoping=False``, read through this wrapper.

    Reading answers the peer's PINGs and notes its PONGs; :meth:`run` sends the PINGs
    and closes the socket when too many go unanswered.
    """

    def __init__(
        self, ws: aiohttp.ClientWebSocketResponse, interval: float, probes: int, who: str
    ) -> None:
        self.ws = ws
        self.interval = interval
        self.probes = probes
        self.who = who
        self.pings = 0
        self.pongs = 0
        self._answered = True

    @property
    def closed(self) -> bool:
        return self.ws.closed

    async def close(self, *, code: int = 1000, message: bytes = b"") -> bool:
        return await self.ws.close(code=code, message=message)

    async def __aiter__(self) -> AsyncIterator[WSMessage]:
        async for msg in self.ws:
            if msg.type == WSMsgType.PING:
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await self.ws.pong(msg.data)
            elif msg.type == WSMsgType.PONG:
                self.pongs += 1
                self._answered = True
            else:
                yield msg

    async def run(self) -> None:
        """PING every interval; close after ``probes`` missed PONGs in a row."""
        missed = 0
        while not self.ws.closed:
            await asyncio.sleep(self.interval)
            if self.ws.closed:
                return
            if self._answered:
                missed = 0
            else:
                missed += 1
                if missed >= self.probes:
                    log.warning(
                        "%s: No PONG after %d PINGs; closing the websocket", self.who, missed
                    )
                    with contextlib.suppress(Exception):
                        await self.ws.close(code=PINGPONG_CLOSE_CODE)
                    return
            self._answered = False
            try:
                await self.ws.ping()
            except (ConnectionError, RuntimeError):
                return
            self.pings += 1
