"""Helpers: plan a reference blueprint with `--set` overrides."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from aifactory.blueprint import load_blueprint
from aifactory.design import Plan, plan


@pytest.fixture
def plan_of() -> Callable[..., Plan]:
    def run(ref: str, *sets: str) -> Plan:
        return plan(load_blueprint(ref, sets=list(sets)).model)

    return run
