"""SIP's own CPU per call set-up, in process: SIPp's messages through the user agent.

python -m bench.sip_ua_cpu [--calls 1000] [--repeat 7] [--profile FILE] [--cold]

The bytes SIPp's ``bench/sipp/setup_uac.xml`` sends (INVITE with SDP, ACK with our
tag, the 200 to our BYE) go through ``parse_message`` and ``UserAgent.receive``; the
ARI app's part is ``UserAgent.answer`` and ``hangup``, with ``next_deadline`` after each
step as ``SipService`` does. No sockets, channels or event loop: ``time.process_time``
over ``--calls`` set-ups is the SIP user agent's Python (parsing, transactions, dialogs,
building what it sends) plus this harness's formatting of SIPp's messages. min / median
of ``--repeat`` (the machine is shared: the min is the figure). ``--profile`` writes
cProfile's summary of one run to FILE. The figure without noise is valgrind's instruction
count: ``valgrind --tool=callgrind --callgrind-out-file=/dev/null python -m
bench.sip_ua_cpu --calls N --repeat 1`` for two values of N; the difference over the
difference of N is the instructions per set-up.

``--cold`` runs the set-ups one at a time with a 10 ms sleep before each (as at 100
set-ups/s, when a set-up finds its code and data out of the caches) and sums the
``process_time`` of the set-ups only.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import statistics
import time
from pathlib import Path

from pyari.config import parse_text
from pyari.config.pjsip import PjsipSettings
from pyari.sip.message import parse_message
from pyari.sip.transaction import Send
from pyari.sip.ua import IncomingCall, UserAgent

CONF = """
[t]
type = transport
bind = 127.0.0.1:5060

[sipp]
type = endpoint
context = bench
disallow = all
allow = ulaw
dtmf_mode = rfc4733
rtp_symmetric = yes
force_rport = yes
rewrite_contact = yes
"""
SDP = (
    "v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
    "t=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\n"
)
INVITE = (
    "INVITE sip:setup@127.0.0.1:5060 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:5070;rport;branch=z9hG4bK-{n}-1-0\r\n"
    'From: "bench" <sip:sipp@127.0.0.1:5070>;tag={n}SIPpTag00{n}\r\n'
    "To: <sip:setup@127.0.0.1:5060>\r\n"
    "Call-ID: {n}-4242@127.0.0.1\r\n"
    "CSeq: 1 INVITE\r\n"
    "Contact: <sip:sipp@127.0.0.1:5070;transport=UDP>\r\n"
    "Max-Forwards: 70\r\n"
    "User-Agent: SIPp\r\n"
    "Content-Type: application/sdp\r\n"
    f"Content-Length: {len(SDP)}\r\n\r\n{SDP}"
)
ACK = (
    "ACK sip:setup@127.0.0.1:5060 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:5070;rport;branch=z9hG4bK-{n}-1-5\r\n"
    'From: "bench" <sip:sipp@127.0.0.1:5070>;tag={n}SIPpTag00{n}\r\n'
    "To: <sip:setup@127.0.0.1:5060>;tag={tag}\r\n"
    "Call-ID: {n}-4242@127.0.0.1\r\n"
    "CSeq: 1 ACK\r\n"
    "Max-Forwards: 70\r\n"
    "Content-Length: 0\r\n\r\n"
)
ANSWER = (
    b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=Asterisk\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    b"m=audio 10000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
    b"a=fmtp:101 0-16\r\na=ptime:20\r\na=maxptime:150\r\na=sendrecv\r\n"
)
PHONE = ("127.0.0.1", 5070)
COPIED = ("via", "from", "to", "call-id", "cseq")


def reply_200(bye: bytes) -> bytes:
    """SIPp's 200 to our BYE: its Via, From, To, Call-ID and CSeq."""
    lines = bye.split(b"\r\n\r\n", 1)[0].decode().split("\r\n")[1:]
    kept = [line for line in lines if line.split(":", 1)[0].lower() in COPIED]
    return ("SIP/2.0 200 OK\r\n" + "\r\n".join(kept) + "\r\nContent-Length: 0\r\n\r\n").encode()


def make_ua() -> UserAgent:
    ua = UserAgent(PjsipSettings.from_sections(parse_text(CONF, "pjsip.conf")))
    ua.addresses["UDP"] = ("127.0.0.1", 5060)
    return ua


def set_ups(ua: UserAgent, calls: int, start: float, first: int = 0) -> float:
    """``calls`` set-ups 10 ms apart from ``start`` (timers fire every other one, as the
    loop's timer would; ``first``: the number of the first one); returns the clock after
    them."""
    now = start
    for i in range(first, first + calls):
        n = int(now * 1000) * 10 + i
        now += 0.01
        actions = ua.receive(parse_message(INVITE.format(n=n).encode()), PHONE, now)
        ua.next_deadline()
        call = next(a.call for a in actions if isinstance(a, IncomingCall))
        ua.answer(call, ANSWER, now)
        ua.next_deadline()
        ack = ACK.format(n=n, tag=call.local_tag).encode()
        ua.receive(parse_message(ack), PHONE, now)
        ua.next_deadline()
        bye = next(a for a in ua.hangup(call, now) if isinstance(a, Send))
        ua.next_deadline()
        ua.receive(parse_message(reply_200(bye.data)), PHONE, now)
        ua.next_deadline()
        if i % 2:
            ua.tick(now)
    return now


def cold(ua: UserAgent, calls: int, now: float) -> tuple[float, float]:
    """``calls`` set-ups, each after a 10 ms sleep: (µs of CPU per set-up, the clock)."""
    spent = 0.0
    for i in range(calls):
        time.sleep(0.01)
        cpu0 = time.process_time()
        now = set_ups(ua, 1, now, i)
        spent += time.process_time() - cpu0
    return spent / calls * 1e6, now


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--calls", type=int, default=1000)
    p.add_argument("--repeat", type=int, default=7)
    p.add_argument("--profile", type=Path, help="write a cProfile summary of one run here")
    p.add_argument("--cold", action="store_true", help="10 ms sleep before each set-up")
    args = p.parse_args()
    ua = make_ua()
    now = set_ups(ua, 200, 1000.0)  # warm-up: caches, the transaction heaps
    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        now = set_ups(ua, args.calls, now)
        prof.disable()
        out = io.StringIO()
        pstats.Stats(prof, stream=out).strip_dirs().sort_stats("tottime").print_stats(40)
        args.profile.write_text(out.getvalue())
    per_call: list[float] = []
    for _ in range(args.repeat):
        if args.cold:
            spent, now = cold(ua, args.calls, now + 100.0)
            per_call.append(spent)
            continue
        cpu0 = time.process_time()
        now = set_ups(ua, args.calls, now + 100.0)
        per_call.append((time.process_time() - cpu0) / args.calls * 1e6)
    kind = "cold (10 ms sleep before each)" if args.cold else "hot"
    print(f"SIP user agent CPU per call set-up, {kind}, over {args.repeat} runs of {args.calls}: "
          f"min {min(per_call):.1f} µs, median {statistics.median(per_call):.1f} µs")  # fmt: skip


if __name__ == "__main__":
    main()
