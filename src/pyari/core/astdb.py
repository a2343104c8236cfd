"""The Asterisk database (astdb): a persistent family/key → value store.

Like Asterisk's, it is one SQLite table whose keys are ``/family/key``;
a family may itself contain ``/`` (``mwi_external/mailboxes``).  Writes are
single autocommitted statements on one connection in WAL mode, so each costs
one small append to the log and survives a restart.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

__all__ = ["AstDb"]

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS astdb (key VARCHAR(256), value VARCHAR(256), PRIMARY KEY(key))"
)


def _full(family: str, key: str) -> str:
    return f"/{family}/{key}"


class AstDb:
    """A family/key store backed by SQLite (``:memory:`` for a throwaway one)."""

    def __init__(self, path: Path | str) -> None:
        self.path = path
        if isinstance(path, Path):
            path.parent.mkdir(parents=True, exist_ok=True)
        self._db: sqlite3.Connection | None = sqlite3.connect(
            str(path), isolation_level=None, check_same_thread=False
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(_SCHEMA)

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("astdb is closed")
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def put(self, family: str, key: str, value: str) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO astdb (key, value) VALUES (?, ?)", (_full(family, key), value)
        )

    def get(self, family: str, key: str) -> str | None:
        row = self.db.execute(
            "SELECT value FROM astdb WHERE key = ?", (_full(family, key),)
        ).fetchone()
        return None if row is None else str(row[0])

    def delete(self, family: str, key: str) -> bool:
        """Remove one key; False when it was not there."""
        cur = self.db.execute("DELETE FROM astdb WHERE key = ?", (_full(family, key),))
        return cur.rowcount > 0

    def tree(self, family: str) -> dict[str, str]:
        """Every key of ``family`` (without the family prefix) and its value, by key."""
        prefix = f"/{family}/"
        rows = self.db.execute(
            "SELECT key, value FROM astdb WHERE substr(key, 1, ?) = ? ORDER BY key",
            (len(prefix), prefix),
        ).fetchall()
        return {str(k)[len(prefix) :]: str(v) for k, v in rows}

    def deltree(self, family: str) -> int:
        """Remove a whole family; the number of keys removed."""
        prefix = f"/{family}/"
        cur = self.db.execute(
            "DELETE FROM astdb WHERE substr(key, 1, ?) = ?", (len(prefix), prefix)
        )
        return cur.rowcount
