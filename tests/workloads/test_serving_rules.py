"""The Slurm serving deployments' alert rules (slurm/prometheus/aifactory-serving-rules.yml) pass `promtool check
rules`, and `promtool test rules` shows each alert firing on series that carry the labels the file_sd targets give
(job, serving, model, alias; instance from the scrape) and staying silent on healthy ones."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from aifactory.blueprint import load_blueprint
from aifactory.render.workloads import render_workloads
from tests.conftest import REPO

PROMTOOL = shutil.which("promtool")
pytestmark = pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed (scripts/debian-packages.txt)")
RULES = "slurm/prometheus/aifactory-serving-rules.yml"
TARGETS = "slurm/prometheus/aifactory-serving.json"
# The KServe runtime's latency histogram buckets (seconds) as prometheus_client writes the `le` label.
BUCKETS = ("0.005", "0.01", "0.025", "0.05", "0.075", "0.1", "0.25", "0.5", "0.75", "1.0", "2.5", "5.0", "7.5",
           "10.0", "+Inf")  # fmt: skip


def _lab(tmp_path: Path, old: str = "", new: str = "") -> dict[str, str]:
    text = (REPO / "blueprints" / "lab.yaml").read_text()
    assert old in text
    path = tmp_path / "lab.yaml"
    path.write_text(text.replace(old, new, 1))
    files, _ = render_workloads(load_blueprint(str(path)), "t")
    return files


def _target_labels(files: dict[str, str]) -> dict[str, str]:
    """The labels a scraped series of the (one) serving replica has: its file_sd labels and `instance`."""
    (group,) = json.loads(files[TARGETS])
    return {**group["labels"], "instance": group["targets"][0]}


def _series(name: str, labels: dict[str, str]) -> str:
    return name + "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


def _promtool_test(tmp_path: Path, rules: str, series: list[dict[str, str]], tests: list[dict[str, Any]]) -> None:
    (tmp_path / "rules.yml").write_text(rules)
    spec = {"rule_files": ["rules.yml"], "evaluation_interval": "1m",
            "tests": [{"interval": "1m", "input_series": series, "alert_rule_test": tests}]}  # fmt: skip
    (tmp_path / "test.yml").write_text(yaml.safe_dump(spec))
    done = subprocess.run([str(PROMTOOL), "test", "rules", "test.yml"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60, check=False)  # fmt: skip
    assert 0 == done.returncode, done.stdout + done.stderr


def _rule(rules: str, alert: str) -> dict[str, Any]:
    (group,) = yaml.safe_load(rules)["groups"]
    return next(r for r in group["rules"] if r["alert"] == alert)


def test_the_rules_pass_promtool_check(tmp_path: Path) -> None:
    (tmp_path / "rules.yml").write_text(_lab(tmp_path)[RULES])
    done = subprocess.run([str(PROMTOOL), "check", "rules", str(tmp_path / "rules.yml")], capture_output=True,
                          text=True, timeout=60, check=False)  # fmt: skip
    assert 0 == done.returncode and "2 rules found" in done.stdout, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("direction", "bad", "good"),
    [("lower", 3.5, 2.5), ("higher", 2.5, 3.5)],
)
def test_the_quality_alert_fires_on_a_version_worse_than_the_threshold(
    tmp_path: Path, direction: str, bad: float, good: float
) -> None:
    files = _lab(tmp_path, "direction: lower", f"direction: {direction}")
    labels = {**_target_labels(files), "metric": "val_loss"}
    rule = _rule(files[RULES], "AifactoryServingQualityWorseThanThreshold")
    healthy = {**labels, "instance": "lab001:8000"}  # a second replica serving a good version
    series = [{"series": _series("aifactory_serving_model_quality", labels), "values": f"{bad}x10"},
              {"series": _series("aifactory_serving_model_quality", healthy), "values": f"{good}x10"}]  # fmt: skip
    word = "above" if direction == "lower" else "below"
    annotations = {
        "summary": f"tinylm serves a tinylm version whose val_loss is {word} the 3.0 threshold of evaluation "
        "tinylm-heldout",
        "description": f"tinylm@champion on lab002:8000: val_loss {bad}",
    }
    assert annotations["summary"] == rule["annotations"]["summary"]
    fired = {"exp_labels": {**labels, "severity": "critical"}, "exp_annotations": annotations}
    _promtool_test(tmp_path, files[RULES], series, [
        {"eval_time": "0m", "alertname": rule["alert"], "exp_alerts": []},  # pending for 1m
        {"eval_time": "5m", "alertname": rule["alert"], "exp_alerts": [fired]},
    ])  # fmt: skip


def _histogram(labels: dict[str, str], seconds: str, name: str) -> list[dict[str, str]]:
    """10 requests a minute, all of them `seconds` long (in the first bucket that holds them)."""
    i = BUCKETS.index(seconds)
    return [{"series": _series(f"{name}_bucket", {**labels, "le": le}), "values": "0+10x30" if j >= i else "0x30"}
            for j, le in enumerate(BUCKETS)]  # fmt: skip


@pytest.mark.parametrize(("seconds", "fires"), [("5.0", True), ("0.1", False)])
def test_the_latency_alert_holds_the_p99_objective(tmp_path: Path, seconds: str, fires: bool) -> None:
    files = _lab(tmp_path)
    labels = _target_labels(files)
    rule = _rule(files[RULES], "AifactoryServingLatencyP99High")
    series = _histogram(labels, seconds, "aifactory_serving_request_seconds")
    # p99 interpolated in the (2.5 s, 5 s] bucket: 2.5 + 2.5 x 0.99 = 4.975 s, above the 2000 ms objective.
    fired = {"exp_labels": {"serving": "tinylm", "alias": "champion", "severity": "warning"},
             "exp_annotations": {"summary": "tinylm: p99 request latency above its 2000 ms objective",
                                 "description": "champion: p99 4.975s over 5m"}}  # fmt: skip
    _promtool_test(tmp_path, files[RULES], series, [
        {"eval_time": "3m", "alertname": rule["alert"], "exp_alerts": []},  # pending for 5m
        {"eval_time": "20m", "alertname": rule["alert"], "exp_alerts": [fired] if fires else []},
    ])  # fmt: skip


def _alerts(files: dict[str, str]) -> list[str]:
    return [r["alert"] for g in yaml.safe_load(files[RULES])["groups"] for r in g["rules"]] if RULES in files else []


def test_each_rule_comes_from_its_own_setting(tmp_path: Path) -> None:
    quality, latency = "AifactoryServingQualityWorseThanThreshold", "AifactoryServingLatencyP99High"
    no_objective = ("latency_p99_ms: 2000", "# latency_p99_ms: 2000")
    other_model = ("model: tinylm ", "model: tinylm-other ")  # the training job's: the evaluation is of another model
    assert [quality, latency] == _alerts(_lab(tmp_path))
    assert [quality] == _alerts(_lab(tmp_path, *no_objective))
    assert [latency] == _alerts(_lab(tmp_path, *other_model))
    # Neither: no rule file, the targets stay.
    text = (REPO / "blueprints" / "lab.yaml").read_text().replace(*no_objective).replace(*other_model, 1)
    (tmp_path / "neither.yaml").write_text(text)
    files, _ = render_workloads(load_blueprint(str(tmp_path / "neither.yaml")), "t")
    assert RULES not in files and TARGETS in files


def test_vllm_latency_objective_reads_vllms_histogram(tmp_path: Path) -> None:
    """vLLM exports no evaluation value, so a vLLM deployment gets the latency rule alone, on
    vllm:e2e_request_latency_seconds (vLLM adds its model_name label to the file_sd ones)."""
    shutil.copytree(REPO / "blueprints" / "signals", tmp_path / "signals")
    text = (REPO / "blueprints" / "b200-spectrum-x.yaml").read_text()
    old = "canary_percent: 25}"
    assert old in text
    (tmp_path / "site.yaml").write_text(text.replace(old, "canary_percent: 25, latency_p99_ms: 500}", 1))
    files, _ = render_workloads(load_blueprint(str(tmp_path / "site.yaml")), "t")
    (group,) = yaml.safe_load(files[RULES])["groups"]
    (rule,) = group["rules"]
    assert "vllm:e2e_request_latency_seconds_bucket" in rule["expr"]
    first = json.loads(files[TARGETS])[0]
    labels = {**first["labels"], "instance": first["targets"][0], "model_name": "llm-8b"}
    series = _histogram(labels, "1.0", "vllm:e2e_request_latency_seconds")
    fired = {"exp_labels": {"serving": "chat-8b", "alias": "champion", "severity": "warning"},
             "exp_annotations": {"summary": "chat-8b: p99 request latency above its 500 ms objective",
                                 "description": "champion: p99 997.5ms over 5m"}}  # fmt: skip
    _promtool_test(
        tmp_path, files[RULES], series, [{"eval_time": "20m", "alertname": rule["alert"], "exp_alerts": [fired]}]
    )
