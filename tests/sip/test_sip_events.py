"""Events of the transaction layer and the user agent: dataclasses with slots, equal and
hashed by their fields (as the frozen dataclasses they were), made without
object.__setattr__ per field."""

from __future__ import annotations

import dataclasses

import pytest

from pyari.sip import transaction, ua

EVENTS = [
    transaction.Send,
    transaction.RequestReceived,
    transaction.AckReceived,
    transaction.ResponseReceived,
    transaction.StrayResponse,
    transaction.TransactionTimeout,
    transaction.TransactionTerminated,
    ua.IncomingCall,
    ua.Progress,
    ua.Answered,
    ua.CallFailed,
    ua.CallEnded,
    ua.Reinvite,
    ua.MediaChanged,
    ua.DtmfInfo,
    ua.TransferRequested,
    ua.MessageReceived,
    ua.ContactChanged,
    ua.QualifyResult,
    ua.SecurityAlert,
]


def _values(cls: type, base: int) -> dict[str, object]:
    return {f.name: f"{f.name}-{base}" for f in dataclasses.fields(cls)}


@pytest.mark.parametrize("cls", EVENTS, ids=lambda c: c.__name__)
def test_event_is_a_slotted_dataclass_equal_and_hashed_by_fields(cls: type) -> None:
    assert dataclasses.is_dataclass(cls)
    assert "__slots__" in cls.__dict__
    one, same, other = cls(**_values(cls, 1)), cls(**_values(cls, 1)), cls(**_values(cls, 2))
    assert not hasattr(one, "__dict__")
    assert one == same and hash(one) == hash(same)
    assert one != other
    assert len({one, same, other}) == 2
    assert repr(one).startswith(cls.__name__ + "(")
    assert dataclasses.astuple(one) == tuple(_values(cls, 1).values())


def test_events_of_different_classes_with_the_same_fields_differ() -> None:
    t = object()
    assert transaction.TransactionTimeout(t) != transaction.TransactionTerminated(t)  # type: ignore[arg-type]


def test_send_keeps_its_fields_positionally_and_by_name() -> None:
    send = transaction.Send(b"x", ("127.0.0.1", 5060), "UDP", None)  # type: ignore[arg-type]
    assert send.data == b"x" and send.dest == ("127.0.0.1", 5060)
    assert send.transport == "UDP" and send.message is None
    assert transaction.Send.__match_args__ == ("data", "dest", "transport", "message")
