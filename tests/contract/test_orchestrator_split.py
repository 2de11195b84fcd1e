"""Both orchestrators on one fleet: `mlops.orchestrator.kubernetes_share` splits the compute nodes between Slurm
and Kubernetes once (`aifactory.render.inventory.kubernetes_nodes`), and the inventory's groups, Slurm's node
lines, partitions and topology, the Kubernetes node labels and the driver/DCGM owner all follow that split."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from aifactory.blueprint import load_blueprint
from aifactory.cli.main import app
from aifactory.design import plan
from aifactory.render.group_vars import render_blueprint_inventory, slurm_group_vars
from aifactory.render.hostlist import expand
from aifactory.render.inventory import kubernetes_nodes, orchestrator_groups
from aifactory.render.kubernetes import build
from tests.lab.test_render import FakeHost, fleet


def _site(tmp_path: Path, body: str) -> Any:
    path = tmp_path / "site.yaml"
    path.write_text("extends: dgx-h100-superpod\nname: site\n" + body)
    return load_blueprint(str(path))


def _racks(n: int, per_rack: int, per_su: int) -> list[FakeHost]:
    return [FakeHost(f"n{i:03d}", ("compute",), i // per_su + 1, f"r{i // per_rack:02d}") for i in range(n)]


def test_kubernetes_takes_whole_racks_from_the_end_nearest_the_share() -> None:
    hosts = _racks(31, 4, 32)  # the SuperPOD's 31 nodes: seven racks of 4 and one of 3
    assert [f"n{i:03d}" for i in range(24, 31)] == kubernetes_nodes(hosts, 0.25)  # 7.75 -> 8 asked, 7 (2 racks)
    assert [f"n{i:03d}" for i in range(16, 31)] == kubernetes_nodes(hosts, 0.5)  # 15.5 -> 16 asked, 15


def test_whole_units_go_together_and_a_tie_gives_kubernetes_fewer() -> None:
    hosts = _racks(64, 8, 32)  # two units of four 8-node racks
    assert [f"n{i:03d}" for i in range(32, 64)] == kubernetes_nodes(hosts, 0.5)
    assert [f"n{i:03d}" for i in range(56, 64)] == kubernetes_nodes(hosts, 0.1875)  # 12 asked: 8 and 16 tie


def test_the_split_never_leaves_an_orchestrator_empty_while_the_count_is_between() -> None:
    hosts = _racks(36, 18, 36)  # two NVL72 racks
    assert 18 == len(kubernetes_nodes(hosts, 0.05))  # 2 asked: one whole NVLink domain
    assert 18 == len(kubernetes_nodes(hosts, 0.95))  # 34 asked: Slurm keeps a rack
    one_rack = _racks(4, 4, 4)
    assert ["n003"] == kubernetes_nodes(one_rack, 0.25)  # one rack only: split by name
    assert [] == kubernetes_nodes(one_rack, 0.1) and 4 == len(kubernetes_nodes(one_rack, 0.9))


def test_single_orchestrators_take_every_compute_node() -> None:
    computes = [h.hostname for h in fleet() if "compute" in h.functions]
    assert {"slurm": computes} == orchestrator_groups(fleet(), "slurm")
    assert {"k8s_worker": computes} == orchestrator_groups(fleet(), "kubernetes")


@pytest.mark.parametrize("name", ["dgx-h100-superpod", "dgx-h200-sovereign-eu"])
def test_inventory_slurm_and_kubernetes_agree_on_the_split(name: str) -> None:
    bp = load_blueprint(name).model
    hosts = plan(bp).hosts
    computes = {h.hostname for h in hosts if "compute" in h.functions}
    files = render_blueprint_inventory(bp, hosts)
    tree = yaml.safe_load(files["hosts.yml"])["all"]
    slurm, k8s = (set(tree["children"][g]["hosts"]) for g in ("slurm", "k8s_worker"))
    assert not slurm & k8s and slurm | k8s == computes
    assert set(kubernetes_nodes(hosts, bp.mlops.orchestrator.kubernetes_share)) == k8s  # type: ignore[union-attr]
    found = slurm_group_vars(bp, hosts)
    assert slurm == {n["name"] for n in found["slurm_common_nodes"]}
    for part in found["slurm_common_partitions"]:
        assert set(expand(part["nodes"])) <= slurm
    in_topology = {n for s in found["slurm_common_switches"] if "nodes" in s for n in expand(s["nodes"])}
    assert slurm == in_topology
    labelled = {h for h, v in tree["hosts"].items() if "k8s_node_labels" in v}
    assert k8s == labelled


def test_slurm_nodes_get_the_host_driver_where_the_operator_owns_kubernetes_nodes(tmp_path: Path) -> None:
    loaded = _site(tmp_path, "software:\n  installed_by: {driver: operator, dcgm: operator}\n")
    hosts = plan(loaded.model).hosts
    files = render_blueprint_inventory(loaded.model, hosts)
    tree = yaml.safe_load(files["hosts.yml"])["all"]
    every = yaml.safe_load(files["group_vars/all.yml"])
    assert ("operator", "operator") == (every["nvidia_driver_installed_by"], every["dcgm_installed_by"])
    for name in tree["children"]["slurm"]["hosts"]:
        assert ("host", "host") == (tree["hosts"][name]["nvidia_driver_installed_by"],
                                    tree["hosts"][name]["dcgm_installed_by"])  # fmt: skip
    for name in tree["children"]["k8s_worker"]["hosts"]:
        assert "nvidia_driver_installed_by" not in tree["hosts"][name]  # all.yml's operator
    (policy,) = [o for o in build(loaded, "eu").objects if o["kind"] == "ClusterPolicy"]
    assert policy["spec"]["driver"]["enabled"] and policy["spec"]["dcgm"]["enabled"]


def test_host_owned_components_stay_with_the_host_everywhere(tmp_path: Path) -> None:
    loaded = _site(tmp_path, "")
    files = render_blueprint_inventory(loaded.model, plan(loaded.model).hosts)
    assert "installed_by" not in files["hosts.yml"]  # all.yml says host already
    (policy,) = [o for o in build(loaded, "eu").objects if o["kind"] == "ClusterPolicy"]
    assert not policy["spec"]["driver"]["enabled"] and not policy["spec"]["dcgm"]["enabled"]


@pytest.mark.parametrize(("share", "empty"), [("0.01", "Kubernetes"), ("0.99", "Slurm"), ("0", "Kubernetes")])
def test_a_share_that_empties_an_orchestrator_is_a_finding_on_its_line(tmp_path: Path, share: str, empty: str) -> None:
    text = f"extends: dgx-h100-superpod\nmlops:\n  orchestrator:\n    type: both\n    kubernetes_share: {share}\n"
    path = tmp_path / "site.yaml"
    path.write_text(text)
    result = CliRunner().invoke(app, ["plan", str(path), "--format", "json"])
    assert 1 == result.exit_code, result.output
    (hit,) = [f for f in json.loads(result.output)["findings"] if f["code"] == "orchestrator-share"]
    assert (str(path), 5) == (hit["file"], hit["line"])
    assert f"{empty} has no node" in hit["message"]


def test_a_share_outside_zero_to_one_is_refused_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text("extends: dgx-h100-superpod\nmlops:\n  orchestrator:\n    type: both\n    kubernetes_share: 1.5\n")
    result = CliRunner().invoke(app, ["plan", str(path)])
    assert 2 == result.exit_code
    assert f"{path}:5" in result.output and "kubernetes_share" in result.output
