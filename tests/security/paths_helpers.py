"""Helpers for the path-confinement tests: a snapshot of the file system around the
server's folders, and small audio files to find or not find."""

from __future__ import annotations

import os
import struct
from pathlib import Path

Snapshot = dict[str, tuple[str, int, bytes]]


def snapshot(root: Path, *skip: Path) -> Snapshot:
    """Every entry below ``root`` (not following links) but those below ``skip``:
    relative path → (kind, size, first bytes)."""
    skipped = {os.path.realpath(s) for s in skip}
    out: Snapshot = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [
            d for d in dirnames if os.path.realpath(os.path.join(dirpath, d)) not in skipped
        ]
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = str(path.relative_to(root))
            if path.is_symlink():
                out[rel] = ("link", 0, os.readlink(path).encode())
            elif path.is_dir():
                out[rel] = ("dir", 0, b"")
            elif path.is_file():
                out[rel] = ("file", path.stat().st_size, path.read_bytes()[:256])
            else:
                out[rel] = ("other", 0, b"")
    return out


def write_wav(path: Path, ms: int = 100, rate: int = 8000) -> Path:
    """A mono 16-bit PCM WAV of ``ms`` milliseconds of a quiet square wave."""
    path.parent.mkdir(parents=True, exist_ok=True)
    count = rate * ms // 1000
    samples = b"".join(struct.pack("<h", 800 if (i // 10) % 2 else -800) for i in range(count))
    header = b"RIFF" + struct.pack("<I", 36 + len(samples)) + b"WAVE"
    header += b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
    header += b"data" + struct.pack("<I", len(samples))
    path.write_bytes(header + samples)
    return path
