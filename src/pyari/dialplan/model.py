"""Immutable dialplan model: priorities, extensions, contexts and the dialplan.

Lookups follow Asterisk's default ("old") search algorithm in
``pbx_find_extension`` (main/pbx.c, ``extenpatternmatchnew=no``):

* the extensions of a context are walked in ``ext_cmp`` order (literal names
  first, then patterns from most to least specific, see
  :func:`pyari.dialplan.patterns.sort_key`);
* the first extension that matches the dialled string *and* has the wanted
  priority (or label) wins; a matching extension without that priority does not
  stop the search, a less specific one is tried next;
* then the included contexts are searched, depth-first in ``include =>`` order;
  a context already visited during the same search (compared case-insensitively,
  as Asterisk does) is skipped, so include loops are harmless.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TypeVar

from pyari.dialplan import patterns

__all__ = [
    "REGISTRAR",
    "Context",
    "Dialplan",
    "Extension",
    "Priority",
]

REGISTRAR = "pbx_config"
"""Registrar name shown by ``dialplan show`` for contexts loaded from a file."""

_MAX_STACK = 512  # AST_PBX_MAX_STACK
_FOUND_MAX = 4096
"""Lookups :meth:`Dialplan.find` keeps the answer of (then it starts again)."""

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Priority:
    """One priority line: ``exten => 1000,2(label),Answer()``."""

    exten: str
    priority: int
    label: str | None
    app: str
    app_data: str
    file: str
    line: int
    context: str = ""

    def describe(self) -> str:
        """``App(data)`` as shown by ``dialplan show``."""
        return f"{self.app}({self.app_data})"


@dataclass(frozen=True, slots=True)
class Extension:
    """An extension (literal name or ``_`` pattern) and its priorities.

    ``name`` is the name as written (spaces removed); ``match_name`` the name
    used for matching (``-`` removed).  ``cid`` is the caller-id match of
    ``exten => 1000/5551234,...`` (``None`` without one).
    """

    name: str
    priorities: tuple[Priority, ...]
    cid: str | None = None
    match_name: str = ""
    by_number: Mapping[int, Priority] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )
    by_label: Mapping[str, int] = field(init=False, repr=False, compare=False, default_factory=dict)

    def __post_init__(self) -> None:
        if not self.match_name:
            object.__setattr__(self, "match_name", patterns.strip_fluff(self.name))
        prios = tuple(sorted(self.priorities, key=lambda p: p.priority))
        object.__setattr__(self, "priorities", prios)
        object.__setattr__(self, "by_number", MappingProxyType({p.priority: p for p in prios}))
        labels: dict[str, int] = {}
        for p in prios:
            if p.label is not None and p.label not in labels:
                labels[p.label] = p.priority
        object.__setattr__(self, "by_label", MappingProxyType(labels))

    @property
    def is_pattern(self) -> bool:
        return patterns.is_pattern(self.name)

    def matches(self, exten: str, callerid: str | None = None) -> bool:
        """Does the dialled ``exten`` (and caller id) select this extension?"""
        if not patterns.match(self.match_name, exten):
            return False
        if self.cid is None:
            return True
        if not callerid:
            # An empty CID pattern matches "no caller id" only.
            return not self.cid
        return patterns.match(self.cid, callerid)

    def priority(self, number: int) -> Priority | None:
        return self.by_number.get(number)


@dataclass(frozen=True, slots=True)
class Context:
    """A dialplan context.

    ``extensions`` are in definition order; :attr:`sorted_extensions` in the
    order Asterisk searches and shows them.  Switches are not supported.
    """

    name: str
    extensions: tuple[Extension, ...] = ()
    includes: tuple[str, ...] = ()
    ignorepats: tuple[str, ...] = ()
    file: str = ""
    line: int = 0
    registrar: str = REGISTRAR
    sorted_extensions: tuple[Extension, ...] = field(
        init=False, repr=False, compare=False, default=()
    )

    def __post_init__(self) -> None:
        ordered = tuple(sorted(self.extensions, key=lambda e: patterns.sort_key(e.name, e.cid)))
        object.__setattr__(self, "sorted_extensions", ordered)

    def extension(self, name: str, cid: str | None = None) -> Extension | None:
        """The extension registered under exactly this name (dashes ignored)."""
        wanted = patterns.strip_fluff(name)
        for ext in self.extensions:
            if ext.match_name == wanted and ext.cid == cid:
                return ext
        return None


def _source(prio: Priority) -> str:
    """Where a priority was defined: ``file:line``, or the registrar of one a module added."""
    return f"{_basename(prio.file)}:{prio.line}" if prio.line else prio.file


def _basename(path: str) -> str:
    return path.rsplit("/", 1)[-1]


@dataclass(frozen=True, slots=True)
class Dialplan:
    """A loaded dialplan (the result of :func:`pyari.dialplan.loader.build_dialplan`).

    ``hints`` maps ``(context, extension name)`` to the hint value;
    ``globals`` holds the ``[globals]`` section (values not substituted);
    ``options`` the ``[general]`` section (keys lower-cased);
    ``hint_sources`` where each hint was defined (file, line);
    ``warnings`` the messages Asterisk would log for ignored directives.
    """

    contexts: Mapping[str, Context] = field(default_factory=dict)
    hints: Mapping[tuple[str, str], str] = field(default_factory=dict)
    globals: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    hint_sources: Mapping[tuple[str, str], tuple[str, int]] = field(default_factory=dict)
    _found: dict[tuple[str, str, int, str | None], Priority | None] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    """What :meth:`find` answered (a dialplan never changes: a reload makes a new one)."""

    # -- queries ---------------------------------------------------------

    def context_names(self) -> list[str]:
        """Context names in definition order."""
        return list(self.contexts)

    def has_context(self, name: str) -> bool:
        return name in self.contexts

    def find(
        self, context: str, exten: str, priority: int, callerid: str | None = None
    ) -> Priority | None:
        """The priority run for ``exten@context:priority``, or ``None``."""
        key = (context, exten, priority, callerid)
        try:
            return self._found[key]
        except KeyError:
            pass

        def pick(ext: Extension) -> Priority | None:
            return ext.priority(priority)

        found = self._search(context, exten, callerid, pick, set())
        if len(self._found) >= _FOUND_MAX:
            self._found.clear()
        self._found[key] = found
        return found

    def exists(
        self, context: str, exten: str, priority: int = 1, callerid: str | None = None
    ) -> bool:
        """Like ``ast_exists_extension``."""
        return self.find(context, exten, priority, callerid) is not None

    def find_label(
        self, context: str, exten: str, label: str, callerid: str | None = None
    ) -> int | None:
        """The priority number of ``label`` for ``exten@context`` (``ast_findlabel_extension``)."""

        def pick(ext: Extension) -> Priority | None:
            number = ext.by_label.get(label)
            return None if number is None else ext.priority(number)

        found = self._search(context, exten, callerid, pick, set())
        return None if found is None else found.priority

    def find_extension(
        self, context: str, exten: str, callerid: str | None = None
    ) -> Extension | None:
        """The first extension (searching includes) that matches ``exten`` at all."""

        def pick(ext: Extension) -> Extension | None:
            return ext

        return self._search(context, exten, callerid, pick, set())

    def _search(
        self,
        context: str,
        exten: str,
        callerid: str | None,
        pick: Callable[[Extension], _T | None],
        visited: set[str],
    ) -> _T | None:
        key = context.lower()
        if key in visited or len(visited) >= _MAX_STACK:
            return None
        ctx = self.contexts.get(context)
        if ctx is None:
            return None
        for ext in ctx.sorted_extensions:
            if not ext.matches(exten, callerid):
                continue
            found = pick(ext)
            if found is not None:
                return found
        visited.add(key)
        for inc in ctx.includes:
            found = self._search(inc, exten, callerid, pick, visited)
            if found is not None:
                return found
        return None

    # -- CLI ---------------------------------------------------------------

    def show(self, context: str | None = None, exten: str | None = None) -> str:
        """Text of ``dialplan show [[exten@]context]`` as Asterisk prints it.

        Contexts are listed in reverse order of creation, as Asterisk keeps
        them.  For an unknown context the text is Asterisk's error sentence.
        """
        out: list[str] = []
        counters = _Counters()
        self._show_helper(out, context, exten, counters, False, [])
        if context is not None and not counters.context_existence:
            return f"There is no existence of '{context}' context\n"
        if exten is not None and not counters.extension_existence:
            if context is not None:
                return f"There is no existence of {exten}@{context} extension\n"
            return f"There is no existence of '{exten}' extension in all contexts\n"
        te, tp, tc = counters.total_exten, counters.total_prio, counters.total_context
        out.append(
            f"-= {te} {'extension' if te == 1 else 'extensions'} "
            f"({tp} {'priority' if tp == 1 else 'priorities'}) "
            f"in {tc} {'context' if tc == 1 else 'contexts'}. =-\n"
        )
        return "".join(out)

    def _show_rows(self, ctx: Context) -> list[tuple[str, str, list[tuple[str | None, str, str]]]]:
        """Per extension (sorted): name, head and rows of (label, text, source)."""
        rows: dict[str, list[tuple[str | None, str, str]]] = {}
        names: dict[str, tuple[str, str | None]] = {}
        for ext in ctx.sorted_extensions:
            ident = f"{ext.match_name}/{ext.cid}" if ext.cid is not None else ext.match_name
            names[ident] = (ext.name, ext.cid)
            rows[ident] = [
                (p.label, f"{p.priority}. {p.describe()}", _source(p)) for p in ext.priorities
            ]
        for (hctx, hname), value in self.hints.items():
            if hctx != ctx.name:
                continue
            ident = patterns.strip_fluff(hname)
            loc = self.hint_sources.get((hctx, hname))
            source = REGISTRAR if loc is None else f"{_basename(loc[0])}:{loc[1]}"
            hint_row: tuple[str | None, str, str] = (None, f"hint: {value}", source)
            if ident in rows:
                rows[ident].insert(0, hint_row)
            else:
                names[ident] = (hname, None)
                rows[ident] = [hint_row]
        order = sorted(names, key=lambda i: patterns.sort_key(names[i][0], names[i][1]))
        result = []
        for ident in order:
            name, cid = names[ident]
            head = f"'{name}' (CID match '{cid}') => " if cid is not None else f"'{name}' =>"
            result.append((name, head, rows[ident]))
        return result

    def _show_helper(
        self,
        out: list[str],
        context: str | None,
        exten: str | None,
        dpc: _Counters,
        included: bool,
        includes: list[str],
    ) -> None:
        for ctx in reversed(list(self.contexts.values())):
            if context is not None and ctx.name != context:
                continue
            dpc.context_existence = True
            printed = False
            if exten is None:
                dpc.total_context += 1
                out.append(f"[ Context '{ctx.name}' created by '{ctx.registrar}' ]\n")
                printed = True
            for name, head, rows in self._show_rows(ctx):
                if exten is not None and not patterns.match(patterns.strip_fluff(name), exten):
                    continue
                dpc.extension_existence = True
                if not printed:
                    dpc.total_context += 1
                    kind = "Included context" if included else "Context"
                    out.append(f"[ {kind} '{ctx.name}' created by '{ctx.registrar}' ]\n")
                    printed = True
                for index, (label, text, source) in enumerate(rows):
                    dpc.total_prio += 1
                    left = head if index == 0 else (f"   [{label}]" if label else "")
                    out.append(f"  {left:<17} {text:<45} [{source}]\n")
                dpc.total_exten += 1
            for inc in ctx.includes:
                if exten is not None:
                    if len(includes) >= _MAX_STACK:
                        continue
                    if any(inc.lower() == seen.lower() for seen in includes):
                        continue
                    self._show_helper(out, inc, exten, dpc, True, [*includes, inc])
                else:
                    quoted = f"'{inc}'"
                    out.append(f"  Include =>        {quoted:<45} [{ctx.registrar}]\n")
            for pat in ctx.ignorepats:
                if exten is None or patterns.match(f"_{pat}.", exten):
                    quoted = f"'{pat}'"
                    out.append(f"  Ignore pattern => {quoted:<45} [{ctx.registrar}]\n")
            if printed:
                out.append("\n")


@dataclass(slots=True)
class _Counters:
    total_context: int = 0
    total_exten: int = 0
    total_prio: int = 0
    context_existence: bool = False
    extension_existence: bool = False
