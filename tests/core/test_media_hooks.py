"""Core below media: core calls the media service through MediaHooks and never imports it."""

from __future__ import annotations

import ast
from pathlib import Path

import pyari.core
from pyari.core.engine import Core
from pyari.core.media_hooks import MediaHooks
from pyari.media.service import MediaService, media_of

CORE_DIR = Path(pyari.core.__file__).parent


def _runtime_imports(tree: ast.Module) -> list[str]:
    """Modules a file imports when it runs (``if TYPE_CHECKING:`` blocks left out)."""
    found: list[str] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for branch in node.orelse:
                visit(branch)
            return
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            found.append(node.module)
            found.extend(f"{node.module}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def test_the_scan_sees_function_level_and_skips_type_checking_imports() -> None:
    tree = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from pyari.media.mixer import Stream\n"
        "def f():\n    from pyari.media.player import Player\n"
    )
    imports = _runtime_imports(tree)
    assert "pyari.media.player" in imports
    assert "pyari.media.mixer" not in imports


def test_core_imports_nothing_from_media_at_runtime() -> None:
    above = ("pyari.media", "pyari.stasis", "pyari.channels", "pyari.ari")
    offenders = {}
    for path in sorted(CORE_DIR.glob("*.py")):
        found = [m for m in _runtime_imports(ast.parse(path.read_text())) if m.startswith(above)]
        if found:
            offenders[path.name] = found
    assert offenders == {}


def test_the_media_service_is_what_core_calls_and_is_found_by_media_of(tmp_path: Path) -> None:
    core = Core()
    assert core.media is None
    assert media_of(core) is None
    service = MediaService(
        core,
        sounds_dir=lambda: tmp_path,
        recording_dir=lambda: tmp_path,
        moh_classes=dict,
    )
    hooks: MediaHooks = service  # mypy checks the protocol
    assert core.media is hooks
    assert media_of(core) is service
    members = [
        name
        for name, value in vars(MediaHooks).items()
        if callable(value) and not name.startswith("_")
    ]
    assert sorted(members) == [
        "bridge_destroyed",
        "bridge_joined",
        "bridge_left",
        "channel_gone",
        "on_bridge_dtmf",
        "on_dtmf",
        "set_muted",
    ]
    for name in members:
        assert callable(getattr(service, name))
