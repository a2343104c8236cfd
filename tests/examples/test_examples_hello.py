"""examples/hello.py: prints start and stop as a call enters and leaves Stasis."""

from __future__ import annotations

import pytest

from examples.example_loader import load_example
from pyari.testing import Phones, PyariInstance, wait_for

hello = load_example("hello")


async def test_hello_prints_start_then_stop(
    pyari_server: PyariInstance,
    phones: Phones,
    ari_url: str,
    ari_credentials: tuple[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    out: list[str] = []

    def printed() -> list[str]:
        out.extend(capsys.readouterr().out.split())
        return out

    async with pyari_server.run_app(hello.main(ari_url, *ari_credentials), hello.APP):
        alice = phones.get("alice")
        await alice.call("1000", "ARI-test")  # the embedded dialplan: Answer, Stasis(hello)
        await wait_for(lambda: printed() == ["start"])
        await alice.wait_for_state("Up")
        await alice.hangup()
        await wait_for(lambda: printed() == ["start", "stop"])
