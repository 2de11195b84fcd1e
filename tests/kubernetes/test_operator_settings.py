"""Operator and chart settings that a real cluster depends on, one test per failure a reviewer found in the
first Kubernetes layer (shared/reviews/kubernetes-pulumi.md, defects 10, 12, 16, 17, 18 and 22). Each test reads
the objects `build()` gives the Pulumi program and `render --kubernetes`, for every catalogue blueprint that has
a Kubernetes layer, so a new blueprint is covered without a new test."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from aifactory.blueprint import LoadedBlueprint, load_blueprint
from aifactory.blueprint.fabric import InfinibandFabric
from aifactory.blueprint.sources import catalogue_names
from aifactory.catalog import get_catalog
from aifactory.render.k8s.ownership import owner
from aifactory.render.kubernetes import Rendered, build, has_kubernetes

CHARTS = Path(__file__).resolve().parents[1] / "data" / "charts"
KUBERNETES = [n for n in catalogue_names() if has_kubernetes(load_blueprint(n).model)]


def _built(name: str) -> tuple[LoadedBlueprint, Rendered]:
    loaded = load_blueprint(name)
    return loaded, build(loaded, "test")


def _one(rendered: Rendered, kind: str) -> dict[str, Any] | None:
    found = [o for o in rendered.objects if o["kind"] == kind]
    assert len(found) <= 1, f"{len(found)} {kind} objects"
    return found[0] if found else None


def _vendor(loaded: LoadedBlueprint) -> str:
    catalog = get_catalog()
    return catalog.gpus[catalog.nodes[loaded.model.compute.node_sku].gpu].vendor


def _release(rendered: Rendered, chart: str) -> Any:
    return next((r for r in rendered.releases if r.chart == chart), None)


def test_every_kubernetes_blueprint_is_covered() -> None:
    assert {"dgx-h100-superpod", "dgx-h200-sovereign-eu", "edge-l40s-inference", "mi300x-roce"} <= set(KUBERNETES)


@pytest.mark.parametrize("name", KUBERNETES)
def test_kserve_runs_without_knative_or_istio_and_gets_its_certificates(name: str) -> None:
    """Defect 10: kserve-resources defaults to Knative mode and needs cert-manager for its webhooks."""
    _, rendered = _built(name)
    kserve = _release(rendered, "kserve-resources")
    if kserve is None:
        return
    assert "RawDeployment" == kserve.values["kserve"]["controller"]["deploymentMode"]
    assert _release(rendered, "cert-manager") is not None, "KServe's webhook certificates need cert-manager"
    charts = {r.chart for r in rendered.releases}
    assert not charts & {"knative-serving", "istio"}, "RawDeployment needs neither"


@pytest.mark.parametrize("name", KUBERNETES)
def test_dcgm_exporter_runs_on_gpu_nodes_only(name: str) -> None:
    """Defect 12: a DaemonSet with no node selector lands on CPU nodes, where it crash-loops."""
    loaded, rendered = _built(name)
    exporter = _release(rendered, "dcgm-exporter")
    if exporter is None:
        return
    assert "nvidia" == _vendor(loaded)
    assert {"nvidia.com/gpu.present": "true"} == exporter.values["nodeSelector"]


DOCA_DRIVER_TAG = re.compile(r"^doca\d+\.\d+\.\d+-\d+\.\d+-\d+(\.\d+)+-\d+$")  # e.g. doca3.1.0-25.07-0.9.7.0-0


@pytest.mark.parametrize("name", KUBERNETES)
def test_the_network_operators_driver_is_a_real_doca_driver_tag(name: str) -> None:
    """Defect 16: `ofedDriver.version: "25.07"` names no image; doca-driver tags carry the DOCA and OFED
    releases and the build. The operator's driver exists only where the operator owns OFED (defect 17)."""
    loaded, rendered = _built(name)
    policy = _one(rendered, "NicClusterPolicy")
    if policy is None:
        return
    driver = policy["spec"].get("ofedDriver")
    if owner(loaded.model, "ofed") == "host" or not loaded.model.software.ofed:
        assert driver is None, "the host roles install DOCA-OFED; a second driver container would fight it"
        return
    assert DOCA_DRIVER_TAG.match(driver["version"]), driver["version"]
    release = str(loaded.model.software.ofed)
    assert f"-{release}-" in driver["version"], f"tag {driver['version']} is not DOCA-OFED {release}"


@pytest.mark.parametrize("name", KUBERNETES)
def test_one_owner_for_driver_and_dcgm(name: str) -> None:
    """Defect 17: the GPU operator's containerized driver and DCGM beside the host roles' installed ones. Where
    the host owns them, the ClusterPolicy turns them off (NVIDIA: `driver.enabled=false` when preinstalled)."""
    loaded, rendered = _built(name)
    policy = _one(rendered, "ClusterPolicy")
    if policy is None:
        return
    spec = policy["spec"]
    assert spec["driver"]["enabled"] is (owner(loaded.model, "driver") == "operator")
    assert spec["dcgm"]["enabled"] is (owner(loaded.model, "dcgm") == "operator")
    # The standalone dcgm-exporter release is the one exporter; the operator's would scrape the same GPUs twice.
    if _release(rendered, "dcgm-exporter") is not None:
        assert spec["dcgmExporter"]["enabled"] is False


@pytest.mark.parametrize("name", KUBERNETES)
def test_gpudirect_rdma_on_infiniband_fabrics(name: str) -> None:
    """Defect 18: without `driver.rdma` GPUDirect RDMA is off and NCCL stages every transfer through host
    memory. With host-installed DOCA-OFED the peer-memory module builds against the host's MOFED."""
    loaded, rendered = _built(name)
    policy = _one(rendered, "ClusterPolicy")
    if policy is None or not isinstance(loaded.model.fabric.compute, InfinibandFabric):
        return
    rdma = policy["spec"]["driver"]["rdma"]
    assert rdma["enabled"] is True
    assert rdma["useHostMofed"] is (owner(loaded.model, "ofed") == "host")


def test_gpudirect_rdma_follows_a_host_owned_ofed(tmp_path: Path) -> None:
    site = tmp_path / "site.yaml"
    site.write_text(
        "extends: dgx-h100-superpod\nname: site\nsoftware:\n  installed_by: {ofed: host}\n"
        "  ofed_repository: https://apt.example.com/doca\n",
        encoding="utf-8",
    )
    rendered = build(load_blueprint(str(site)), "test")
    policy = _one(rendered, "ClusterPolicy")
    assert policy is not None
    assert {"enabled": True, "useHostMofed": True} == policy["spec"]["driver"]["rdma"]
    nic = _one(rendered, "NicClusterPolicy")
    assert nic is not None and "ofedDriver" not in nic["spec"]


# AMD device-metrics-exporter labels each series with `hostname` and `gpu_id` (its field configuration's label
# set); the Kubernetes node labels arrive through kube-state-metrics as `label_aifactory_io_*`.
AMD_LABELS = {"hostname", "gpu_id"}


def _grouping_labels(expr: str) -> set[str]:
    labels: set[str] = set()
    for clause in re.findall(r"\b(?:by|on|group_left|group_right)\s*\(([^)]*)\)", expr):
        labels |= {part.strip() for part in clause.split(",") if part.strip()}
    return labels


def test_amd_rules_join_on_the_exporters_own_labels() -> None:
    """Defect 22: the AMD rules grouped by `Hostname, gpu`, labels the exporter does not emit, and no AMD GPU
    operator deployed the exporter at all."""
    loaded, rendered = _built("mi300x-roce")
    assert "amd" == _vendor(loaded)
    device = _one(rendered, "DeviceConfig")
    assert device is not None and device["spec"]["metricsExporter"]["enable"] is True
    assert _release(rendered, "gpu-operator-charts") is not None
    rules = [
        r for o in rendered.objects if o["kind"] == "PrometheusRule" for g in o["spec"]["groups"] for r in g["rules"]
    ]
    amd = [r for r in rules if "gpu_package_power" in r["expr"]]
    assert amd, "no rule reads the AMD exporter's power metric"
    for rule in amd:
        labels = _grouping_labels(rule["expr"])
        assert labels <= AMD_LABELS | {x for x in labels if x.startswith("label_aifactory_io_")}, rule
        assert not {"Hostname", "gpu"} & labels, rule


@pytest.mark.parametrize("name", KUBERNETES)
def test_one_owner_for_the_training_runtime(name: str) -> None:
    """The project renders the `torch-distributed` ClusterTrainingRuntime itself (render/k8s/training.py); a
    built-in runtime of the Trainer chart (its post-install job) would be a second writer of the same object."""
    _, rendered = _built(name)
    trainer = _release(rendered, "kubeflow-trainer")
    if trainer is None:
        return
    assert any(o["kind"] == "ClusterTrainingRuntime" for o in rendered.objects)
    runtimes = trainer.values.get("runtimes", {})
    assert runtimes.get("defaultEnabled") is not True
    enabled = sorted(k for k, v in runtimes.items() if isinstance(v, dict) and v.get("enabled") is True)
    assert not enabled, f"the Trainer chart would install built-in runtimes {enabled} beside the rendered one"


# Operands of the GPU operator v26.7.0 that run only in sandbox mode (`sandboxWorkloads.enabled`, false by default
# and never set by the project), and the DRA driver, which only the GPUCluster CR deploys (`gpuCluster.deployCR`,
# off): the chart's values.yaml at that tag says so beside each.
SANDBOX_ONLY = {
    "vgpuDeviceManager",
    "vfioManager",
    "sandboxDevicePlugin",
    "kataSandboxDevicePlugin",
    "ccManager",
    "vgpuManager",
}
NOT_CLUSTERPOLICY = {"operator", "draDriver"}  # the chart's own Deployment; the GPUCluster stack


def _operands(values: Any, path: str = "") -> list[tuple[str, Any]]:
    """(path, settings) of every operand in the chart's defaults that names an image repository."""
    found = []
    if isinstance(values, dict):
        if isinstance(values.get("repository"), str) and path:
            found.append((path, values))
        for key, value in values.items():
            found += _operands(value, f"{path}.{key}" if path else key)
    return found


@pytest.mark.parametrize("driver_owner", ["host", "operator"])
def test_every_gpu_operator_operand_that_runs_pulls_from_the_mirror(tmp_path: Path, driver_owner: str) -> None:
    """Defect 14 (and 15 for the network operator): an operand the ClusterPolicy does not name is pulled from
    the operator's built-in default (nvcr.io), which a sovereign site cannot reach. Every operand the chart
    enables by default, and every one the blueprint turns on, is named on the mirror or turned off."""
    mirror = "registry.aifactory.example.de/"
    site = tmp_path / "site.yaml"
    site.write_text(
        f"extends: dgx-h200-sovereign-eu\nname: site\nsoftware:\n  installed_by: {{driver: {driver_owner}}}\n",
        encoding="utf-8",
    )
    rendered = build(load_blueprint(str(site)), "de-stuttgart")
    policy = _one(rendered, "ClusterPolicy")
    assert policy is not None
    spec = policy["spec"]
    assert spec["driver"]["enabled"] is (driver_owner == "operator")
    assert not spec.get("sandboxWorkloads", {}).get("enabled")
    upstream = yaml.safe_load((CHARTS / "gpu-operator-v26.7.0" / "values.yaml").read_text(encoding="utf-8"))
    checked = []
    for path, default in _operands(upstream):
        top = path.split(".")[0]
        if top in NOT_CLUSTERPOLICY or top in SANDBOX_ONLY:
            continue
        ours: Any = spec
        for key in path.split("."):
            ours = ours.get(key, {}) if isinstance(ours, dict) else {}
        enabled = ours.get("enabled", default.get("enabled", True)) if "." not in path else True
        parent_off = "." in path and spec.get(top, {}).get("enabled") is False
        if enabled is False or parent_off:
            continue
        assert str(ours.get("repository", "")).startswith(mirror), f"ClusterPolicy {path}: {ours!r}"
        checked.append(path)
    expected = {"toolkit", "devicePlugin", "gfd", "validator"} | (
        {"driver", "driver.manager"} if driver_owner == "operator" else set()
    )
    assert expected <= set(checked), checked
    network = _release(rendered, "network-operator")
    init = network.values["operator"]["ofedDriver"]["initContainer"]
    assert init["repository"].startswith(mirror) and init["version"], init


@pytest.mark.parametrize("name", KUBERNETES)
def test_tenant_claims_do_not_hold_up_pulumi_up(name: str) -> None:
    """A claim nothing in the stack mounts, on a WaitForFirstConsumer class, stays Pending until a tenant's job
    starts: Pulumi must not wait for it to bind (review defect 23), whatever the provider version's PVC await does."""
    loaded, rendered = _built(name)
    claims = [o for o in rendered.objects if o["kind"] == "PersistentVolumeClaim"]
    assert len(claims) == len(loaded.model.mlops.tenants), "one shared-data claim per tenant"
    for claim in claims:
        assert claim["metadata"]["annotations"].get("pulumi.com/skipAwait") == "true", claim["metadata"]
    classes = [o for o in rendered.objects if o["kind"] == "StorageClass"]
    assert all(c["volumeBindingMode"] == "WaitForFirstConsumer" for c in classes), classes
