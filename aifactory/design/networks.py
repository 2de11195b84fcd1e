"""Every network of the factory as switch tiers and links: compute (rail-optimized) plus storage, in-band
and out-of-band management (plain fat trees sized from their endpoints)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from aifactory.blueprint.fabric import Network
from aifactory.catalog import Catalog, NodeSku
from aifactory.design.clos import Clos, generic
from aifactory.design.fabric import ComputeFabric, radix_at
from aifactory.design.optics import cable_type, modules_for, nic_optic, switch_optic


@dataclass(frozen=True, slots=True)
class Net:
    """One network's switches and links, as counts (the cabling plan enumerates them)."""

    name: str  # compute | storage | inband | oob
    switch: str
    link_speed: int
    switch_counts: dict[str, int]  # tier -> switches
    links: dict[str, int]  # "node-leaf", "leaf-spine", "spine-core" -> cables
    ports_used: dict[str, int]  # tier -> ports used on each switch (the most any uses)
    radix: int
    endpoints: int
    clos: Clos | None

    @property
    def switches(self) -> int:
        return sum(self.switch_counts.values())

    @property
    def cables(self) -> int:
        return sum(self.links.values())


def from_compute(fab: ComputeFabric) -> Net:
    counts = {"leaf": fab.leaf_switches, "spine": fab.spine_switches, "core": fab.core_switches}
    links = {
        "node-leaf": fab.node_links,
        "leaf-spine": fab.leaf_spine_links,
        "spine-core": fab.spine_core_links,
    }
    if fab.top_switches:  # four tiers
        counts["top"] = fab.top_switches
        links["core-top"] = fab.core_top_links
    return Net(
        "compute",
        fab.switch,
        fab.link_speed,
        counts,
        links,
        fab.ports_used(),
        fab.radix,
        fab.node_links,
        fab.clos,
    )


def from_clos(name: str, switch: str, speed: int, radix: int, endpoints: int, clos: Clos | None) -> Net:
    if clos is None:
        return Net(name, switch, speed, {}, {"node-leaf": endpoints}, {}, radix, endpoints, None)
    counts = {"leaf": clos.leaves, "spine": clos.spines, "core": clos.cores}
    links = {"node-leaf": endpoints, "leaf-spine": clos.leaf_spine_links, "spine-core": clos.spine_core_links}
    used = {"leaf": min(endpoints, clos.leaf_down) + clos.leaf_up}
    if clos.tiers >= 2:
        used["spine"] = clos.spine_down + (clos.spine_up if clos.tiers == 3 else 0)
    if clos.tiers == 3:
        used["core"] = clos.core_down
    return Net(name, switch, speed, counts, links, used, radix, endpoints, clos)


def size_network(cat: Catalog, name: str, net: Network, endpoints: int) -> Net:
    sw = cat.switches[net.switch]
    radix = radix_at(sw.ports, sw.port_speed_gbps, net.link_speed)
    return from_clos(
        name, net.switch, net.link_speed, radix, endpoints, generic(endpoints, radix, net.oversubscription)
    )


def storage_server_ports(read_gbs: float, write_gbs: float, speed: int) -> int:
    """Ports the file system's servers need for its rated throughput, storage side at 1:1 (RA-11333-001)."""
    return max(2, math.ceil(max(read_gbs, write_gbs) * 8 / speed))


def node_port_speed(sku_speed: int, link_speed: int) -> int:
    return min(sku_speed, link_speed)


def switch_power(cat: Catalog, net: Net) -> float:
    """Switches at catalogue maximum plus their transceivers (node-facing multimode, the rest single-mode)."""
    sw = cat.switches[net.switch]
    watts = net.switches * sw.max_power_w
    return watts + optics_power(cat, net)


def optics_counts(cat: Catalog, net: Net) -> dict[str, int]:
    """Switch-side transceivers by catalogue id: node-facing and switch-to-switch ports."""
    counts: dict[str, int] = {}
    node_ports = net.links.get("node-leaf", 0)
    fabric_ports = 2 * sum(n for kind, n in net.links.items() if kind != "node-leaf")
    for ports, media in ((node_ports, "multimode"), (fabric_ports, "single-mode")):
        optic = switch_optic(cat, net.link_speed, media)
        if optic and ports:
            counts[optic[0]] = counts.get(optic[0], 0) + modules_for(ports, optic)
    return counts


def optics_power(cat: Catalog, net: Net) -> float:
    return sum(cat.transceivers[tid].power_w * n for tid, n in optics_counts(cat, net).items())


def cable_counts(net: Net) -> dict[str, int]:
    out: dict[str, int] = {}
    for kind, n in net.links.items():
        if n:
            media = "multimode" if kind == "node-leaf" else "single-mode"
            key = cable_type(net.link_speed, media)
            out[key] = out.get(key, 0) + n
    return out


def node_nic_watts(
    cat: Catalog, sku: NodeSku, compute_speed: int, planes: int, storage_speed: int | None
) -> float:
    """NIC and NIC-side optics power a node adds to its catalogue maximum."""
    watts = sku.nic_power_w * sku.compute_nics
    optic = nic_optic(cat, compute_speed)
    if optic:
        watts += optic[1].power_w * sku.compute_nics * planes
    if storage_speed:
        s_optic = nic_optic(cat, node_port_speed(sku.storage_port_speed_gbps, storage_speed))
        if s_optic:
            watts += s_optic[1].power_w * sku.storage_ports
    return watts
