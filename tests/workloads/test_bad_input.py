"""Workloads that cannot run on the design, and unusable energy signals: exit 2, file:line, a fix, no traceback,
nothing written."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO, run_cli

BASE = REPO / "blueprints" / "b200-spectrum-x.yaml"


def _site(tmp_path: Path, old: str, new: str, signal: str | None = None) -> Path:
    """A copy of the Slurm reference blueprint with one line changed, beside a copy of its signal."""
    text = BASE.read_text()
    assert old in text
    (tmp_path / "signals").mkdir()
    src = REPO / "blueprints" / "signals" / "day-ahead-example.csv"
    (tmp_path / "signals" / "day-ahead-example.csv").write_text(signal if signal is not None else src.read_text())
    path = tmp_path / "site.yaml"
    path.write_text(text.replace(old, new, 1))
    return path


def _line(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), start=1) if needle in line)


def _refused(path: Path, out: Path) -> str:
    result = run_cli("render", str(path), "--workloads", "--out", str(out))
    assert 2 == result.returncode, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert not (out / "workloads").exists()
    return result.stderr


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("nodes: 32, time_limit", "nodes: 65, time_limit", "65 nodes, but slurm has 64 compute nodes"),
        (
            "args: [--config=8b.yaml],",
            "args: [--config=8b.yaml], gpus_per_node: 9,",
            "9 GPUs per node, but a dgx-b200 node has 8",
        ),
        ("gpus: 8, canary_percent: 25", "gpus: 8, canary_percent: 101", "less than or equal to 100"),
        ("training: pretrain-8b,", "training: pretrain-9b,", "no training job is named 'pretrain-9b'"),
        (
            "replicas: 4, gpus: 8,",
            "replicas: 4, gpus: 8, nodes: [b200999, b200001, b200002, b200003],",
            "'b200999' is not a Slurm compute host",
        ),
        (
            "serving: chat-8b, prompt_tokens",
            "serving: chat-8b, orchestrator: kubernetes, prompt_tokens",
            "runs on kubernetes, but the factory's orchestrator is slurm",
        ),
    ],
)
def test_a_workload_the_design_cannot_run_is_refused_at_its_line(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    site = _site(tmp_path, old, new)
    err = _refused(site, tmp_path / "out")
    assert message in err
    assert f"site.yaml:{_line(site, new)}:" in err  # the line of the changed value
    assert "fix:" in err


@pytest.mark.parametrize(
    ("new", "message", "fix"),
    [
        ("replicas: 4, gpus: 0,", "0 GPUs per replica, but vLLM needs at least 1 GPU", "or engine: kserve"),
        ("replicas: 4, gpus: 8, engine: tgi,", "Input should be 'vllm' or 'kserve'", "fix:"),
        ("replicas: 4, gpus: 8, latency_p99_ms: 0,", "greater than or equal to 1", "fix:"),
    ],
)
def test_a_serving_engine_or_objective_that_cannot_hold_is_refused_at_its_line(
    tmp_path: Path, new: str, message: str, fix: str
) -> None:
    site = _site(tmp_path, "replicas: 4, gpus: 8,", new)
    err = _refused(site, tmp_path / "out")
    assert message in err and fix in err
    assert f"site.yaml:{_line(site, new)}:" in err


K8S = REPO / "blueprints" / "edge-l40s-inference.yaml"


@pytest.mark.parametrize(
    ("new", "message", "fix"),
    [
        ("replicas: 2, gpus: 1, engine: kserve}", "engine kserve (aifactory's language model runtime) runs on Slurm",
         "set engine: vllm, or orchestrator: slurm"),
        ("replicas: 2, gpus: 1, latency_p99_ms: 500}", "the latency objective is a Prometheus rule of Slurm serving",
         "leave latency_p99_ms out, or set orchestrator: slurm"),
        ("replicas: 2, gpus: 0}", "0 GPUs per replica, but vLLM needs at least 1 GPU", "set gpus to 1 or more"),
    ],
)  # fmt: skip
def test_kubernetes_serving_refuses_the_slurm_only_settings(tmp_path: Path, new: str, message: str, fix: str) -> None:
    text = K8S.read_text()
    old = "replicas: 2, gpus: 1}"
    assert old in text
    site = tmp_path / "site.yaml"
    site.write_text(text.replace(old, new, 1))
    err = _refused(site, tmp_path / "out")
    assert message in err and f"fix: {fix}" in err
    assert f"site.yaml:{_line(site, new)}:" in err


@pytest.mark.parametrize(
    ("rows", "line", "message"),
    [
        ("hour,value\n2026-12-04T00:00Z,50\n2026-12-04T02:00Z,60\n", 3, "does not follow 2026-12-04T00:00Z"),
        ("hour,value\n2026-12-04T00:00Z,cheap\n", 2, "is not a finite number"),
        ("# prices\nhour;value\n", 2, "the first line must be the header"),
        ("hour,value\n2026-12-04 00:00,50\n", 2, "is not an ISO 8601 UTC hour"),
        ("hour,value\n2026-12-04T00:00Z,nan\n", 2, "is not a finite number"),
    ],
)
def test_a_bad_energy_signal_is_refused_at_its_line(tmp_path: Path, rows: str, line: int, message: str) -> None:
    site = _site(tmp_path, "apiVersion", "apiVersion", signal=rows)
    err = _refused(site, tmp_path / "out")
    assert f"signals/day-ahead-example.csv:{line}" in err and message in err


def test_a_missing_energy_signal_names_the_file(tmp_path: Path) -> None:
    site = _site(tmp_path, "apiVersion", "apiVersion")
    shutil.rmtree(tmp_path / "signals")
    err = _refused(site, tmp_path / "out")
    assert "day-ahead-example.csv" in err and "no such file" in err


def test_an_earlier_output_survives_a_refusal(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert 0 == run_cli("render", "b200-spectrum-x", "--workloads", "--out", str(out)).returncode
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    site = _site(tmp_path, "nodes: 32, time_limit", "nodes: 65, time_limit")
    result = run_cli("render", str(site), "--workloads", "--out", str(out))
    assert 2 == result.returncode
    assert before == {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}


@pytest.mark.parametrize("name", ["../prices.csv", "/etc/prices.csv", "signals//prices.csv", "sig nals.csv"])
def test_the_signal_file_stays_beside_the_blueprint(tmp_path: Path, name: str) -> None:
    site = _site(tmp_path, "file: signals/day-ahead-example.csv", f"file: '{name}'")
    err = _refused(site, tmp_path / "out")
    assert f"site.yaml:{_line(site, name)}:" in err and "relative to the blueprint's folder" in err


def test_a_training_job_longer_than_its_partition_allows_is_refused_at_its_line(tmp_path: Path) -> None:
    text = (REPO / "blueprints" / "lab.yaml").read_text()
    old = 'time_limit: "00:20:00"'
    assert old in text
    site = tmp_path / "site.yaml"
    new = 'time_limit: "1-00:00:00"'
    site.write_text(text.replace(old, new, 1))
    err = _refused(site, tmp_path / "out")
    assert "time_limit 1-00:00:00 is longer than partition debug's max_time 01:00:00" in err
    assert f"site.yaml:{_line(site, new)}:" in err and "fix: set time_limit to at most 01:00:00" in err
