"""Shared helpers for the policy tests."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).parent / "fixtures"
EXPECT = re.compile(r"#\s*expect:\s*([A-Z]+-[0-9]+)")


def expected_marks(path: Path) -> set[tuple[str, int]]:
    """(rule, line) pairs marked `# expect: RULE` in a fixture file."""
    out = set()
    for n, line in enumerate(path.read_text().splitlines(), start=1):
        out.update((m, n) for m in EXPECT.findall(line))
    return out


def design_engine_present() -> bool:
    try:
        from aifactory.design import plan  # type: ignore[attr-defined]  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture
def in_root(monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(ROOT)
    return ROOT
