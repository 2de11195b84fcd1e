"""Golden plans: `plan --format json` of every reference blueprint, checked in under tests/golden/plans/.

Regenerate after an intended change:
`AIFACTORY_REGEN=1 .venv/bin/python -m pytest tests/design/test_golden.py`
and review the diff."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from aifactory.cli.plan import load_and_plan
from aifactory.io import dumps_json

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden" / "plans"
BLUEPRINTS = sorted(p.stem for p in (ROOT / "blueprints").glob("*.yaml"))


@pytest.mark.parametrize("name", BLUEPRINTS)
def test_golden_plan(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    _, _, data = load_and_plan(f"blueprints/{name}.yaml", None)
    path = GOLDEN / f"{name}.json"
    if os.environ.get("AIFACTORY_REGEN"):
        path.write_text(dumps_json(data), encoding="utf-8")
    assert json.loads(path.read_text(encoding="utf-8")) == data
    assert data["findings"] == []
