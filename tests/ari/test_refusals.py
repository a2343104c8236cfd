"""Core's refusals (core/refusals.py) carry no status; the ARI layer picks it by kind."""

from __future__ import annotations

import pytest

from pyari.ari.errors import AriError, as_ari_error, refusal_status, refused
from pyari.core import devices, logchannels, modules
from pyari.core.refusals import Conflict, Failed, Invalid, NotFound, Refused

AREAS = (devices.DeviceError, logchannels.LogChannelError, modules.ModuleError)

STATUS = {
    devices.DeviceNameMissing: 404,
    devices.UncontrolledDevice: 409,
    devices.InvalidDeviceState: 400,
    logchannels.LogChannelNotFound: 404,
    logchannels.LogChannelExists: 409,
    logchannels.InvalidLogChannel: 400,
    logchannels.LogChannelFailed: 500,
    modules.ModuleNotFound: 404,
    modules.ModuleRefused: 409,
}
"""The statuses Asterisk answers these refusals with (as before they lost their codes)."""


def _subclasses(cls: type[Refused]) -> list[type[Refused]]:
    found = [cls]
    for kind in found:
        found.extend(kind.__subclasses__())
    return found[1:]


def test_each_kind_has_its_status() -> None:
    assert {k: refusal_status(k) for k in (NotFound, Conflict, Invalid, Failed)} == {
        NotFound: 404,
        Conflict: 409,
        Invalid: 400,
        Failed: 500,
    }


def test_every_refusal_of_an_area_is_answered_as_before() -> None:
    found = {kind for area in AREAS for kind in _subclasses(area)}
    assert found == set(STATUS)
    for kind, status in STATUS.items():
        error = refused(kind("the words"))
        assert (error.status, error.message) == (status, "the words"), kind
        assert not hasattr(kind("x"), "status")  # core knows no HTTP


def test_a_refusal_of_no_kind_is_a_mistake_not_an_answer() -> None:
    with pytest.raises(TypeError):
        refusal_status(devices.DeviceError)


def test_as_ari_error_converts_only_the_areas_named() -> None:
    with pytest.raises(AriError) as exc, as_ari_error(modules.ModuleError):
        raise modules.ModuleNotFound("Module not found in running modules")
    assert (exc.value.status, exc.value.message) == (404, "Module not found in running modules")
    with pytest.raises(devices.UncontrolledDevice), as_ari_error(modules.ModuleError):
        raise devices.UncontrolledDevice("Uncontrolled device specified")
