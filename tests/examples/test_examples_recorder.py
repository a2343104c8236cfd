"""examples/recorder.py: record until #, then hear the recording played back."""

from __future__ import annotations

import pytest

from examples.example_loader import load_example
from pyari.client import AriClient
from pyari.testing import Phones, PyariInstance, has_tone, tone, wait_for

recorder = load_example("recorder")


@pytest.mark.pyari_dialplan(
    """
[recorder]
exten => 400,1,Stasis(recorder)
"""
)
async def test_recorder_stores_the_call_and_plays_it_back(
    pyari_server: PyariInstance,
    phones: Phones,
    ari_url: str,
    ari_credentials: tuple[str, str],
    ari_client: AriClient,
) -> None:
    async with pyari_server.run_app(recorder.main(ari_url, *ari_credentials), recorder.APP):
        alice = phones.get("alice")
        await alice.call("400", "recorder")
        await alice.wait_heard_sound("beep")  # recording starts after the beep
        await alice.play(tone(700, 600))
        await alice.send_dtmf("#")
        name = recorder.recording_name(alice.channel_id)
        path = pyari_server.recording_dir / f"{name}.wav"
        await wait_for(path.exists)
        await alice.wait_heard_tone(700, timeout=10)  # the playback of the recording
        await alice.wait_for_state("Hungup")

    stored = await ari_client.recordings.get_stored(name)
    assert stored.format == "wav"
    from pyari.media.files import read_audio

    assert has_tone(read_audio(path).samples, 700)
