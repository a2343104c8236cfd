"""Fixtures of the security tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pyari.config.embedded import write_samples
from security.sip_phones import Phone, udp_phone


@pytest.fixture
async def udp_phones() -> AsyncIterator[tuple[Phone, Phone]]:
    """Two phones: 127.0.0.1 and 127.0.0.2."""
    one, two = await udp_phone("127.0.0.1"), await udp_phone("127.0.0.2")
    try:
        yield one, two
    finally:
        for p in (one, two):
            assert p.transport is not None
            p.transport.close()


@pytest.fixture
def etc(tmp_path: Path) -> Path:
    """A config folder of pyari's samples."""
    folder = tmp_path / "etc"
    write_samples(folder)
    return folder
