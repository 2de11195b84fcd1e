"""The helper scripts jobs embed, against a real MLflow. The evaluation gate (`gate.py`): each new version becomes
`challenger`; `champion` moves only to a version that meets the threshold and beats the champion. The benchmark
logger (`bench_log.py`): one run with the replicas' throughput summed and their worst latency percentiles.

MLflow is not in the development set (requirements/dev.txt); the lab's locked set (requirements/lab.txt) has it, the
version the lab's MLflow server runs. The test runs where an interpreter with mlflow is named by
AIFACTORY_MLFLOW_PYTHON, the lab's venv (built from requirements/lab.txt by the lab and molecule tests, which CI
runs first) or the test's own interpreter has it, and skips elsewhere, saying so."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from aifactory.lab.venv import venv_dir
from aifactory.render.workloads.templating import script


def _python() -> str | None:
    named = os.environ.get("AIFACTORY_MLFLOW_PYTHON")
    lab = venv_dir() / "bin" / "python"
    for candidate in (named, str(lab) if (venv_dir() / ".complete").is_file() else None, sys.executable):
        if candidate and shutil.which(candidate):
            probe = subprocess.run([candidate, "-c", "import mlflow"], capture_output=True, check=False)
            if probe.returncode == 0:
                return candidate
    return None


PYTHON = _python()
pytestmark = pytest.mark.skipif(PYTHON is None, reason="no interpreter with mlflow (set AIFACTORY_MLFLOW_PYTHON)")

# Registers a version as a training script would, then runs the gate's two steps on one evaluation result.
DRIVER = """
import json, os, subprocess, sys
import mlflow
from mlflow import MlflowClient
mlflow.set_experiment(os.environ["MLFLOW_EXPERIMENT_NAME"])
client = MlflowClient()
with mlflow.start_run(run_name="train") as run:
    pass
if not client.search_registered_models(f"name='{os.environ['AIFACTORY_MODEL']}'"):
    client.create_registered_model(os.environ["AIFACTORY_MODEL"])
client.create_model_version(os.environ["AIFACTORY_MODEL"], source=sys.argv[2], run_id=run.info.run_id)
with open(os.environ["EVAL_RESULT"], "w") as f:
    json.dump({"perplexity": float(sys.argv[3])}, f)
subprocess.run([sys.executable, sys.argv[1], "challenger"], check=True)
subprocess.run([sys.executable, sys.argv[1], "decide"], check=True)
aliases = {a: str(client.get_model_version_by_alias(os.environ["AIFACTORY_MODEL"], a).version)
           for a in ("champion", "challenger")}
print(json.dumps(aliases))
"""


def test_the_gate_promotes_only_a_better_model(tmp_path: Path) -> None:
    assert PYTHON is not None
    gate = tmp_path / "gate.py"
    gate.write_text(script("gate.py") + "\n")
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
           "MLFLOW_EXPERIMENT_NAME": "gate", "AIFACTORY_MODEL": "llm", "AIFACTORY_METRIC": "perplexity",
           "AIFACTORY_THRESHOLD": "12.5", "AIFACTORY_DIRECTION": "lower", "AIFACTORY_EVAL_NAME": "eval",
           "EVAL_RESULT": str(tmp_path / "result.json")}  # fmt: skip
    seen = []
    # Perplexity, lower is better, threshold 12.5: pass, fail the threshold, beat the champion, pass but worse.
    for value in (11.0, 13.0, 10.5, 11.5):
        run = subprocess.run([PYTHON, "-c", DRIVER, str(gate), str(tmp_path), str(value)], env=env, cwd=tmp_path,
                             capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
        assert 0 == run.returncode, run.stderr[-2000:]
        seen.append(json.loads(run.stdout.strip().splitlines()[-1]))
    assert [{"champion": "1", "challenger": "1"}, {"champion": "1", "challenger": "2"},
            {"champion": "3", "challenger": "3"}, {"champion": "3", "challenger": "4"}] == seen  # fmt: skip


# The keys `vllm bench serve --save-result --percentile-metrics ttft,tpot,itl,e2el --metric-percentiles 50,99`
# writes (vllm/benchmarks/serve.py: request_throughput, output_throughput, completed, p{N}_{metric}_ms).
def _result(tokens_per_s: float, p99_ttft: float) -> dict[str, float]:
    out = {"request_throughput": tokens_per_s / 256, "output_throughput": tokens_per_s, "completed": 256}
    for name in ("ttft", "tpot", "itl", "e2el"):
        out |= {f"p50_{name}_ms": 10.0, f"p99_{name}_ms": p99_ttft if name == "ttft" else 20.0}
    return out


READ_RUN = """
import json, mlflow
(run,) = mlflow.search_runs(experiment_names=["bench"], output_format="list")
print(json.dumps({"name": run.info.run_name, **run.data.metrics}))
"""


def test_the_benchmark_logger_sums_replicas_into_one_mlflow_run(tmp_path: Path) -> None:
    assert PYTHON is not None
    logger = tmp_path / "bench_log.py"
    logger.write_text(script("bench_log.py") + "\n")
    results = tmp_path / "results"
    results.mkdir()
    (results / "0.json").write_text(json.dumps(_result(1000.0, 80.0)))
    (results / "1.json").write_text(json.dumps(_result(1500.0, 120.0)))
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
           "MLFLOW_EXPERIMENT_NAME": "bench", "AIFACTORY_BENCH_NAME": "chat-tokens"}  # fmt: skip
    run = subprocess.run([PYTHON, str(logger), str(results)], env=env, cwd=tmp_path, capture_output=True,
                         text=True, timeout=300, check=False)  # fmt: skip
    assert 0 == run.returncode, run.stderr[-2000:]
    read = subprocess.run([PYTHON, "-c", READ_RUN], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=300, check=False)  # fmt: skip
    assert 0 == read.returncode, read.stderr[-2000:]
    logged = json.loads(read.stdout.strip().splitlines()[-1])
    assert ("chat-tokens", 2500.0, 120.0, 512) == (
        logged["name"], logged["output_tokens_per_s"], logged["p99_ttft_ms"], logged["completed"])  # fmt: skip


# The keys aifactory.tinylm.loadgen writes: no ttft, tpot or itl (KServe's V1 responses are not streamed).
def _loadgen_result(tokens_per_s: float, p99_e2el: float) -> dict[str, float]:
    return {"completed": 32, "failed": 0, "duration": 4.0, "total_input_tokens": 1024, "total_output_tokens": 1024,
            "request_throughput": tokens_per_s / 32, "output_throughput": tokens_per_s, "mean_e2el_ms": 50.0,
            "p50_e2el_ms": 40.0, "p99_e2el_ms": p99_e2el}  # fmt: skip


def test_the_benchmark_logger_logs_the_percentiles_a_load_generator_result_has(tmp_path: Path) -> None:
    assert PYTHON is not None
    logger = tmp_path / "bench_log.py"
    logger.write_text(script("bench_log.py") + "\n")
    results = tmp_path / "results"
    results.mkdir()
    (results / "0.json").write_text(json.dumps(_loadgen_result(200.0, 300.0)))
    (results / "1.json").write_text(json.dumps(_loadgen_result(100.0, 900.0)))
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
           "MLFLOW_EXPERIMENT_NAME": "bench", "AIFACTORY_BENCH_NAME": "tinylm-tokens"}  # fmt: skip
    run = subprocess.run([PYTHON, str(logger), str(results)], env=env, cwd=tmp_path, capture_output=True,
                         text=True, timeout=300, check=False)  # fmt: skip
    assert 0 == run.returncode, run.stderr[-2000:]
    read = subprocess.run([PYTHON, "-c", READ_RUN], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=300, check=False)  # fmt: skip
    assert 0 == read.returncode, read.stderr[-2000:]
    logged = json.loads(read.stdout.strip().splitlines()[-1])
    assert (300.0, 900.0, 40.0, 64) == (
        logged["output_tokens_per_s"], logged["p99_e2el_ms"], logged["p50_e2el_ms"], logged["completed"])  # fmt: skip
    assert not any(key.endswith(("_ttft_ms", "_tpot_ms", "_itl_ms")) for key in logged)


def test_the_benchmark_logger_fails_without_a_result(tmp_path: Path) -> None:
    assert PYTHON is not None
    logger = tmp_path / "bench_log.py"
    logger.write_text(script("bench_log.py") + "\n")
    (tmp_path / "results").mkdir()
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}"}
    run = subprocess.run([PYTHON, str(logger), str(tmp_path / "results")], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    assert 1 == run.returncode and "no result file" in run.stderr
