"""Human-readable findings, one block each, then a summary line."""

from __future__ import annotations

from aifactory.policy.report import Report


def render(report: Report) -> str:
    lines: list[str] = []
    for f in report.findings:
        state = "waived" if f.waived else "baselined" if f.baselined else f.level
        lines.append(f"{f.location}: {f.rule} [{f.severity}, {state}] {f.title}: {f.message}")
        if f.inherited is not None:
            set_by = f.inherited.file.startswith("--set ")
            lines.append(f"  value set by {f.inherited}" if set_by else f"  value inherited from {f.inherited}")
        if f.related is not None:
            lines.append(f"  limit defined at {f.related}")
        if f.note:
            lines.append(f"  note: {f.note}")
        if not f.waived and not f.baselined:
            lines.append(f"  fix: {f.remediation}")
    c = report.counts()
    verdict = "FAIL" if report.exit_code else "PASS"
    lines.append(
        f"{verdict}: {c['active']} finding(s) ({c['mandatory']} mandatory, {c['advisory']} advisory), "
        f"{c['waived']} waived, {c['baselined']} baselined in {len(report.files)} file(s)"
    )
    return "\n".join(lines) + "\n"
