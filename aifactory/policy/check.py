"""`policy check` as a library call: load each file, run the rules, then apply the diff base, waivers and
baseline."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from aifactory.policy.config import PolicyConfig
from aifactory.policy.engine import evaluate, sort_key
from aifactory.policy.model import Finding, Severity
from aifactory.policy.report import Report
from aifactory.policy.targets import load_target


@dataclass(frozen=True)
class CheckOptions:
    sets: tuple[str, ...] = ()
    config: PolicyConfig = field(default_factory=PolicyConfig)
    fail_on: Severity | None = None
    diff_base: str | None = None
    baseline: Path | None = None
    no_waivers: bool = False
    today: dt.date | None = None


def findings_for(file: str, options: CheckOptions) -> list[Finding]:
    """The raw findings (no waivers, baseline or diff) for one blueprint or stack file."""
    target = load_target(file, options.sets)
    return evaluate(target.loaded, options.config.levels, focus=target.file)


def run_check(files: Sequence[str], options: CheckOptions) -> Report:
    findings: list[Finding] = []
    for file in files:
        findings.extend(findings_for(file, options))
    findings = _dedupe(findings)
    if options.diff_base:
        from aifactory.policy.diff import base_identities, only_new

        findings = only_new(
            findings, base_identities(options.diff_base, list(files), lambda f: findings_for(f, options))
        )
    if not options.no_waivers:
        from aifactory.policy.waivers import apply

        findings = apply(findings, options.today or dt.date.today())
    if options.baseline is not None:
        from aifactory.policy.baseline import load, mark

        if options.baseline.exists():
            findings = mark(findings, load(options.baseline))
    return Report(sorted(findings, key=sort_key), list(files), options.fail_on or options.config.fail_on)


def _dedupe(findings: list[Finding]) -> list[Finding]:
    # Two files extending one base report the base's finding twice; keep one.
    seen: set[tuple[str, ...]] = set()
    out = []
    for f in findings:
        key = (*f.identity, f.message)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out
