"""Compute layer: each node group is a resource that Ansible converges, as a limit of the one inventory the
render path writes (see groups.py), when that inventory or the group's limit changes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
from pulumi.dynamic import Resource

from aifactory.deploy.nodegroups import AnsibleGroupProvider
from aifactory.modules import StackContext
from modules.compute.nodegroups.groups import NodeGroup, group_props, node_groups

TOKEN = "aifactory:compute:NodeGroups"
PLAYBOOK = Path("playbooks") / "site.yml"  # the site playbook, relative to the collection (StackContext.repo)


@dataclass(frozen=True)
class NodeGroupsArgs:
    groups: list[NodeGroup]
    # Relative to the collection the package ships (the provider resolves it where it runs), never an absolute
    # checkout path: another checkout or install location must not change every group's inputs.
    playbook: str

    @classmethod
    def from_stack(cls, stack: StackContext) -> NodeGroupsArgs:
        return cls(node_groups(stack.loaded.model, stack.hosts), PLAYBOOK.as_posix())


class ConvergedGroup(Resource):  # type: ignore[misc]  # pulumi ships no type stubs
    """One converged node group (a Pulumi dynamic resource)."""

    def __init__(self, name: str, props: dict[str, Any], opts: pulumi.ResourceOptions) -> None:
        super().__init__(AnsibleGroupProvider(), name, props, opts)


class NodeGroups(pulumi.ComponentResource):
    """The node groups in converge order: each control group after the one before it, every scalable unit
    (and the remaining hosts) after all control groups."""

    def __init__(self, name: str, args: NodeGroupsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TOKEN, name, None, opts)
        self.groups: list[ConvergedGroup] = []
        controls: list[ConvergedGroup] = []
        for g in args.groups:
            after = controls[-1:] if g.control else list(controls)
            resource = ConvergedGroup(
                f"{name}-{g.name}", group_props(g, args.playbook), pulumi.ResourceOptions(parent=self, depends_on=after)
            )
            if g.control:
                controls.append(resource)
            self.groups.append(resource)
        self.register_outputs({"groups": {g.name: g.hash for g in args.groups}})
