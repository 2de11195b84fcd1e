"""Compute node groups and the Ansible dynamic provider, tested directly (ansible-runner runs for real)."""
# ruff: noqa: SIM300  (team rule: asserts read `expected == actual`)

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from aifactory.blueprint import load_blueprint
from aifactory.design.hosts import Host
from modules.compute.nodegroups.groups import node_groups
from modules.compute.nodegroups.provider import AnsibleGroupProvider, ConvergeError


def _host(name: str, su: int, functions: tuple[str, ...] = ("compute",)) -> Host:
    return Host(name, functions, su, "r001", 1, "10.0.0.1", "127.0.0.1", gpus=8)


def test_groups_per_scalable_unit_and_function() -> None:
    bp = load_blueprint("dgx-h200-sovereign-eu").model
    groups = node_groups(bp, "de", [_host("a", 1), _host("b", 2), _host("l", 0, ("login",))])
    assert ["login", "su1", "su2"] == [g.name for g in groups]


def test_only_the_changed_group_gets_a_new_hash() -> None:
    bp = load_blueprint("dgx-h200-sovereign-eu").model
    before = node_groups(bp, "de", [_host("a", 1), _host("b", 2)])
    after = node_groups(bp, "de", [_host("a", 1), _host("b", 2), _host("c", 2)])
    assert [True, False] == [x.hash == y.hash for x, y in zip(before, after, strict=True)]


def _props(tmp_path: Path, playbook: str, hosts: dict | None = None, hash_: str = "h1") -> dict:
    book = tmp_path / "site.yml"
    book.write_text(playbook)
    hosts = (
        {"localhost": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}}
        if hosts is None
        else hosts
    )
    return {
        "group": "su1",
        "inventory": {"all": {"children": {"su1": {"hosts": hosts}}}},
        "variables": {"aifactory_marker": str(tmp_path / "marker")},
        "hash": hash_,
        "playbook": str(book),
    }


PLAYBOOK = """- hosts: all
  gather_facts: false
  tasks:
    - name: Test | Write marker
      ansible.builtin.copy: {dest: "{{ aifactory_marker }}", content: converged}
"""


def test_unchanged_hash_gives_no_diff(tmp_path: Path) -> None:
    props = _props(tmp_path, PLAYBOOK)
    assert False is AnsibleGroupProvider().diff("x", props, dict(props)).changes
    assert True is AnsibleGroupProvider().diff("x", props, {**props, "hash": "h2"}).changes


@pytest.mark.slow
def test_create_converges_with_ansible(tmp_path: Path) -> None:
    result = AnsibleGroupProvider().create(_props(tmp_path, PLAYBOOK))
    assert "converged" == (tmp_path / "marker").read_text()
    assert True is result.outs["converged"]
    (tmp_path / "marker").unlink()
    AnsibleGroupProvider().update("nodegroup-su1", {}, _props(tmp_path, PLAYBOOK, hash_="h2"))
    assert "converged" == (tmp_path / "marker").read_text()


@pytest.mark.slow
def test_failed_converge_raises(tmp_path: Path) -> None:
    failing = PLAYBOOK.replace(
        'ansible.builtin.copy: {dest: "{{ aifactory_marker }}", content: converged}',
        "ansible.builtin.fail: {msg: broken}",
    )
    with pytest.raises(ConvergeError, match="failed"):
        AnsibleGroupProvider().create(_props(tmp_path, failing))


def test_group_without_hosts_converges_nothing(tmp_path: Path) -> None:
    result = AnsibleGroupProvider().create(_props(tmp_path, PLAYBOOK, hosts={}))
    assert False is result.outs["converged"]
    assert not (tmp_path / "marker").exists()
