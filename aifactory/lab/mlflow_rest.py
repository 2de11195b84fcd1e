"""Log a burn-in run to the lab's MLflow through its REST API (no MLflow client needed on this side)."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any


def _call(base: str, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        f"{base}{path}", data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        text = resp.read().decode() or "{}"
    result: dict[str, Any] = json.loads(text)
    return result


def experiment_id(base: str, name: str) -> str:
    """The experiment's ID, creating it when absent."""
    query = urllib.parse.urlencode({"experiment_name": name})
    try:
        return str(
            _call(base, "GET", f"/api/2.0/mlflow/experiments/get-by-name?{query}")["experiment"]["experiment_id"]
        )
    except urllib.error.HTTPError as err:
        if err.code != 404:
            raise
    return str(_call(base, "POST", "/api/2.0/mlflow/experiments/create", {"name": name})["experiment_id"])


def upload_artifact(base: str, exp_id: str, run_id: str, name: str, path: Path) -> None:
    """Store a file with the run through the server's artifact proxy."""
    url = f"{base}/api/2.0/mlflow-artifacts/artifacts/{exp_id}/{run_id}/artifacts/{urllib.parse.quote(name)}"
    req = urllib.request.Request(url, data=path.read_bytes(), method="PUT")
    with urllib.request.urlopen(req, timeout=60):
        pass


def log_run(
    base: str,
    experiment: str,
    run_name: str,
    params: dict[str, str],
    metrics: dict[str, float],
    tags: dict[str, str],
    artifacts: dict[str, Path],
) -> str:
    """Create a finished run with its parameters, metrics, tags and artifacts; returns the run ID."""
    exp_id = experiment_id(base, experiment)
    run = _call(base, "POST", "/api/2.0/mlflow/runs/create", {"experiment_id": exp_id, "run_name": run_name})
    run_id = str(run["run"]["info"]["run_id"])
    _call(base, "POST", "/api/2.0/mlflow/runs/log-batch", {
        "run_id": run_id,
        "params": [{"key": k, "value": v} for k, v in sorted(params.items())],
        "metrics": [{"key": k, "value": v, "timestamp": 0, "step": 0} for k, v in sorted(metrics.items())],
        "tags": [{"key": k, "value": v} for k, v in sorted(tags.items())],
    })  # fmt: skip
    for name, path in sorted(artifacts.items()):
        upload_artifact(base, exp_id, run_id, name, path)
    _call(base, "POST", "/api/2.0/mlflow/runs/update", {"run_id": run_id, "status": "FINISHED"})
    return run_id


def search_runs(base: str, experiment: str) -> list[dict[str, Any]]:
    """Runs of an experiment (for status and tests)."""
    exp_id = experiment_id(base, experiment)
    found = _call(base, "POST", "/api/2.0/mlflow/runs/search", {"experiment_ids": [exp_id]})
    runs: list[dict[str, Any]] = found.get("runs", [])
    return runs


def alias_version(base: str, model: str, alias: str) -> str:
    """The registered model's version under `alias` ("" when the model or the alias does not exist)."""
    query = urllib.parse.urlencode({"name": model, "alias": alias})
    try:
        found = _call(base, "GET", f"/api/2.0/mlflow/registered-models/alias?{query}")
    except urllib.error.HTTPError as err:
        if err.code in (400, 404):
            return ""
        raise
    return str(found["model_version"]["version"])
