"""The lab's burn-in: the suite (CPU mode) as one Slurm job across all compute nodes, reports on the shared
file system, and a run in MLflow with each node's verdict."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aifactory.lab import mlflow_rest
from aifactory.lab.podman import exec_in
from aifactory.lab.state import LabState

EXPERIMENT = "lab-burnin"


def suite_present(src: Path) -> bool:
    return (src / "aifactory" / "burnin" / "__main__.py").exists()


def run_job(state: LabState, venv: Path, nodes: int, tag: str, timeout_s: int = 900) -> tuple[int, str]:
    """Run the suite on every compute node through `srun`; returns (exit code, output)."""
    out = f"{state.shared_mount}/burnin/{tag}"
    script = (
        f"{venv}/bin/python -m aifactory.burnin run --profile quick --device-type cpu --format json "
        f'--out {out}/"$(hostname)" > {out}/"$(hostname)".stdout 2>&1'
    )
    cmd = [
        "timeout", str(timeout_s), "srun", "-N", str(nodes), "--ntasks-per-node=1",
        f"--job-name=burnin-{tag}", "--time=30", "/bin/sh", "-c", f"mkdir -p {out} && {script}",
    ]  # fmt: skip
    done = exec_in(state.controller, cmd, timeout=timeout_s + 30)
    return done.returncode, (done.stdout + done.stderr)[-4000:]


def collect(shared_dir: Path, tag: str) -> dict[str, dict[str, Any]]:
    """Each node's report, by host name."""
    reports: dict[str, dict[str, Any]] = {}
    for path in sorted((shared_dir / "burnin" / tag).glob("*/burnin-report.json")):
        reports[path.parent.name] = json.loads(path.read_text())
    return reports


def verdict(report: dict[str, Any]) -> str:
    """The node's verdict: top level, or under `node` as the suite's report schema 1.0 has it."""
    return str(report.get("verdict") or report.get("node", {}).get("verdict") or "MISSING")


def log_to_mlflow(base: str, tag: str, reports: dict[str, dict[str, Any]], shared_dir: Path) -> str:
    """One MLflow run for the job: verdict per node as a tag, pass count as a metric, reports as artifacts."""
    verdicts = {host: verdict(r) for host, r in reports.items()}
    return mlflow_rest.log_run(
        base,
        EXPERIMENT,
        f"burnin-{tag}",
        params={"profile": "quick", "nodes": str(len(reports)), "mode": "cpu"},
        metrics={
            "nodes_total": float(len(reports)),
            "nodes_pass": float(sum(v == "PASS" for v in verdicts.values())),
        },
        tags={f"verdict.{host}": v for host, v in verdicts.items()},
        artifacts={
            f"{host}-burnin-report.json": shared_dir / "burnin" / tag / host / "burnin-report.json" for host in reports
        },
    )
