"""Compute node groups (limits of the one rendered inventory) and their Ansible dynamic provider, tested
the way the Pulumi engine holds it: serialized with the SDK's own dill settings and loaded back elsewhere."""

from __future__ import annotations

import base64
import json
import pickletools
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader
from pulumi.dynamic.dynamic import serialize_provider

from aifactory.blueprint import load_blueprint
from aifactory.blueprint.sources import catalogue_names
from aifactory.deploy.nodegroups import AnsibleGroupProvider, ConvergeError
from aifactory.design import plan
from aifactory.render.group_vars import render_blueprint_inventory
from modules.compute.nodegroups.groups import CONTROL_GROUPS, groups_of, node_groups

REPO = Path(__file__).resolve().parents[2]


def _limit_hosts(tmp_path: Path, hosts_yml: str, pattern: str) -> list[str]:
    """What Ansible itself selects with `--limit PATTERN` over the inventory."""
    path = tmp_path / "hosts.yml"
    path.write_text(hosts_yml)
    manager = InventoryManager(loader=DataLoader(), sources=[str(path)])
    return sorted(h.name for h in manager.get_hosts(pattern))


@pytest.mark.parametrize("name", catalogue_names())
def test_groups_are_disjoint_limits_of_the_rendered_inventory(tmp_path: Path, name: str) -> None:
    bp = load_blueprint(name).model
    hosts = plan(bp).hosts
    groups = node_groups(bp, hosts)
    rendered = render_blueprint_inventory(bp, hosts)
    assert all(rendered == g.inventory for g in groups)  # every group carries the whole, same inventory
    selected = {g.name: _limit_hosts(tmp_path, rendered["hosts.yml"], g.limit) for g in groups}
    assert {g.name: list(g.hosts) for g in groups} == selected
    everyone = sorted(h.hostname for h in hosts)
    assert everyone == sorted(h for names in selected.values() for h in names)  # each host exactly once
    controls = [g.control for g in groups]
    assert controls == sorted(controls, reverse=True)  # control groups first
    order = [g.name for g in groups if g.control]
    assert order == [c.replace("_", "-") for c in CONTROL_GROUPS if c.replace("_", "-") in order]
    if str(bp.mlops.orchestrator.type) in ("slurm", "both"):
        assert "slurm-controller" == groups[0].name
    computes = {h.hostname for h in hosts if "compute" in h.functions}
    assert computes == {h for g in groups if g.name.startswith("su") for h in g.hosts}


def test_a_new_node_changes_every_group_hash() -> None:
    # slurm.conf and Prometheus's targets list every node: every group converges again.
    bp = load_blueprint("lab").model
    two, three = plan(bp).hosts, plan(load_blueprint("lab", sets=["compute.nodes=3"]).model).hosts
    before, after = node_groups(bp, two), node_groups(bp, three)
    assert [g.name for g in before] == [g.name for g in after]
    assert all(x.hash != y.hash for x, y in zip(before, after, strict=True))
    assert [g.hash for g in before] == [g.hash for g in node_groups(bp, list(reversed(two)))]


def test_a_host_outside_every_group_lands_in_other() -> None:
    hosts_yml = yaml.safe_dump(
        {"all": {"hosts": {"c1": {}, "s1": {}}, "children": {"compute": {"hosts": {"c1": None}},
                                                             "su_1": {"hosts": {"c1": None, "s1": None}}}}}
    )  # fmt: skip
    groups = groups_of({"hosts.yml": hosts_yml})
    assert [("su1", ("c1",)), ("other", ("s1",))] == [(g.name, g.hosts) for g in groups]


def _props(hosts: list[str], limit: str, inventory: dict[str, str], playbook: Path, hash_: str = "h1") -> dict:
    return {"group": "su1", "limit": limit, "hosts": hosts, "inventory": inventory, "hash": hash_,
            "playbook": str(playbook), "converged": None, "rc": None, "changed": None}  # fmt: skip


def _stored(provider: AnsibleGroupProvider) -> str:
    """The provider as the engine stores it in the state (`__provider`): the SDK's dill serialization."""
    return str(serialize_provider(provider))


def test_the_stored_provider_names_no_module_of_the_repository() -> None:
    byts = base64.b64decode(_stored(AnsibleGroupProvider()))
    strings = [arg for _, arg, _ in pickletools.genops(byts) if isinstance(arg, str)]
    assert "aifactory.deploy.nodegroups" in strings
    assert [] == [s for s in strings if s.startswith("modules") or "/" in s]  # no module-relative paths


LOADER = """
import base64, json, sys
import dill
provider = dill.loads(base64.b64decode(sys.argv[1]))
props = json.loads(sys.argv[2])
assert not any(m == "modules" or m.startswith("modules.") for m in sys.modules), "repository modules imported"
old = {**props, "converged": True, "rc": 0, "changed": 0, "__provider": sys.argv[1]}
new = {**props, "__provider": sys.argv[1]}
out = {"same": provider.diff("nodegroup-su1", old, new).changes,
       "hash": provider.diff("nodegroup-su1", old, {**new, "hash": "h2"}).changes,
       "limit": provider.diff("nodegroup-su1", old, {**new, "limit": "su_2"}).changes}
if len(sys.argv) > 3:
    try:
        provider.create({**props, "hosts": []})
    except Exception as err:
        out["empty"] = type(err).__name__ + ": " + str(err)
    result = provider.create(props)
    out["outs"] = {k: result.outs[k] for k in ("converged", "rc")}
print(json.dumps(out))
"""


def _load_elsewhere(tmp_path: Path, props: dict[str, Any], create: bool) -> dict[str, Any]:
    """Load the stored provider in a fresh interpreter, in another folder, without the repository on its path
    (`-I`: no cwd, no PYTHONPATH), and call it the way the engine does."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    args = [sys.executable, "-I", "-c", LOADER, _stored(AnsibleGroupProvider()), json.dumps(props)]
    done = subprocess.run([*args, *(["create"] if create else [])], cwd=elsewhere, capture_output=True, text=True,
                          timeout=300, check=False)  # fmt: skip
    assert 0 == done.returncode, done.stderr[-4000:]
    return dict(json.loads(done.stdout.splitlines()[-1]))


def test_loaded_provider_diffs_only_on_changed_inputs(tmp_path: Path) -> None:
    out = _load_elsewhere(tmp_path, _props(["a"], "su_1", {"hosts.yml": "all: {}\n"}, tmp_path / "x.yml"), False)
    assert {"same": False, "hash": True, "limit": True} == out


def test_group_without_hosts_fails(tmp_path: Path) -> None:
    with pytest.raises(ConvergeError, match="no hosts"):
        AnsibleGroupProvider().create(_props([], "su_1", {"hosts.yml": "all: {}\n"}, REPO / "playbooks/site.yml"))


def test_hostile_inventory_names_are_refused(tmp_path: Path) -> None:
    props = _props(["a"], "su_1", {"hosts.yml": "", "../escape.yml": "x"}, REPO / "playbooks/site.yml")
    with pytest.raises(ConvergeError, match="relative file names"):
        AnsibleGroupProvider().create(props)
    assert not (tmp_path.parent / "escape.yml").exists()


# A real converge over ansible-runner, two local "hosts" in different scalable units: the limit decides.
LOCAL_INVENTORY = {
    "all": {
        "hosts": {h: {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
                  for h in ("a", "b")},
        "children": {"compute": {"hosts": {"a": None, "b": None}}, "su_1": {"hosts": {"a": None}},
                     "su_2": {"hosts": {"b": None}}},
    }
}  # fmt: skip


def _local(tmp_path: Path, task: str) -> tuple[dict[str, str], Path]:
    book = tmp_path / "play" / "site.yml"
    book.parent.mkdir()
    book.write_text(f"- hosts: all\n  gather_facts: false\n  tasks:\n    - name: Test | Marker\n      {task}\n")
    inventory = {"hosts.yml": yaml.safe_dump(LOCAL_INVENTORY),
                 "group_vars/all.yml": yaml.safe_dump({"marker_dir": str(tmp_path)})}  # fmt: skip
    return inventory, book


MARKER = 'ansible.builtin.copy: {dest: "{{ marker_dir }}/{{ inventory_hostname }}", content: converged}'


@pytest.mark.slow
def test_loaded_provider_converges_only_its_limit(tmp_path: Path) -> None:
    inventory, book = _local(tmp_path, MARKER)
    out = _load_elsewhere(tmp_path, _props(["a"], "su_1:&compute", inventory, book), True)
    assert {"converged": True, "rc": 0} == out["outs"]
    assert out["empty"].startswith("ConvergeError: group su1: no hosts")
    assert "converged" == (tmp_path / "a").read_text()  # group_vars/all.yml reached the run
    assert not (tmp_path / "b").exists()  # b is in the inventory, outside the limit


@pytest.mark.slow
def test_failed_run_raises(tmp_path: Path) -> None:
    inventory, book = _local(tmp_path, "ansible.builtin.fail: {msg: broken}")
    with pytest.raises(ConvergeError, match=r"failed.*a: Test \| Marker: broken"):
        AnsibleGroupProvider().create(_props(["a"], "su_1", inventory, book))


@pytest.mark.slow
def test_limit_matching_none_of_the_group_raises(tmp_path: Path) -> None:
    inventory, book = _local(tmp_path, MARKER)
    with pytest.raises(ConvergeError):
        AnsibleGroupProvider().create(_props(["a"], "su_9", inventory, book))
    with pytest.raises(ConvergeError, match="did not reach a"):
        AnsibleGroupProvider().update("nodegroup-su1", {}, _props(["a"], "su_2", inventory, book))
    assert (tmp_path / "b").exists() and not (tmp_path / "a").exists()


def test_control_groups_converge_before_the_scalable_units(monkeypatch: pytest.MonkeyPatch) -> None:
    import pulumi
    from mocks import Recorder

    from modules.compute.nodegroups import component

    made: dict[str, list[str]] = {}

    class Recording(pulumi.ComponentResource):  # stands in for the dynamic resource; records its order
        def __init__(self, name: str, props: dict[str, Any], opts: pulumi.ResourceOptions) -> None:
            super().__init__("test:Recording", name, None, opts)
            made[name.removeprefix("r-")] = [d._name.removeprefix("r-") for d in opts.depends_on]

    monkeypatch.setattr(component, "ConvergedGroup", Recording)
    pulumi.runtime.set_mocks(Recorder(), project="aifactory", stack="t", preview=False)
    bp = load_blueprint("dgx-h100-superpod").model
    args = component.NodeGroupsArgs(node_groups(bp, plan(bp).hosts), str(REPO / "playbooks/site.yml"))

    @pulumi.runtime.test  # type: ignore[misc]
    def program() -> None:
        component.NodeGroups("r", args)

    program()
    controls = ["slurm-controller", "k8s-control-plane", "login"]
    assert {"slurm-controller": [], "k8s-control-plane": ["slurm-controller"], "login": ["k8s-control-plane"],
            "su1": controls} == made  # fmt: skip
