"""The control queue of a channel in Stasis: commands run in order on the channel's task."""

from __future__ import annotations

import asyncio
import functools
from typing import Any

import pytest

from conftest import wait_for
from pyari.channels.local import LocalTech
from pyari.channels.sim import SimTech
from pyari.config import parse_text
from pyari.core.channel import Channel
from pyari.core.engine import Core
from pyari.dialplan import apps as _apps  # noqa: F401  (registers applications)
from pyari.dialplan.executor import Pbx
from pyari.dialplan.loader import build_dialplan
from pyari.stasis.control import ChannelGone, Control
from pyari.stasis.registry import Registry


class Rig:
    def __init__(self) -> None:
        self.core = Core()
        self.core.register_tech(LocalTech())
        self.pbx = Pbx(self.core, build_dialplan(parse_text("[test]\nexten => s,1,Wait(30)\n")))
        self.stasis = Registry(self.core)
        self.stasis.register("app", lambda event: None)

    async def in_stasis(self) -> Channel:
        chan = self.core.request("Local/s@test")

        async def work() -> None:
            await self.stasis.run(chan, "app", [], dialplan=False)

        chan.start(work)
        await wait_for(lambda: chan.control is not None)
        return chan

    async def drain(self) -> None:
        self.core.hangup_all()
        await wait_for(lambda: not self.core.channels)


def control_of(chan: Channel) -> Control:
    control = chan.control
    assert isinstance(control, Control)
    return control


async def test_commands_run_in_order_on_the_channel_task() -> None:
    rig = Rig()
    chan = await rig.in_stasis()
    control = control_of(chan)
    ran: list[tuple[int, asyncio.Task[Any] | None]] = []

    def cmd(n: int) -> int:
        ran.append((n, asyncio.current_task()))
        return n * 10

    results = await asyncio.gather(*(control.execute(functools.partial(cmd, n)) for n in range(5)))
    assert results == [0, 10, 20, 30, 40]
    assert [n for n, _ in ran] == [0, 1, 2, 3, 4]
    assert all(task is chan.task for _, task in ran)
    await rig.drain()


async def test_async_commands_are_awaited_before_the_next() -> None:
    rig = Rig()
    chan = await rig.in_stasis()
    control = control_of(chan)
    order: list[str] = []
    gate = asyncio.Event()

    async def slow() -> str:
        order.append("slow start")
        await gate.wait()
        order.append("slow end")
        return "slow"

    def quick() -> str:
        order.append("quick")
        return "quick"

    f1 = asyncio.ensure_future(control.execute(slow))
    f2 = asyncio.ensure_future(control.execute(quick))
    await wait_for(lambda: order == ["slow start"])
    assert not f2.done()
    gate.set()
    assert await f1 == "slow"
    assert await f2 == "quick"
    assert order == ["slow start", "slow end", "quick"]
    await rig.drain()


async def test_command_exceptions_go_to_the_caller() -> None:
    rig = Rig()
    chan = await rig.in_stasis()
    control = control_of(chan)

    def bad() -> None:
        raise ValueError("nope")

    with pytest.raises(ValueError, match="nope"):
        await control.execute(bad)
    # The control keeps serving commands afterwards.
    assert await control.execute(lambda: "still here") == "still here"
    assert not chan.hungup
    await rig.drain()


async def test_command_for_a_destroyed_channel_fails_with_channel_gone() -> None:
    rig = Rig()
    chan = await rig.in_stasis()
    control = control_of(chan)
    gate = asyncio.Event()
    started = asyncio.Event()
    ran: list[str] = []

    async def blocking() -> str:
        started.set()
        await gate.wait()
        return "done"

    first = asyncio.ensure_future(control.execute(blocking))
    await started.wait()
    chan.request_hangup()
    gate.set()
    # The command that was running when the hangup came finishes normally.
    assert await first == "done"
    await wait_for(lambda: chan.destroyed)
    with pytest.raises(ChannelGone):
        await control.execute(lambda: ran.append("late"))
    assert ran == []
    await rig.drain()


async def test_leave_ends_stasis_after_queued_commands() -> None:
    rig = Rig()
    chan = await rig.in_stasis()
    control = control_of(chan)
    done = asyncio.ensure_future(control.execute(lambda: "ok"))
    await asyncio.sleep(0)  # let execute() queue its command (FIFO scheduling)
    control.leave()
    assert await done == "ok"
    await wait_for(lambda: chan.destroyed)
    await rig.drain()


async def test_command_after_hangup_request_is_not_run() -> None:
    rig = Rig()
    chan = await rig.in_stasis()
    control = control_of(chan)
    ran: list[str] = []
    chan.request_hangup()
    assert not chan.destroyed
    with pytest.raises(ChannelGone):
        await control.execute(lambda: ran.append("after hangup"))
    assert ran == []
    await rig.drain()


async def test_command_after_the_channel_left_fails_at_once() -> None:
    rig = Rig()
    chan = rig.core.request("Local/s@test")

    async def work() -> None:
        await rig.stasis.run(chan, "app", [], dialplan=False)
        await chan.wait_hangup()  # still alive after leaving the application

    chan.start(work)
    await wait_for(lambda: chan.control is not None)
    control = control_of(chan)
    control.leave()
    await wait_for(lambda: chan.control is None)
    assert not chan.destroyed
    try:
        with pytest.raises(ChannelGone):
            await asyncio.wait_for(control.execute(lambda: None), 0.2)
    finally:
        await rig.drain()


# -- commands of the control (Asterisk's stasis_app_control_*) -----------------------------


async def sim_in_stasis(rig: Rig, phone: str) -> tuple[Channel, SimTech]:
    sim = SimTech()
    rig.core.register_tech(sim)
    chan = rig.core.request(f"Sim/{phone}")

    async def work() -> None:
        await rig.stasis.run(chan, "app", [], dialplan=False)

    chan.start(work)
    await wait_for(lambda: chan.control is not None)
    return chan, sim


async def test_dial_takes_the_callers_details_in_queue_order() -> None:
    rig = Rig()
    chan, sim = await sim_in_stasis(rig, "dave")
    sim.phone("dave", answer_after=None)
    caller = await rig.in_stasis()
    caller.set_caller("Carol", "100")
    caller.language = "fr"
    control = control_of(chan)
    gate = asyncio.Event()

    async def blocking() -> None:
        await gate.wait()

    first = asyncio.ensure_future(control.execute(blocking))
    dial = asyncio.ensure_future(control.dial("dave", None, caller))
    await asyncio.sleep(0)
    # The dial waits for the command queued before it: nothing changed yet.
    assert not dial.done()
    assert chan.connected.number == "" and chan.language != "fr"
    assert chan.state == "Down"
    gate.set()
    await first
    await dial
    assert (chan.connected.name, chan.connected.number) == ("Carol", "100")
    assert chan.language == "fr"
    assert chan.state == "Ringing"
    await rig.drain()


async def test_indicate_runs_on_the_channel_task_after_queued_commands() -> None:
    rig = Rig()
    chan, sim = await sim_in_stasis(rig, "erin")
    control = control_of(chan)
    gate = asyncio.Event()

    async def blocking() -> None:
        await gate.wait()

    first = asyncio.ensure_future(control.execute(blocking))
    indicated = asyncio.ensure_future(control.indicate("transfer", "success"))
    await asyncio.sleep(0)
    assert sim.phone("erin").indications == []
    gate.set()
    await first
    await indicated
    assert sim.phone("erin").indications == ["transfer"]
    await rig.drain()


async def test_dial_of_a_departed_channel_fails_with_channel_gone() -> None:
    rig = Rig()
    chan, _sim = await sim_in_stasis(rig, "frank")
    control = control_of(chan)
    chan.request_hangup()
    with pytest.raises(ChannelGone):
        await control.dial("frank", None, None)
    assert chan.state == "Down"
    await rig.drain()


async def test_sync_command_runs_at_once_while_the_task_is_idle() -> None:
    rig = Rig()
    chan = await rig.in_stasis()
    control = control_of(chan)
    await asyncio.sleep(0)  # the channel's task waits for work
    ran: list[str] = []

    def command() -> int:
        ran.append("now")
        return 7

    coro = control.execute(command, sync=True)
    # Nothing handed over: the command ran as the coroutine started, no loop round.
    with pytest.raises(StopIteration) as stop:
        coro.send(None)
    assert stop.value.value == 7
    assert ran == ["now"]
    await rig.drain()


async def test_sync_command_queues_behind_commands_already_queued() -> None:
    rig = Rig()
    chan = await rig.in_stasis()
    control = control_of(chan)
    await asyncio.sleep(0)
    ran: list[int] = []
    first = asyncio.ensure_future(control.execute(lambda: ran.append(1)))
    await asyncio.sleep(0)  # queued; the task is woken but has not run it yet
    second = asyncio.ensure_future(control.execute(lambda: ran.append(2), sync=True))
    await asyncio.gather(first, second)
    assert ran == [1, 2]
    await rig.drain()


async def test_sync_command_that_leaves_wakes_the_task() -> None:
    rig = Rig()
    chan = await rig.in_stasis()
    control = control_of(chan)
    await asyncio.sleep(0)
    await control.execute(control.leave, sync=True)
    await wait_for(lambda: control.done)
    assert chan.control is None
    with pytest.raises(ChannelGone):
        await control.execute(lambda: None, sync=True)
    await rig.drain()


async def test_sync_command_after_hangup_request_is_not_run() -> None:
    rig = Rig()
    chan = await rig.in_stasis()
    control = control_of(chan)
    await asyncio.sleep(0)
    chan.request_hangup()
    ran: list[str] = []
    with pytest.raises(ChannelGone):
        await control.execute(lambda: ran.append("x"), sync=True)
    assert ran == []
    await rig.drain()


async def test_a_wake_while_a_command_runs_is_spent_by_that_round() -> None:
    """The task's wake-up flag (an ``asyncio.Event``'s, kept by Control itself): a wake
    during a command makes the task look once more, then it idles again (a sync command
    runs inline), and a later wake still reaches it."""
    rig = Rig()
    chan = await rig.in_stasis()
    control = control_of(chan)
    await asyncio.sleep(0)

    async def command() -> None:
        control.wake()
        await asyncio.sleep(0)

    await control.execute(command)
    await asyncio.sleep(0)
    assert control._idle and not control._woken
    ran: list[str] = []
    coro = control.execute(lambda: ran.append("inline"), sync=True)
    with pytest.raises(StopIteration):
        coro.send(None)
    assert ran == ["inline"]
    control.wake()  # no work: the task looks, finds none and idles again
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert control._idle and not control._woken and not control.done
    chan.request_hangup()
    await wait_for(lambda: control.done)
    await rig.drain()
