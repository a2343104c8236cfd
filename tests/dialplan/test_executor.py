"""The PBX executor: priorities, jumps, invalid extensions, ``h``, hangups."""

from __future__ import annotations

import logging

import pytest

from conftest import wait_for
from dialplan.dialplan_rig import Rig
from pyari.config import parse_text
from pyari.core import causes
from pyari.core import events as ev
from pyari.core.channel import Channel
from pyari.dialplan import apps as _apps  # noqa: F401  (registers applications)
from pyari.dialplan.executor import goto_target
from pyari.dialplan.loader import build_dialplan
from pyari.stasis import dialplan_app as _stasis_app  # noqa: F401


def stasis_rig(conf: str) -> Rig:
    return Rig(conf, stasis=True)


async def test_runs_priorities_in_order_with_channel_dialplan_events() -> None:
    rig = stasis_rig(
        """
[test]
exten => 100,1,NoOp(first)
same => n,Set(X=${EXTEN}-${CONTEXT})
same => n,NoOp(${X})
"""
    )
    chan = await rig.run("100")
    assert rig.apps(chan) == [("NoOp", "first"), ("Set", "X=100-test"), ("NoOp", "100-test")]
    assert rig.where(chan) == [("100", 1, "NoOp"), ("100", 2, "Set"), ("100", 3, "NoOp")]
    assert chan.get_var("X") == "100-test"
    # Fell off the end: the channel is hung up and destroyed.
    assert rig.mine(chan)[-1].__class__ is ev.ChannelDestroyed


async def test_goto_with_labels_and_other_contexts() -> None:
    rig = stasis_rig(
        """
[test]
exten => 100,1,Goto(target)
same => n,NoOp(skipped)
same => n(target),Goto(200,1)

exten => 200,1,Goto(other,300,start)

[other]
exten => 300,1,NoOp(not me)
same => n(start),NoOp(here)
same => n,Goto(+2)
same => n,NoOp(skipped too)
same => n,NoOp(end)
"""
    )
    chan = await rig.run("100")
    assert rig.apps(chan) == [
        ("Goto", "target"),
        ("Goto", "200,1"),
        ("Goto", "other,300,start"),
        ("NoOp", "here"),
        ("Goto", "+2"),
        ("NoOp", "end"),
    ]
    assert chan.context == "other"


async def test_goto_to_a_missing_label_hangs_up(caplog: pytest.LogCaptureFixture) -> None:
    rig = stasis_rig(
        """
[test]
exten => 100,1,Goto(nowhere)
same => n,NoOp(never)
"""
    )
    chan = await rig.run("100")
    assert rig.apps(chan) == [("Goto", "nowhere")]
    assert "not a valid destination" in caplog.text


async def test_gotoif_branches() -> None:
    rig = stasis_rig(
        """
[test]
exten => 100,1,Set(A=1)
same => n,GotoIf($[${A} = 1]?yes:no)
same => n(no),NoOp(no)
same => n,Hangup()
same => n(yes),NoOp(yes)
same => n,GotoIf(0?yes)
same => n,GotoIf(?nope:after)
same => n,NoOp(skipped)
same => n(after),NoOp(after)
"""
    )
    chan = await rig.run("100")
    assert [a for a in rig.apps(chan) if a[0] == "NoOp"] == [("NoOp", "yes"), ("NoOp", "after")]
    # "0?yes" has no false branch: it goes on to the next priority.
    assert ("GotoIf", "?nope:after") in rig.apps(chan)


def test_goto_target_forms() -> None:
    rig = stasis_rig("[test]\nexten => 100,1,NoOp()\nsame => n(lbl),NoOp()\n")
    chan = Channel(
        rig.core, rig.sim, "Sim/x", uniqueid="1", context="test", exten="100", priority=5
    )
    assert goto_target(rig.pbx, chan, "3") == ("test", "100", 3)
    assert goto_target(rig.pbx, chan, "200,1") == ("test", "200", 1)
    assert goto_target(rig.pbx, chan, "ctx,300,2") == ("ctx", "300", 2)
    assert goto_target(rig.pbx, chan, "+1") == ("test", "100", 6)
    assert goto_target(rig.pbx, chan, "-2") == ("test", "100", 3)
    assert goto_target(rig.pbx, chan, "lbl") == ("test", "100", 2)
    assert goto_target(rig.pbx, chan, "missing") is None
    assert goto_target(rig.pbx, chan, "") is None
    assert goto_target(rig.pbx, chan, "a,b,c,d") is None


async def test_invalid_extension_goes_to_i(caplog: pytest.LogCaptureFixture) -> None:
    rig = stasis_rig(
        """
[test]
exten => 100,1,Goto(999,1)
exten => i,1,NoOp(invalid ${INVALID_EXTEN})
"""
    )
    chan = await rig.run("100")
    assert rig.apps(chan) == [("Goto", "999,1"), ("NoOp", "invalid 999")]
    assert chan.get_var("INVALID_EXTEN") == "999"
    assert "sent to invalid extension" in caplog.text


async def test_invalid_extension_without_i_ends_the_call(caplog: pytest.LogCaptureFixture) -> None:
    rig = stasis_rig("[test]\nexten => 100,1,NoOp()\n")
    chan = await rig.run("555")
    assert rig.apps(chan) == []
    assert "no invalid handler" in caplog.text


async def test_h_extension_runs_after_hangup() -> None:
    rig = stasis_rig(
        """
[test]
exten => 100,1,Answer()
same => n,Wait(30)
same => n,NoOp(not reached)

exten => h,1,NoOp(cleanup ${HANGUPCAUSE})
same => n,Set(DONE=1)
"""
    )
    chan = rig.call("100")
    await wait_for(lambda: chan.app_name == "Wait")
    chan.request_hangup(causes.USER_BUSY)
    await wait_for(lambda: chan.destroyed)
    assert rig.apps(chan)[-2:] == [("NoOp", "cleanup 17"), ("Set", "DONE=1")]
    assert ("NoOp", "not reached") not in rig.apps(chan)
    assert chan.exten == "h"
    assert chan.get_var("DONE") == "1"


async def test_wait_is_interrupted_by_hangup() -> None:
    rig = stasis_rig("[test]\nexten => 100,1,Wait(30)\nsame => n,Set(AFTER=1)\n")
    chan = rig.call("100")
    await wait_for(lambda: chan.app_name == "Wait")
    rig.sim.phones["p"].hangup()
    await wait_for(lambda: chan.destroyed)
    assert chan.get_var("AFTER") is None


async def test_short_wait_completes() -> None:
    rig = stasis_rig("[test]\nexten => 100,1,Wait(0.01)\nsame => n,Set(AFTER=1)\n")
    chan = await rig.run("100")
    assert chan.get_var("AFTER") == "1"


async def test_hangup_with_cause() -> None:
    rig = stasis_rig("[test]\nexten => 100,1,Hangup(21)\nsame => n,NoOp(never)\n")
    chan = await rig.run("100")
    assert rig.apps(chan) == [("Hangup", "21")]
    destroyed = rig.mine(chan, ev.ChannelDestroyed)
    assert (destroyed[0].cause, destroyed[0].cause_txt) == (21, "Call Rejected")


async def test_hangup_without_cause_is_normal_clearing() -> None:
    rig = stasis_rig("[test]\nexten => 100,1,Hangup()\n")
    chan = await rig.run("100")
    assert rig.mine(chan, ev.ChannelDestroyed)[0].cause == 16


async def test_unknown_application_hangs_up(caplog: pytest.LogCaptureFixture) -> None:
    rig = stasis_rig("[test]\nexten => 100,1,Frobnicate(x)\nsame => n,NoOp(never)\n")
    chan = await rig.run("100")
    assert rig.apps(chan) == [("Frobnicate", "x")]
    assert "No application 'Frobnicate'" in caplog.text


async def test_auto_fallthrough_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="pyari.verbose")
    rig = stasis_rig("[test]\nexten => 100,1,NoOp()\n")
    chan = await rig.run("100")
    assert "Auto fallthrough" in caplog.text
    assert chan.name in caplog.text


async def test_verbose_log_of_each_priority(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="pyari.verbose")
    rig = stasis_rig("[test]\nexten => 100,1,NoOp(hello)\n")
    chan = await rig.run("100")
    assert f'Executing [100@test:1] NoOp("{chan.name}", "hello") in new stack' in caplog.text


async def test_swap_applies_to_new_calls() -> None:
    rig = stasis_rig("[test]\nexten => 100,1,Set(V=old)\n")
    first = await rig.run("100")
    rig.pbx.swap(build_dialplan(parse_text("[test]\nexten => 100,1,Set(V=new)\n")))
    second = await rig.run("100")
    assert first.get_var("V") == "old"
    assert second.get_var("V") == "new"


async def test_dialplan_globals_are_variables() -> None:
    rig = stasis_rig("[globals]\nG=from-globals\n[test]\nexten => 100,1,Set(X=${G})\n")
    chan = await rig.run("100")
    assert chan.get_var("X") == "from-globals"


async def test_h_extension_runs_after_falling_off_the_end() -> None:
    rig = stasis_rig(
        """
[test]
exten => 100,1,NoOp(only)
exten => h,1,Set(DONE=1)
"""
    )
    chan = await rig.run("100")
    assert chan.get_var("DONE") == "1"


async def test_hangup_in_h_keeps_the_earlier_cause() -> None:
    rig = stasis_rig(
        """
[test]
exten => 100,1,Wait(30)
exten => h,1,Hangup()
"""
    )
    chan = rig.call("100")
    await wait_for(lambda: chan.app_name == "Wait")
    rig.sim.phones["p"].hangup(causes.USER_BUSY)
    await wait_for(lambda: chan.destroyed)
    assert rig.mine(chan, ev.ChannelDestroyed)[0].cause == causes.USER_BUSY


async def test_pbx_end_hangup_request_carries_the_appunload_flag() -> None:
    rig = stasis_rig("[test]\nexten => 100,1,Wait(30)\n")
    chan = rig.call("100")
    await wait_for(lambda: chan.app_name == "Wait")
    chan.queue_hangup(causes.USER_BUSY)
    await wait_for(lambda: chan.destroyed)
    reqs = [(e.cause, e.soft) for e in rig.mine(chan, ev.ChannelHangupRequest)]
    assert reqs == [(causes.USER_BUSY, ev.UNSET), (causes.SOFTHANGUP_APPUNLOAD, True)]
    assert rig.mine(chan, ev.ChannelDestroyed)[0].cause == causes.USER_BUSY


async def test_hangup_app_request_event() -> None:
    rig = stasis_rig("[test]\nexten => 100,1,Hangup(17)\n")
    chan = await rig.run("100")
    reqs = [(e.cause, e.soft) for e in rig.mine(chan, ev.ChannelHangupRequest)]
    assert reqs == [(causes.SOFTHANGUP_APPUNLOAD, True)]


def test_services_are_found_by_type() -> None:
    rig = Rig("[default]\nexten => s,1,NoOp()\n")

    class Ledger:
        pass

    with pytest.raises(LookupError, match="no Ledger was provided"):
        rig.pbx.service(Ledger)
    ledger = Ledger()
    rig.pbx.provide(ledger)
    assert rig.pbx.service(Ledger) is ledger
