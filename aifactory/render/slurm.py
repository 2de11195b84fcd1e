"""Slurm configuration: the role variables of `slurm_common`, and the files its templates make from them.

The templates live in the role (`roles/slurm_common/templates/`, shipped in the package) and are plain
Jinja, so this module renders the very same files the role writes: a golden test or `slurmd -G` can check
them without a host.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jinja2

from aifactory import resources
from aifactory.render.hostlist import compress
from aifactory.render.inventory import HostLike, compute_hosts, topology_switches

TEMPLATES = resources.roles_dir() / "slurm_common" / "templates"
FILES = ("slurm.conf", "gres.conf", "topology.conf", "cgroup.conf")


@dataclass(frozen=True)
class Partition:
    """A Slurm partition as the blueprint states it: all compute nodes or the first `nodes` of them."""

    name: str
    nodes: str | int = "all"
    default: bool = False
    max_time: str = "INFINITE"


def _gpu_type(model: str | None) -> str:
    # gres type names are short identifiers: "H100-SXM" -> "h100_sxm".
    return "".join(c if c.isalnum() else "_" for c in (model or "gpu").lower())


def slurm_vars(
    hosts: Sequence[HostLike],
    *,
    cluster_name: str,
    partitions: Sequence[Partition],
    cpus: int = 0,
    memory_mb: int = 0,
    topology: bool = True,
) -> dict[str, Any]:
    """`slurm_common_*` variables for the inventory: nodes, partitions and the topology tree."""
    computes = compute_hosts(hosts)
    controllers = [h for h in hosts if "slurm-controller" in h.functions]
    if not controllers or not computes:
        raise ValueError("a Slurm cluster needs a slurm-controller host and at least one compute host")
    names = [h.hostname for h in computes]
    nodes = [
        {
            "name": h.hostname,
            "addr": str(h.inband_ip or h.hostname),
            "cpus": cpus,
            "memory_mb": memory_mb,
            "gpus": int(h.gpus),
            "gpu_type": _gpu_type(h.gpu_model),
        }
        for h in computes
    ]
    parts = [
        {
            "name": p.name,
            "nodes": compress(names if p.nodes == "all" else names[: int(p.nodes)]),
            "default": p.default,
            "max_time": p.max_time,
        }
        for p in partitions
    ]
    return {
        "slurm_common_cluster_name": cluster_name,
        "slurm_common_controller": controllers[0].hostname,
        "slurm_common_controller_addr": str(controllers[0].inband_ip or controllers[0].hostname),
        "slurm_common_nodes": nodes,
        "slurm_common_partitions": parts,
        "slurm_common_switches": topology_switches(hosts) if topology else [],
    }


def role_defaults() -> dict[str, Any]:
    """The role's own defaults, so a render here matches what Ansible renders."""
    import yaml

    data = yaml.safe_load((TEMPLATES.parent / "defaults" / "main.yml").read_text())
    return {k: v for k, v in data.items() if not (isinstance(v, str) and "{{" in v)}


def render_slurm(variables: Mapping[str, Any]) -> dict[str, str]:
    """The four configuration files, keyed by name."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,  # Ansible's template module trims blocks too: same bytes both ways
        keep_trailing_newline=True,
    )
    context = {**role_defaults(), **variables}
    return {name: env.get_template(f"{name}.j2").render(context) for name in FILES}
