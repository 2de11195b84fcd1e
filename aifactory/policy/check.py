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
from aifactory.errors import Location
from aifactory.files import present
from aifactory.policy.config import PolicyConfig, load_config
from aifactory.policy.engine import evaluate, sort_key
from aifactory.policy.locations import Locator, anchor
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

    @property
    def checked(self) -> str:
        """The checked file as the loader shows it (for a catalogue name: the catalogue file)."""
        from aifactory.files import is_file

        return self.file if is_file(Path(self.file)) else self.loaded.source

    @property
    def shown(self) -> str:
        """The file as reported: relative to its repository (`aifactory.policy.locations`)."""
        return Locator.for_file(self.checked).file(self.checked)


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


def inherits_at(target: Target) -> Location:
    """The line of the checked file that brings in inherited values: its `extends:` (a blueprint) or its
    `aifactory:blueprint:` (a stack file); else its first line."""
    from aifactory.blueprint.sources import load_file
    from aifactory.blueprint.stackfile import parse_stack

    path = Path(target.checked)
    doc = load_file(path)  # read a moment ago by the loader, which refused anything unusable
    if isinstance(doc.value, dict) and "extends" in doc.value:
        loc: Location = doc.value["extends"].loc
        return loc
    stack = parse_stack(doc, path, target.checked) if target.stack else None
    return stack.blueprint_node.loc if stack is not None else Location(target.checked, 1)


def findings_of(target: Target, options: CheckOptions) -> list[Finding]:
    """The raw findings (no waivers, baseline or diff) of one design, at the config's levels, located relative
    to the file's repository; inherited values anchored in the checked file."""
    found = evaluate(target.loaded, options.config.levels, focus=target.file)
    if not found:
        return found
    locator = Locator.for_file(target.checked)
    return [anchor(f, locator, target.loaded.locations, inherits_at(target)) for f in found]


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

        findings = apply(findings, options.today or dt.date.today(), _texts(targets, findings))
    baseline = options.baseline if options.baseline is not None else options.config.baseline
    if baseline is not None:
        from aifactory.policy.baseline import load, mark

        if present(baseline, str(baseline)):
            findings = mark(findings, load(baseline))
    return Report(sorted(findings, key=sort_key), [t.shown for t in targets], options.threshold)


def run_check(files: Sequence[str], options: CheckOptions) -> Report:
    return gate([load_target(f, options.sets) for f in files], options)


def without_baseline(options: CheckOptions) -> CheckOptions:
    """`options` applying no baseline at all (not even the config's): `--update-baseline` compares raw findings."""
    return dataclasses.replace(options, baseline=None, config=dataclasses.replace(options.config, baseline=None))


def _texts(targets: Sequence[Target], findings: Sequence[Finding]) -> dict[str, str]:
    """The text of each file the findings point at, by its reported (repository-relative) name: waiver comments
    are read from there whatever the current directory is."""
    from aifactory.blueprint.yamlsrc import MAX_BYTES
    from aifactory.files import is_file, read_bytes

    names = {f.location.file for f in findings}
    out: dict[str, str] = {}
    for target in targets:
        root = Locator.for_file(target.checked).root
        for name in sorted(names - set(out)):
            path = root / name
            # anything else is left to the waiver reader, which finds no waiver in what it cannot read
            if is_file(path) and path.stat().st_size <= MAX_BYTES:
                out[name] = read_bytes(path, name, MAX_BYTES).decode("utf-8", errors="replace")
    return out


def _dedupe(findings: list[Finding]) -> list[Finding]:
    # Two files extending one base of the repository report the base's finding twice; keep one. (A catalogue
    # base's finding is anchored in each file that inherits it: one per file.)
    seen: set[tuple[str, ...]] = set()
    out = []
    for f in findings:
        key = (*f.identity, f.message)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out
