"""Node groups: the compute layer split into the units Ansible converges on their own.

Compute hosts group by scalable unit (`su1`, `su2`, ...); every other function (login, slurm-controller,
k8s-control-plane, storage-server, ...) is a group of its own. Each group carries its inventory, the variables
the roles need (pins from the blueprint) and a hash of both: a group converges again only when its hash
changes.
Hosts come from the design engine's plan; without one, the groups exist with no hosts and converge nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from aifactory.blueprint import Blueprint


@dataclass(frozen=True)
class NodeGroup:
    name: str
    inventory: dict[str, Any]  # Ansible YAML-inventory form: {"all": {"children": {name: {...}}}}
    variables: dict[str, Any]

    @property
    def hash(self) -> str:
        return group_hash(self.inventory, self.variables)


def group_hash(inventory: dict[str, Any], variables: dict[str, Any]) -> str:
    canonical = json.dumps([inventory, variables], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def group_variables(bp: Blueprint, region: str) -> dict[str, Any]:
    """Variables every node role reads, prefixed `aifactory_` (the site playbook maps them onto roles)."""
    sw, fs = bp.software, bp.storage.filesystem
    pins = {
        k: v
        for k, v in {
            "driver": sw.driver,
            "cuda": sw.cuda,
            "dcgm": sw.dcgm,
            "nccl": sw.nccl,
            "ofed": sw.ofed,
            "rocm": sw.rocm,
            "slurm": sw.slurm,
            "kubernetes": sw.kubernetes,
        }.items()
        if v is not None
    }
    return {
        "aifactory_region": region,
        "aifactory_blueprint": bp.name,
        "aifactory_os": sw.os,
        "aifactory_versions": pins,
        "aifactory_gpu_power_cap_w": bp.compute.gpu_power_cap or 0,
        "aifactory_mig": bp.compute.mig.model_dump(),
        "aifactory_filesystem": {"type": fs.type, "mount": fs.mount},
        "aifactory_nccl": dict(bp.fabric.nccl),
    }


def _group_of(host: Any) -> str:
    functions = tuple(host.functions)
    if "compute" in functions and host.su:
        return f"su{host.su}"
    return functions[0].replace("-", "_") if functions else "ungrouped"


def _host_vars(host: Any) -> dict[str, Any]:
    return {
        "ansible_host": host.inband_ip,
        "aifactory_rack": host.rack,
        "aifactory_oob_ip": host.oob_ip,
        "aifactory_gpus": host.gpus,
    }


def node_groups(bp: Blueprint, region: str, hosts: Iterable[Any] = ()) -> list[NodeGroup]:
    """One NodeGroup per scalable unit and per other host function, sorted by name."""
    members: dict[str, dict[str, Any]] = {f"su{i}": {} for i in range(1, bp.compute.scalable_units + 1)}
    for host in hosts:
        members.setdefault(_group_of(host), {})[host.hostname] = _host_vars(host)
    variables = group_variables(bp, region)
    return [
        NodeGroup(name, {"all": {"children": {name: {"hosts": dict(sorted(m.items()))}}}}, variables)
        for name, m in sorted(members.items())
    ]
