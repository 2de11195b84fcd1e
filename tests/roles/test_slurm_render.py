"""Slurm's node lines, gres affinity and topology from the catalogue and the fabric design (no Slurm needed)."""

from __future__ import annotations

from aifactory.blueprint import load_blueprint
from aifactory.design import plan
from aifactory.render.group_vars import design_shapes, slurm_group_vars
from aifactory.render.hostlist import expand
from aifactory.render.slurm import FabricShape, NodeShape, Partition, render_slurm, slurm_vars
from tests.lab.test_render import fleet


def _files(name: str) -> dict[str, str]:
    bp = load_blueprint(name).model
    return render_slurm(slurm_group_vars(bp, plan(bp).hosts))


def test_dgx_h100_node_lines_carry_the_catalogue_shape_and_gpu_affinity() -> None:
    files = _files("dgx-h100-superpod")
    line = "NodeName=dgx001 NodeAddr=10.1.0.2 Sockets=2 CoresPerSocket=56 ThreadsPerCore=2 RealMemory=1991680"
    assert line in files["slurm.conf"]
    assert "NodeName=dgx001 Name=gpu Type=h100_sxm File=/dev/nvidia[0-3] Cores=0-55" in files["gres.conf"]
    assert "NodeName=dgx001 Name=gpu Type=h100_sxm File=/dev/nvidia[4-7] Cores=56-111" in files["gres.conf"]
    assert "DefCpuPerGPU=28\nDefMemPerGPU=248960\n" in files["slurm.conf"]
    for setting in ("PrologFlags=Contain", "PropagateResourceLimitsExcept=MEMLOCK", "UnkillableStepTimeout=180"):
        assert setting in files["slurm.conf"]


def test_real_memory_stays_below_the_installed_memory() -> None:
    shape = NodeShape(2, 72, 1, 960)
    assert shape.real_memory_mb == 912 * 1024 < 960 * 1024
    assert shape.cpus == 144


def test_every_switch_hangs_under_one_root() -> None:
    for name in ("dgx-h100-superpod", "gb200-nvl72", "b200-spectrum-x", "dgx-h200-sovereign-eu", "lab"):
        bp = load_blueprint(name).model
        found = slurm_group_vars(bp, plan(bp).hosts)
        if found["slurm_common_topology_plugin"] == "topology/block":  # a built Slurm: NVLink blocks, no tree
            blocked = {n for b in found["slurm_common_blocks"] for n in expand(b["nodes"])}
            assert blocked == {n["name"] for n in found["slurm_common_nodes"]}, name
            continue
        switches = found["slurm_common_switches"]
        children = {c for s in switches if "switches" in s for c in expand(s["switches"])}
        roots = [s["name"] for s in switches if s["name"] not in children]
        assert len(roots) == 1, (name, roots)
        reached = set(expand(next(s for s in switches if s["name"] == roots[0]).get("nodes", "")))
        reached |= {n for s in switches if "nodes" in s and s["name"] in children for n in expand(s["nodes"])}
        assert reached == {n["name"] for n in found["slurm_common_nodes"]}, name  # Slurm's share of the nodes


def test_three_tiers_put_unit_spine_groups_under_the_core() -> None:
    hosts = fleet()  # two SUs of four nodes
    switches = slurm_vars(hosts, cluster_name="x", partitions=[Partition("p")],
                          fabric=FabricShape(3, 4, 2, 2))["slurm_common_switches"]  # fmt: skip
    by_name = {s["name"]: s for s in switches}
    assert by_name["su1_leaf1"]["nodes"] == "gpu[001-002]"
    assert by_name["su2_leaf2"]["nodes"] == "gpu[007-008]"
    assert by_name["su1_spine"]["switches"] == "su1_leaf[1-2]"
    assert by_name["core"]["switches"] == "su1_spine,su2_spine"


def test_nvl72_racks_become_blocks_only_where_slurm_has_topology_block() -> None:
    bp = load_blueprint("gb200-nvl72").model
    hosts = plan(bp).hosts
    shape, fabric = design_shapes(bp)
    old = slurm_vars(hosts, cluster_name="x", partitions=[Partition("p")], shape=shape, fabric=fabric)
    assert old["slurm_common_topology_plugin"] == "topology/tree" and not old["slurm_common_blocks"]
    assert "no topology/block" in render_slurm(old)["topology.conf"]
    new = slurm_vars(hosts, cluster_name="x", partitions=[Partition("p")], shape=shape, fabric=fabric,
                     slurm_version="23.11")  # fmt: skip
    files = render_slurm(new)
    assert "TopologyPlugin=topology/block" in files["slurm.conf"]
    assert files["topology.conf"].count("BlockName=") == 8
    assert "BlockName=nvl_r0001 Nodes=gb[200001-200018]" in files["topology.conf"]


def test_the_lab_sku_has_no_shape_so_slurmd_counts_its_host() -> None:
    bp = load_blueprint("lab").model
    assert design_shapes(bp)[0] is None
    assert "Sockets=" not in _files("lab")["slurm.conf"]


def test_an_inventory_with_switches_but_no_plugin_gets_the_tree() -> None:
    # Hand-written inventories (the role's molecule scenario) list switches without the plugin variable.
    import yaml

    from tests.roles.slurm_files import REPO_ROOT

    scenario = yaml.safe_load((REPO_ROOT / "roles/slurm_common/molecule/default/molecule.yml").read_text())
    files = render_slurm(scenario["provisioner"]["inventory"]["group_vars"]["all"])
    assert "TopologyPlugin=topology/tree\n" in files["slurm.conf"]
    assert "NodeName=gpu001 Name=gpu Type=h100 File=/dev/nvidia[0-3]\n" in files["gres.conf"]


def test_pods_of_several_sus_share_a_spine_group() -> None:
    """Beyond 64 SUs on QM9700 pods hold several SUs (docs/plan.md): Slurm's tree follows the pods."""
    hosts = fleet()  # two SUs of four nodes
    switches = slurm_vars(hosts, cluster_name="x", partitions=[Partition("p")],
                          fabric=FabricShape(3, 4, 2, 2, 1, 2))["slurm_common_switches"]  # fmt: skip
    by_name = {s["name"]: s for s in switches}
    assert by_name["pod1_spine"]["switches"] == "su1_leaf[1-2],su2_leaf[1-2]"
    assert by_name["core"]["switches"] == "pod1_spine"
    four = slurm_vars(hosts, cluster_name="x", partitions=[Partition("p")],
                      fabric=FabricShape(4, 4, 2, 2, 1, 1, 1))["slurm_common_switches"]  # fmt: skip
    names = {s["name"]: s for s in four}
    assert names["block2_core"]["switches"] == "su2_spine"  # one SU per pod, one pod per block
    assert names["top"]["switches"] == "block1_core,block2_core"
