"""Deterministic serialisation and atomic writes.

Every artifact the tool writes goes through here: JSON with sorted keys and a trailing newline, and files
replaced atomically (write to a temporary file in the same directory, fsync, rename), so an interrupted run
leaves the earlier output intact.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def dumps_json(obj: Any) -> str:
    """Canonical JSON: sorted keys, two-space indent, UTF-8 kept, newline at the end."""
    return json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def atomic_write(path: str | os.PathLike[str], data: bytes | str) -> None:
    """Replace `path` with `data` in one step; on any failure the old file is untouched."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_tree(out_dir: str | os.PathLike[str], files: Mapping[str, bytes | str]) -> list[Path]:
    """Write a set of artifacts into `out_dir`: all are rendered in memory first, so a failure while
    rendering writes nothing; each file is then replaced atomically. Returns the paths written, sorted."""
    root = Path(out_dir)
    written = []
    for name in sorted(files):
        dest = root / name
        atomic_write(dest, files[name])
        written.append(dest)
    return written
