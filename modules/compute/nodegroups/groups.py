"""Node groups: the compute layer as `--limit`s of ONE inventory.

The inventory is the render path's, `aifactory.render.group_vars.render_blueprint_inventory`: the same files
`aifactory deploy --render-inventory` writes, with the same groups the site playbook targets and the same
variables the roles read. Every node group carries the whole inventory and converges its part of it with a
limit, so plays that look at other hosts (slurm.conf's controller, Prometheus's targets) see all of them.

Control groups come first, in `CONTROL_GROUPS` order, then one group of compute nodes per scalable unit
(`su1`, `su2`, ...); the limits are disjoint, and hosts in none of them (storage servers, say) form a last
group `other`, so every host of the inventory converges exactly once. A group converges again when its hash
changes: the hash covers the whole inventory and the limit, because a change anywhere (a new node in
slurm.conf or among Prometheus's targets) can change what any group's hosts are given.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from aifactory.blueprint import Blueprint
from aifactory.render.group_vars import render_blueprint_inventory
from aifactory.render.inventory import HostLike

# Inventory groups converged before any compute node, in this order (resource names use dashes).
CONTROL_GROUPS = ("slurm_controller", "k8s_control_plane", "login")


@dataclass(frozen=True)
class NodeGroup:
    name: str  # resource name part: slurm-controller, k8s-control-plane, login, su1, su2, ..., other
    limit: str  # Ansible host pattern over the inventory
    hosts: tuple[str, ...]  # the hosts the limit selects, sorted
    inventory: dict[str, str]  # the whole inventory: relative path -> file text
    control: bool  # a control group (converged before the scalable units)

    @property
    def hash(self) -> str:
        canonical = json.dumps([self.inventory, self.limit, list(self.hosts)], sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


def _members(hosts_yml: str) -> tuple[list[str], dict[str, set[str]]]:
    tree = yaml.safe_load(hosts_yml)["all"]
    children = tree.get("children") or {}
    return sorted(tree.get("hosts") or {}), {g: set((c or {}).get("hosts") or {}) for g, c in children.items()}


def node_groups(bp: Blueprint, hosts: Sequence[HostLike]) -> list[NodeGroup]:
    """The node groups of a blueprint's plan, in converge order: control groups, scalable units, the rest."""
    return groups_of(render_blueprint_inventory(bp, hosts))


def groups_of(inventory: Mapping[str, str]) -> list[NodeGroup]:
    """The node groups over rendered inventory files (`hosts.yml`, `group_vars/all.yml`, ...)."""
    inventory = dict(inventory)
    everyone, groups = _members(inventory["hosts.yml"])
    out: list[NodeGroup] = []
    taken: set[str] = set()
    excluded = ""
    for group in CONTROL_GROUPS:
        members = groups.get(group, set()) - taken
        if members:
            out.append(NodeGroup(group.replace("_", "-"), group + excluded, tuple(sorted(members)), inventory, True))
            taken |= members
        excluded += f":!{group}"
    units = sorted(int(g.removeprefix("su_")) for g in groups if g.startswith("su_"))
    for su in units:
        members = (groups[f"su_{su}"] & groups.get("compute", set())) - taken
        if members:
            out.append(NodeGroup(f"su{su}", f"su_{su}:&compute{excluded}", tuple(sorted(members)), inventory, False))
            taken |= members
    rest = set(everyone) - taken
    if rest:
        limit = "all" + excluded + (":!compute" if "compute" in groups else "")
        out.append(NodeGroup("other", limit, tuple(sorted(rest)), inventory, False))
    return out


def group_props(group: NodeGroup, playbook: str) -> dict[str, Any]:
    """The dynamic resource's inputs for one group (outputs `converged`, `rc`, `changed` start empty)."""
    return {
        "group": group.name,
        "limit": group.limit,
        "hosts": list(group.hosts),
        "inventory": dict(group.inventory),
        "hash": group.hash,
        "playbook": playbook,
        "converged": None,
        "rc": None,
        "changed": None,
    }
