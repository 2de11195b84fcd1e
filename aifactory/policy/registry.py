"""The rule registry: every rule registers here under a stable id; unknown ids get the nearest suggestion."""

from __future__ import annotations

import difflib
from collections.abc import Callable

from aifactory.errors import Location, UserError
from aifactory.policy.model import TAGS, Check, Level, Rule, Severity

_RULES: dict[str, Rule] = {}
_RULE_MODULES = ("sovereignty", "provenance", "security", "power", "fabric", "storage", "operations")


def rule(
    id: str,
    title: str,
    *,
    severity: Severity,
    level: Level = "mandatory",
    tags: tuple[str, ...],
    rationale: str,
    remediation: str,
    sovereign: bool = False,
    waivable: bool = True,
    needs_design: bool = False,
) -> Callable[[Check], Check]:
    """Register the decorated check as rule `id`."""

    def register(check: Check) -> Check:
        if id in _RULES:
            raise ValueError(f"rule id {id} registered twice")
        unknown = set(tags) - set(TAGS)
        if unknown:
            raise ValueError(f"rule {id}: unknown tags {sorted(unknown)}")
        _RULES[id] = Rule(
            id, title, severity, level, tags, rationale, remediation, check, sovereign, waivable, needs_design
        )
        return check

    return register


def all_rules() -> list[Rule]:
    """All rules, sorted by id."""
    if not _RULES:
        import importlib

        for name in _RULE_MODULES:
            importlib.import_module(f"aifactory.policy.rules.{name}")
    return [_RULES[k] for k in sorted(_RULES)]


def rule_ids() -> list[str]:
    return [r.id for r in all_rules()]


def nearest(value: str) -> str:
    prefix, dash, number = value.upper().partition("-")
    # letters typed for look-alike digits ("SOV-01O") should not steer the suggestion elsewhere
    guess = prefix + dash + number.translate(str.maketrans("OIL", "011"))
    near = difflib.get_close_matches(guess, rule_ids(), n=1, cutoff=0.4)
    return f"did you mean {near[0]}? " if near else ""


def get_rule(rule_id: str, where: Location | None = None) -> Rule:
    """The rule with this id, or a UserError suggesting the nearest id."""
    for r in all_rules():
        if r.id == rule_id.upper():
            return r
    raise UserError.at(
        where,
        f"unknown rule id {rule_id!r}",
        f"{nearest(rule_id)}`aifactory policy list` shows every rule id",
    )
