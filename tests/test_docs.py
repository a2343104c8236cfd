"""The documents run: every command block of README.md and docs/**/*.md.

Each document's ```sh / ```bash / ```console blocks run in order, as a user
would type them, in a temporary folder (which holds a ``.venv`` link to the
running virtual environment, so ``. .venv/bin/activate`` works) with its own
``HOME`` (so pyari's default state folder and control socket are the test's
own).  The folder a block ``cd``s to is where the next block starts.

Only loopback, never a real port: pyari gets ``PYARI_BIND`` / ``PYARI_SIP``
on free ports, and the ports the documents name (8088 for HTTP, 8089 for
HTTPS, 5060 for SIP, 4222 for NATS) are replaced by those free ports in the
blocks' text.

A line ``pyari ... serve`` is started in the background, and the next line
runs once its control socket answers; a document that talks to pyari
(``pyari -rx``, ``:8088``, a background program) without starting one gets
one (the embedded defaults) before the first block that does.  Everything
a document started is stopped at its end with SIGINT, as Ctrl+C would.

An HTML comment just before a block changes how it is taken:

``<!-- doctest: skip (why) -->``
    not run (a reason is required; keep these few).
``<!-- doctest: save FILE -->``
    the block (of any language) is written to FILE in the working folder
    (its ports replaced too).
``<!-- doctest: background (why); prints WORD WORD -->``
    each command runs in the background (a program that runs until Ctrl+C);
    the next block runs once pyari lists an ARI application more than before.
    ``prints``: words its output must show, in order, before the document ends.
``<!-- doctest: prints WORD WORD -->``
    words the block's output must show, in order (its ports replaced too).
``<!-- doctest: console -->``
    before an output block: each of its lines must show in pyari's console.

```python blocks are compiled (top-level ``await`` allowed, as in a REPL or
notebook); ```toml blocks are parsed.
"""

from __future__ import annotations

import ast
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from conftest import udp_port_taken
from test_install_split import make_dry_run

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
SHELLS = {"sh", "bash", "shell", "console"}
PORTS = {8088: "http", 8089: "https", 5060: "sip", 4222: "nats"}
"""The ports the documents name, each replaced by a free one."""

BLOCK_TIMEOUT = 60.0
READY_TIMEOUT = 20.0
OUTPUT_TIMEOUT = 15.0

_FENCE = re.compile(r"^(?P<indent> *)(?P<fence>```+|~~~+)\s*(?P<info>[^`]*)$")
"""A fence, at the margin or indented inside a list item."""
_MARKER = re.compile(r"^<!--\s*doctest:\s*(?P<text>.*?)\s*-->$")
_SERVE = re.compile(r"^\s*pyari\b(?P<opts>(?:(?!\s-rx\b|\s-x\b).)*?)\sserve\b")
_TALKS_TO_PYARI = re.compile(r"\bpyari\b[^\n]*\s-r?x\b|127\.0\.0\.1:8088\b")


@dataclass
class Block:
    document: Path
    line: int
    lang: str
    text: str
    marker: str = ""

    @property
    def where(self) -> str:
        return f"{self.document.relative_to(ROOT)}:{self.line}"

    def directive(self, name: str) -> str | None:
        """The argument of ``name`` in the block's marker (``""`` when bare), or None."""
        for part in self.marker.split(";"):
            word, _, rest = part.strip().partition(" ")
            if word == name:
                return rest.strip()
        return None


def blocks(document: Path) -> list[Block]:
    """The fenced blocks of ``document``, each with the marker comment before it (a
    block indented in a list item: its text without the indentation)."""
    found: list[Block] = []
    lines = document.read_text(encoding="utf-8").splitlines()
    marker = ""
    i = 0
    while i < len(lines):
        line = lines[i]
        if m := _MARKER.match(line.strip()):
            marker = m["text"]
        elif m := _FENCE.match(line):
            indent, fence = m["indent"], m["fence"]
            lang = (m["info"].split() or [""])[0].lower()
            body: list[str] = []
            start = i + 1
            i += 1
            while i < len(lines) and not lines[i].startswith(indent + fence):
                text = lines[i]
                body.append(text[len(indent) :] if text.startswith(indent) else text.lstrip())
                i += 1
            found.append(Block(document, start, lang, "\n".join(body) + "\n", marker))
            marker = ""
        elif line.strip():
            marker = ""
        i += 1
    return found


def commands(block: Block) -> str:
    """The shell text of a block (a console block: its ``$ `` lines)."""
    if block.lang != "console":
        return block.text
    out: list[str] = []
    for line in block.text.splitlines():
        if line.startswith("$ ") or (line.startswith("> ") and out):
            out.append(line[2:])
    return "\n".join(out) + "\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Session:
    """One document's run: its folder, environment and background programs."""

    folder: Path
    ports: dict[int, int]
    env: dict[str, str]
    cwd: Path
    started: list[tuple[Block, subprocess.Popen[bytes], Path]] = field(default_factory=list)
    server_opts: str | None = None
    consoles: list[Path] = field(default_factory=list)
    """The console logs of the pyari servers the document started."""

    @classmethod
    def create(cls, tmp: Path) -> Session:
        # ``tmp`` is short (a control socket's path is at most 107 bytes).
        home = tmp / "home"
        work = tmp / "work"
        home.mkdir()
        work.mkdir()
        (work / ".venv").symlink_to(Path(sys.prefix))
        ports = {port: free_port() for port in PORTS}
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("PYARI_", "XDG_", "PYTEST_")) and k != "PYTHONMALLOC"
        }
        env.update(
            HOME=str(home),
            PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
            PYARI_BIND=f"127.0.0.1:{ports[8088]}",
            PYARI_SIP=f"127.0.0.1:{ports[5060]}",
            PIP_DISABLE_PIP_VERSION_CHECK="1",
            PIP_NO_INDEX="1",  # `pip install` in a document: only what is there
        )
        return cls(tmp, ports, env, work)

    def localise(self, text: str) -> str:
        for doc_port, port in self.ports.items():
            text = re.sub(rf"(?<![\d]){doc_port}(?![\d])", str(port), text)
        return text

    def run(self, block: Block, script: str) -> str:
        """Run ``script`` (bash, ``set -e``); the folder it ends in is the next start."""
        cwd_file = self.folder / "cwd"
        full = f"set -e\ntrap 'pwd > {shlex.quote(str(cwd_file))}' EXIT\n{script}"
        proc = subprocess.run(
            ["bash", "-c", full],
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            timeout=BLOCK_TIMEOUT,
            stdin=subprocess.DEVNULL,
        )
        out = proc.stdout.decode(errors="replace") + proc.stderr.decode(errors="replace")
        if proc.returncode != 0:
            pytest.fail(
                f"{block.where}: exit status {proc.returncode}\n--- block ---\n{script}"
                f"--- output ---\n{out}{self.background_output()}",
                pytrace=False,
            )
        if cwd_file.exists():
            self.cwd = Path(cwd_file.read_text().strip())
        return out

    def start(self, block: Block, command: str) -> subprocess.Popen[bytes]:
        log = self.folder / f"bg-{len(self.started)}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                ["bash", "-c", f"exec {command}"],
                cwd=self.cwd,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                preexec_fn=_default_sigint,
            )
        self.started.append((block, proc, log))
        return proc

    def rx(self, command: str) -> subprocess.CompletedProcess[bytes]:
        opts = shlex.split(self.server_opts or "")
        return subprocess.run(
            ["pyari", *opts, "-rx", command],
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            timeout=10,
        )

    def wait(self, block: Block, proc: subprocess.Popen[bytes], ready: object, what: str) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"{block.where}: {what} exited ({proc.returncode})\n{self.background_output()}",
                    pytrace=False,
                )
            if callable(ready) and ready():
                return
            if time.monotonic() > deadline:
                pytest.fail(
                    f"{block.where}: {what} not ready in {READY_TIMEOUT} s\n"
                    f"{self.background_output()}",
                    pytrace=False,
                )
            time.sleep(0.05)

    def serve(self, block: Block, line: str, opts: str) -> None:
        proc = self.start(block, line)
        self.consoles.append(self.started[-1][2])
        self.server_opts = opts
        self.wait(block, proc, lambda: self.rx("core show uptime").returncode == 0, "pyari")

    def apps(self) -> bytes:
        return self.rx("ari show apps").stdout if self.server_opts is not None else b""

    def background(self, block: Block, script: str) -> None:
        for line in script.splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            before = self.apps()
            proc = self.start(block, line)
            self.wait(block, proc, lambda before=before: self.apps() != before, line.strip())

    def background_output(self) -> str:
        parts = []
        for block, _proc, log in self.started:
            text = log.read_text(errors="replace") if log.exists() else ""
            parts.append(f"--- background ({block.where}) ---\n{text[-4000:]}")
        return "\n".join(parts)

    def check_prints(self) -> None:
        for block, _proc, log in self.started:
            if block.directive("background") is None:
                continue
            words = (block.directive("prints") or "").split()
            deadline = time.monotonic() + OUTPUT_TIMEOUT
            while words:
                if _shows(log.read_text(errors="replace"), words):
                    break
                if time.monotonic() > deadline:
                    pytest.fail(
                        f"{block.where}: the output never showed {words}\n"
                        f"{self.background_output()}",
                        pytrace=False,
                    )
                time.sleep(0.05)

    def check_console(self, block: Block) -> None:
        """Every line of ``block`` shows in pyari's console (its ports replaced)."""
        lines = [ln.strip() for ln in self.localise(block.text).splitlines() if ln.strip()]
        deadline = time.monotonic() + OUTPUT_TIMEOUT
        while True:
            console = "".join(log.read_text(errors="replace") for log in self.consoles)
            missing = [line for line in lines if line not in console]
            if not missing:
                return
            if time.monotonic() > deadline:
                pytest.fail(
                    f"{block.where}: pyari's console never showed {missing}\n"
                    f"{self.background_output()}",
                    pytrace=False,
                )
            time.sleep(0.05)

    def stop(self) -> None:
        for _block, proc, _log in reversed(self.started):
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)


def _default_sigint() -> None:
    """In the child before exec: SIGINT back to its default action. Started by a
    script's ``cmd &``, this test's children would inherit SIGINT ignored (and a
    shell cannot undo that), so :meth:`Session.stop`'s Ctrl+C would not stop them."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_shell(session: Session, block: Block) -> str:
    """Run the block's commands; what they printed (nothing for a background block)."""
    script = session.localise(commands(block))
    if block.directive("background") is not None:
        session.background(block, script)
        return ""
    out: list[str] = []
    pending: list[str] = []
    for line in script.splitlines(keepends=True):
        m = _SERVE.match(line)
        if m is None or re.search(r"\s(-h|--help)\b", line):
            pending.append(line)
            continue
        if "".join(pending).strip():
            out.append(session.run(block, "".join(pending)))
        pending = []
        session.serve(block, line.split("#", 1)[0].strip(), m["opts"].strip())
    if "".join(pending).strip():
        out.append(session.run(block, "".join(pending)))
    return "".join(out)


def documents_with_commands() -> Iterator[Path]:
    for document in DOCUMENTS:
        if any(b.lang in SHELLS for b in blocks(document)):
            yield document


def _is_setup(block: Block) -> bool:
    """README's set-up block, never run here: ``make run`` serves until Ctrl+C and
    ``make test`` runs the suite this test belongs to."""
    return block.document.name == "README.md" and block.line == _setup_line()


def _setup_line() -> int:
    return blocks(ROOT / "README.md")[0].line


def is_run(block: Block) -> bool:
    """Whether :func:`test_document_commands_run` runs (or saves) the block."""
    return block.directive("skip") is None and not _is_setup(block)


def run_block(session: Session, block: Block) -> None:
    save = block.directive("save")
    if save:
        (session.cwd / save).write_text(session.localise(block.text), encoding="utf-8")
    if block.lang not in SHELLS:
        return
    talks = _TALKS_TO_PYARI.search(block.text) or block.directive("background") is not None
    if session.server_opts is None and talks and not _SERVE.search(block.text):
        session.serve(block, "pyari serve", "")
    out = run_shell(session, block)
    words = session.localise(block.directive("prints") or "").split()
    if words and block.directive("background") is None and not _shows(out, words):
        pytest.fail(
            f"{block.where}: the output does not show {words}\n--- output ---\n{out}",
            pytrace=False,
        )


def _shows(text: str, words: list[str]) -> bool:
    """``words`` appear in ``text`` in this order."""
    return re.search(".*".join(re.escape(w) for w in words), text, re.DOTALL) is not None


def short_tmp() -> Path:
    # Short, so the control socket's path stays under 108 bytes whatever TMPDIR is.
    return Path(
        tempfile.mkdtemp(prefix="pyari-doc-", dir="/tmp" if Path("/tmp").is_dir() else None)
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    "document", list(documents_with_commands()), ids=lambda p: str(p.relative_to(ROOT))
)
def test_document_commands_run(document: Path) -> None:
    tmp = short_tmp()
    session = Session.create(tmp)
    try:
        for block in blocks(document):
            if is_run(block):
                run_block(session, block)
            if block.directive("console") is not None:
                session.check_console(block)
        session.check_prints()
    finally:
        session.stop()
        shutil.rmtree(tmp, ignore_errors=True)


# The command blocks test_document_commands_run does not run, each checked another way.
# A block skipped with no entry here fails test_blocks_not_run_are_checked_otherwise.


def _check_setup(block: Block, tmp: Path) -> None:
    """``make run`` serves until Ctrl+C and ``make test`` runs this suite: both targets
    exist, ``run`` ends in ``pyari serve`` and ``test`` in pytest (tests/test_install_split.py
    checks what each installs)."""
    venv = tmp / "venv"
    targets = [line.split("#")[0].split() for line in block.text.splitlines()]
    assert [t[:1] for t in targets] == [["make"], ["make"]], block.text
    expected = {"run": f"{venv}/bin/pyari serve", "test": f"{venv}/bin/pytest -q"}
    for _make, target in targets:
        assert expected[target] in make_dry_run(target, venv), target


def _check_cluster_demo(block: Block, tmp: Path) -> None:
    """``make cluster-demo`` runs pyari.cluster.demo until Ctrl+C; the same document runs
    that program with ``--check`` (start everything, check every node, stop)."""
    assert block.text.strip() == "make cluster-demo", block.text
    lines = make_dry_run("cluster-demo", tmp / "venv")
    assert lines[-1] == f"{tmp / 'venv'}/bin/python scripts/cluster_demo.py", lines
    assert "from pyari.cluster.demo import main" in (ROOT / "scripts/cluster_demo.py").read_text()
    assert any(
        is_run(b) and re.search(r"python -m pyari\.cluster\.demo .*--check", commands(b))
        for b in blocks(block.document)
    ), f"{block.where}: no block of the document runs pyari.cluster.demo --check"


def _check_foreground(block: Block, tmp: Path) -> None:
    """A server that runs until Ctrl+C, run here as written after the document's blocks
    before it: it must bind the document's SIP port (5060, a free one here) and stop on
    SIGINT."""
    session = Session.create(tmp)
    try:
        for earlier in blocks(block.document):
            if earlier is block or earlier.line >= block.line:
                break
            if is_run(earlier):
                run_block(session, earlier)
        port = session.ports[5060]
        script = session.localise(commands(block)).strip()
        proc = session.start(block, script)
        session.wait(block, proc, lambda: udp_port_taken(port), script)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(15) == 0, session.background_output()
    finally:
        session.stop()


NOT_RUN_CHECKS = {
    r"make run\b": _check_setup,
    r"make cluster-demo$": _check_cluster_demo,
    r"/usr/sbin/kamailio -f \S+ -DD\b": _check_foreground,
}
"""A pattern of a not-run block's first command line: how that block is checked."""


def not_run_blocks() -> list[Block]:
    return [
        b for document in DOCUMENTS for b in blocks(document) if b.lang in SHELLS and not is_run(b)
    ]


@pytest.mark.slow
@pytest.mark.parametrize("block", not_run_blocks(), ids=lambda b: b.where)
def test_blocks_not_run_are_checked_otherwise(block: Block) -> None:
    first = commands(block).strip().splitlines()[0]
    checks = [check for pattern, check in NOT_RUN_CHECKS.items() if re.match(pattern, first)]
    if len(checks) != 1:
        pytest.fail(
            f"{block.where}: a command block that is not run needs one check in "
            f"NOT_RUN_CHECKS (found {len(checks)}): {first}",
            pytrace=False,
        )
    tmp = short_tmp()
    try:
        checks[0](block, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def all_blocks() -> list[Block]:
    return [b for document in DOCUMENTS for b in blocks(document)]


@pytest.mark.parametrize(
    "block",
    [b for b in all_blocks() if b.lang in ("python", "py")],
    ids=lambda b: b.where,
)
def test_python_blocks_compile(block: Block) -> None:
    flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    try:
        compile(block.text, block.where, "exec", flags=flags, dont_inherit=True)
    except SyntaxError as exc:
        pytest.fail(f"{block.where}: {exc}", pytrace=False)


@pytest.mark.parametrize(
    "block", [b for b in all_blocks() if b.lang == "toml"], ids=lambda b: b.where
)
def test_toml_blocks_parse(block: Block) -> None:
    tomllib.loads(block.text)


_LOOKS_LIKE_COMMANDS = re.compile(
    r"^(\$ |pyari (-|serve|samples)|make |python3? |curl |pip |openssl |\. \.venv/)"
)


def test_command_blocks_are_labelled() -> None:
    """A block of commands without ``sh`` (or ``bash``, ``console``) would not be run."""
    for block in all_blocks():
        if block.lang in SHELLS:
            continue
        first = next((line.strip() for line in block.text.splitlines() if line.strip()), "")
        assert not _LOOKS_LIKE_COMMANDS.match(first), (
            f"{block.where}: commands in a {block.lang!r} block"
        )


def test_markers_are_known_and_skips_say_why() -> None:
    for block in all_blocks():
        for part in filter(None, (p.strip() for p in block.marker.split(";"))):
            word, _, rest = part.partition(" ")
            known = {"skip", "save", "background", "prints", "console"}
            assert word in known, f"{block.where}: {part}"
            if word in ("skip", "background"):
                assert re.fullmatch(r"\(.+\)", rest), f"{block.where}: {word} needs (a reason)"
            if word in ("save", "prints"):
                assert rest, f"{block.where}: {word} needs an argument"


def test_readme_starts_with_the_two_setup_commands() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("# ") and not lines[1].strip()
    assert lines[2] == "```sh", "the README starts with its set-up block, right after the title"
    first = blocks(ROOT / "README.md")[0]
    assert first.lang == "sh" and first.line == 3
    assert [line.split("#")[0].strip() for line in first.text.splitlines()] == [
        "make run",
        "make test",
    ]
