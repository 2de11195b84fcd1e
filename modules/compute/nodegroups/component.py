"""Compute layer: each node group is a resource that Ansible converges when its inventory or variables
change."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
from pulumi.dynamic import Resource

from aifactory.modules import StackContext
from modules.compute.nodegroups.groups import NodeGroup, node_groups
from modules.compute.nodegroups.provider import AnsibleGroupProvider

TOKEN = "aifactory:compute:NodeGroups"
PLAYBOOK = (
    Path("playbooks") / "site.yml"
)  # the site playbook of the Ansible layer, relative to the repository


@dataclass(frozen=True)
class NodeGroupsArgs:
    groups: list[NodeGroup]
    playbook: str

    @classmethod
    def from_stack(cls, stack: StackContext) -> NodeGroupsArgs:
        groups = node_groups(stack.loaded.model, stack.region, stack.hosts)
        return cls(groups, str(stack.repo / PLAYBOOK))


class ConvergedGroup(Resource):  # type: ignore[misc]  # pulumi ships no type stubs
    """One converged node group (a Pulumi dynamic resource)."""

    def __init__(self, name: str, props: dict[str, Any], opts: pulumi.ResourceOptions) -> None:
        super().__init__(AnsibleGroupProvider(), name, props, opts)


class NodeGroups(pulumi.ComponentResource):
    def __init__(self, name: str, args: NodeGroupsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TOKEN, name, None, opts)
        self.groups = [
            ConvergedGroup(
                f"{name}-{g.name}",
                {
                    "group": g.name,
                    "inventory": g.inventory,
                    "variables": g.variables,
                    "hash": g.hash,
                    "playbook": args.playbook,
                    "converged": None,
                    "rc": None,
                },
                pulumi.ResourceOptions(parent=self),
            )
            for g in args.groups
        ]
        self.register_outputs({"groups": {g.name: g.hash for g in args.groups}})
