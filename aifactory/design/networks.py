"""Every network of the factory as switch tiers and links: compute (rail-optimized, aifactory.design.fabric),
storage (node leaves near 4:3, storage leaves 1:1, aifactory.design.storage), in-band management (leaf pairs and
two spines) and out-of-band management (one tier of 1G switches uplinked into the in-band network).

Sizing rules and their sources: docs/plan.md, "How the numbers are derived".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from aifactory.blueprint.fabric import Network
from aifactory.catalog import Catalog, NodeSku, Switch
from aifactory.design.clos import Clos, generic
from aifactory.design.fabric import ComputeFabric, radix_at
from aifactory.design.optics import OPTICAL_FROM_GBPS, cable_type, nic_optic, switch_optic

# In-band management (RA-11333-001 Table 8, 4 SU: 8 SN4600C = 6 leaves + 2 spines, 24 leaf-core cables, 6 ISL
# cables): leaves come in pairs joined by two inter-switch links (a dual-homed host has one port on each leaf of a
# pair), every leaf has two uplinks to each of two spines.
INBAND_ISL_PER_LEAF = 2
INBAND_SPINES = 2
INBAND_UPLINKS_PER_SPINE = 2
# Out-of-band: one 1G switch serves at most this many compute racks, so its Cat5e runs stay in the neighbouring
# racks (RA-11333-001 Table 7: 8 SN2201 for 32 compute racks; RA-11334-001 (B200) Figure 3.2: 16 for 64), and it
# uplinks with this many 100G ports into the in-band network (RA-11333-001 Table 8: "two uplinks per OOB").
OOB_RACKS_PER_SWITCH = 4
OOB_UPLINKS = 2


@dataclass(frozen=True, slots=True)
class LeafGroup:
    """Leaves of one kind: `count` switches, each with at most `down` endpoint ports and `up` uplinks.

    `copper_down`: the endpoints sit in the leaf's own rack (storage arrays, management servers beside the storage
    leaves) and use direct-attach copper, so those ports need no transceiver.
    """

    role: str  # node | storage | host
    count: int
    down: int
    up: int
    endpoints: int
    copper_down: bool = False


@dataclass(frozen=True, slots=True)
class Net:
    """One network's switches and links, as counts (the cabling plan enumerates them).

    A fat tree from `clos` (the compute fabric, or a network with an explicit oversubscription), or leaf groups
    under `spines` spines (storage, in-band, out-of-band)."""

    name: str  # compute | storage | inband | oob
    switch: str
    link_speed: int
    switch_counts: dict[str, int]  # tier -> switches
    links: dict[str, int]  # "node-leaf", "leaf-spine", "spine-core", "isl", "uplink" -> links
    ports_used: dict[str, int]  # tier -> ports used on each switch (the most any uses)
    radix: int
    endpoints: int
    clos: Clos | None
    groups: tuple[LeafGroup, ...] = ()
    spines: int = 0
    tiers: int = 0
    fits: bool = True
    uplinks: int = 0  # per switch, into another network (OOB into in-band)
    uplink_speed: int = 0
    planes: int = 1
    # physical cables per link kind where one cable carries several links (a twin-plane 800G port: 2 x 400G)
    cables_per_kind: dict[str, int] = field(default_factory=dict)
    shared_cables: int = 0  # endpoint links whose cable another network counts (OOB uplinks on in-band leaves)
    in_rack: bool = False  # a single-rack site: every run stays in the rack

    def cable_for(self, speed: int) -> str:
        """The cable of a link at `speed`: AOC runs become direct-attach copper inside one rack."""
        kind = cable_type(speed, "multimode")
        return "copper-dac" if self.in_rack and kind == "aoc" else kind

    @property
    def switches(self) -> int:
        return sum(self.switch_counts.values())

    @property
    def cables(self) -> int:
        return sum(self.cable_counts_by_kind().values())

    def link_counts(self) -> dict[str, int]:
        """Links by kind, each cabled once: node-leaf (less the OOB uplinks the OOB network counts), leaf-spine,
        spine-core, isl (in-band leaf pairs), uplink (OOB switches into the in-band network)."""
        out = {k: n for k, n in self.links.items() if n}
        if self.shared_cables and "node-leaf" in out:
            out["node-leaf"] -= self.shared_cables
        if self.uplinks:
            out["uplink"] = self.switches * self.uplinks
        return {k: n for k, n in out.items() if n}

    def cable_counts_by_kind(self) -> dict[str, int]:
        out = {k: self.cables_per_kind.get(k, n) for k, n in self.links.items() if n}
        if self.shared_cables and "node-leaf" in out:
            out["node-leaf"] -= self.shared_cables
        return {k: n for k, n in out.items() if n}


def _twin_plane_cables(fab: ComputeFabric, cat: Catalog, sku: NodeSku) -> dict[str, int]:
    """Cables where one cable carries several plane links: a twin-plane fabric whose NIC port runs at the planes'
    sum (ConnectX-8 800G into two 400G planes) has one cable per NIC port, and an Ethernet switch's 800G cage
    carries two 400G links (B300 on Spectrum-X: RA-11337-001 Table 3 counts 512 node-leaf and 512 leaf-spine
    cables per 64-node SU, against 1,024 400G plane links each)."""
    if fab.planes < 2 or sku.compute_nic_speed_gbps < fab.link_speed * fab.planes:
        return {}
    sw = cat.switches[fab.switch]
    per_cage = max(1, sw.ports // max(1, sw.cages)) if sw.fabric == "ethernet" else 1
    return {
        "node-leaf": fab.node_links // fab.planes,
        "leaf-spine": fab.leaf_spine_links // per_cage,
        "spine-core": fab.spine_core_links // per_cage,
        "core-top": fab.core_top_links // per_cage,
    }


def from_compute(fab: ComputeFabric, cat: Catalog | None = None, sku: NodeSku | None = None) -> Net:
    counts = {"leaf": fab.leaf_switches, "spine": fab.spine_switches, "core": fab.core_switches}
    links = {
        "node-leaf": fab.node_links,
        "leaf-spine": fab.leaf_spine_links,
        "spine-core": fab.spine_core_links,
    }
    if fab.top_switches:  # four tiers
        counts["top"] = fab.top_switches
        links["core-top"] = fab.core_top_links
    cables = _twin_plane_cables(fab, cat, sku) if cat is not None and sku is not None else {}
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
        tiers=fab.tiers,
        fits=fab.fits,
        planes=fab.planes,
        cables_per_kind=cables,
    )


def from_clos(name: str, switch: str, speed: int, radix: int, endpoints: int, clos: Clos | None) -> Net:
    if clos is None:
        return Net(name, switch, speed, {}, {"node-leaf": endpoints}, {}, radix, endpoints, None, fits=False)
    counts = {"leaf": clos.leaves, "spine": clos.spines, "core": clos.cores}
    links = {"node-leaf": endpoints, "leaf-spine": clos.leaf_spine_links, "spine-core": clos.spine_core_links}
    used = {"leaf": min(endpoints, clos.leaf_down) + clos.leaf_up}
    if clos.tiers >= 2:
        used["spine"] = clos.spine_down + (clos.spine_up if clos.tiers == 3 else 0)
    if clos.tiers == 3:
        used["core"] = clos.core_down
    return Net(name, switch, speed, counts, links, used, radix, endpoints, clos, tiers=clos.tiers)


def from_groups(
    name: str, switch: str, speed: int, radix: int, groups: tuple[LeafGroup, ...], spines: int, **extra: int
) -> Net:
    """A leaf-spine network of leaf groups; every leaf's uplinks split evenly over the spines."""
    leaves = sum(g.count for g in groups)
    endpoints = sum(g.endpoints for g in groups)
    isl = extra.get("isl", 0)
    links = {"node-leaf": endpoints, "leaf-spine": sum(g.count * g.up for g in groups)}
    if isl:
        links["isl"] = isl
    used = {"leaf": max((g.down + g.up for g in groups), default=0) + (INBAND_ISL_PER_LEAF if isl else 0)}
    counts = {"leaf": leaves, "spine": spines, "core": 0}
    if spines:
        used["spine"] = sum(g.count * (g.up // spines) for g in groups)
    return Net(
        name,
        switch,
        speed,
        counts,
        links,
        used,
        radix,
        endpoints,
        None,
        groups=groups,
        spines=spines,
        tiers=2 if spines else 1,
        uplinks=extra.get("uplinks", 0),
        uplink_speed=extra.get("uplink_speed", 0),
    )


def explicit_ratio(net: Network) -> bool:
    """True when the blueprint asks for an oversubscription on this network (then it is a plain fat tree)."""
    return "oversubscription" in net.model_fields_set


def size_network(cat: Catalog, name: str, net: Network, endpoints: int) -> Net:
    """A plain fat tree over `endpoints` ports at the blueprint's oversubscription."""
    sw = cat.switches[net.switch]
    radix = radix_at(sw.ports, sw.port_speed_gbps, net.link_speed)
    return from_clos(
        name, net.switch, net.link_speed, radix, endpoints, generic(endpoints, radix, net.oversubscription)
    )


def size_inband(cat: Catalog, net: Network, endpoints: int, dual_homed: bool = True) -> Net:
    """In-band management: one leaf pair when the endpoints fit it, else leaf pairs with two uplinks to each of
    two spines (RA-11333-001 Table 8). Heavily oversubscribed by design: management and user traffic, not the
    training fabric. An explicit `oversubscription` in the blueprint builds a plain fat tree instead."""
    if explicit_ratio(net):
        return size_network(cat, "inband", net, endpoints)
    sw = cat.switches[net.switch]
    radix = radix_at(sw.ports, sw.port_speed_gbps, net.link_speed)
    pair_down = radix - INBAND_ISL_PER_LEAF
    if endpoints <= (2 * pair_down if dual_homed else radix):
        leaves = 2 if dual_homed else 1  # hosts with two in-band ports (bonded) reach both leaves of a pair
        group = LeafGroup("host", leaves, math.ceil(endpoints / leaves), 0, endpoints)
        return from_groups("inband", net.switch, net.link_speed, radix, (group,), 0,
                           isl=INBAND_ISL_PER_LEAF if leaves == 2 else 0)
    up = INBAND_SPINES * INBAND_UPLINKS_PER_SPINE
    down = radix - up - INBAND_ISL_PER_LEAF
    leaves = 2 * math.ceil(endpoints / (2 * down))
    if leaves * INBAND_UPLINKS_PER_SPINE > radix:  # beyond two spines' ports: a plain fat tree
        return size_network(cat, "inband", net, endpoints)
    group = LeafGroup("host", leaves, math.ceil(endpoints / leaves), up, endpoints)
    return from_groups("inband", net.switch, net.link_speed, radix, (group,), INBAND_SPINES,
                       isl=leaves // 2 * INBAND_ISL_PER_LEAF)


def size_oob(cat: Catalog, net: Network, endpoints: int, compute_racks: int) -> Net:
    """Out-of-band: one tier of 1G switches, enough for the ports and one per OOB_RACKS_PER_SWITCH compute racks,
    each uplinked with two 100G ports into the in-band network (RA-11333-001 Tables 7-8). A switch without
    uplink ports (or an explicit oversubscription) builds a plain fat tree of its own ports instead."""
    sw = cat.switches[net.switch]
    if explicit_ratio(net) or sw.uplink_ports < OOB_UPLINKS:
        return size_network(cat, "oob", net, endpoints)
    radix = radix_at(sw.ports, sw.port_speed_gbps, net.link_speed)
    count = max(1, math.ceil(endpoints / radix), math.ceil(compute_racks / OOB_RACKS_PER_SWITCH))
    group = LeafGroup("host", count, math.ceil(endpoints / count), 0, endpoints)
    return from_groups("oob", net.switch, net.link_speed, radix, (group,), 0,
                       uplinks=OOB_UPLINKS, uplink_speed=sw.uplink_speed_gbps)


def storage_server_ports(read_gbs: float, write_gbs: float, speed: int) -> int:
    """Switch ports the file system's servers need for its rated throughput at line rate, on the storage side at
    1:1 (RA-11333-001: "storage devices are connected at a 1:1 port to uplink ratio"); even, so that dual-ported
    servers land on two leaves."""
    ports = max(2, math.ceil(max(read_gbs, write_gbs) * 8 / speed - 1e-9))
    return ports + ports % 2


def node_port_speed(sku_speed: int, link_speed: int) -> int:
    return min(sku_speed, link_speed)


def _per_switch_ports(net: Net) -> list[tuple[int, int, int]]:
    """(switches, optical ports on each, copper ports on each) per tier of switches."""
    optical = net.link_speed >= OPTICAL_FROM_GBPS
    if not optical:
        return []
    rows: list[tuple[int, int, int]] = []
    if net.groups:
        for g in net.groups:
            isl = INBAND_ISL_PER_LEAF if net.links.get("isl") else 0
            if g.copper_down:
                rows.append((g.count, g.up, g.down + isl))
            else:
                rows.append((g.count, g.down + g.up, isl))
        if net.spines:
            rows.append((net.spines, net.ports_used.get("spine", 0), 0))
        return rows
    for tier in ("leaf", "spine", "core", "top"):
        n = net.switch_counts.get(tier, 0)
        if n:
            rows.append((n, net.ports_used.get(tier, 0), 0))
    return rows


def optics_counts(cat: Catalog, net: Net) -> dict[str, int]:
    """Switch-side transceivers by catalogue id: every optical port of every switch, in twin-port cages where the
    switch has them, counted per switch (RA-11333-001 Table 8: 1,536 for 32 leaves and 16 spines, every cage of a
    leaf using 63 or 64 ports). All multimode: node-leaf and leaf-spine runs stay within the hall (Table 8: "All
    networking components are multi-mode fiber")."""
    optic = switch_optic(cat, net.link_speed, "multimode")
    if optic is None:
        return {}
    per = optic[1].ports
    total = sum(n * math.ceil(ports / per) for n, ports, _ in _per_switch_ports(net))
    return {optic[0]: total} if total else {}


def optics_power(cat: Catalog, net: Net) -> float:
    return sum(cat.transceivers[tid].power_w * n for tid, n in optics_counts(cat, net).items())


def switch_power(cat: Catalog, net: Net) -> float:
    """Switches at catalogue maximum, plus their transceivers unless the maximum already includes them
    (QM9700: 1,720 W "with active cables")."""
    sw: Switch = cat.switches[net.switch]
    watts = net.switches * sw.max_power_w
    return watts if sw.power_includes_optics else watts + optics_power(cat, net)


def cable_counts(net: Net) -> dict[str, int]:
    """Cables by type ("fiber-multimode-400g", "copper-dac-100g", ...), as they are ordered."""
    out: dict[str, int] = {}

    def add(kind: str, speed: int, n: int) -> None:
        if n:
            out[f"{kind}-{speed}g"] = out.get(f"{kind}-{speed}g", 0) + n

    by_kind = net.cable_counts_by_kind()
    copper_storage = sum(g.endpoints for g in net.groups if g.copper_down)
    for kind, n in by_kind.items():
        speed = net.link_speed
        if kind in ("node-leaf", "leaf-spine", "spine-core") and net.cables_per_kind.get(kind):
            speed = net.link_speed * net.links[kind] // max(1, n)
        if kind == "isl":
            add("copper-dac", net.link_speed, n)  # the two leaves of a pair sit side by side
        elif kind == "node-leaf" and copper_storage:
            add(net.cable_for(speed), speed, n - copper_storage)
            add("copper-dac", speed, copper_storage)
        else:
            add(net.cable_for(speed), speed, n)
    if net.uplinks:
        add(net.cable_for(net.uplink_speed), net.uplink_speed, net.switches * net.uplinks)
    return out


def node_nic_watts(
    cat: Catalog, sku: NodeSku, compute_speed: int, planes: int, storage_speed: int | None
) -> float:
    """NIC and NIC-side optics power a node adds to its catalogue maximum: none for an integrated system whose
    maximum already covers them (DGX: the system's input rating)."""
    if sku.max_power_includes_nics:
        return 0.0
    watts = sku.nic_power_w * sku.compute_nics
    optic = nic_optic(cat, compute_speed)
    if optic:
        watts += optic[1].power_w * sku.compute_nics * planes
    if storage_speed:
        s_optic = nic_optic(cat, node_port_speed(sku.storage_port_speed_gbps, storage_speed), "storage")
        if s_optic:
            watts += s_optic[1].power_w * sku.storage_ports
    return watts


def node_transceivers(
    cat: Catalog, sku: NodeSku, nodes: int, compute_speed: int, planes: int, storage_speed: int | None
) -> dict[str, int]:
    """Node-side transceivers by catalogue id: one per twin-port cage on DGX-style nodes (RA-11333-001 Table 8:
    508 for 127 DGX H100), else one per compute NIC and plane; one per storage port."""
    out: dict[str, int] = {}
    if sku.compute_nic_cages and compute_speed >= OPTICAL_FROM_GBPS:
        twin = sorted(
            tid for tid, t in cat.transceivers.items()
            if t.end == "nic" and t.ports == 2 and t.speed_gbps == compute_speed
        )
        if twin:
            out[twin[0]] = nodes * sku.compute_nic_cages * planes
    if not out:
        optic = nic_optic(cat, compute_speed)
        if optic:
            out[optic[0]] = nodes * sku.compute_nics * planes
    if storage_speed:
        s_optic = nic_optic(cat, node_port_speed(sku.storage_port_speed_gbps, storage_speed), "storage")
        if s_optic:
            out[s_optic[0]] = out.get(s_optic[0], 0) + nodes * sku.storage_ports
    return out
