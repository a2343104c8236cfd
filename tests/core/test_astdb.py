"""The astdb: family/key storage in SQLite that survives reopening."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyari.core.astdb import AstDb


def test_put_get_replace_delete(tmp_path: Path) -> None:
    db = AstDb(tmp_path / "astdb.sqlite3")
    assert db.get("fam", "k") is None
    db.put("fam", "k", "one")
    assert db.get("fam", "k") == "one"
    db.put("fam", "k", "two")
    assert db.get("fam", "k") == "two"
    assert db.delete("fam", "k") is True
    assert db.get("fam", "k") is None
    assert db.delete("fam", "k") is False
    db.close()


def test_tree_is_per_family_and_ordered(tmp_path: Path) -> None:
    db = AstDb(tmp_path / "astdb.sqlite3")
    db.put("a", "z", "1")
    db.put("a", "b", "2")
    db.put("ab", "x", "3")  # a family whose name extends another's
    db.put("a/sub", "y", "4")  # a nested family
    db.put("%", "w", "5")  # LIKE wildcards are plain characters
    assert list(db.tree("a").items()) == [("b", "2"), ("sub/y", "4"), ("z", "1")]
    assert db.tree("a/sub") == {"y": "4"}
    assert db.tree("ab") == {"x": "3"}
    assert db.tree("%") == {"w": "5"}
    assert db.tree("nothing") == {}
    assert db.deltree("a") == 3
    assert db.tree("a") == {}
    assert db.tree("ab") == {"x": "3"}
    db.close()


def test_values_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "dir" / "astdb.sqlite3"
    db = AstDb(path)
    db.put("StasisDeviceState", "foo", "INUSE")
    db.close()
    again = AstDb(path)
    assert again.get("StasisDeviceState", "foo") == "INUSE"
    again.close()


def test_closed_database_refuses(tmp_path: Path) -> None:
    db = AstDb(tmp_path / "astdb.sqlite3")
    db.close()
    db.close()  # closing twice is harmless
    with pytest.raises(RuntimeError):
        db.get("f", "k")
