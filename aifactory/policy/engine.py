"""Running the rules: one Context per design, each enabled rule once, hits turned into located findings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aifactory.blueprint import LoadedBlueprint
from aifactory.policy.context import Context
from aifactory.policy.model import Finding, Hit, Level, Rule
from aifactory.policy.registry import all_rules


def effective_level(rule: Rule, enforced: bool, levels: Mapping[str, Level]) -> Level:
    """A level from the config file wins; otherwise the rule's default (sovereignty: by `enforced`)."""
    return levels.get(rule.id) or rule.level_for(enforced)


def evaluate(
    loaded: LoadedBlueprint,
    levels: Mapping[str, Level] | None = None,
    only: set[str] | None = None,
    focus: str = "",
) -> list[Finding]:
    """All findings of the enabled rules on one design, sorted by file, line and rule. `focus` is the file
    under review (default: the blueprint's own file); budget findings are anchored on the values it sets."""
    ctx = Context(loaded, focus)
    findings: list[Finding] = []
    for rule in all_rules():
        if only is not None and rule.id not in only:
            continue
        level = effective_level(rule, ctx.enforced, levels or {})
        if level == "disabled":
            continue
        findings.extend(_finding(ctx, rule, level, hit) for hit in rule.check(ctx))
    return sorted(findings, key=sort_key)


def sort_key(f: Finding) -> tuple[Any, ...]:
    return (f.location.file, f.location.line, f.location.column, f.rule, f.pointer, f.message)


def _finding(ctx: Context, rule: Rule, level: Level, hit: Hit) -> Finding:
    value = hit.value if hit.value is not None else ctx.value_at(hit.path)
    return Finding(
        rule=rule.id,
        severity=rule.severity,
        level=level,
        title=rule.title,
        message=hit.message,
        path=hit.path,
        location=ctx.loaded.locate(*hit.path),
        value=value,
        remediation=rule.remediation,
        related=ctx.loaded.locate(*hit.related) if hit.related is not None else None,
        related_path=hit.related,
        tags=rule.tags,
    )
