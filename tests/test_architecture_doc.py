"""docs/architecture.md stays true: the modules, classes and methods it names exist,
its layers are the import-linter contract's, and the contract holds."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "architecture.md"
SRC = ROOT / "src" / "pyari"

NOT_CODE = {"AppDial2", "NoOp", "Answer", "Dial", "Down", "Ring"}
"""Words in backticks that name dialplan applications, events or states, not classes."""


def doc() -> str:
    return DOC.read_text(encoding="utf-8")


def quoted() -> list[str]:
    """The inline code of the document (not its fenced blocks)."""
    text = re.sub(r"```.*?```", "", doc(), flags=re.DOTALL)
    return re.findall(r"`([^`\n]+)`", text)


def contracts() -> list[dict[str, Any]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    found: list[dict[str, Any]] = config["tool"]["importlinter"]["contracts"]
    return found


@cache
def classes() -> dict[str, set[str]]:
    """Every class of pyari by name, with the names defined in its body."""
    found: dict[str, set[str]] = {}
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                names = found.setdefault(node.name, set())
                for item in node.body:
                    if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                        names.add(item.name)
                    elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                        names.add(item.target.id)
                    elif isinstance(item, ast.Assign):
                        names.update(t.id for t in item.targets if isinstance(t, ast.Name))
    return found


@cache
def functions() -> set[str]:
    """Every module-level function of pyari."""
    found: set[str] = set()
    for path in SRC.rglob("*.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                found.add(node.name)
    return found


def test_every_module_and_folder_named_exists() -> None:
    paths = [q for q in quoted() if re.fullmatch(r"[a-z_]+(/[a-z_]+)*(\.py|/)", q)]
    assert len(paths) > 40, "the document names the modules it describes"
    missing = [p for p in paths if not (SRC / p).exists()]
    assert missing == []


def test_every_class_and_method_named_exists() -> None:
    known = classes()
    missing = []
    for q in quoted():
        dotted = re.fullmatch(r"([A-Z]\w*)\.(\w+)", q)
        if dotted is not None:
            cls, attr = dotted.groups()
            if attr not in known.get(cls, set()):
                missing.append(q)
        elif re.fullmatch(r"[A-Z][a-z0-9]+[A-Z]\w*", q) and q not in NOT_CODE and q not in known:
            missing.append(q)
    assert missing == []


def test_functions_named_in_the_walks_exist() -> None:
    named = {"originate", "place_call", "create", "run_in_app", "media_of", "assign_variable"}
    named |= {"originate_channel", "play", "_dial"}
    for name in named:
        assert re.search(rf"`{name}[`(]", doc()), name
    assert named - functions() == set()


def test_layers_are_the_contracts() -> None:
    block = re.search(r"```layers\n(.*?)```", doc(), flags=re.DOTALL)
    assert block is not None
    written = [line.strip() for line in block.group(1).splitlines() if line.strip()]
    (layers,) = [c for c in contracts() if c["type"] == "layers"]
    assert written == layers["layers"]


def test_every_package_has_a_place() -> None:
    """Each package is in the layers (or the one ignored) and in the packages table."""
    (layers,) = [c for c in contracts() if c["type"] == "layers"]
    placed = {p.strip() for layer in layers["layers"] for p in re.split(r"[|:]", layer)}
    placed |= set(layers.get("exhaustive_ignores", []))
    packages = {p.parent.name for p in SRC.glob("*/__init__.py")}
    packages |= {p.stem for p in SRC.glob("*.py") if p.stem != "__init__"}
    assert packages == placed
    for name in packages:
        assert f"| `pyari.{name}` |" in doc(), name


def test_allowed_exceptions_are_named() -> None:
    """Every import the contracts let through is named in the document."""
    for contract in contracts():
        for ignored in contract.get("ignore_imports", []):
            assert ignored in doc()


def test_the_contracts_hold() -> None:
    lint = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run(
        [str(lint), "--no-logo", "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
