"""Golden plans: `plan --format json` of every reference blueprint, checked in under tests/golden/plans/.

Regenerate after an intended change:
`AIFACTORY_REGEN=1 .venv/bin/python -m pytest tests/design/test_golden.py`
and review the diff."""

from __future__ import annotations

import json

import pytest

from aifactory.cli.plan import load_and_plan
from aifactory.io import dumps_json
from tests.conftest import REFERENCE_BLUEPRINTS, REPO, golden_file

ROOT = REPO
GOLDEN = ROOT / "tests" / "golden" / "plans"


@pytest.mark.parametrize("name", REFERENCE_BLUEPRINTS)
def test_golden_plan(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    _, _, data = load_and_plan(f"blueprints/{name}.yaml", None)
    assert json.loads(golden_file(GOLDEN / f"{name}.json", dumps_json(data))) == data
    assert data["findings"] == []
