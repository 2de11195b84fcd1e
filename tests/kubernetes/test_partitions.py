"""Tenant partitions as Kubernetes pod networks (review defect 35: the partition ConfigMap nobody read).

For every catalogue blueprint and stack with a Kubernetes layer: one SriovNetworkNodePolicy per rail, a
NetworkAttachmentDefinition per tenant partition and rail carrying that partition's P_Key, nv-ipam pools that
never overlap and hold every node's block, each object valid against the CRD the pinned network operator
installs (tests/data/crds), and the training runtime and Kueue queues asking for the VFs the policies create.
Bad pod subnets stop `aifactory render` with exit 2 at the blueprint line, writing nothing."""

from __future__ import annotations

import ipaddress
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from aifactory.blueprint import LoadedBlueprint, load_blueprint
from aifactory.blueprint.sources import catalogue_names
from aifactory.blueprint.stackfile import load_stack, read_stack
from aifactory.catalog import get_catalog
from aifactory.cli.main import app
from aifactory.design.addressing import partitions as design_partitions
from aifactory.render.k8s import partitions
from aifactory.render.k8s.context import Ctx
from aifactory.render.k8s.graph import dependency_graph, object_key, release_key
from aifactory.render.kubernetes import Rendered, build, has_kubernetes

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pulumi"))
from schemas import validate  # the CRD schema helper the render tests use

REPO = Path(__file__).resolve().parents[2]
CHARTS = REPO / "tests" / "data" / "charts"


def _stacks() -> list[tuple[str, LoadedBlueprint, str]]:
    out = [(n, load_blueprint(n), "test") for n in catalogue_names()]
    for path in sorted((REPO / "stacks").glob("Pulumi.*.yaml")):
        stack = read_stack(path.name.split(".")[1], REPO / "stacks")
        out.append((f"stack-{stack.region}", load_stack(stack), stack.region))
    return [(name, loaded, region) for name, loaded, region in out if has_kubernetes(loaded.model)]


STACKS = _stacks()
IDS = [name for name, _, _ in STACKS]
ACTIVE = [(n, lo, r) for n, lo, r in STACKS if partitions.active(Ctx(lo, r))]


def _of(rendered: Rendered, kind: str) -> list[dict[str, Any]]:
    return [o for o in rendered.objects if o["kind"] == kind]


def _rails(loaded: LoadedBlueprint) -> int:
    return loaded.model.fabric.compute.rails or get_catalog().nodes[loaded.model.compute.node_sku].compute_nics


def test_reference_blueprints_exercise_partitions() -> None:
    # The SuperPOD family (us-east, de-stuttgart) runs the network operator on InfiniBand with two tenants.
    names = {n for n, _, _ in ACTIVE}
    assert {"dgx-h100-superpod", "dgx-h200-sovereign-eu", "stack-us-east", "stack-de-stuttgart"} <= names


@pytest.mark.parametrize(("name", "loaded", "region"), STACKS, ids=IDS)
def test_no_partition_configmap_and_every_network_object_passes_its_crd(
    name: str, loaded: LoadedBlueprint, region: str
) -> None:
    rendered = build(loaded, region)
    assert not [o for o in _of(rendered, "ConfigMap") if o["metadata"]["name"] == "fabric-partition"]
    kinds = ("SriovNetworkNodePolicy", "NetworkAttachmentDefinition", "IPPool", "NicClusterPolicy")
    for obj in (o for o in rendered.objects if o["kind"] in kinds):
        validate(obj, loaded.model.software.kubernetes or "1.34")


@pytest.mark.parametrize(("name", "loaded", "region"), ACTIVE, ids=[n for n, _, _ in ACTIVE])
def test_one_policy_per_rail(name: str, loaded: LoadedBlueprint, region: str) -> None:
    rendered = build(loaded, region)
    policies = _of(rendered, "SriovNetworkNodePolicy")
    rails = _rails(loaded)
    assert rails == len(policies)
    specs = sorted((p["spec"] for p in policies), key=lambda s: s["resourceName"])
    assert [f"ib_rail{r}" for r in range(rails)] == sorted(s["resourceName"] for s in specs)
    pfs = [s["nicSelector"]["pfNames"] for s in sorted(specs, key=lambda s: int(s["resourceName"][7:]))]
    assert [[f"ib{r}"] for r in range(rails)] == pfs  # the IPoIB names the fabric role addresses
    gpus = get_catalog().nodes[loaded.model.compute.node_sku].gpus
    assert all(s["linkType"] == "IB" and s["isRdma"] and s["numVfs"] == gpus for s in specs)


@pytest.mark.parametrize(("name", "loaded", "region"), ACTIVE, ids=[n for n, _, _ in ACTIVE])
def test_pkeys_appear_on_the_attachments(name: str, loaded: LoadedBlueprint, region: str) -> None:
    rendered = build(loaded, region)
    pkeys = {str(p["tenant"]): str(p["pkey"]) for p in design_partitions(loaded.model)}
    namespaces = {t.namespace or t.name: t.name for t in loaded.model.mlops.tenants}
    pools = {(p["metadata"]["namespace"], p["metadata"]["name"]) for p in _of(rendered, "IPPool")}
    resources = {f"nvidia.com/{p['spec']['resourceName']}" for p in _of(rendered, "SriovNetworkNodePolicy")}
    nads = _of(rendered, "NetworkAttachmentDefinition")
    assert len(namespaces) * _rails(loaded) == len(nads)
    for nad in nads:
        tenant = namespaces[nad["metadata"]["namespace"]]
        config = json.loads(nad["spec"]["config"])
        assert ("ib-sriov", pkeys[tenant], True) == (config["type"], config["pkey"], config["ibKubernetesEnabled"])
        assert config["name"] == nad["metadata"]["name"]
        assert "nv-ipam" == config["ipam"]["type"]
        assert (partitions.NETWORK_OPERATOR_NS, config["ipam"]["poolName"]) in pools
        assert nad["metadata"]["annotations"]["k8s.v1.cni.cncf.io/resourceName"] in resources
    # Two tenants never share a key on one rail.
    by_rail: dict[str, set[str]] = {}
    for nad in nads:
        by_rail.setdefault(nad["metadata"]["name"], set()).add(json.loads(nad["spec"]["config"])["pkey"])
    assert all(len(keys) == len(namespaces) for keys in by_rail.values())


@pytest.mark.parametrize(("name", "loaded", "region"), ACTIVE, ids=[n for n, _, _ in ACTIVE])
def test_pools_do_not_overlap_and_hold_every_node(name: str, loaded: LoadedBlueprint, region: str) -> None:
    rendered = build(loaded, region)
    compute = loaded.model.compute
    nodes = compute.nodes or compute.scalable_units * compute.nodes_per_su
    pools = [(p["metadata"]["name"], ipaddress.ip_network(p["spec"]["subnet"]), p["spec"]["perNodeBlockSize"])
             for p in _of(rendered, "IPPool")]  # fmt: skip
    assert len(pools) == len(loaded.model.mlops.tenants) * _rails(loaded)
    for i, (a, net_a, block) in enumerate(pools):
        assert net_a.num_addresses - 2 >= nodes * block, (a, net_a)
        for b, net_b, _ in pools[i + 1 :]:
            assert not net_a.overlaps(net_b), (a, b)
    subnets = {p.tenant: p.pod_subnet for p in loaded.model.fabric.compute.partitions}
    for pool, net, _ in pools:
        tenant = pool.rpartition("-rail")[0]
        assert net.subnet_of(subnets[tenant])  # type: ignore[arg-type]


@pytest.mark.parametrize(("name", "loaded", "region"), ACTIVE, ids=[n for n, _, _ in ACTIVE])
def test_pods_ask_for_their_rails(name: str, loaded: LoadedBlueprint, region: str) -> None:
    """The training runtime's pods name the rail networks and request one VF per rail; the queues cover the
    VFs (Kueue refuses a pod asking for an uncovered resource) and no longer the RDMA shared device."""
    rendered = build(loaded, region)
    (runtime,) = _of(rendered, "ClusterTrainingRuntime")
    (job,) = runtime["spec"]["template"]["spec"]["replicatedJobs"]
    pod = job["template"]["spec"]["template"]
    rails = _rails(loaded)
    networks = pod["metadata"]["annotations"]["k8s.v1.cni.cncf.io/networks"].split(",")
    assert [f"ib-partition-rail{r}" for r in range(rails)] == networks
    nads = {(o["metadata"]["namespace"], o["metadata"]["name"]) for o in _of(rendered, "NetworkAttachmentDefinition")}
    for tenant in loaded.model.mlops.tenants:  # every tenant's namespace resolves every name
        assert all((tenant.namespace or tenant.name, n) in nads for n in networks)
    requests = pod["spec"]["containers"][0]["resources"]["requests"]
    vfs = {f"nvidia.com/ib_rail{r}" for r in range(rails)}
    assert vfs <= set(requests) and "rdma/rdma_shared_device" not in requests
    for queue in _of(rendered, "ClusterQueue"):
        covered = set(queue["spec"]["resourceGroups"][0]["coveredResources"])
        assert set(requests) <= covered
    (ncp,) = _of(rendered, "NicClusterPolicy")
    assert {"secondaryNetwork", "nvIpam", "ibKubernetes"} <= set(ncp["spec"])
    assert "rdmaSharedDevicePlugin" not in ncp["spec"]


@pytest.mark.parametrize(("name", "loaded", "region"), ACTIVE, ids=[n for n, _, _ in ACTIVE])
def test_network_objects_wait_for_what_installs_their_crds(name: str, loaded: LoadedBlueprint, region: str) -> None:
    rendered = build(loaded, region)
    graph = dependency_graph(rendered)
    (operator,) = [r for r in rendered.releases if r.chart == "network-operator"]
    (ncp,) = _of(rendered, "NicClusterPolicy")
    for kind, owner in (("SriovNetworkNodePolicy", release_key(operator)),
                        ("NetworkAttachmentDefinition", release_key(operator)),
                        ("IPPool", object_key(ncp))):  # fmt: skip
        for obj in _of(rendered, kind):
            assert owner == graph.owner[object_key(obj)]
            assert owner in graph.deps[object_key(obj)]


def test_network_operator_values_enable_the_sriov_subchart() -> None:
    """The chart installs the SR-IOV operator (and its CRDs) under its Chart.yaml condition; our values set it,
    keep the resource prefix the VF resources name, and pull every subchart image from the mirror at the tag
    the chart pins."""
    chart = yaml.safe_load((CHARTS / "network-operator-26.4.1" / "Chart.yaml").read_text())
    (dep,) = [d for d in chart["dependencies"] if d["name"] == "sriov-network-operator"]
    upstream = yaml.safe_load((CHARTS / "network-operator-26.4.1" / "values.yaml").read_text())
    sub = yaml.safe_load((CHARTS / "network-operator-26.4.1/charts/sriov-network-operator/values.yaml").read_text())
    loaded = load_stack(read_stack("de-stuttgart", REPO / "stacks"))
    (release,) = [r for r in build(loaded, "de-stuttgart").releases if r.chart == "network-operator"]
    node: Any = release.values
    for key in dep["condition"].split("."):
        node = node[key]
    assert node is True
    ours = release.values["sriov-network-operator"]
    assert "nvidia.com" == ours["operator"]["resourcePrefix"] != sub["operator"]["resourcePrefix"]
    assert set(ours["images"]) == set(upstream["sriov-network-operator"]["images"]) <= set(sub["images"])
    for key, ref in ours["images"].items():
        assert ref == f"registry.aifactory.example.de/{upstream['sriov-network-operator']['images'][key]}"


def test_without_partitions_the_shared_rdma_device_stays() -> None:
    # mi300x-roce: Ethernet, network operator off; edge: no network operator. Neither gets a pod network.
    for name in ("mi300x-roce", "edge-l40s-inference"):
        rendered = build(load_blueprint(name), "test")
        assert not _of(rendered, "SriovNetworkNodePolicy") and not _of(rendered, "IPPool")


def _site(tmp_path: Path, parts: str, extra: str = "") -> Path:
    path = tmp_path / "site.yaml"
    path.write_text(f"extends: dgx-h100-superpod\nname: site\nfabric:\n  compute:\n{extra}    partitions:\n{parts}")
    return path


def _render(path: Path, out: Path) -> Any:
    return CliRunner().invoke(app, ["render", str(path), "--kubernetes", "--out", str(out)])


def test_rail_interfaces_name_the_policies_pfs(tmp_path: Path) -> None:
    names = ", ".join(f"ibp{r}s0" for r in range(8))
    path = _site(tmp_path, "      - {tenant: research, pod_subnet: 10.200.0.0/18}\n"
                           "      - {tenant: production, pod_subnet: 10.200.64.0/18}\n",
                 f"    rail_interfaces: [{names}]\n")  # fmt: skip
    rendered = build(load_blueprint(str(path)), "test")
    pfs = sorted(p["spec"]["nicSelector"]["pfNames"][0] for p in _of(rendered, "SriovNetworkNodePolicy"))
    assert sorted(f"ibp{r}s0" for r in range(8)) == pfs
    # Partitions without a pkey get the host side's default (addressing.pkey_base + index + 1).
    keys = {json.loads(n["spec"]["config"])["pkey"] for n in _of(rendered, "NetworkAttachmentDefinition")}
    assert {"0x1001", "0x1002"} == keys


BAD = [
    # (second partition line, what the message says, line of the problem in site.yaml)
    ("{tenant: production, pkey: 0x0102, pod_subnet: 10.200.32.0/19}", "overlaps the pod subnet of tenant", 7),
    ("{tenant: production, pkey: 0x0102, pod_subnet: 10.64.0.0/18}", "overlaps the compute supernet", 7),
    ("{tenant: production, pkey: 0x0102, pod_subnet: 192.168.0.0/18}", "reserved range 192.168.0.0/16", 7),
    ("{tenant: production, pkey: 0x0102, pod_subnet: 10.200.64.0/24}", "too small", 7),
    ("{tenant: production, pkey: 0x0102}", "has no pod_subnet", 7),
    ("{tenant: production, pkey: 0x0102, pod_subnet: not-a-cidr}", "pod_subnet", 7),
    ("{tenant: production, pkey: 0x0102, pod_subnet: 10.200.64.0/33}", "pod_subnet", 7),
    ("{tenant: production, pkey: 0x0102, pod_subnet: 127.0.0.0/8}", "loopback", 7),
    ("{tenant: production, pkey: 0x0102, pod_subnet: 0.0.0.0/0}", "the whole address", 7),
    ("{tenant: production, pkey: 0x0102, pod_subnet: [10.200.64.0/18]}", "pod_subnet", 7),
    ('{tenant: production, pkey: 0x0102, pod_subnet: "10.200.64.0/18\\n- evil"}', "pod_subnet", 7),
]


@pytest.mark.parametrize(("line", "message", "lineno"), BAD, ids=[m for _, m, _ in BAD])
def test_bad_pod_subnet_exits_2_at_its_line(tmp_path: Path, line: str, message: str, lineno: int) -> None:
    path = _site(tmp_path, f"      - {{tenant: research, pkey: 0x0101, pod_subnet: 10.200.0.0/18}}\n      - {line}\n")
    out = tmp_path / "out"
    result = _render(path, out)
    assert 2 == result.exit_code, result.output
    assert f"site.yaml:{lineno}" in result.output and message in result.output, result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def test_tenant_without_partition_is_an_error(tmp_path: Path) -> None:
    path = _site(tmp_path, "      - {tenant: research, pkey: 0x0101, pod_subnet: 10.200.0.0/18}\n")
    result = _render(path, tmp_path / "out")
    assert 2 == result.exit_code
    assert "tenant 'production' has no partition on the InfiniBand fabric" in result.output
    assert "dgx-h100-superpod.yaml:" in result.output  # the tenant is written in the blueprint it extends


def test_bad_subnet_via_the_cli_process(tmp_path: Path) -> None:
    """The command users run, as a process: exit 2, the file and line, no traceback, nothing written."""
    path = _site(tmp_path, "      - {tenant: research, pkey: 0x0101, pod_subnet: 10.200.0.0/18}\n"
                           "      - {tenant: production, pkey: 0x0102, pod_subnet: 10.200.0.0/20}\n")  # fmt: skip
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "cli.py", "render", str(path), "--kubernetes", "--out", str(out)],
                          cwd=REPO, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert 2 == proc.returncode, proc.stderr
    assert f"{path.name}:7" in proc.stderr and "overlaps the pod subnet of tenant 'research'" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not out.exists()


def test_ipv6_pod_subnets(tmp_path: Path) -> None:
    path = _site(
        tmp_path,
        "      - {tenant: research, pkey: 0x0101, pod_subnet: 'fd00:200::/56'}\n"
        "      - {tenant: production, pkey: 0x0102, pod_subnet: 'fd00:200:0:100::/56'}\n",
    )
    rendered = build(load_blueprint(str(path)), "test")
    pools = [ipaddress.ip_network(p["spec"]["subnet"]) for p in _of(rendered, "IPPool")]
    assert 16 == len(pools) and all(p.version == 6 for p in pools)
    assert all(not a.overlaps(b) for i, a in enumerate(pools) for b in pools[i + 1 :])
    for obj in _of(rendered, "IPPool"):
        validate(obj, "1.34")
