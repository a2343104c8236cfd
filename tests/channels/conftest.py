"""Fixtures of the channel tests: ``phone``, the SIP test phone on a UDP socket of its own
(a test module with its own ``phone`` fixture uses that one)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from sip.sip_phone_helpers import Phone


@pytest.fixture
async def phone() -> AsyncIterator[Phone]:
    loop = asyncio.get_running_loop()
    transport, proto = await loop.create_datagram_endpoint(Phone, local_addr=("127.0.0.1", 0))
    yield proto
    transport.close()
