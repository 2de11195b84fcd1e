"""The policy gate: what `policy check` decides, and what stops `up`/`preview` and the CrossGuard pack.

`gate()` runs the rules on loaded designs at the config's levels, then applies the diff base, the waivers and
the baseline; the report's fail decision adds `fail_on`. `run_check` is `gate()` on files, loaded with the one
stack reader (`aifactory.blueprint.stackfile.load_source`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from aifactory.blueprint import LoadedBlueprint
from aifactory.files import present
from aifactory.policy.config import PolicyConfig, load_config
from aifactory.policy.engine import evaluate, sort_key
from aifactory.policy.model import Finding, Severity
from aifactory.policy.report import Report


@dataclass(frozen=True)
class CheckOptions:
    sets: tuple[str, ...] = ()
    config: PolicyConfig = field(default_factory=PolicyConfig)
    fail_on: Severity | None = None
    diff_base: str | None = None
    baseline: Path | None = None  # None: the config's `baseline:` (if any)
    no_waivers: bool = False
    today: dt.date | None = None

    @property
    def threshold(self) -> Severity | None:
        """Advisory findings of this severity or worse fail too: `--fail-on`, else the config's `fail_on`."""
        return self.fail_on or self.config.fail_on


@dataclass(frozen=True)
class Target:
    """One checked file (as asked for, and as shown) and the validated design it describes."""

    file: str
    loaded: LoadedBlueprint
    stack: bool = False
    ref: str = ""  # the argument that named it; default `file`


def default_options() -> CheckOptions:
    """The options of `aifactory policy check FILE` with no flags: ./.aifactory-policy.yaml when present."""
    return CheckOptions(config=load_config(None))


def load_target(ref: str, sets: Sequence[str] = ()) -> Target:
    """A blueprint, catalogue name or stack file, read by the one stack reader."""
    from aifactory.blueprint.sources import display_path
    from aifactory.blueprint.stackfile import load_source

    loaded, stack = load_source(ref, sets, allow_secrets=True)  # a secret is reported as SEC-007
    if stack is not None:
        return Target(stack.file, loaded, True, ref)
    path = Path(ref)
    return Target(display_path(path) if path.exists() else ref, loaded, False, ref)


def findings_of(target: Target, options: CheckOptions) -> list[Finding]:
    """The raw findings (no waivers, baseline or diff) of one design, at the config's levels."""
    return evaluate(target.loaded, options.config.levels, focus=target.file)


def findings_for(file: str, options: CheckOptions) -> list[Finding]:
    return findings_of(load_target(file, options.sets), options)


def gate(targets: Sequence[Target], options: CheckOptions) -> Report:
    """The one policy decision: `report.failing` is what fails `policy check` and stops `up`."""
    findings = _dedupe([f for t in targets for f in findings_of(t, options)])
    refs = [t.ref or t.file for t in targets]
    if options.diff_base:
        from aifactory.policy.diff import base_identities, only_new

        findings = only_new(findings, base_identities(options.diff_base, refs, lambda f: findings_for(f, options)))
    if not options.no_waivers:
        from aifactory.policy.waivers import apply

        findings = apply(findings, options.today or dt.date.today())
    baseline = options.baseline if options.baseline is not None else options.config.baseline
    if baseline is not None:
        from aifactory.policy.baseline import load, mark

        if present(baseline, str(baseline)):
            findings = mark(findings, load(baseline))
    return Report(sorted(findings, key=sort_key), refs, options.threshold)


def run_check(files: Sequence[str], options: CheckOptions) -> Report:
    return gate([load_target(f, options.sets) for f in files], options)


def without_baseline(options: CheckOptions) -> CheckOptions:
    """`options` applying no baseline at all (not even the config's): `--update-baseline` compares raw findings."""
    return dataclasses.replace(options, baseline=None, config=dataclasses.replace(options.config, baseline=None))


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
