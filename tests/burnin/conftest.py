"""Shared helpers for the burn-in tests: real CPU-mode runs of the suite, as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parent / "data"


def run_cli(args: list[str], inject: str | None = None, timeout: int = 120) -> subprocess.CompletedProcess[str]:
    """`python cli.py burnin ...` as a real process, with the fault-injection hook set or cleared."""
    env = {k: v for k, v in os.environ.items() if k != "AIFACTORY_BURNIN_INJECT"}
    if inject:
        env["AIFACTORY_BURNIN_INJECT"] = inject
    return subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "burnin", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def cpu_run(tmp: Path, *extra: str, inject: str | None = None) -> tuple[int, dict[str, Any], str]:
    """A quick CPU-mode run into `tmp`; returns (exit code, report, stdout)."""
    proc = run_cli(
        ["run", "--device-type", "cpu", "--profile", "quick", "--no-plots", "--out", str(tmp), *extra],
        inject=inject,
    )
    report = json.loads((tmp / "burnin-report.json").read_text())
    return proc.returncode, report, proc.stdout


def validate(report: dict[str, Any]) -> None:
    from aifactory.burnin.report import load_schema

    jsonschema.Draft202012Validator(load_schema(), format_checker=jsonschema.FormatChecker()).validate(report)


def codes(report: dict[str, Any], gpu: int) -> set[str]:
    return {r["code"] for r in report["gpus"][gpu]["reasons"]}


@pytest.fixture(scope="session")
def baseline_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, dict[str, Any], Path, str]:
    """One healthy two-worker CPU run with plots and the lab blueprint's limits, shared by the report tests."""
    out = tmp_path_factory.mktemp("baseline")
    blueprint = str(ROOT / "blueprints" / "lab.yaml")
    proc = run_cli(["run", "--device-type", "cpu", "--blueprint", blueprint, "--out", str(out), "--format", "text"])
    return proc.returncode, json.loads((out / "burnin-report.json").read_text()), out, proc.stdout
