"""Building a Dialplan from extensions.conf sections, and lookups on it."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest

from pyari.dialplan import model
from pyari.dialplan.loader import DialplanError, build_dialplan
from pyari.dialplan.model import Dialplan


@dataclass(frozen=True)
class Entry:
    key: str
    value: str
    op: str = "=>"
    file: str = "extensions.conf"
    line: int = 0


@dataclass(frozen=True)
class Section:
    name: str
    entries: tuple[Entry, ...]
    file: str = "extensions.conf"
    line: int = 0


def conf(text: str, file: str = "extensions.conf") -> list[Section]:
    """Tiny extensions.conf reader for the tests (no comments/templates)."""
    sections: list[Section] = []
    name: str | None = None
    entries: list[Entry] = []
    start = 0
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(";"):
            continue
        if line.startswith("["):
            if name is not None:
                sections.append(Section(name, tuple(entries), file, start))
            name, entries, start = line[1 : line.index("]")], [], lineno
            continue
        op = "=>" if "=>" in line else "="
        key, _, value = line.partition(op)
        entries.append(Entry(key.strip(), value.strip(), op, file, lineno))
    if name is not None:
        sections.append(Section(name, tuple(entries), file, start))
    return sections


def load(text: str) -> Dialplan:
    return build_dialplan(conf(text))


SEED = """
[ARI-test]
exten => 1000,1,NoOp()
same => n,Answer()
same => n,Stasis(hello)
same => n,Hangup()
"""


def test_seed_context() -> None:
    dp = load(SEED)
    assert dp.context_names() == ["ARI-test"]
    apps = [
        (p.priority, p.app, p.app_data, p.line)
        for p in dp.contexts["ARI-test"].extensions[0].priorities
    ]
    assert apps == [
        (1, "NoOp", "", 3),
        (2, "Answer", "", 4),
        (3, "Stasis", "hello", 5),
        (4, "Hangup", "", 6),
    ]
    prio = dp.find("ARI-test", "1000", 3)
    assert prio is not None
    assert (prio.app, prio.app_data, prio.exten, prio.context) == (
        "Stasis",
        "hello",
        "1000",
        "ARI-test",
    )
    assert dp.find("ARI-test", "1000", 5) is None
    assert dp.find("ARI-test", "1001", 1) is None
    assert dp.find("nope", "1000", 1) is None
    assert dp.exists("ARI-test", "1000")
    assert not dp.exists("ARI-test", "2000")


def test_lookups_are_kept_per_dialplan_and_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    dp = load(SEED)
    first = dp.find("ARI-test", "1000", 3)
    assert dp.find("ARI-test", "1000", 3) is first
    assert dp.find("ARI-test", "2000", 1) is None
    assert dp.find("ARI-test", "2000", 1) is None  # a miss is kept too
    # A changed dialplan (a reload, a module's context) is a new object: its own answers.
    other = load(SEED.replace("1000", "2000"))
    assert other.find("ARI-test", "2000", 3) is not None
    assert other.find("ARI-test", "1000", 3) is None
    moved = replace(dp, contexts={"ARI-test": other.contexts["ARI-test"]})
    assert moved.find("ARI-test", "1000", 3) is None
    assert dp.find("ARI-test", "1000", 3) is first
    monkeypatch.setattr(model, "_FOUND_MAX", 3)
    for exten in ("3", "4", "5", "6"):
        dp.find("ARI-test", exten, 1)
    assert len(dp._found) <= 3
    assert dp.find("ARI-test", "1000", 3) == first


PRECEDENCE = """
[p]
exten => 1000,1,NoOp(exact)
exten => _X.,1,NoOp(X.)
exten => _NXX,1,NoOp(NXX)
exten => _1!,1,NoOp(1!)
exten => _1XXX,1,NoOp(1XXX)
exten => _[1-3]XXX,1,NoOp(set)
exten => _X.,2,NoOp(X. two)
"""


@pytest.mark.parametrize(
    ("exten", "priority", "expected"),
    [
        ("1000", 1, "exact"),
        ("1001", 1, "1XXX"),
        ("2001", 1, "set"),
        ("4001", 1, "X."),
        ("200", 1, "NXX"),
        ("100", 1, "1!"),
        ("1", 1, "1!"),
        ("10000", 1, "1!"),
        ("55", 1, "X."),
        ("5", 1, None),
        # the best match lacks priority 2: less specific extensions are tried
        ("1000", 2, "X. two"),
        ("200", 2, "X. two"),
        ("1", 2, None),
    ],
)
def test_pattern_precedence(exten: str, priority: int, expected: str | None) -> None:
    dp = load(PRECEDENCE)
    prio = dp.find("p", exten, priority)
    assert (prio.app_data if prio else None) == expected


INCLUDES = """
[a]
exten => 1,1,NoOp(a1)
include => b
include => c
[b]
exten => 2,1,NoOp(b2)
exten => _X,1,NoOp(bX)
include => a
include => d
[c]
exten => 3,1,NoOp(c3)
exten => 2,1,NoOp(c2)
include => c
[d]
exten => 4,1,NoOp(d4)
include => missing
"""


@pytest.mark.parametrize(
    ("context", "exten", "expected"),
    [
        ("a", "1", "a1"),
        ("a", "2", "b2"),  # b is included before c
        ("a", "3", "bX"),  # b's pattern beats c's exact match: includes in order
        ("a", "4", "bX"),
        ("a", "44", None),
        ("c", "3", "c3"),
        ("c", "1", None),  # c includes only itself: loop-safe
        ("b", "1", "bX"),
        ("d", "2", None),
        ("d", "4", "d4"),
        ("d", "1", None),
    ],
)
def test_includes(context: str, exten: str, expected: str | None) -> None:
    dp = load(INCLUDES)
    prio = dp.find(context, exten, 1)
    assert (prio.app_data if prio else None) == expected


def test_include_depth_first_and_loops() -> None:
    dp = load(
        """
[top]
include => x
include => y
[x]
include => xx
include => top
[xx]
exten => 7,1,NoOp(xx)
[y]
exten => 7,1,NoOp(y)
exten => 8,1,NoOp(y8)
include => top
"""
    )
    assert dp.find("top", "7", 1).app_data == "xx"  # type: ignore[union-attr]
    assert dp.find("top", "8", 1).app_data == "y8"  # type: ignore[union-attr]
    assert dp.find("x", "8", 1).app_data == "y8"  # type: ignore[union-attr]
    assert dp.find("top", "9", 1) is None


LABELS = """
[l]
exten => s,1(start),NoOp()
same => n(middle),Answer
same => n,Goto(middle)
exten => s,10(ten),NoOp(ten)
same => n,NoOp(eleven)
exten => u,1,NoOp(u1)
exten => u,n,NoOp(u2)
exten => u,5,NoOp(u5)
exten => u,n(x),NoOp(u6)
exten => u,x+1,NoOp(u7)
exten => v,1+2,NoOp(v3)
exten => w,n,NoOp(w4)
"""


@pytest.mark.parametrize(
    ("exten", "priority", "app", "data", "label"),
    [
        ("s", 1, "NoOp", "", "start"),
        ("s", 2, "Answer", "", "middle"),
        ("s", 3, "Goto", "middle", None),
        ("s", 10, "NoOp", "ten", "ten"),
        ("s", 11, "NoOp", "eleven", None),
        ("u", 2, "NoOp", "u2", None),
        ("u", 6, "NoOp", "u6", "x"),
        ("u", 7, "NoOp", "u7", None),
        ("v", 3, "NoOp", "v3", None),
        ("w", 4, "NoOp", "w4", None),  # 'n' continues from the previous line
    ],
)
def test_priorities(exten: str, priority: int, app: str, data: str, label: str | None) -> None:
    prio = load(LABELS).find("l", exten, priority)
    assert prio is not None
    assert (prio.app, prio.app_data, prio.label) == (app, data, label)


@pytest.mark.parametrize(
    ("exten", "label", "expected"),
    [("s", "start", 1), ("s", "middle", 2), ("s", "ten", 10), ("u", "x", 6), ("s", "nope", None)],
)
def test_find_label(exten: str, label: str, expected: int | None) -> None:
    assert load(LABELS).find_label("l", exten, label) == expected


def test_find_label_through_include_and_pattern() -> None:
    dp = load(
        """
[a]
include => b
[b]
exten => _X.,1,NoOp()
same => n(here),NoOp()
"""
    )
    assert dp.find_label("a", "123", "here") == 2
    assert dp.find_label("a", "1", "here") is None


@pytest.mark.parametrize(
    ("line", "app", "data"),
    [
        ("exten => 1,1,Answer", "Answer", ""),
        ("exten => 1,1,Answer()", "Answer", ""),
        ("exten => 1,1, Answer ( )", "Answer", " "),
        ("exten => 1,1,Dial(PJSIP/a,20,tT)", "Dial", "PJSIP/a,20,tT"),
        ("exten => 1,1,Set(X=$[(1+2)*3])", "Set", "X=$[(1+2)*3]"),
        ("exten => 1,1,NoOp(a(b)c)", "NoOp", "a(b)c"),
        ("exten => 1,1,NoOp(unclosed", "NoOp", "unclosed"),
        ("exten => 1,1,Goto,default,s,1", "Goto", "default,s,1"),
        ("exten => 1,1,Verbose(1,${EXTEN})", "Verbose", "1,${EXTEN}"),
    ],
)
def test_app_forms(line: str, app: str, data: str) -> None:
    prio = load(f"[c]\n{line}\n").find("c", "1", 1)
    assert prio is not None
    assert (prio.app, prio.app_data) == (app, data)


def test_hints_globals_general() -> None:
    dp = load(
        """
[general]
static=yes
writeprotect=no
clearglobalvars=no
autofallthrough=yes
[globals]
TRUNK=PJSIP/trunk
PREFIX=9
[phones]
exten => 1000,hint,PJSIP/1000&Custom:DND1000
exten => 1000,1,Dial(${TRUNK})
exten => 2000,hint,PJSIP/2000
exten => ${PREFIX}XX,1,NoOp(from globals)
"""
    )
    assert dp.context_names() == ["phones"]
    assert dp.globals == {"TRUNK": "PJSIP/trunk", "PREFIX": "9"}
    assert dp.options["static"] == "yes"
    assert dp.options["autofallthrough"] == "yes"
    assert dp.hints == {
        ("phones", "1000"): "PJSIP/1000&Custom:DND1000",
        ("phones", "2000"): "PJSIP/2000",
    }
    assert dp.find("phones", "1000", 1) is not None
    assert not dp.exists("phones", "2000")  # a hint is not a priority
    assert dp.exists("phones", "9XX")


def test_include_ignorepat_switch() -> None:
    dp = load(
        """
[c]
include => other
include => timed,09:00-17:00,mon-fri,*,*
include => other
ignorepat => 9
ignorepat => 9
switch => IAX2/user@peer/context
lswitch => Loopback/foo
autohints => yes
frobnicate => yes
[other]
[timed]
"""
    )
    ctx = dp.contexts["c"]
    assert ctx.includes == ("other", "timed")
    assert ctx.ignorepats == ("9",)
    assert any("already included" in w for w in dp.warnings)
    assert any("Unable to include ignorepat '9' in context 'c'" in w for w in dp.warnings)
    assert any("Unknown directive: frobnicate" in w for w in dp.warnings)
    assert dp.context_names() == ["c", "other", "timed"]


def test_reopened_context_merges() -> None:
    dp = load(
        """
[a]
exten => 1,1,NoOp(first)
[b]
exten => 2,1,NoOp(b)
[a]
exten => 1,2,NoOp(second)
exten => 3,1,NoOp(three)
"""
    )
    assert dp.context_names() == ["a", "b"]
    assert dp.find("a", "1", 2).app_data == "second"  # type: ignore[union-attr]
    assert dp.exists("a", "3")
    assert [e.name for e in dp.contexts["a"].extensions] == ["1", "3"]


def test_cid_match() -> None:
    dp = load(
        """
[c]
exten => 100/5551234,1,NoOp(vip)
exten => 100/_0.,1,NoOp(zero)
exten => 100,1,NoOp(anyone)
exten => 200/,1,NoOp(anonymous)
exten => 300/(555) 12-34,1,NoOp(shrunk)
"""
    )
    assert dp.find("c", "100", 1, "5551234").app_data == "vip"  # type: ignore[union-attr]
    assert dp.find("c", "100", 1, "0123").app_data == "zero"  # type: ignore[union-attr]
    assert dp.find("c", "100", 1, "777").app_data == "anyone"  # type: ignore[union-attr]
    assert dp.find("c", "100", 1).app_data == "anyone"  # type: ignore[union-attr]
    assert dp.find("c", "200", 1).app_data == "anonymous"  # type: ignore[union-attr]
    assert dp.find("c", "200", 1, "123") is None
    assert dp.find("c", "300", 1, "5551234").app_data == "shrunk"  # type: ignore[union-attr]
    assert dp.contexts["c"].extension("100", "5551234") is not None


def test_dashes_and_spaces_in_names() -> None:
    dp = load("[c]\nexten => 555-1234,1,NoOp(a)\nexten => 1 2,1,NoOp(b)\n")
    assert dp.exists("c", "5551234")
    assert dp.exists("c", "555-1234")
    assert dp.exists("c", "12")
    assert dp.contexts["c"].extensions[0].name == "555-1234"


def test_next_resets_per_section_and_warns_on_dot() -> None:
    with pytest.raises(DialplanError):
        load("[a]\nexten => 1,1,NoOp\n[b]\nexten => 1,n,NoOp\n")
    dp = load("[a]\nexten => _.,1,NoOp\n")
    assert any("strongly discouraged" in w for w in dp.warnings)


def test_duplicate_label_dropped_with_warning() -> None:
    dp = load("[a]\nexten => 1,1(x),NoOp\nsame => n(x),NoOp\n")
    assert dp.find_label("a", "1", "x") == 1
    assert dp.find("a", "1", 2).label is None  # type: ignore[union-attr]
    assert any("label 'x' already in use" in w for w in dp.warnings)


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("[a]\nsame => n,NoOp\n", 2, "No previous pattern"),
        ("[a]\nexten => 1,1,NoOp\nexten => 1,1,Answer\n", 3, "already in use"),
        ("[a]\nexten => 1,1,NoOp\nexten => 1-,1,Answer\n", 3, "already in use"),
        ("[a]\nexten => 1,1,NoOp\n[a]\nexten => 1,1,Answer\n", 4, "already in use"),
        ("[a]\nexten => 1,n,NoOp\n", 2, "Can't use 'next'"),
        ("[a]\nexten => 1,s,NoOp\n", 2, "Can't use 'same'"),
        ("[a]\nexten => 1,foo,NoOp\n", 2, "Invalid priority/label 'foo'"),
        ("[a]\nexten => 1,0,NoOp\n", 2, "Invalid priority '0'"),
        ("[a]\nexten => 1,-3,NoOp\n", 2, "Invalid priority '-3'"),
        ("[a]\nexten => 1\n", 2, "Invalid priority/label ''"),
        ("[a]\nexten => 1,1(lbl,NoOp\n", 2, "Label missing trailing ')'"),
        ("[a]\nexten => ,1,NoOp\n", 2, "Empty extension name"),
        ("[a]\nexten => 1,hint,X\nexten => 1,hint,Y\n", 3, "priority -1"),
        ("[a]\nexten => 1,hint,X\nsame => n,NoOp\n", 3, "after a hint"),
    ],
)
def test_errors(text: str, line: int, reason: str) -> None:
    with pytest.raises(DialplanError) as info:
        build_dialplan(conf(text, "/etc/asterisk/extensions.conf"))
    err = info.value
    assert err.file == "/etc/asterisk/extensions.conf"
    assert err.line == line
    assert reason in err.reason
    assert str(err) == f"/etc/asterisk/extensions.conf:{line}: {err.reason}"


def test_switch_and_general_are_not_contexts() -> None:
    dp = load("[General]\nstatic=yes\n[GLOBALS]\nA=1\n[c]\nswitch => Realtime/x@y\n")
    assert dp.context_names() == ["c"]
    assert dp.globals == {"A": "1"}
    assert dp.contexts["c"].extensions == ()


def test_extension_model() -> None:
    dp = load(LABELS)
    ctx = dp.contexts["l"]
    ext = ctx.extension("s")
    assert ext is not None
    assert not ext.is_pattern
    assert [p.priority for p in ext.priorities] == [1, 2, 3, 10, 11]
    assert dict(ext.by_label) == {"start": 1, "middle": 2, "ten": 10}
    assert ctx.extension("zzz") is None
    found = dp.find_extension("l", "u")
    assert found is not None and found.name == "u"
    assert dp.has_context("l") and not dp.has_context("L")


def test_accepts_any_object_with_the_attributes() -> None:
    class E:
        def __init__(self, key: str, value: str, line: int) -> None:
            self.key, self.value, self.op, self.file, self.line = key, value, "=>", "x.conf", line

    class S:
        name = "ctx"
        file = "x.conf"
        line = 1

        def __init__(self, entries: tuple[E, ...]) -> None:
            self.entries = entries

    dp = build_dialplan([S((E("exten", "1,1,NoOp()", 2),))])
    assert dp.exists("ctx", "1")
