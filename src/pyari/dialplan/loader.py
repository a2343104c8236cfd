"""Build a :class:`~pyari.dialplan.model.Dialplan` from extensions.conf sections.

The sections come from the config parser (``pyari.config``); any objects with
the attributes of :class:`SectionLike` / :class:`EntryLike` will do.  Parsing
follows ``pbx_load_config`` in Asterisk's pbx/pbx_config.c:

* ``[general]`` and ``[globals]`` (any case) are not contexts: ``[globals]``
  entries become :attr:`Dialplan.globals` (all ``[globals]`` sections merged,
  values not substituted), ``[general]`` entries :attr:`Dialplan.options`
  (keys lower-cased: ``static``, ``writeprotect``, ``clearglobalvars``,
  ``autofallthrough``, ``extenpatternmatchnew``, ...).  pyari always uses the
  default ("old") pattern search, whatever ``extenpatternmatchnew`` says.
* every other section is a context; a section name seen again re-opens the
  same context (its entries are merged).
* ``exten => name[/cid],prio[(label)],App(args)`` and ``same => prio,...``.
  ``prio`` is a number, ``n``/``next`` (previous priority + 1), ``s``/``same``
  (previous priority), ``hint``, or a label of the same extension, optionally
  followed by ``+N``.  The "previous priority" is reset at the start of each
  section, like Asterisk (so ``n`` continues across extensions of a section).
  The application may be written ``App(args)``, ``App`` (no data) or in the old
  ``App,args`` style.
* ``hint`` priorities are not priorities: they go to :attr:`Dialplan.hints`.
* ``include => ctx`` (time restrictions after a comma are dropped),
  ``ignorepat => pattern``; ``switch``/``lswitch``/``eswitch`` and
  ``autohints`` are accepted and ignored; unknown directives are ignored with a
  warning (in :attr:`Dialplan.warnings`).
* ``${...}`` in extension names, includes and ignore patterns is substituted
  with the ``[globals]`` values, as Asterisk does at load time.

Errors: where Asterisk logs a warning and drops the offending line (duplicate
priority, ``same`` before any ``exten``, ``n`` on the first line, invalid
priority or label, missing ``)`` after a label, empty extension name), pyari
raises :class:`DialplanError` naming the file and line instead.  Failing the
whole load is deliberate: ``dialplan reload`` then keeps the running dialplan
untouched instead of silently running a dialplan with holes in it.  Warnings
that do not lose priorities (duplicate labels, duplicate includes, unknown
directives, ``_.`` patterns) are collected in :attr:`Dialplan.warnings`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol

from pyari.dialplan import patterns
from pyari.dialplan.args import parse_app_call
from pyari.dialplan.cint import INT_PREFIX, c_int
from pyari.dialplan.model import Context, Dialplan, Extension, Priority

__all__ = [
    "DialplanError",
    "EntryLike",
    "SectionLike",
    "build_dialplan",
]

_NOT_CONTEXTS = ("general", "globals")
_INT_PREFIX = INT_PREFIX


class EntryLike(Protocol):
    """One ``key op value`` line of a config section."""

    @property
    def key(self) -> str: ...
    @property
    def value(self) -> str: ...
    @property
    def op(self) -> str: ...
    @property
    def file(self) -> str: ...
    @property
    def line(self) -> int: ...


class SectionLike(Protocol):
    """One ``[name]`` section of a config file."""

    @property
    def name(self) -> str: ...
    @property
    def entries(self) -> tuple[EntryLike, ...]: ...
    @property
    def file(self) -> str: ...
    @property
    def line(self) -> int: ...


class DialplanError(Exception):
    """An extensions.conf line that cannot be loaded."""

    def __init__(self, file: str, line: int, reason: str) -> None:
        super().__init__(f"{file}:{line}: {reason}")
        self.file = file
        self.line = line
        self.reason = reason


@dataclass
class _ExtBuilder:
    name: str
    cid: str | None
    priorities: dict[int, Priority] = field(default_factory=dict)
    labels: dict[str, int] = field(default_factory=dict)


@dataclass
class _CtxBuilder:
    name: str
    file: str
    line: int
    extensions: dict[tuple[str, str | None], _ExtBuilder] = field(default_factory=dict)
    includes: list[str] = field(default_factory=list)
    ignorepats: list[str] = field(default_factory=list)

    def build(self) -> Context:
        exts = tuple(
            Extension(
                name=b.name,
                cid=b.cid,
                priorities=tuple(b.priorities.values()),
                match_name=key[0],
            )
            for key, b in self.extensions.items()
            if b.priorities
        )
        return Context(
            name=self.name,
            extensions=exts,
            includes=tuple(self.includes),
            ignorepats=tuple(self.ignorepats),
            file=self.file,
            line=self.line,
        )


class _Globals:
    """VarSource over ``[globals]`` for load-time substitution."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self.values = values

    def get_var(self, name: str) -> str | None:
        return self.values.get(name)

    def call_function(self, name: str, args: str) -> str | None:
        from pyari.dialplan.substitute import builtin_function

        return builtin_function(name, args, self.get_var)


def _subst_globals(text: str, values: Mapping[str, str]) -> str:
    if "$" not in text:
        return text
    from pyari.dialplan.substitute import substitute

    return substitute(text, _Globals(values))


def _strsep_exten(value: str) -> tuple[str, str | None]:
    """``pbx_strsep``: split at the first ``,`` outside brackets (``\\`` escapes)."""
    square = 0
    i = 0
    n = len(value)
    while i < n:
        c = value[i]
        if c == "[":
            square += 1
        elif c == "]":
            if square:
                square -= 1
        elif c == "\\":
            i += 1
        elif c == "," and not square:
            rest = value[i + 1 :]
            return value[:i], (rest if rest else None)
        i += 1
    return value, None


def _shrink_cid(cid: str) -> str:
    """``ast_shrink_phone_number``: drop ``( )``, spaces, ``-`` and ``.`` outside brackets."""
    out: list[str] = []
    bracketed = 0
    for idx, c in enumerate(cid):
        if c == "[":
            bracketed += 1
        elif c == "]":
            bracketed -= 1
        elif c == "-":
            if not bracketed:
                continue
        elif c == ".":
            if idx != len(cid) - 1:
                continue
        elif c in "( )":
            continue
        out.append(c)
    return "".join(out)


class _Loader:
    def __init__(self) -> None:
        self.contexts: dict[str, _CtxBuilder] = {}
        self.globals: dict[str, str] = {}
        self.options: dict[str, str] = {}
        self.hints: dict[tuple[str, str], str] = {}
        self.hint_sources: dict[tuple[str, str], tuple[str, int]] = {}
        self.warnings: list[str] = []

    def load(self, sections: Iterable[SectionLike]) -> Dialplan:
        secs = list(sections)
        for sec in secs:
            lname = sec.name.lower()
            if lname == "globals":
                for e in sec.entries:
                    self.globals[e.key] = e.value
            elif lname == "general":
                for e in sec.entries:
                    self.options[e.key.lower()] = e.value
        for sec in secs:
            if sec.name.lower() in _NOT_CONTEXTS:
                continue
            self._section(sec)
        return Dialplan(
            contexts=MappingProxyType({name: b.build() for name, b in self.contexts.items()}),
            hints=MappingProxyType(dict(self.hints)),
            globals=MappingProxyType(dict(self.globals)),
            options=MappingProxyType(dict(self.options)),
            warnings=tuple(self.warnings),
            hint_sources=MappingProxyType(dict(self.hint_sources)),
        )

    def _section(self, sec: SectionLike) -> None:
        ctx = self.contexts.get(sec.name)
        if ctx is None:
            ctx = _CtxBuilder(sec.name, sec.file, sec.line)
            self.contexts[sec.name] = ctx
        last_ext: str | None = None
        last_pri: int | None = None
        for e in sec.entries:
            key = e.key.strip().lower()
            if key.startswith("same"):
                if last_ext is None:
                    raise DialplanError(
                        e.file,
                        e.line,
                        f"No previous pattern in the first entry of context '{sec.name}' "
                        f"to match '{e.key}'",
                    )
                last_pri = self._priority(ctx, e, last_ext, e.value, last_pri)
            elif key == "exten":
                raw, rest = _strsep_exten(e.value)
                name = patterns.clean_name(_subst_globals(raw, self.globals))
                last_ext = name
                last_pri = self._priority(ctx, e, name, rest or "", last_pri)
            elif key == "include":
                value = _subst_globals(e.value, self.globals)
                inc = value.split(",", 1)[0].split("|", 1)[0].strip()
                if not inc:
                    raise DialplanError(e.file, e.line, "include without a context name")
                self._add_once(
                    ctx.includes,
                    inc,
                    f"Context '{e.value}' already included in '{sec.name}' context "
                    f"on include at line {e.line} of {e.file}",
                )
            elif key == "ignorepat":
                self._add_once(
                    ctx.ignorepats,
                    _subst_globals(e.value, self.globals).strip(),
                    f"Unable to include ignorepat '{e.value}' in context '{sec.name}' "
                    f"at line {e.line} of {e.file}",
                )
            elif key in ("switch", "lswitch", "eswitch", "autohints"):
                continue
            else:
                self.warnings.append(
                    f"==!!== Unknown directive: {e.key} at line {e.line} of {e.file} -- IGNORING!!!"
                )

    def _add_once(self, items: list[str], item: str, warning: str) -> None:
        """Add ``item`` to a context's includes or ignore patterns; one already there is
        refused with ``warning``."""
        if item in items:
            self.warnings.append(warning)
        else:
            items.append(item)

    def _priority(
        self,
        ctx: _CtxBuilder,
        e: EntryLike,
        realext: str,
        value: str,
        last_pri: int | None,
    ) -> int | None:
        """Register one ``prio,app`` for ``realext``; return the new "last priority"."""
        name, slash, cid_raw = realext.partition("/")
        cid = _shrink_cid(cid_raw) if slash else None
        if not name:
            raise DialplanError(e.file, e.line, f"Empty extension name in context '{ctx.name}'")
        pri_text, comma, app_text = value.partition(",")
        pri = pri_text.strip()
        label: str | None = None
        if "(" in pri:
            pri, _, after = pri.partition("(")
            if ")" not in after:
                raise DialplanError(e.file, e.line, "Label missing trailing ')'")
            label = after.split(")", 1)[0] or None
        plus = 0
        if "+" in pri:
            pri, _, plus_text = pri.partition("+")
            m = _INT_PREFIX.match(plus_text)
            plus = c_int(m.group(1)) if m else 0
        ebkey = (patterns.strip_fluff(name), cid)
        hint = False
        if pri == "hint":
            hint = True
            ipri = -1
        elif pri in ("next", "n"):
            if last_pri is None:
                raise DialplanError(e.file, e.line, "Can't use 'next' priority on the first entry")
            ipri = last_pri + 1
            if ipri < 1:
                raise DialplanError(e.file, e.line, "Can't use 'next' priority after a hint")
        elif pri in ("same", "s"):
            if last_pri is None:
                raise DialplanError(e.file, e.line, "Can't use 'same' priority on the first entry")
            ipri = last_pri
        else:
            m = _INT_PREFIX.match(pri)
            if m:
                ipri = c_int(m.group(1))
            else:
                eb = ctx.extensions.get(ebkey)
                found = eb.labels.get(pri) if eb is not None else None
                if found is None:
                    raise DialplanError(e.file, e.line, f"Invalid priority/label '{pri}'")
                ipri = found
            if ipri < 1:
                raise DialplanError(e.file, e.line, f"Invalid priority '{pri}'")
        ipri += plus
        rest = app_text if comma else ""
        if name in ("_.", "_!"):
            self.warnings.append(
                f"The use of '{name}' for an extension is strongly discouraged and can have "
                f"unexpected behavior.  Please use '_X{name[1]}' instead at line {e.line} "
                f"of {e.file}"
            )
        if hint:
            hkey = (ctx.name, name)
            if hkey in self.hints:
                raise DialplanError(
                    e.file,
                    e.line,
                    f"Unable to register extension '{name}' priority -1 in '{ctx.name}', "
                    "already in use",
                )
            self.hints[hkey] = rest.strip()
            self.hint_sources[hkey] = (e.file, e.line)
            return ipri
        app, data = parse_app_call(rest)
        eb = ctx.extensions.get(ebkey)
        if eb is None:
            eb = _ExtBuilder(name, cid)
            ctx.extensions[ebkey] = eb
        if ipri in eb.priorities:
            raise DialplanError(
                e.file,
                e.line,
                f"Unable to register extension '{name}' priority {ipri} in '{ctx.name}', "
                "already in use",
            )
        if label is not None and label in eb.labels:
            self.warnings.append(
                f"Extension '{name}' priority {ipri} in '{ctx.name}', label '{label}' "
                f"already in use at priority {eb.labels[label]}"
            )
            label = None
        if label is not None:
            eb.labels[label] = ipri
        eb.priorities[ipri] = Priority(
            exten=name,
            priority=ipri,
            label=label,
            app=app,
            app_data=data,
            file=e.file,
            line=e.line,
            context=ctx.name,
        )
        return ipri


def build_dialplan(sections: Iterable[SectionLike]) -> Dialplan:
    """Build a dialplan from the sections of extensions.conf.

    Raises :class:`DialplanError` on the first line that Asterisk would reject
    (see the module docstring); the caller keeps its previous dialplan then.
    """
    return _Loader().load(sections)
