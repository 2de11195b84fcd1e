"""`aifactory render --workloads`: golden copies of every rendered workload file, the Kubernetes objects against
their upstream CRDs (tests/data/crds), determinism from any working directory, and atomic refusals.

Regenerate the goldens after an intended change with:

    AIFACTORY_REGEN=1 .venv/bin/python -m pytest tests/workloads/test_render.py

then review `git diff tests/golden/workloads/`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from aifactory.blueprint import load_blueprint
from aifactory.render.workloads import render_workloads
from tests.conftest import REPO, golden_tree, run_cli
from tests.pulumi.schemas import validate

GOLDEN = REPO / "tests" / "golden" / "workloads"
# Reference blueprints with workloads: Slurm with an energy signal, both orchestrators, Kubernetes alone, and the
# lab (engine kserve on CPU, the serving alert rules).
WITH_WORKLOADS = ("b200-spectrum-x", "dgx-h100-superpod", "edge-l40s-inference", "lab")


@pytest.mark.parametrize("name", WITH_WORKLOADS)
def test_workloads_match_their_golden_copies(name: str) -> None:
    files, _ = render_workloads(load_blueprint(name), "golden")
    have = {k: v.encode() for k, v in files.items()}
    assert golden_tree(GOLDEN / name, files) == have, "intended? AIFACTORY_REGEN=1 (see module doc)"


def _objects(name: str) -> list[dict[str, object]]:
    files, _ = render_workloads(load_blueprint(name), "test")
    return [yaml.safe_load(text) for path, text in files.items() if path.startswith("kubernetes/")]


@pytest.mark.parametrize(
    ("name", "kinds"),
    [
        ("dgx-h100-superpod", ["ConfigMap", "InferenceService", "Job", "PodMonitor", "TrainJob"]),
        ("edge-l40s-inference", ["ConfigMap", "InferenceService", "Job", "PodMonitor"]),
    ],
)
def test_kubernetes_workloads_validate_against_upstream_crds(name: str, kinds: list[str]) -> None:
    objects = _objects(name)
    assert kinds == sorted({str(o["kind"]) for o in objects})
    version = str(load_blueprint(name).model.software.kubernetes)
    for obj in objects:
        validate(obj, version)


def test_an_unknown_field_fails_the_crd_check() -> None:
    (isvc,) = [o for o in _objects("dgx-h100-superpod") if o["kind"] == "InferenceService"]
    isvc["spec"]["canaryTrafficPercentage"] = 10  # type: ignore[index]
    with pytest.raises(Exception, match="canaryTrafficPercentage"):
        validate(isvc, "1.34")


def test_the_trainjob_names_the_runtime_the_kubernetes_layer_renders() -> None:
    from aifactory.render.kubernetes import build

    loaded = load_blueprint("dgx-h100-superpod")
    runtimes = {o["metadata"]["name"] for o in build(loaded, "t").objects if o["kind"] == "ClusterTrainingRuntime"}
    (job,) = [o for o in _objects("dgx-h100-superpod") if o["kind"] == "TrainJob"]
    assert {job["spec"]["runtimeRef"]["name"]} == runtimes  # type: ignore[index]
    # The tenant's Kueue queue and the namespace that holds the fabric's nccl-env ConfigMap.
    assert "research" == job["metadata"]["labels"]["kueue.x-k8s.io/queue-name"]  # type: ignore[index]


def test_canary_share_and_the_standard_deployment_mode() -> None:
    (isvc,) = [o for o in _objects("dgx-h100-superpod") if o["kind"] == "InferenceService"]
    assert "Standard" == isvc["metadata"]["annotations"]["serving.kserve.io/deploymentMode"]  # type: ignore[index]
    (canary,) = isvc["spec"]["canary"]  # type: ignore[index]
    assert (10, "challenger") == (canary["trafficPercent"], canary["predictor"]["name"])


def test_output_is_the_same_bytes_from_any_working_directory(tmp_path: Path) -> None:
    outs = []
    for cwd in (REPO, tmp_path):
        out = tmp_path / f"out-{len(outs)}"
        result = run_cli(
            "render", str(REPO / "blueprints" / "b200-spectrum-x.yaml"), "--workloads", "--out", str(out), cwd=cwd
        )
        assert 0 == result.returncode, result.stderr
        outs.append({p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()})
    assert outs[0].keys() == outs[1].keys()
    # The blueprint is named as the user named it (an absolute path here), so both runs agree byte for byte.
    assert outs[0] == outs[1]


def test_json_report_holds_the_workloads_and_the_schedule(tmp_path: Path) -> None:
    result = run_cli("render", "b200-spectrum-x", "--workloads", "--out", str(tmp_path), "--format", "json")
    assert 0 == result.returncode, result.stderr
    report = json.loads(result.stdout)
    assert ["chat-8b"] == [s["name"] for s in report["workloads"]["serving"]]
    assert ["b200061", "b200062", "b200063", "b200064"] == report["workloads"]["serving"][0]["hosts"]
    energy = report["workloads"]["energy"]
    assert [{"start": "2026-12-04T00:00Z", "hours": 6, "mean": 55.7}] == energy["training_windows"]
    assert (1000, 750) == (energy["gpu_cap_w"], energy["gpu_cap_low_w"])
    assert energy["facility_low_w"] < energy["facility_w"] <= energy["facility_budget_w"]


def test_text_report_shows_the_energy_schedule(tmp_path: Path) -> None:
    result = run_cli("render", "b200-spectrum-x", "--workloads", "--out", str(tmp_path))
    assert 0 == result.returncode, result.stderr
    assert "training windows 2026-12-04T00:00Z +6h" in result.stdout
    assert "GPUs capped at 750 W (from 1000 W) in 2026-12-04T17:00Z +4h" in result.stdout


def test_yaml_has_no_anchors() -> None:
    # A reader sees every value where it applies (shared objects would be dumped as &id/*id references).
    for name in WITH_WORKLOADS:
        files, _ = render_workloads(load_blueprint(name), "t")
        assert not [p for p, text in files.items() if p.endswith(".yaml") and "&id0" in text]
