"""Transaction state machines (RFC 3261 §17, RFC 6026) with an injected clock."""

from __future__ import annotations

import itertools

from pyari.sip.message import Request, Response, make_response, parse_message
from pyari.sip.transaction import (
    AckReceived,
    Event,
    RequestReceived,
    ResponseReceived,
    Send,
    State,
    StrayResponse,
    TransactionLayer,
    TransactionTerminated,
    TransactionTimeout,
    response_destination,
)

PEER = ("192.0.2.10", 5062)


def request(
    method: str = "INVITE", branch: str = "z9hG4bKabc", cseq: int = 1, **kw: str
) -> Request:
    via = kw.get("via", f"SIP/2.0/UDP 192.0.2.10:5062;branch={branch}")
    data = (
        f"{method} sip:bob@198.51.100.1 SIP/2.0\r\nVia: {via}\r\nMax-Forwards: 70\r\n"
        "From: <sip:alice@example.com>;tag=a1\r\n"
        f"To: <sip:bob@example.com>{kw.get('to_tag', '')}\r\n"
        f"Call-ID: call-1\r\nCSeq: {cseq} {kw.get('cseq_method', method)}\r\n"
        "Content-Length: 0\r\n\r\n"
    )
    msg = parse_message(data.encode())
    assert isinstance(msg, Request)
    return msg


def sends(events: list[Event]) -> list[bytes]:
    return [e.data for e in events if isinstance(e, Send)]


def first_line(data: bytes) -> str:
    return data.split(b"\r\n", 1)[0].decode()


def response_to(req: Request, status: int, tag: str = ";tag=b1") -> Response:
    resp = make_response(req, status, to_tag=tag.removeprefix(";tag=") if tag else None)
    parsed = parse_message(resp.to_bytes())
    assert isinstance(parsed, Response)
    return parsed


# --------------------------------------------------------------------------- client INVITE


def test_client_invite_timer_a_doubles_until_timer_b() -> None:
    layer = TransactionLayer()
    tx, events = layer.send_request(request(), PEER, 0.0)
    assert len(sends(events)) == 1 and tx.state is State.CALLING
    times = []
    now = 0.0
    while True:
        deadline = layer.next_deadline()
        assert deadline is not None
        now = deadline
        evs = layer.tick(now)
        if any(isinstance(e, TransactionTimeout) for e in evs):
            break
        assert len(sends(evs)) == 1
        times.append(now)
    # retransmissions at 0.5, 1.5, 3.5, 7.5, 15.5, 31.5; timeout (Timer B) at 32
    assert times == [0.5, 1.5, 3.5, 7.5, 15.5, 31.5]
    assert now == 32.0
    assert tx.state is State.TERMINATED and not layer.clients


def test_client_invite_provisional_stops_retransmission_and_failure_is_acked() -> None:
    layer = TransactionLayer()
    req = request()
    tx, _ = layer.send_request(req, PEER, 0.0)
    evs = layer.receive(response_to(req, 180), PEER, 0.2)
    assert [type(e) for e in evs] == [ResponseReceived]
    assert tx.state is State.PROCEEDING
    assert layer.next_deadline() is None  # no A, and B does not run in Proceeding
    evs = layer.receive(response_to(req, 486), PEER, 5.0)
    acks = sends(evs)
    assert len(acks) == 1
    ack = parse_message(acks[0])
    assert isinstance(ack, Request) and ack.method == "ACK"
    assert ack.top_via.branch == "z9hG4bKabc"  # same branch as the INVITE
    assert ack.to.tag == "b1" and str(ack.cseq) == "1 ACK"
    assert tx.state is State.COMPLETED
    # a retransmitted 486 is ACKed again, not passed up
    evs = layer.receive(response_to(req, 486), PEER, 6.0)
    assert len(sends(evs)) == 1 and not [e for e in evs if isinstance(e, ResponseReceived)]
    # Timer D (32 s over UDP)
    assert layer.next_deadline() == 37.0
    evs = layer.tick(37.0)
    assert [type(e) for e in evs] == [TransactionTerminated]


def test_client_invite_2xx_goes_to_accepted_and_passes_retransmissions() -> None:
    layer = TransactionLayer()
    req = request()
    tx, _ = layer.send_request(req, PEER, 0.0)
    ok = response_to(req, 200)
    assert [type(e) for e in layer.receive(ok, PEER, 0.1)] == [ResponseReceived]
    assert tx.state is State.ACCEPTED
    assert [type(e) for e in layer.receive(ok, PEER, 0.6)] == [ResponseReceived]
    assert layer.next_deadline() == 0.1 + 32  # Timer M
    layer.tick(40.0)
    # after the transaction is gone, a 2xx retransmission is stray (the dialog re-ACKs)
    assert [type(e) for e in layer.receive(ok, PEER, 41.0)] == [StrayResponse]


def test_reliable_transport_has_no_retransmissions() -> None:
    layer = TransactionLayer()
    req = request(via="SIP/2.0/TCP 192.0.2.10:5062;branch=z9hG4bKtcp")
    tx, _ = layer.send_request(req, PEER, 0.0, transport="TCP")
    assert layer.next_deadline() == 32.0  # only Timer B
    layer.receive(response_to(req, 404), PEER, 1.0)
    assert layer.next_deadline() == 1.0  # Timer D is zero
    assert [type(e) for e in layer.tick(1.0)] == [TransactionTerminated]
    assert tx.state is State.TERMINATED


# --------------------------------------------------------------------------- client non-INVITE


def test_client_non_invite_timer_e_caps_at_t2_and_f_times_out() -> None:
    layer = TransactionLayer()
    layer.send_request(request("OPTIONS"), PEER, 0.0)
    times = []
    while True:
        now = layer.next_deadline()
        assert now is not None
        evs = layer.tick(now)
        if any(isinstance(e, TransactionTimeout) for e in evs):
            break
        times.append(now)
    assert times[:5] == [0.5, 1.5, 3.5, 7.5, 11.5]  # 0.5, 1, 2, 4, 4 ...
    assert all(b - a == 4.0 for a, b in itertools.pairwise(times[4:]))
    assert now == 32.0


def test_client_non_invite_proceeding_retransmits_every_t2_then_k() -> None:
    layer = TransactionLayer()
    req = request("BYE")
    tx, _ = layer.send_request(req, PEER, 0.0)
    layer.receive(response_to(req, 100, ""), PEER, 0.1)
    assert tx.state is State.PROCEEDING
    assert len(sends(layer.tick(0.5))) == 1
    assert layer.next_deadline() == 4.5  # T2
    evs = layer.receive(response_to(req, 200), PEER, 1.0)
    assert [type(e) for e in evs] == [ResponseReceived]
    assert tx.state is State.COMPLETED
    assert layer.next_deadline() == 6.0  # Timer K = T4
    assert layer.receive(response_to(req, 200), PEER, 2.0) == []  # absorbed


# --------------------------------------------------------------------------- server INVITE


def test_server_invite_sends_trying_and_absorbs_retransmissions() -> None:
    layer = TransactionLayer()
    req = request()
    evs = layer.receive(req, PEER, 0.0)
    assert [first_line(d) for d in sends(evs)] == ["SIP/2.0 100 Trying"]
    (received,) = [e for e in evs if isinstance(e, RequestReceived)]
    tx = received.transaction
    layer.send_response(tx, tx.respond(180, to_tag="x"), 0.1)
    again = layer.receive(request(), PEER, 0.5)
    assert [first_line(d) for d in sends(again)] == ["SIP/2.0 180 Ringing"]
    assert not [e for e in again if isinstance(e, RequestReceived)]


def test_server_invite_failure_timer_g_then_ack_confirms() -> None:
    layer = TransactionLayer()
    evs = layer.receive(request(), PEER, 0.0)
    tx = next(e.transaction for e in evs if isinstance(e, RequestReceived))
    layer.send_response(tx, tx.respond(486, to_tag="x"), 0.0)
    assert tx.state is State.COMPLETED
    assert [first_line(d) for d in sends(layer.tick(0.5))] == ["SIP/2.0 486 Busy Here"]
    assert layer.next_deadline() == 1.5  # G doubles
    ack = request("ACK", cseq=1, to_tag=";tag=x")
    assert layer.receive(ack, PEER, 1.0) == []
    assert tx.state is State.CONFIRMED
    assert layer.next_deadline() == 6.0  # Timer I = T4
    assert layer.receive(ack, PEER, 2.0) == []  # retransmitted ACK absorbed
    assert [type(e) for e in layer.tick(6.0)] == [TransactionTerminated]


def test_server_invite_timer_h_without_ack() -> None:
    layer = TransactionLayer()
    evs = layer.receive(request(), PEER, 0.0)
    tx = next(e.transaction for e in evs if isinstance(e, RequestReceived))
    layer.send_response(tx, tx.respond(603, to_tag="x"), 0.0)
    out: list[Event] = []
    now = 0.0
    while layer.servers:
        now = layer.next_deadline() or 0.0
        out += layer.tick(now)
    assert now == 32.0
    assert [type(e) for e in out[-2:]] == [TransactionTimeout, TransactionTerminated]
    # Timer G: 0.5, 1.5, 3.5, 7.5, then every T2: 11.5 ... 31.5
    assert len(sends(out)) == 10


def test_server_invite_2xx_is_accepted_and_ack_goes_to_tu() -> None:
    layer = TransactionLayer()
    evs = layer.receive(request(), PEER, 0.0)
    tx = next(e.transaction for e in evs if isinstance(e, RequestReceived))
    layer.send_response(tx, tx.respond(200, to_tag="x"), 0.0)
    assert tx.state is State.ACCEPTED
    # the ACK of a 2xx has a new branch: it is the dialog's
    ack = request("ACK", branch="z9hG4bKnew", to_tag=";tag=x")
    evs = layer.receive(ack, PEER, 0.1)
    assert [type(e) for e in evs] == [AckReceived]
    assert layer.next_deadline() == 32.0  # Timer L


def test_cancel_finds_its_invite_and_2543_matching() -> None:
    layer = TransactionLayer()
    layer.receive(request(), PEER, 0.0)
    cancel = request("CANCEL")
    evs = layer.receive(cancel, PEER, 0.1)
    cancel_tx = next(e.transaction for e in evs if isinstance(e, RequestReceived))
    assert cancel_tx is not layer.find_invite(cancel)
    invite_tx = layer.find_invite(cancel)
    assert invite_tx is not None and invite_tx.method == "INVITE"
    # RFC 2543 peer: no magic cookie; the ACK for our 486 still matches the INVITE
    old = TransactionLayer()
    req = request(via="SIP/2.0/UDP 192.0.2.15")
    evs = old.receive(req, PEER, 0.0)
    tx = next(e.transaction for e in evs if isinstance(e, RequestReceived))
    old.send_response(tx, tx.respond(486, to_tag="x"), 0.0)
    assert (
        old.receive(request("ACK", via="SIP/2.0/UDP 192.0.2.15", to_tag=";tag=x"), PEER, 0.2) == []
    )
    assert tx.state is State.CONFIRMED
    # a retransmitted 2543 INVITE matches too
    assert sends(old.receive(request(via="SIP/2.0/UDP 192.0.2.15"), PEER, 0.3)) == []


def test_server_non_invite_timer_j_and_retransmitted_request() -> None:
    layer = TransactionLayer()
    evs = layer.receive(request("OPTIONS"), PEER, 0.0)
    tx = next(e.transaction for e in evs if isinstance(e, RequestReceived))
    assert sends(layer.receive(request("OPTIONS"), PEER, 0.1)) == []  # nothing sent yet
    layer.send_response(tx, tx.respond(200, to_tag="x"), 0.2)
    assert [first_line(d) for d in sends(layer.receive(request("OPTIONS"), PEER, 0.3))] == [
        "SIP/2.0 200 OK"
    ]
    assert layer.next_deadline() == 32.2
    assert [type(e) for e in layer.tick(32.2)] == [TransactionTerminated]


def test_response_destination_follows_rport_and_sent_by() -> None:
    rport = request(via="SIP/2.0/UDP 10.0.0.5:5070;branch=z9hG4bK1;rport").top_via
    plain = request(via="SIP/2.0/UDP 10.0.0.5:5070;branch=z9hG4bK1").top_via
    no_port = request(via="SIP/2.0/UDP 10.0.0.5;branch=z9hG4bK1").top_via
    source = ("203.0.113.9", 40000)
    assert response_destination(rport, source) == source
    assert response_destination(plain, source) == ("203.0.113.9", 5070)
    assert response_destination(no_port, source) == ("203.0.113.9", 5060)
    assert response_destination(plain, source, force_rport=True) == source
