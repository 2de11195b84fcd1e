"""One folder per rule: every fail fixture reports exactly the marked (rule, line) pairs for that rule, every
pass fixture reports nothing for it."""

from __future__ import annotations

from pathlib import Path

import pytest

from aifactory.policy.check import load_target
from aifactory.policy.engine import evaluate
from aifactory.policy.registry import all_rules
from tests.policy.conftest import FIXTURES, design_engine_present, expected_marks

CASES = sorted(FIXTURES.glob("*/*/*.yaml"))


def _found(path: Path, rule: str) -> set[tuple[str, int]]:
    loaded = load_target(str(path)).loaded
    return {
        (f.rule, f.location.line)
        for f in evaluate(loaded)
        if f.rule == rule and Path(f.location.file).resolve() == path.resolve()
    }


@pytest.mark.parametrize("path", CASES, ids=lambda p: f"{p.parts[-3]}/{p.parts[-2]}")
def test_fixture(path: Path) -> None:
    rule, kind = path.parts[-3], path.parts[-2]
    expected = expected_marks(path) if kind == "fail" else set()
    if kind == "fail":
        assert expected, f"{path} marks no expected line"
    assert expected == _found(path, rule)


def test_pass_fixture_reports_nothing_anywhere_for_its_rule() -> None:
    for path in FIXTURES.glob("*/pass/*.yaml"):
        rule = path.parts[-3]
        loaded = load_target(str(path)).loaded
        assert [] == [f for f in evaluate(loaded) if f.rule == rule], path


def test_every_model_rule_has_pass_and_fail_fixtures() -> None:
    model_rules = {r.id for r in all_rules() if not r.needs_design}
    have = {p.name for p in FIXTURES.iterdir() if (p / "pass").is_dir() and (p / "fail").is_dir()}
    assert set() == model_rules - have


@pytest.mark.skipif(
    not design_engine_present(), reason="design engine (aifactory.design.plan) not merged yet"
)
def test_every_design_rule_has_fixtures() -> None:
    design_rules = {r.id for r in all_rules() if r.needs_design}
    have = {p.name for p in FIXTURES.iterdir()}
    assert set() == design_rules - have
