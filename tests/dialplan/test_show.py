"""`dialplan show` output in Asterisk's format."""

from __future__ import annotations

from dataclasses import dataclass

from pyari.dialplan.loader import build_dialplan
from pyari.dialplan.model import Dialplan


@dataclass(frozen=True)
class Entry:
    key: str
    value: str
    line: int
    op: str = "=>"
    file: str = "/etc/asterisk/extensions.conf"


@dataclass(frozen=True)
class Section:
    name: str
    entries: tuple[Entry, ...]
    file: str = "/etc/asterisk/extensions.conf"
    line: int = 1


def seed() -> Dialplan:
    return build_dialplan(
        [
            Section(
                "ARI-test",
                (
                    Entry("exten", "1000,1,NoOp()", 2),
                    Entry("same", "n,Answer()", 3),
                    Entry("same", "n,Stasis(hello)", 4),
                    Entry("same", "n,Hangup()", 5),
                ),
            )
        ]
    )


SEED_SHOW = """\
[ Context 'ARI-test' created by 'pbx_config' ]
  '1000' =>         1. NoOp()                                     [extensions.conf:2]
                    2. Answer()                                   [extensions.conf:3]
                    3. Stasis(hello)                              [extensions.conf:4]
                    4. Hangup()                                   [extensions.conf:5]

-= 1 extension (4 priorities) in 1 context. =-
"""


def test_seed_show() -> None:
    dp = seed()
    assert dp.show("ARI-test") == SEED_SHOW
    assert dp.show() == SEED_SHOW
    assert dp.show(None) == SEED_SHOW


def test_unknown_context_and_extension() -> None:
    dp = seed()
    assert dp.show("X") == "There is no existence of 'X' context\n"
    assert dp.show("ARI-test", "2000") == "There is no existence of 2000@ARI-test extension\n"
    assert dp.show(None, "2000") == "There is no existence of '2000' extension in all contexts\n"


def full() -> Dialplan:
    return build_dialplan(
        [
            Section(
                "a",
                (
                    Entry("exten", "_X.,1,Verbose(1,hi there)", 2),
                    Entry("exten", "1000,hint,PJSIP/1000", 3),
                    Entry("exten", "1000,1,NoOp()", 4),
                    Entry("same", "n(lbl),Answer", 5),
                    Entry("exten", "555-1234/100,1,NoOp(cid)", 6),
                    Entry("exten", "2000,hint,PJSIP/2000", 7),
                    Entry("include", "b", 8),
                    Entry("ignorepat", "9", 9),
                ),
            ),
            Section("b", (Entry("exten", "_1!,1,Goto(a,1000,lbl)", 11),), line=10),
            Section("empty", (), line=12),
        ]
    )


FULL_SHOW = """\
[ Context 'empty' created by 'pbx_config' ]

[ Context 'b' created by 'pbx_config' ]
  '_1!' =>          1. Goto(a,1000,lbl)                           [extensions.conf:11]

[ Context 'a' created by 'pbx_config' ]
  '1000' =>         hint: PJSIP/1000                              [extensions.conf:3]
                    1. NoOp()                                     [extensions.conf:4]
     [lbl]          2. Answer()                                   [extensions.conf:5]
  '2000' =>         hint: PJSIP/2000                              [extensions.conf:7]
  '555-1234' (CID match '100') =>  1. NoOp(cid)                                  [extensions.conf:6]
  '_X.' =>          1. Verbose(1,hi there)                        [extensions.conf:2]
  Include =>        'b'                                           [pbx_config]
  Ignore pattern => '9'                                           [pbx_config]

-= 5 extensions (7 priorities) in 3 contexts. =-
"""


def test_full_show() -> None:
    assert full().show() == FULL_SHOW


EXTEN_SHOW = """\
[ Context 'a' created by 'pbx_config' ]
  '1000' =>         hint: PJSIP/1000                              [extensions.conf:3]
                    1. NoOp()                                     [extensions.conf:4]
     [lbl]          2. Answer()                                   [extensions.conf:5]
  '_X.' =>          1. Verbose(1,hi there)                        [extensions.conf:2]
[ Included context 'b' created by 'pbx_config' ]
  '_1!' =>          1. Goto(a,1000,lbl)                           [extensions.conf:11]


-= 3 extensions (5 priorities) in 2 contexts. =-
"""


def test_show_exten_at_context_follows_includes() -> None:
    assert full().show("a", "1000") == EXTEN_SHOW


def test_show_exten_matches_ignorepat() -> None:
    out = full().show("a", "99")
    assert "  Ignore pattern => '9'" in out
    assert out.endswith("-= 1 extension (1 priority) in 1 context. =-\n")
