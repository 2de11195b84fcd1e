"""Scheduling that admits jobs: Kueue queues cover what pods request, flavors select labels nodes carry, the
fabric topology's levels are labels every worker registers with, and TrainJobs have a runtime."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jinja2
import pytest
import yaml

from aifactory.blueprint import load_blueprint
from aifactory.catalog import get_catalog
from aifactory.design import plan
from aifactory.render.group_vars import design_shapes, render_blueprint_inventory
from aifactory.render.k8s import tenants
from aifactory.render.k8s.topology import HOSTNAME
from aifactory.render.kubernetes import build, has_kubernetes
from aifactory.render.slurm import fabric_switches, nvlink_blocks

REPO = Path(__file__).resolve().parents[2]
KUEUE_BLUEPRINTS = ("dgx-h100-superpod", "dgx-h200-sovereign-eu")
K8S_BLUEPRINTS = ("dgx-h100-superpod", "dgx-h200-sovereign-eu", "edge-l40s-inference", "mi300x-roce")
# Kubernetes label syntax (apimachinery validation): optional DNS-subdomain prefix, name and value <= 63.
_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
_KEY = re.compile(rf"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?{_NAME}$")
_VALUE = re.compile(rf"^({_NAME})?$")


def _objects(blueprint: str) -> list[dict[str, Any]]:
    return build(load_blueprint(blueprint), "test").objects


def _kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


def _quantity(value: Any) -> float:
    text = str(value)
    for suffix, factor in (("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
        if text.endswith(suffix):
            return float(text.removesuffix(suffix)) * factor
    return float(text)


def _gfd_product(nvml_name: str) -> str:
    """GPU feature discovery's nvidia.com/gpu.product value (NVIDIA/k8s-device-plugin internal/lm/resource.go,
    `sanitise`): characters outside [A-Za-z0-9-_. ] dropped, runs of blanks joined with '-'."""
    return "-".join(re.sub(r"[^A-Za-z0-9\-_. ]", "", nvml_name).split())


def _node_labels(blueprint: str) -> dict[str, dict[str, str]]:
    """What each Kubernetes worker of the inventory registers with (kubelet adds kubernetes.io/hostname)."""
    bp = load_blueprint(blueprint).model
    p = plan(bp)
    inventory = yaml.safe_load(render_blueprint_inventory(bp, p.hosts)["hosts.yml"])["all"]
    workers = inventory["children"]["k8s_worker"]["hosts"]
    return {h: {**inventory["hosts"][h]["k8s_node_labels"], HOSTNAME: h} for h in workers}


def _admits(queue: dict[str, Any], flavor: dict[str, Any], node: dict[str, str], pods: list[dict[str, Any]]) -> bool:
    """Kueue's admission of one workload into an empty ClusterQueue with one resource group: every resource
    the pods request must be covered, the total must fit the flavor's nominal quota, and the flavor's node
    labels must be on the node the pods are to run on."""
    group = queue["spec"]["resourceGroups"][0]
    quota = {r["name"]: _quantity(r["nominalQuota"]) for r in group["flavors"][0]["resources"]}
    need: dict[str, float] = {}
    for pod in pods:
        for name, value in pod.items():
            need[name] = need.get(name, 0.0) + _quantity(value)
    if not set(need) <= set(group["coveredResources"]):
        return False
    if any(need[r] > quota[r] for r in need):
        return False
    return all(node.get(k) == v for k, v in flavor["spec"]["nodeLabels"].items())


@pytest.mark.parametrize("blueprint", KUEUE_BLUEPRINTS)
def test_a_training_pod_is_admitted_and_lands_on_a_gpu_node(blueprint: str) -> None:
    objects = _objects(blueprint)
    bp = load_blueprint(blueprint).model
    sku = get_catalog().nodes[bp.compute.node_sku]
    gpu = get_catalog().gpus[sku.gpu]
    flavor = _kind(objects, "ResourceFlavor")[0]
    runtime = _kind(objects, "ClusterTrainingRuntime")[0]
    container = runtime["spec"]["template"]["spec"]["replicatedJobs"][0]["template"]["spec"]["template"]["spec"][
        "containers"
    ][0]
    # The runtime's GPUs and RDMA device, and the CPU and memory a trainer asks for besides (most of a node).
    pod = {**container["resources"]["requests"], "cpu": "96", "memory": "1536Gi"}
    # A GPU node as GFD labels it, plus the project's placement labels.
    node = {**next(iter(_node_labels(blueprint).values())), **gpu.product_label}
    for queue in _kind(objects, "ClusterQueue"):
        tenant = next(t for t in bp.mlops.tenants if t.name == queue["metadata"]["name"])
        nodes = tenant.gpus // sku.gpus
        assert _admits(queue, flavor, node, [pod] * nodes), queue["metadata"]["name"]
        assert not _admits(queue, flavor, node, [pod] * (nodes + 1))  # one node over the tenant's share
        # A pod asking for a resource the queue does not cover is never admitted.
        assert not _admits(queue, flavor, node, [{**pod, "example.com/fpga": "1"}])


def test_quotas_follow_the_node_shape_and_the_gpu_share() -> None:
    objects = _objects("dgx-h100-superpod")
    research = next(q for q in _kind(objects, "ClusterQueue") if q["metadata"]["name"] == "research")
    quota = {r["name"]: r["nominalQuota"] for r in research["spec"]["resourceGroups"][0]["flavors"][0]["resources"]}
    # 184 GPUs = 23 DGX H100 (2 x 56 cores x 2 threads, 2048 GiB each; 8 SR-IOV VFs per rail port, one per GPU,
    # on each of the 8 rails of the tenant partitions).
    vfs = {f"nvidia.com/ib_rail{r}": 23 * 8 for r in range(8)}
    assert {"cpu": 23 * 224, "memory": f"{23 * 2048}Gi", "nvidia.com/gpu": 184, **vfs} == quota
    # Without tenant partitions the pods share the RDMA device instead (63 shared-device pods per node).
    objects = build(load_blueprint("dgx-h100-superpod", sets=["fabric.compute.partitions=[]"]), "test").objects
    research = next(q for q in _kind(objects, "ClusterQueue") if q["metadata"]["name"] == "research")
    quota = {r["name"]: r["nominalQuota"] for r in research["spec"]["resourceGroups"][0]["flavors"][0]["resources"]}
    assert {"cpu": 23 * 224, "memory": f"{23 * 2048}Gi", "nvidia.com/gpu": 184,
            "rdma/rdma_shared_device": 23 * 63} == quota  # fmt: skip


def test_the_rdma_resource_is_the_one_the_network_operator_advertises() -> None:
    objects = build(load_blueprint("dgx-h100-superpod", sets=["fabric.compute.partitions=[]"]), "test").objects
    policy = _kind(objects, "NicClusterPolicy")[0]
    config = yaml.safe_load(policy["spec"]["rdmaSharedDevicePlugin"]["config"])["configList"][0]
    assert (tenants.RDMA_RESOURCE_NAME, tenants.RDMA_HCA_MAX) == (config["resourceName"], config["rdmaHcaMax"])


def test_product_labels_are_what_feature_discovery_emits() -> None:
    for gpu_id, gpu in get_catalog().gpus.items():
        if gpu.vendor == "nvidia":
            assert {"nvidia.com/gpu.product": _gfd_product(gpu.nvml_names[0])} == gpu.product_label, gpu_id
            assert "product_label" in gpu.sources, gpu_id
    assert "NVIDIA-H100-80GB-HBM3" == get_catalog().gpus["h100-sxm"].product_label["nvidia.com/gpu.product"]


@pytest.mark.parametrize("blueprint", KUEUE_BLUEPRINTS)
def test_flavor_names_the_topology_and_every_worker_carries_its_levels(blueprint: str) -> None:
    objects = _objects(blueprint)
    flavor = _kind(objects, "ResourceFlavor")[0]
    (topology,) = _kind(objects, "Topology")
    assert topology["metadata"]["name"] == flavor["spec"]["topologyName"]
    levels = [level["nodeLabel"] for level in topology["spec"]["levels"]]
    assert HOSTNAME == levels[-1]
    labels = _node_labels(blueprint)
    assert labels
    for host, node in labels.items():
        assert set(levels) <= set(node), host
        for key, value in node.items():
            assert _KEY.match(key) and _VALUE.match(value), (host, key, value)


@pytest.mark.parametrize("blueprint", ("dgx-h100-superpod", "gb200-nvl72", "mi300x-roce"))
def test_leaf_groups_and_nvlink_domains_match_slurms_topology(blueprint: str) -> None:
    from aifactory.render.k8s.topology import LABEL_LEAF, LABEL_NVLINK, node_labels

    bp = load_blueprint(blueprint).model
    hosts = plan(bp).hosts
    _, fabric = design_shapes(bp)
    assert fabric is not None
    labels = node_labels(hosts, fabric)
    for switch in fabric_switches(hosts, fabric):
        if "nodes" not in switch or fabric.tiers <= 1:
            continue
        members = {h for h, lab in labels.items() if lab[LABEL_LEAF] == switch["name"]}
        assert members and len(members) == _count(switch["nodes"]), switch["name"]
    for block in nvlink_blocks(hosts, fabric):
        members = {h for h, lab in labels.items() if lab[LABEL_NVLINK] == block["name"]}
        assert len(members) == _count(block["nodes"]) == fabric.nvlink_domain_nodes, block["name"]


def _count(hostlist: str) -> int:
    from aifactory.render.hostlist import expand

    return len(expand(hostlist))


def test_the_k8s_node_role_writes_the_labels_kubelet_reads() -> None:
    tasks = yaml.safe_load((REPO / "roles" / "k8s_node" / "tasks" / "main.yml").read_text())
    task = next(t for t in tasks if "node-labels" in str(t.get("ansible.builtin.lineinfile", {}).get("line", "")))
    step = task["ansible.builtin.lineinfile"]
    assert "/etc/default/kubelet" == step["path"]
    _, labels = next(iter(_node_labels("dgx-h100-superpod").items()))
    labels.pop(HOSTNAME)
    line = jinja2.Environment(undefined=jinja2.StrictUndefined).from_string(step["line"]).render(k8s_node_labels=labels)
    key, _, value = line.partition("=")
    assert "KUBELET_EXTRA_ARGS" == key and re.fullmatch(step["regexp"], line[: len(key) + 1])
    flag, _, pairs = value.partition("=")
    assert "--node-labels" == flag
    assert labels == dict(pair.split("=", 1) for pair in pairs.split(","))
    defaults = yaml.safe_load((REPO / "roles" / "k8s_node" / "defaults" / "main.yml").read_text())
    assert {} == defaults["k8s_node_labels"]


def test_slurm_only_blueprints_give_no_node_labels() -> None:
    bp = load_blueprint("gb200-nvl72").model
    assert not has_kubernetes(bp)
    inventory = yaml.safe_load(render_blueprint_inventory(bp, plan(bp).hosts)["hosts.yml"])["all"]
    assert not any("k8s_node_labels" in v for v in inventory["hosts"].values())


@pytest.mark.parametrize("blueprint", K8S_BLUEPRINTS)
def test_a_trainjob_finds_its_runtime_and_the_nccl_settings(blueprint: str) -> None:
    objects = _objects(blueprint)
    bp = load_blueprint(blueprint).model
    runtimes = _kind(objects, "ClusterTrainingRuntime")
    if not bp.mlops.components.kubeflow_trainer:
        assert [] == runtimes
        return
    (runtime,) = runtimes
    assert "torch-distributed" == runtime["metadata"]["name"]
    assert "torch" == runtime["metadata"]["labels"]["trainer.kubeflow.org/framework"]
    pod = runtime["spec"]["template"]["spec"]["replicatedJobs"][0]["template"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert "node" == container["name"]  # the Trainer injects PET_* into the container named node
    sku = get_catalog().nodes[bp.compute.node_sku]
    assert sku.gpus == container["resources"]["limits"]["nvidia.com/gpu"]
    config = container["envFrom"][0]["configMapRef"]["name"]
    namespaces = {t.namespace or t.name for t in bp.mlops.tenants}
    have = {o["metadata"]["namespace"] for o in _kind(objects, "ConfigMap") if o["metadata"]["name"] == config}
    assert namespaces <= have


def test_kueue_on_a_sku_without_a_shape_is_refused(tmp_path: Path) -> None:
    from aifactory.errors import UserError

    path = tmp_path / "bp.yaml"
    path.write_text("extends: mi300x-roce\nname: mi-kueue\nmlops:\n  components: {kueue: true}\n")
    with pytest.raises(UserError) as err:
        build(load_blueprint(str(path)), "x")
    assert "bp.yaml:4" in str(err.value) and "kueue" in str(err.value)


@pytest.mark.parametrize("blueprint", K8S_BLUEPRINTS)
def test_rack_alerts_select_labels_the_workers_register(blueprint: str) -> None:
    """The rack power alerts join GPU power to kube_node_labels by rack group (cooling.py): some worker must
    register that group, or the alert can never fire; every worker carries its rack and rack group."""
    labels = _node_labels(blueprint)
    rules = [r for o in _kind(_objects(blueprint), "PrometheusRule") for g in o["spec"]["groups"] for r in g["rules"]]
    rack_rules = [r for r in rules if r.get("alert", "").startswith("RackGpuPowerOverBudget")]
    assert rack_rules
    registered = {node["aifactory.io/rack-group"] for node in labels.values()}
    assert all(node["aifactory.io/rack"] for node in labels.values())
    selected = {r["expr"].split('label_aifactory_io_rack_group="')[1].split('"')[0] for r in rack_rules}
    assert registered <= selected and registered
