"""Inventory and Slurm renderers: grouping, determinism, and host lists."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from aifactory.blueprint import load_blueprint
from aifactory.design import plan
from aifactory.errors import UserError
from aifactory.lab.config import lab_design
from aifactory.render.group_vars import render_blueprint_inventory
from aifactory.render.hostlist import compress, expand
from aifactory.render.inventory import render_inventory, topology_switches
from aifactory.render.slurm import Partition, render_slurm, slurm_vars

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class FakeHost:
    """The design engine's Host shape (until aifactory.design lands on main)."""

    hostname: str
    functions: tuple[str, ...]
    su: int
    rack: str
    rack_unit: int = 1
    oob_ip: str | None = None
    inband_ip: str | None = None
    storage_ip: str | None = None
    rail_ips: tuple[str, ...] = field(default_factory=tuple)
    gpu_model: str | None = "H100-SXM"
    gpus: int = 8
    power_cap_w: float | None = 600.0


def fleet() -> list[FakeHost]:
    hosts = [FakeHost("ctl01", ("slurm-controller",), 1, "R0", inband_ip="10.0.0.2", gpus=0, gpu_model=None)]
    for i in range(1, 9):
        su, rack = (1, "R1") if i <= 4 else (2, "R2")
        hosts.append(
            FakeHost(
                f"gpu{i:03d}",
                ("compute", "storage-client"),
                su,
                rack,
                inband_ip=f"10.0.1.{i}",
                rail_ips=tuple(f"10.{100 + r}.0.{i}" for r in range(2)),
            )
        )
    return hosts


def test_inventory_groups_by_function_su_rack_and_rail() -> None:
    tree = yaml.safe_load(render_inventory(fleet(), {"x": 1})["hosts.yml"])
    children = tree["all"]["children"]
    assert sorted(children["compute"]["hosts"]) == [f"gpu{i:03d}" for i in range(1, 9)]
    assert sorted(children["su_2"]["hosts"]) == ["gpu005", "gpu006", "gpu007", "gpu008"]
    assert sorted(children["rack_r1"]["hosts"]) == ["gpu001", "gpu002", "gpu003", "gpu004"]
    assert len(children["rail_1"]["hosts"]) == 8
    assert list(children["monitoring"]["hosts"]) == ["ctl01"]
    gpu1 = tree["all"]["hosts"]["gpu001"]
    assert (gpu1["ansible_host"], gpu1["aifactory_power_cap_w"], gpu1["aifactory_rail_ips"]) == (
        "10.0.1.1",
        600,
        ["10.100.0.1", "10.101.0.1"],
    )


def test_inventory_is_deterministic() -> None:
    assert render_inventory(fleet(), {"b": 1, "a": 2}) == render_inventory(
        list(reversed(fleet())), {"a": 2, "b": 1}
    )


def test_topology_has_leaf_per_rack_and_spine_over_units() -> None:
    expected = [
        {"name": "leaf_r1", "nodes": "gpu[001-004]"},
        {"name": "leaf_r2", "nodes": "gpu[005-008]"},
        {"name": "su_1", "switches": "leaf_r1"},
        {"name": "su_2", "switches": "leaf_r2"},
        {"name": "spine", "switches": "su_[1-2]"},
    ]
    assert expected == topology_switches(fleet())


def test_slurm_conf_lists_nodes_gres_and_partitions() -> None:
    files = render_slurm(
        slurm_vars(fleet(), cluster_name="prod", partitions=[Partition("gpu", default=True)])
    )
    assert "PartitionName=gpu Nodes=gpu[001-008] Default=YES MaxTime=INFINITE State=UP" in files["slurm.conf"]
    assert "NodeName=gpu001 NodeAddr=10.0.1.1 Gres=gpu:h100_sxm:8 State=UNKNOWN" in files["slurm.conf"]
    assert "NodeName=gpu008 Name=gpu Type=h100_sxm File=/dev/nvidia[0-7]" in files["gres.conf"]
    assert "TopologyPlugin=topology/tree" in files["slurm.conf"]


@given(st.sets(st.integers(min_value=0, max_value=300), min_size=1, max_size=40))
def test_hostlist_round_trip(numbers: set[int]) -> None:
    names = [f"node{n:03d}" for n in numbers]
    assert sorted(names) == sorted(expand(compress(names)))


REFERENCE_BLUEPRINTS = sorted(p.stem for p in (REPO / "blueprints").glob("*.yaml"))


@pytest.mark.parametrize("name", REFERENCE_BLUEPRINTS)
def test_every_reference_blueprint_renders_the_same_bytes(name: str) -> None:
    bp = load_blueprint(name).model
    hosts = plan(bp).hosts
    first = render_blueprint_inventory(bp, hosts)
    again = render_blueprint_inventory(load_blueprint(name).model, list(reversed(hosts)))
    assert first == again
    tree = yaml.safe_load(first["hosts.yml"])
    assert sorted(h.hostname for h in hosts) == sorted(tree["all"]["hosts"])
    group_vars = yaml.safe_load(first["group_vars/all.yml"])
    assert bp.storage.filesystem.mount == group_vars["storage_client_mounts"][0]["path"]
    assert dict(bp.fabric.nccl) == group_vars["fabric_nccl_env"]
    assert name == group_vars["aifactory_blueprint"]
    pins = bp.software.model_dump(exclude={"charts", "installed_by", "ofed_repository"})
    assert {k: str(v) for k, v in pins.items() if v is not None} == group_vars["aifactory_software"]


def test_lab_inventory_carries_blueprint_pins_mount_nccl_and_partitions() -> None:
    bp = load_blueprint("lab").model
    files = render_blueprint_inventory(bp, plan(bp).hosts)
    tree = yaml.safe_load(files["hosts.yml"])["all"]
    group_vars = yaml.safe_load(files["group_vars/all.yml"])
    assert ["lab001", "lab002"] == sorted(tree["children"]["compute"]["hosts"])
    assert ["lab001", "lab002"] == sorted(tree["children"]["rail_0"]["hosts"])
    assert ["slurmctl01"] == list(tree["children"]["slurm_controller"]["hosts"])
    assert ("10.99.1.2", "cpu") == (
        tree["hosts"]["lab001"]["ansible_host"], tree["hosts"]["lab001"]["aifactory_gpu_model"]
    )
    assert [{"default": True, "max_time": "01:00:00", "name": "debug", "nodes": "lab[001-002]"}] == group_vars[
        "slurm_common_partitions"
    ]
    assert {"os": "debian-12", "slurm": "22.05"} == group_vars["aifactory_software"]
    assert "lab" == group_vars["slurm_common_cluster_name"]


def test_lab_design_follows_the_node_count() -> None:
    design = lab_design(3)
    assert ["lab001", "lab002", "lab003", "slurmctl01"] == [h.hostname for h in design.hosts]
    assert [2, 2, 2, 0] == [h.gpus for h in design.hosts]
    assert ("10.99.1.0/24", "/shared") == (design.subnet, design.shared_mount)


@pytest.mark.parametrize("nodes", [0, 4])
def test_lab_design_rejects_node_counts_outside_one_to_three(nodes: int) -> None:
    with pytest.raises(UserError, match=f"--nodes {nodes} is outside the lab's range 1-3"):
        lab_design(nodes)


def test_lab_vars_keep_production_node_sizes_and_set_no_munge_key(tmp_path: Path) -> None:
    """The lab renders Slurm's node lines as production does (no CPU or memory sizes of its own) and leaves
    the factory munge key to the munge role; its remaining differences are the ones it documents."""
    from aifactory.lab.config import LabMirrors, lab_vars
    from aifactory.render.group_vars import blueprint_group_vars

    design = lab_design(2)
    mirrors = LabMirrors("http://10.99.1.1:8000/apt", "KEY", "http://10.99.1.1:8000/pypi/simple")
    variables = lab_vars(design, tmp_path / "venv", tmp_path / "id_ed25519", mirrors)
    production = blueprint_group_vars(design.blueprint, design.hosts)
    assert production["slurm_common_nodes"] == variables["slurm_common_nodes"]
    assert all("cpus" not in n or not n["cpus"] for n in variables["slurm_common_nodes"])
    assert all("memory_mb" not in n or not n["memory_mb"] for n in variables["slurm_common_nodes"])
    assert not any(key.startswith("munge_") for key in variables)
    # Simulated GPUs are the one sizing difference: gres on the compute nodes (no GPU on this machine).
    assert [2, 2] == [n["gpus"] for n in variables["slurm_common_nodes"]]


def test_lab_vars_install_from_the_lab_mirrors_through_the_base_role(tmp_path: Path) -> None:
    """The lab's hosts take packages from the lab's mirrors by the variables a site's mirrors render into,
    and MLflow is pip-installed by its role (from that index) rather than run from this machine's venv."""
    from aifactory.lab.config import LabMirrors, lab_vars

    mirrors = LabMirrors("http://10.99.1.1:8000/apt", "-----BEGIN PGP", "http://10.99.1.1:8000/pypi/simple")
    variables = lab_vars(lab_design(1), tmp_path / "venv", tmp_path / "id_ed25519", mirrors)
    assert "http://10.99.1.1:8000/apt" == variables["base_apt_mirror"]
    assert "-----BEGIN PGP" == variables["base_apt_mirror_key"]
    assert "http://10.99.1.1:8000/pypi/simple" == variables["base_pypi_mirror"]
    assert "mlflow_venv" not in variables


def test_lab_network_gateway_is_the_subnets_first_address() -> None:
    from aifactory.lab.hosts import gateway_of

    assert "10.99.1.1" == gateway_of(lab_design(1).subnet)
    assert "192.168.7.129" == gateway_of("192.168.7.128/25")
