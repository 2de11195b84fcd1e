"""GitHub workflow commands (`::error file=...,line=...::msg`). GitHub shows at most 10 errors and 10
warnings per step and drops the rest silently, so output is capped there and the full table goes to the
job summary ($GITHUB_STEP_SUMMARY)."""

from __future__ import annotations

import os
from pathlib import Path

from aifactory.policy.model import Finding
from aifactory.policy.report import Report

CAP = 10


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _command(f: Finding, kind: str) -> str:
    loc = f.location
    props = []
    # A file of the installed catalogue (checked by name, outside the workspace) has no place in the diff view.
    if not loc.base:
        props.append(f"file={escape_property(loc.file)}")
        if loc.line:
            props += [f"line={loc.line}", f"endLine={loc.line}"]
        if loc.column:
            props.append(f"col={loc.column}")
    props.append(f"title={escape_property(f'{f.rule} {f.title}')}")
    text = f"{f.message}. Fix: {f.remediation}"
    if f.inherited is not None:
        how = "set by" if f.inherited.file.startswith("--set ") else "inherited from"
        text += f" (value {how} {f.inherited})"
    elif loc.base:
        text += f" (at {loc})"
    return f"::{kind} {','.join(props)}::{escape_data(text)}"


def render(report: Report) -> str:
    lines: list[str] = []
    shown = {"error": 0, "warning": 0}
    dropped = 0
    for f in report.active:
        kind = "error" if report.fails(f) else "warning"
        if shown[kind] >= CAP:
            dropped += 1
            continue
        shown[kind] += 1
        lines.append(_command(f, kind))
    if dropped:
        lines.append(
            f"::notice::{dropped} more finding(s) not annotated (GitHub shows 10 errors and 10 warnings "
            "per step); the job summary lists them all"
        )
    return "\n".join(lines) + ("\n" if lines else "")


def summary_markdown(report: Report) -> str:
    c = report.counts()
    out = [
        f"### aifactory policy: {'FAIL' if report.exit_code else 'PASS'}",
        "",
        f"{c['active']} finding(s): {c['mandatory']} mandatory, {c['advisory']} advisory; "
        f"{c['waived']} waived, {c['baselined']} baselined.",
        "",
    ]
    if report.findings:
        out += ["| Rule | Severity | Level | Location | Message | State |", "|---|---|---|---|---|---|"]
        for f in report.findings:
            state = (
                "waived" if f.waived else "baselined" if f.baselined else ("fails" if report.fails(f) else "")
            )
            msg = " ".join(f.message.split()).replace("|", "\\|")
            out.append(f"| {f.rule} | {f.severity} | {f.level} | `{f.location}` | {msg} | {state} |")
    return "\n".join(out) + "\n"


def write_summary(report: Report) -> None:
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if target:
        with Path(target).open("a", encoding="utf-8") as fh:
            fh.write(summary_markdown(report))
