"""A check's result: every finding (active, waived, baselined) and the fail decision."""

from __future__ import annotations

from dataclasses import dataclass

from aifactory.policy.model import Finding, Level, Severity, severity_rank


@dataclass(frozen=True)
class Report:
    findings: list[Finding]
    files: list[str]
    fail_on: Severity | None = None

    @property
    def active(self) -> list[Finding]:
        """Findings that are neither waived nor baselined (an expired waiver counts as none)."""
        return [f for f in self.findings if not f.waived and not f.baselined]

    def fails(self, f: Finding) -> bool:
        """Mandatory findings always fail; with a threshold, advisory ones at or above it fail too."""
        return not (f.waived or f.baselined) and self.fails_at(f.level, f.severity)

    def fails_at(self, level: Level, severity: Severity) -> bool:
        """Whether an unwaived finding of this level and severity fails."""
        if level == "mandatory":
            return True
        if level == "disabled":
            return False
        return self.fail_on is not None and severity_rank(severity) <= severity_rank(self.fail_on)

    @property
    def failing(self) -> list[Finding]:
        return [f for f in self.findings if self.fails(f)]

    @property
    def exit_code(self) -> int:
        return 1 if self.failing else 0

    def counts(self) -> dict[str, int]:
        return {
            "total": len(self.findings),
            "active": len(self.active),
            "failing": len(self.failing),
            "mandatory": sum(f.level == "mandatory" for f in self.active),
            "advisory": sum(f.level == "advisory" for f in self.active),
            "waived": sum(f.waived for f in self.findings),
            "baselined": sum(f.baselined for f in self.findings),
        }
