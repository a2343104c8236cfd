"""The Stasis message bus: topics, delivery order, forwarding, the pool and the cache."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from pyari.bus import Bus, Topic


def recorder(log: list[tuple[str, Any]], tag: str) -> Any:
    def cb(topic: Topic, message: Any) -> None:
        log.append((tag, message))

    return cb


def test_delivers_to_every_subscriber_in_subscription_order() -> None:
    t = Topic("t")
    seen: list[tuple[str, Any]] = []
    t.subscribe(recorder(seen, "a"))
    t.subscribe(recorder(seen, "b"))
    t.publish(1)
    t.publish(2)
    assert seen == [("a", 1), ("b", 1), ("a", 2), ("b", 2)]
    assert t.messages == 2


def test_delivery_is_synchronous_and_passes_the_topic() -> None:
    t = Topic("sync")
    got: list[tuple[Topic, Any]] = []
    t.subscribe(lambda topic, msg: got.append((topic, msg)))
    t.publish("x")
    # Delivered before publish() returned.
    assert got == [(t, "x")]


def test_unsubscribe_stops_delivery_and_is_idempotent() -> None:
    t = Topic("t")
    seen: list[tuple[str, Any]] = []
    sub = t.subscribe(recorder(seen, "a"))
    t.publish(1)
    sub.unsubscribe()
    sub.unsubscribe()
    t.publish(2)
    assert seen == [("a", 1)]
    assert not sub.active
    assert t.subscribers == []


def test_unsubscribe_during_delivery_skips_the_removed_subscriber() -> None:
    t = Topic("t")
    seen: list[str] = []
    subs: list[Any] = []

    def first(topic: Topic, msg: Any) -> None:
        seen.append("first")
        subs[1].unsubscribe()

    subs.append(t.subscribe(first))
    subs.append(t.subscribe(lambda topic, msg: seen.append("second")))
    t.publish(1)
    assert seen == ["first"]


def test_subscribing_or_forwarding_during_delivery() -> None:
    t, target = Topic("t"), Topic("target")
    seen: list[tuple[str, Any]] = []

    def first(topic: Topic, message: Any) -> None:
        seen.append(("first", message))
        if message == 1:
            t.subscribe(recorder(seen, "late"))
            t.forward_to(target)

    t.subscribe(first)
    target.subscribe(recorder(seen, "target"))
    t.publish(1)
    # A subscriber made meanwhile waits for the next message; forwards are read
    # after the subscribers ran, so one made by a subscriber takes this one.
    assert seen == [("first", 1), ("target", 1)]
    t.publish(2)
    assert seen[2:] == [("first", 2), ("late", 2), ("target", 2)]


def test_reentrant_publish_is_queued_after_the_current_message() -> None:
    t = Topic("t")
    seen: list[tuple[str, Any]] = []

    def reacting(topic: Topic, msg: Any) -> None:
        seen.append(("a", msg))
        if msg == 1:
            topic.publish(2)
            # Not delivered yet: we are still inside the delivery of 1.
            assert ("b", 1) not in seen

    t.subscribe(reacting)
    t.subscribe(recorder(seen, "b"))
    t.publish(1)
    # Every subscriber sees the same global order: 1 before 2.
    assert seen == [("a", 1), ("b", 1), ("a", 2), ("b", 2)]


def test_reentrant_publish_to_another_topic_keeps_global_order() -> None:
    a, b = Topic("a"), Topic("b")
    seen: list[tuple[str, Any]] = []

    def on_a(topic: Topic, msg: Any) -> None:
        seen.append(("a", msg))
        b.publish(f"from {msg}")

    a.subscribe(on_a)
    a.subscribe(recorder(seen, "a2"))
    b.subscribe(recorder(seen, "b"))
    a.publish(1)
    assert seen == [("a", 1), ("a2", 1), ("b", "from 1")]
    # The pending queue is empty again: a later publish is delivered at once.
    b.publish("later")
    assert seen[-1] == ("b", "later")


def test_subscriber_exception_is_isolated(caplog: pytest.LogCaptureFixture) -> None:
    t = Topic("boom")
    seen: list[tuple[str, Any]] = []

    def bad(topic: Topic, msg: Any) -> None:
        raise RuntimeError("subscriber bug")

    t.subscribe(bad)
    t.subscribe(recorder(seen, "ok"))
    with caplog.at_level(logging.ERROR):
        t.publish(1)
        t.publish(2)
    assert seen == [("ok", 1), ("ok", 2)]
    assert "subscriber of topic boom failed" in caplog.text


def test_exception_in_reentrant_delivery_does_not_lose_queued_messages() -> None:
    t = Topic("t")
    seen: list[Any] = []

    def first(topic: Topic, msg: Any) -> None:
        if msg == 1:
            topic.publish(2)
            topic.publish(3)
        if msg == 2:
            raise ValueError("bad")

    t.subscribe(first)
    t.subscribe(lambda topic, msg: seen.append(msg))
    t.publish(1)
    assert seen == [1, 2, 3]


def test_forwarding_delivers_to_the_target_and_counts_upstream() -> None:
    src, dst = Topic("src"), Topic("dst")
    seen: list[tuple[str, Any]] = []
    src.subscribe(recorder(seen, "src"))
    dst.subscribe(recorder(seen, "dst"))
    assert dst.upstream == 0
    fwd = src.forward_to(dst)
    assert dst.upstream == 1
    src.publish("m")
    assert seen == [("src", "m"), ("dst", "m")]
    assert dst.messages == 1
    # Publishing on the target does not go back up.
    dst.publish("n")
    assert seen[-1] == ("dst", "n")
    assert src.messages == 1
    fwd.cancel()
    fwd.cancel()
    assert dst.upstream == 0
    assert src.forwards == []
    src.publish("after")
    assert seen[-1] == ("src", "after")
    assert dst.messages == 2


def test_forwarding_chains_and_fans_in() -> None:
    a, b, c = Topic("a"), Topic("b"), Topic("c")
    seen: list[tuple[str, Any]] = []
    c.subscribe(recorder(seen, "c"))
    a.forward_to(c)
    b.forward_to(c)
    a2 = Topic("a2")
    a2.forward_to(a)
    assert c.upstream == 2
    a2.publish(1)
    b.publish(2)
    assert seen == [("c", 1), ("c", 2)]


def test_bus_pool_creates_topics_once() -> None:
    bus = Bus()
    t = bus.topic("channel:1", "chan one")
    assert bus.topic("channel:1") is t
    assert t.detail == "chan one"
    assert bus.get("channel:1") is t
    assert bus.get("nope") is None


def test_bus_remove_ends_the_topics_forwards() -> None:
    bus = Bus()
    src = bus.topic("src")
    dst = bus.topic("dst")
    seen: list[Any] = []
    dst.subscribe(lambda topic, msg: seen.append(msg))
    src.forward_to(dst)
    assert dst.upstream == 1
    bus.remove("src")
    bus.remove("src")  # unknown names are ignored
    assert bus.get("src") is None
    assert dst.upstream == 0
    src.publish("orphan")
    assert seen == []
    # A new topic of the same name starts fresh.
    assert bus.topic("src") is not src


def test_topics_nobody_listens_to_only_count_their_messages() -> None:
    chan, endpoint, tech, every = Topic("chan"), Topic("ep"), Topic("tech"), Topic("all")
    endpoint.forward_to(tech)
    tech.forward_to(every)
    chan.forward_to(endpoint)
    seen: list[tuple[str, Any]] = []
    chan.subscribe(recorder(seen, "chan"))
    assert chan.live and not endpoint.live and not every.live
    chan.publish(1)
    assert seen == [("chan", 1)]
    assert (chan.messages, endpoint.messages, tech.messages, every.messages) == (1, 1, 1, 1)
    # A listener at the end makes the whole chain live, at once and upstream.
    sub = every.subscribe(recorder(seen, "all"))
    assert endpoint.live and tech.live
    chan.publish(2)
    assert seen[1:] == [("chan", 2), ("all", 2)]
    sub.unsubscribe()
    assert not endpoint.live and not tech.live and not every.live and chan.live
    chan.publish(3)
    assert seen[3:] == [("chan", 3)]
    assert (endpoint.messages, tech.messages, every.messages) == (3, 3, 3)


def test_the_count_of_a_silent_chain_follows_its_forwards() -> None:
    a, b, c, d = Topic("a"), Topic("b"), Topic("c"), Topic("d")
    a.forward_to(b)
    a.publish(1)  # a's tally (a, b) is made here
    fwd = b.forward_to(c)  # ... and forgotten
    b.forward_to(d)
    c.forward_to(d)  # d twice below a, as delivery would reach it twice
    a.publish(2)
    assert (a.messages, b.messages, c.messages, d.messages) == (2, 2, 1, 2)
    fwd.cancel()
    a.publish(3)
    assert (a.messages, b.messages, c.messages, d.messages) == (3, 3, 1, 3)
    assert a.tally == (a, b, d)


def test_a_listener_made_during_delivery_downstream_takes_the_message() -> None:
    src, silent = Topic("src"), Topic("silent")
    src.forward_to(silent)
    seen: list[tuple[str, Any]] = []

    def first(topic: Topic, message: Any) -> None:
        seen.append(("first", message))
        if message == 1:
            silent.subscribe(recorder(seen, "late"))

    src.subscribe(first)
    assert not silent.live
    src.publish(1)
    # Forwards are read after the subscribers ran: the target is live by then.
    assert seen == [("first", 1), ("late", 1)]
    assert silent.messages == 1


def test_a_subscriber_can_take_only_some_message_types() -> None:
    t = Topic("t")
    seen: list[tuple[str, Any]] = []
    t.subscribe(recorder(seen, "ints"), only=(int,))
    t.subscribe(recorder(seen, "all"))
    t.publish("x")
    t.publish(1)
    t.publish(True)  # a subclass is taken, as isinstance says
    assert seen == [("all", "x"), ("ints", 1), ("all", 1), ("ints", True), ("all", True)]


def test_a_message_nobody_hears_is_counted_without_being_made() -> None:
    a, b, c = Topic("a"), Topic("b"), Topic("c")
    a.forward_to(b)
    b.forward_to(c)
    assert a.counted_unheard()
    assert (a.messages, b.messages, c.messages) == (1, 1, 1)
    a.publish(1)  # counted the same way
    assert (a.messages, b.messages, c.messages) == (2, 2, 2)
    seen: list[tuple[str, Any]] = []
    c.subscribe(recorder(seen, "c"))
    assert not a.counted_unheard()  # someone listens below: the caller publishes
    assert (a.messages, b.messages, c.messages) == (2, 2, 2)


def test_during_a_delivery_a_message_nobody_hears_yet_is_published() -> None:
    src, silent = Topic("src"), Topic("silent")
    seen: list[tuple[str, Any]] = []
    answers: list[bool] = []

    def first(topic: Topic, message: Any) -> None:
        if message == 1:
            unheard = silent.counted_unheard()
            answers.append(unheard)
            if not unheard:
                silent.publish(2)  # queued behind this delivery...
            silent.subscribe(recorder(seen, "late"))  # ... which meets a listener

    src.subscribe(first)
    src.publish(1)
    assert answers == [False]
    assert seen == [("late", 2)]
    assert silent.messages == 1
