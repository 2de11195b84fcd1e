"""Fixtures shared by the test areas: where the checkout is, and how to run the real CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CLI = REPO / "cli.py"
REFERENCE_BLUEPRINTS = sorted(p.stem for p in (REPO / "blueprints").glob("*.yaml"))
REGEN = os.environ.get("AIFACTORY_REGEN") == "1"
"""Golden files are rewritten, not compared, under `AIFACTORY_REGEN=1 pytest ...`; review the diff after."""


def golden_file(path: Path, text: str) -> str:
    """The golden text at `path` (rewritten to `text` first when regenerating)."""
    if REGEN:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return path.read_text(encoding="utf-8")


def golden_tree(folder: Path, files: Mapping[str, str]) -> dict[str, bytes]:
    """The golden folder's files by relative path (replaced by `files`, stale ones removed, when regenerating)."""
    if REGEN:
        from aifactory.io import atomic_write_tree

        for stale in folder.rglob("*") if folder.is_dir() else ():
            if stale.is_file() and stale.relative_to(folder).as_posix() not in files:
                stale.unlink()
        atomic_write_tree(folder, files)
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def run_cli(*args: str, cwd: Path = REPO, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`python cli.py ARGS` as a real process, the way a user runs it from a checkout."""
    return subprocess.run([sys.executable, str(CLI), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, check=False)


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO
