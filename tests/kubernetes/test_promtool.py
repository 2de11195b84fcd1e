"""Every rendered PrometheusRule passes `promtool check rules`, and the rack power alert fires on series with
the labels dcgm-exporter and kube-state-metrics really emit (`promtool test rules`)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from aifactory.blueprint import load_blueprint
from aifactory.blueprint.sources import catalogue_names
from aifactory.render.kubernetes import build

PROMTOOL = shutil.which("promtool")
pytestmark = pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed (scripts/debian-packages.txt)")


def _rules(name: str) -> list[dict]:
    return [o for o in build(load_blueprint(name), "test").objects if o["kind"] == "PrometheusRule"]


@pytest.mark.parametrize("blueprint", catalogue_names())
def test_rules_pass_promtool(blueprint: str, tmp_path: Path) -> None:
    for rule in _rules(blueprint):
        path = tmp_path / "rules.yaml"
        path.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
        done = subprocess.run([str(PROMTOOL), "check", "rules", str(path)], capture_output=True, text=True)
        assert 0 == done.returncode, done.stdout + done.stderr


def test_rack_alert_fires_on_real_exporter_labels(tmp_path: Path) -> None:
    (rule,) = _rules("dgx-h100-superpod")
    rules = rule["spec"]["groups"][0]["rules"]
    rack = next(r for r in rules if r["alert"].startswith("RackGpuPowerOverBudget"))
    group = rack["expr"].split('label_aifactory_io_rack_group="')[1].split('"')[0]
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
    node = f'kube_node_labels{{node="gpu-001",label_aifactory_io_rack="r01",label_aifactory_io_rack_group="{group}"}}'
    series = [{"series": node, "values": "1x20"}]
    for gpu in range(8):
        labels = f'Hostname="gpu-001",gpu="{gpu}",UUID="GPU-{gpu}",modelName="NVIDIA H100 80GB HBM3"'
        series.append({"series": f"DCGM_FI_DEV_POWER_USAGE{{{labels}}}", "values": "5000x20"})
    test = {
        "rule_files": ["rules.yaml"],
        "evaluation_interval": "1m",
        "tests": [{
            "interval": "1m",
            "input_series": series,
            "alert_rule_test": [
                {"eval_time": "15m", "alertname": rack["alert"],
                 "exp_alerts": [{"exp_labels": {"severity": "warning", "label_aifactory_io_rack": "r01"},
                                 "exp_annotations": rack["annotations"]}]},
            ],
        }],
    }
    (tmp_path / "test.yaml").write_text(yaml.safe_dump(test))
    done = subprocess.run([str(PROMTOOL), "test", "rules", "test.yaml"], cwd=tmp_path, capture_output=True, text=True)
    assert 0 == done.returncode, done.stdout + done.stderr
