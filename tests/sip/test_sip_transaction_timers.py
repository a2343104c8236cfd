"""The transaction layer's timer heap: next_deadline() and tick() across many
transactions, with stale heap entries (timers stopped, moved or of ended transactions)."""

from __future__ import annotations

from pyari.sip.message import Request, make_response, parse_message
from pyari.sip.transaction import (
    Send,
    State,
    TransactionLayer,
    TransactionTerminated,
    TransactionTimeout,
)

PEER = ("192.0.2.10", 5062)


def invite(n: int) -> Request:
    data = (
        f"INVITE sip:bob@198.51.100.1 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bK{n}\r\nMax-Forwards: 70\r\n"
        "From: <sip:alice@example.com>;tag=a1\r\nTo: <sip:bob@example.com>\r\n"
        f"Call-ID: call-{n}\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
    )
    msg = parse_message(data.encode())
    assert isinstance(msg, Request)
    return msg


def test_next_deadline_is_the_earliest_live_timer_of_many() -> None:
    layer = TransactionLayer()
    # 200 server INVITEs answered 200 OK at t = n ms: each waits out timer L (64·T1)
    for n in range(200):
        layer.receive(invite(n), PEER, 0.0)
        tx = layer.servers[next(reversed(layer.servers))]
        layer.send_response(tx, make_response(tx.request, 200, to_tag="b"), n / 1000)
    assert layer.next_deadline() == 32.0
    # a transaction that left the table no longer counts (its heap entry is stale)
    first = next(iter(layer.servers))
    del layer.servers[first]
    assert layer.next_deadline() == 32.001
    assert layer.tick(32.0) == []  # only the stale entry was due
    events = layer.tick(32.0995)
    ended = [e for e in events if isinstance(e, TransactionTerminated)]
    assert len(ended) == 99  # t = 1 … 99 ms
    assert layer.next_deadline() == 32.1
    assert len(layer.servers) == 100


def test_a_moved_or_stopped_timer_fires_at_its_new_time_only() -> None:
    layer = TransactionLayer()
    client, _ = layer.send_request(invite(1), PEER, 0.0)
    assert layer.next_deadline() == 0.5  # timer A
    # timer A fires, resends and doubles; its old entry must not fire again
    resent = layer.tick(0.5)
    assert len([e for e in resent if isinstance(e, Send)]) == 1
    assert layer.next_deadline() == 1.5
    assert layer.tick(1.0) == []
    # a 180 stops A (and B); only the later timers remain, none due now
    ringing = parse_message(make_response(client.request, 180, to_tag="b").to_bytes())
    layer.receive(ringing, PEER, 1.2)
    assert client.state is State.PROCEEDING
    assert "A" not in client.deadlines and "B" not in client.deadlines
    assert layer.next_deadline() is None
    assert layer.tick(100.0) == []


def test_timers_of_several_transactions_fire_in_time_order() -> None:
    layer = TransactionLayer()
    txs = [layer.send_request(invite(n), PEER, n * 0.1)[0] for n in range(3)]
    for tx in txs:  # timer B only: stop the retransmissions
        tx.deadlines.pop("A")
    events = layer.tick(40.0)
    timeouts = [e.transaction for e in events if isinstance(e, TransactionTimeout)]
    assert timeouts == txs
    assert layer.clients == {} and layer.next_deadline() is None


def test_slack_lets_ending_timers_wait_but_not_retransmissions() -> None:
    layer = TransactionLayer()
    for n in range(3):  # answered at 0, 0.1, 0.2 s: timer L at 32.0, 32.1, 32.2
        layer.receive(invite(n), PEER, 0.0)
        tx = layer.servers[next(reversed(layer.servers))]
        layer.send_response(tx, make_response(tx.request, 200, to_tag="b"), n / 10)
    assert layer.next_deadline() == 32.0
    assert layer.next_deadline(slack=0.25) == 32.25
    # all three end in the one wake-up the slack allowed, in time order
    ended = [e.transaction for e in layer.tick(32.25) if isinstance(e, TransactionTerminated)]
    assert [tx.request.call_id for tx in ended] == ["call-0", "call-1", "call-2"]
    # a retransmission timer (A) is never put off
    client, _ = layer.send_request(invite(9), PEER, 40.0)
    assert layer.next_deadline(slack=0.25) == 40.5
    client.deadlines.pop("A")
    assert layer.next_deadline(slack=0.25) == 40.0 + 32  # timer B: a timeout, on time


def test_slack_against_both_heaps() -> None:
    """The earlier of the next retransmission timer and the next ending timer + slack."""
    for sent_at, slack, expected in [
        (31.5, 0.25, 32.0),  # A at 32.0 before L at 32.0 + 0.25
        (31.5, 0.0, 32.0),  # the same time: either
        (31.9, 0.25, 32.25),  # L + slack before A at 32.4
        (31.9, 0.5, 32.4),
    ]:
        layer = TransactionLayer()
        layer.receive(invite(1), PEER, 0.0)
        tx = layer.servers[next(iter(layer.servers))]
        layer.send_response(tx, make_response(tx.request, 200, to_tag="b"), 0.0)  # L at 32
        assert layer.next_deadline(slack) == 32.0 + slack
        layer.send_request(invite(2), PEER, sent_at)  # A at sent_at + 0.5
        assert layer.next_deadline(slack) == expected
        tx.deadlines.clear()  # L stopped: its heap entry is stale
        assert layer.next_deadline(slack) == sent_at + 0.5
