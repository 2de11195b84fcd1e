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
from aifactory.render.inventory import HostLike, compute_hosts, group_name, topology_switches

TEMPLATES = resources.roles_dir() / "slurm_common" / "templates"
FILES = ("slurm.conf", "gres.conf", "topology.conf", "cgroup.conf")


@dataclass(frozen=True)
class Partition:
    """A Slurm partition as the blueprint states it: all compute nodes or the first `nodes` of them."""

    name: str
    nodes: str | int = "all"
    default: bool = False
    max_time: str = "INFINITE"


# The Slurm slurm_vars renders for when not told: Debian 12 bookworm's slurm-wlm. The blueprint's own choice
# (distribution packages or a build of the `software.slurm` pin) is aifactory.render.slurm_install's.
DISTRIBUTION_SLURM = "22.05"
# topology/block (one block per NVLink domain) arrived in Slurm 23.11.
BLOCK_TOPOLOGY_SINCE = (23, 11)
# RealMemory is this share of the installed memory: the firmware and kernel keep 1-2 % (MemTotal, which
# `slurmd -C` reports, is below the DIMM total) and the rest stays with the OS, slurmd and the page cache
# outside jobs. A RealMemory above what slurmd reports drains the node, so the figure must stay below it.
MEMORY_RESERVE = 0.05


@dataclass(frozen=True)
class NodeShape:
    """A node SKU's host as Slurm's node line states it (from the catalogue: `cpu` and `memory_gib`)."""

    sockets: int
    cores_per_socket: int
    threads_per_core: int
    memory_gib: int

    @property
    def cores(self) -> int:
        return self.sockets * self.cores_per_socket

    @property
    def cpus(self) -> int:
        return self.cores * self.threads_per_core

    @property
    def real_memory_mb(self) -> int:
        """Installed memory less MEMORY_RESERVE, in MiB rounded down to whole GiB."""
        return int(self.memory_gib * (1 - MEMORY_RESERVE)) * 1024


@dataclass(frozen=True)
class FabricShape:
    """What topology.conf needs of the compute fabric design (`aifactory.design.fabric.ComputeFabric`): the
    tiers, node slots per scalable unit, node ports per leaf, rails, the NVLink domain size in nodes, and how
    SUs group into pods (one spine group each) and pods into blocks (one core group each, four tiers)."""

    tiers: int
    slots_per_su: int
    leaf_down: int
    rails: int
    nvlink_domain_nodes: int = 1
    sus_per_pod: int = 1
    pods_per_block: int = 0


def _version(text: str) -> tuple[int, int]:
    major, _, minor = text.partition(".")
    return int(major), int(minor or 0)


def _files(first: int, last: int) -> str:
    return f"[{first}-{last}]" if last > first else str(first)


def gpu_affinity(shape: NodeShape | None, gpus: int) -> list[dict[str, str]]:
    """gres.conf's device groups of one node: device numbers and the Slurm core range they are bound to. The
    GPUs split evenly over the sockets in order (DGX/HGX boards hang half the GPUs off each CPU; a GB200 tray has
    two GPUs per Grace), each group bound to its socket's cores; without a shape, or when the GPUs do not split
    evenly, one group with no binding."""
    if not gpus:
        return []
    if shape is None or gpus % shape.sockets:
        return [{"file": _files(0, gpus - 1), "cores": ""}]
    per = gpus // shape.sockets
    out = []
    for s in range(shape.sockets):
        cores = f"{s * shape.cores_per_socket}-{(s + 1) * shape.cores_per_socket - 1}"
        out.append({"file": _files(s * per, s * per + per - 1), "cores": cores})
    return out


def fabric_switches(hosts: Sequence[HostLike], fabric: FabricShape) -> list[dict[str, str]]:
    """Slurm's tree from the rail-optimized fabric, with one root that reaches every node.

    In a rail-optimized scalable unit, node slot p reaches leaf p // leaf_down of every rail: the rails' leaves
    at one index serve the same nodes, one hop apart on any rail, so Slurm sees them as one switch (a "leaf
    group", named after the unit and index). Two tiers: every leaf reaches every spine, so one spine switch
    holds all leaf groups. Three tiers: each unit's spine group holds its leaf groups and the core tier holds the
    spine groups. One tier: one switch holds every node."""
    computes = compute_hosts(hosts)
    if fabric.tiers <= 1:
        return [{"name": "leaf", "nodes": compress(h.hostname for h in computes),
                 "comment": f"the single fabric switch (rails: {fabric.rails})"}]  # fmt: skip
    by_su: dict[int, list[str]] = {}
    for host in computes:
        by_su.setdefault(int(host.su), []).append(host.hostname)
    groups: dict[int, list[tuple[str, list[str]]]] = {}
    for su, names in sorted(by_su.items()):
        for pos, name in enumerate(names):  # compute_hosts sorts by name: slot order within the unit
            index = pos // fabric.leaf_down
            leaf = f"su{su}_leaf{index + 1}"
            if not groups.get(su) or groups[su][-1][0] != leaf:
                groups.setdefault(su, []).append((leaf, []))
            groups[su][-1][1].append(name)
    leaves = []
    for su, items in groups.items():
        for index, (leaf, names) in enumerate(items, start=1):
            comment = f"leaf {index} of each of the {fabric.rails} rails in SU {su}"
            leaves.append({"name": leaf, "nodes": compress(names), "comment": comment})
    if fabric.tiers == 2:
        top = {"name": "spine", "switches": compress(s["name"] for s in leaves), "comment": "the spine tier"}
        return [*leaves, top]
    if fabric.sus_per_pod <= 1:
        spines = [
            {"name": f"su{su}_spine", "switches": compress(lf for lf, _ in items), "comment": f"SU {su} spine group"}
            for su, items in groups.items()
        ]
    else:  # pods of several SUs share a spine group (docs/plan.md, "Fat trees at scale")
        pods: dict[int, list[str]] = {}
        for su, items in groups.items():
            pods.setdefault((su - 1) // fabric.sus_per_pod, []).extend(leaf for leaf, _ in items)
        per = fabric.sus_per_pod
        spines = [
            {"name": f"pod{pod + 1}_spine", "switches": compress(names),
             "comment": f"pod {pod + 1} spine group (SUs {pod * per + 1}-{(pod + 1) * per})"}
            for pod, names in sorted(pods.items())
        ]
    if fabric.tiers == 4 and fabric.pods_per_block:
        blocks: dict[int, list[str]] = {}
        for index, spine in enumerate(spines):
            blocks.setdefault(index // fabric.pods_per_block, []).append(spine["name"])
        cores = [
            {"name": f"block{b + 1}_core", "switches": compress(names), "comment": f"block {b + 1} core group"}
            for b, names in sorted(blocks.items())
        ]
        top = {"name": "top", "switches": compress(c["name"] for c in cores), "comment": "the top tier"}
        return [*leaves, *spines, *cores, top]
    top = {"name": "core", "switches": compress(s["name"] for s in spines), "comment": "the core tier"}
    return [*leaves, *spines, top]


def nvlink_blocks(hosts: Sequence[HostLike], fabric: FabricShape) -> list[dict[str, str]]:
    """One block per NVLink domain (an NVL72 rack): the compute hosts of each rack, where a domain spans
    several nodes."""
    if fabric.nvlink_domain_nodes <= 1:
        return []
    racks: dict[str, list[str]] = {}
    for host in compute_hosts(hosts):
        racks.setdefault(group_name(str(host.rack)), []).append(host.hostname)
    return [{"name": f"nvl_{rack}", "nodes": compress(names)} for rack, names in sorted(racks.items())]


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
    shape: NodeShape | None = None,
    fabric: FabricShape | None = None,
    slurm_version: str = DISTRIBUTION_SLURM,
) -> dict[str, Any]:
    """`slurm_common_*` variables for the inventory: nodes, partitions and the topology.

    `shape` (the node SKU's, from the catalogue) writes Sockets, CoresPerSocket, ThreadsPerCore and RealMemory
    on every node line, `Cores=` per GPU in gres.conf, and DefCpuPerGPU/DefMemPerGPU; without it `cpus` and
    `memory_mb` (0: not written) size the nodes. `fabric` (the compute fabric design) builds the tree from the
    rail-optimized leaves, spines and cores, and NVLink-domain blocks where `slurm_version` has topology/block;
    without it the tree is a leaf per rack under the scalable units."""
    computes = compute_hosts(hosts)
    controllers = [h for h in hosts if "slurm-controller" in h.functions]
    if not controllers or not computes:
        raise ValueError("a Slurm cluster needs a slurm-controller host and at least one compute host")
    names = [h.hostname for h in computes]
    nodes = []
    for h in computes:
        node: dict[str, Any] = {
            "name": h.hostname,
            "addr": str(h.inband_ip or h.hostname),
            "cpus": cpus,
            "memory_mb": memory_mb,
            "gpus": int(h.gpus),
            "gpu_type": _gpu_type(h.gpu_model),
        }
        if shape is not None:
            node.update(
                cpus=0,
                memory_mb=shape.real_memory_mb,
                sockets=shape.sockets,
                cores_per_socket=shape.cores_per_socket,
                threads_per_core=shape.threads_per_core,
            )
        node["gres"] = gpu_affinity(shape, int(h.gpus))
        nodes.append(node)
    parts = [
        {
            "name": p.name,
            "nodes": compress(names if p.nodes == "all" else names[: int(p.nodes)]),
            "default": p.default,
            "max_time": p.max_time,
        }
        for p in partitions
    ]
    switches: list[dict[str, str]] = []
    blocks: list[dict[str, str]] = []
    notes: list[str] = []
    plugin = ""
    if topology:
        switches = fabric_switches(hosts, fabric) if fabric else topology_switches(hosts)
        plugin = "topology/tree"
        domains = nvlink_blocks(hosts, fabric) if fabric else []
        if domains and _version(slurm_version) >= BLOCK_TOPOLOGY_SINCE:
            blocks, switches, plugin = domains, [], "topology/block"
        elif domains:
            notes.append(
                f"Slurm {slurm_version} has no topology/block (since "
                f"{'.'.join(map(str, BLOCK_TOPOLOGY_SINCE))}): the {len(domains)} NVLink domains "
                f"({fabric.nvlink_domain_nodes if fabric else 0} nodes each) are not a scheduling unit; "
                "the tree below places jobs by fabric switch only"
            )
    gpus = int(computes[0].gpus)
    return {
        "slurm_common_cluster_name": cluster_name,
        "slurm_common_controller": controllers[0].hostname,
        "slurm_common_controller_addr": str(controllers[0].inband_ip or controllers[0].hostname),
        "slurm_common_nodes": nodes,
        "slurm_common_partitions": parts,
        "slurm_common_topology_plugin": plugin,
        "slurm_common_switches": switches,
        "slurm_common_blocks": blocks,
        "slurm_common_topology_notes": notes,
        "slurm_common_def_cpu_per_gpu": shape.cpus // gpus if shape and gpus else 0,
        "slurm_common_def_mem_per_gpu": shape.real_memory_mb // gpus if shape and gpus else 0,
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
