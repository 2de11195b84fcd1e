"""The sovereignty evidence report: `aifactory evidence BLUEPRINT_OR_STACK` (docs/evidence.md).

It maps one design to the EU Cloud Sovereignty Framework's objectives SOV-1..SOV-8 and to the Gaia-X label
criteria a design can show, with each supporting blueprint value, policy rule result, plan figure, catalogue
entry, bundle fact and burn-in verdict at its file:line; the SEAL level reached per objective and what is
missing for the next. Same inputs and `--as-of` date, same bytes, from any directory.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aifactory.errors import Location, UserError


def default_date(checked: str) -> dt.date:
    """The date the report is as of when `--as-of` is not given: the last commit of the checked file (its
    author date, so a rebase keeps it), else the file's modification date (UTC). Never today: the same checkout
    gives the same report."""
    path = Path(checked)
    try:
        out = subprocess.run(
            ["git", "log", "-1", "--format=%as", "--", path.name],
            cwd=path.parent if str(path.parent) else ".",
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
        if out.returncode == 0 and out.stdout.strip():
            return dt.date.fromisoformat(out.stdout.strip())
    except (OSError, subprocess.SubprocessError, ValueError):
        pass
    return dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).date()


def parse_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise UserError.at(Location(f"--as-of {text}"), f"{text!r} is not a date", "write it as YYYY-MM-DD") from None


def _burnin(paths: Sequence[str], facts_shown: Any) -> list[Any]:
    from aifactory.burnin import BurninInputError
    from aifactory.burnin.compare import collect
    from aifactory.burnin.report import FILES
    from aifactory.evidence.facts import Burnin

    # A JUnit file is a rendering of the JSON report written next to it, without the run's start time: read that.
    wanted = [str(Path(p).with_name(FILES["json"])) if p.endswith(FILES["junit"]) else p for p in paths]
    try:
        found = collect(wanted)
    except BurninInputError as err:
        raise UserError.at(Location(err.file) if err.file else None, err.message, err.hint) from None
    latest: dict[str, tuple[str, dict[str, Any]]] = {}
    for file, r in sorted(found, key=lambda fr: (fr[1]["node"]["hostname"], fr[1]["run"]["started_at"], fr[0])):
        latest[r["node"]["hostname"]] = (file, r)
    return [
        Burnin(host, r["node"]["verdict"], r["run"]["started_at"], r["run"]["profile"], facts_shown(Path(file)))
        for host, (file, r) in sorted(latest.items())
    ]


def evidence(
    ref: str,
    sets: Sequence[str] = (),
    bundle: Path | None = None,
    burnin: Sequence[str] = (),
    as_of: dt.date | None = None,
) -> dict[str, Any]:
    """The report for a catalogue name, blueprint or stack file, as its JSON document (with its digest)."""
    from aifactory.policy.check import load_target

    return evidence_for(load_target(ref, sets), sets, bundle, burnin, as_of)


def evidence_for(
    target: Any,
    sets: Sequence[str] = (),
    bundle: Path | None = None,
    burnin: Sequence[str] = (),
    as_of: dt.date | None = None,
    planned: Any = None,
) -> dict[str, Any]:
    """The report for a loaded `aifactory.policy.check.Target` (what `evidence` and the Pulumi program share);
    `planned`: the design's plan where the caller has it already."""
    from aifactory.design import plan
    from aifactory.evidence.bundle import MANIFEST, load_bundle
    from aifactory.evidence.facts import Facts
    from aifactory.evidence.report import build, with_digest
    from aifactory.policy.check import CheckOptions, gate

    date = as_of or default_date(target.checked)
    report = gate([target], CheckOptions(sets=tuple(sets), today=date))
    facts = Facts(target, report, planned if planned is not None else plan(target.loaded.model), date)
    if bundle is not None:
        facts.bundle = load_bundle(bundle, facts.shown(bundle / MANIFEST))
        _same_design(facts)
    if burnin:
        facts.burnin = _burnin(burnin, facts.shown)
    return with_digest(build(facts))


def _same_design(facts: Any) -> None:
    """The bundle was written for this blueprint (and, for a stack file, this stack)."""
    from aifactory.blueprint.stackfile import is_stack_name

    name, bundle = facts.loaded.model.name, facts.bundle
    fix = f"pass the bundle `aifactory bundle {facts.target.ref or name}` wrote"
    if bundle.blueprint != name:
        raise UserError.at(
            Location(bundle.shown), f"the bundle is for the blueprint {bundle.blueprint!r}, not {name!r}", fix
        )
    checked = Path(facts.target.checked)
    stack = checked.stem.removeprefix("Pulumi.") if is_stack_name(checked) else None
    if bundle.stack is not None and stack is not None and bundle.stack != stack:
        raise UserError.at(Location(bundle.shown), f"the bundle is for the stack {bundle.stack!r}, not {stack!r}", fix)
