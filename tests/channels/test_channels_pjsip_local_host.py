"""_local_host keeps the local address it learnt per (family, destination) for a while."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

from pyari.channels import pjsip


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """The families of the sockets _local_host opens (the cache empty before and after)."""
    families: list[Any] = []
    real = socket.socket

    def counting(family: Any = -1, *args: Any, **kwargs: Any) -> socket.socket:
        families.append(family)
        return real(family, *args, **kwargs)

    monkeypatch.setattr(socket, "socket", counting)
    pjsip._local_hosts.clear()
    yield families
    pjsip._local_hosts.clear()


def test_bound_address_needs_no_lookup(opened: list[Any]) -> None:
    assert pjsip._local_host("192.0.2.7", "127.0.0.1") == "192.0.2.7"
    assert opened == []


def test_second_call_within_the_time_opens_no_socket(opened: list[Any]) -> None:
    clock = _Clock()
    first = pjsip._local_host("0.0.0.0", "127.0.0.1", clock)
    assert first == "127.0.0.1"
    assert len(opened) == 1
    clock.now += pjsip._LOCAL_HOST_TTL - 0.5
    assert pjsip._local_host("0.0.0.0", "127.0.0.1", clock) == first
    assert pjsip._local_host("", "127.0.0.1", clock) == first
    assert len(opened) == 1


def test_after_the_time_a_new_lookup(opened: list[Any]) -> None:
    clock = _Clock()
    pjsip._local_host("0.0.0.0", "127.0.0.1", clock)
    clock.now += pjsip._LOCAL_HOST_TTL
    assert pjsip._local_host("0.0.0.0", "127.0.0.1", clock) == "127.0.0.1"
    assert len(opened) == 2
    clock.now += 1.0
    pjsip._local_host("0.0.0.0", "127.0.0.1", clock)
    assert len(opened) == 2


def test_kept_per_family_and_destination(opened: list[Any]) -> None:
    clock = _Clock()
    pjsip._local_host("0.0.0.0", "127.0.0.1", clock)
    pjsip._local_host("0.0.0.0", "127.0.0.2", clock)
    assert opened[:2] == [socket.AF_INET, socket.AF_INET]
    assert (socket.AF_INET, "127.0.0.1") in pjsip._local_hosts
    assert (socket.AF_INET, "127.0.0.2") in pjsip._local_hosts
    n = len(opened)
    pjsip._local_host("0.0.0.0", "127.0.0.2", clock)
    assert len(opened) == n


def test_failed_lookup_is_not_kept(opened: list[Any], monkeypatch: pytest.MonkeyPatch) -> None:
    clock = _Clock()

    class Unroutable:
        def __init__(self, *args: Any) -> None:
            opened.append(args[0])

        def __enter__(self) -> Unroutable:
            return self

        def __exit__(self, *exc: object) -> None:
            pass

        def connect(self, address: Any) -> None:
            raise OSError("Network is unreachable")

    monkeypatch.setattr(socket, "socket", Unroutable)
    assert pjsip._local_host("0.0.0.0", "192.0.2.1", clock) == "127.0.0.1"
    assert pjsip._local_hosts == {}
    pjsip._local_host("0.0.0.0", "192.0.2.1", clock)
    assert len(opened) == 2


def test_bounded(opened: list[Any], monkeypatch: pytest.MonkeyPatch) -> None:
    clock = _Clock()
    monkeypatch.setattr(pjsip, "_LOCAL_HOST_MAX", 4)
    for i in range(1, 10):
        pjsip._local_host("0.0.0.0", f"127.0.0.{i}", clock)
        assert len(pjsip._local_hosts) <= 4
    assert (socket.AF_INET, "127.0.0.9") in pjsip._local_hosts
    # a kept destination refreshed at the bound does not empty the others
    clock.now += pjsip._LOCAL_HOST_TTL
    before = dict(pjsip._local_hosts)
    pjsip._local_host("0.0.0.0", "127.0.0.9", clock)
    assert pjsip._local_hosts.keys() == before.keys()
