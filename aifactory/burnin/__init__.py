"""GPU burn-in and acceptance suite.

Runs on a node with only torch and PyYAML (nvidia-ml-py where present): nothing here imports pydantic, click
or `aifactory.blueprint` at module level. Entry points: `python -m aifactory.burnin ...` and the
`aifactory burnin` CLI group, both thin wrappers over `aifactory.burnin.suite.run_suite`.
"""

from __future__ import annotations

REPORT_SCHEMA_VERSION = "1.1"
"""Version of the JSON report; bumped on any incompatible change (see docs/burnin.md)."""

INJECT_ENV = "AIFACTORY_BURNIN_INJECT"
"""Test hook: environment variable naming a fault to inject (read only by this suite)."""


class BurninInputError(ValueError):
    """Unusable input (bad flag, malformed thresholds or results file). The CLI turns it into a
    `UserError` (exit 2); `python -m aifactory.burnin` prints it and exits 2."""

    def __init__(self, message: str, hint: str = "", file: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.file = file

    def render(self) -> str:
        where = f"{self.file}: " if self.file else ""
        text = f"{where}{self.message}"
        return f"{text}\n  fix: {self.hint}" if self.hint else text
