"""Where nodes go: how many, which scalable unit, which rack, which rack unit."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aifactory.blueprint.cooling import RackGroup, RearDoor
from aifactory.blueprint.model import Blueprint
from aifactory.catalog import NodeSku, get_catalog
from aifactory.design.fabric import Layout, fm_slots_needed

if TYPE_CHECKING:
    from aifactory.design.plan import Plan

RACK_UNITS = 42  # height of a standard 19-inch rack (EIA-310), in rack units
FIRST_UNIT = 3  # U1-U2 stay free for cable management and the PDU feed
# Rack units a compute rack offers to devices: U3 to U42. PDUs are vertical (0U) strips at the rear, so they take
# none of these (an assumption: horizontal 1U PDUs would take one unit each).
USABLE_UNITS = RACK_UNITS - FIRST_UNIT + 1


def rack_feed(group: RackGroup) -> float:
    """The electrical feed per rack: `power_limit` when set (0 kW means no power at all), else the capacity."""
    return group.power_limit if group.power_limit is not None else group.capacity


def rack_heat_limit(group: RackGroup) -> float:
    """Heat a rack of `group` may make: its capacity, and for passive rear doors (`active: false`) no more than
    the catalogue's passive figure (REFERENCE-DATA.md s5: passive up to ~35 kW)."""
    if isinstance(group, RearDoor) and not group.active:
        passive = get_catalog().cooling["rear-door"].passive_max_rack_kw
        if passive is not None:
            return min(group.capacity, passive * 1e3)
    return group.capacity


def rack_budget(group: RackGroup) -> float:
    """What one rack of `group` may hold in watts: the lower of its heat limit and its feed."""
    return min(rack_heat_limit(group), rack_feed(group))


def compute_group(bp: Blueprint) -> RackGroup:
    """The rack group that holds compute nodes (the first one that says so, else the first)."""
    for group in bp.cooling.rack_groups:
        if "compute" in group.holds:
            return group
    return bp.cooling.rack_groups[0]


def network_group(bp: Blueprint) -> RackGroup:
    for group in bp.cooling.rack_groups:
        if "fabric" in group.holds:
            return group
    return compute_group(bp)


def layout_of(bp: Blueprint, sku: NodeSku) -> Layout:
    """Nodes and SUs. Default nodes: every slot of every SU less the fabric manager's slots (RA-11333-001:
    31 DGX in a 1-SU pod, 63 in 2 SUs; none for NVLink-domain racks). An explicit `compute.nodes` sets the
    total; SUs grow to hold it."""
    c, fab = bp.compute, bp.fabric.compute
    rails = fab.rails or sku.compute_nics
    fm = fab.fabric_manager
    # A rack-scale NVLink domain (NVL72) cannot give up a tray: its SU's leaves hold the fabric manager's ports on
    # their spare ports instead (checked as ports-exhausted when there are none). Physics review item 14.
    fm_slots = fm_slots_needed(fm.appliances, fm.ports, rails) if sku.nvlink_domain_nodes <= 1 else 0
    if c.nodes is None:
        nodes = max(1, c.scalable_units * c.nodes_per_su - fm_slots)
        sus = c.scalable_units
    else:
        nodes = c.nodes
        sus = max(c.scalable_units, math.ceil(nodes / c.nodes_per_su))
    return Layout(nodes, sus, c.nodes_per_su, rails, fm.appliances, fm.ports, sku.nvlink_domain_nodes)


@dataclass(frozen=True, slots=True)
class Racks:
    nodes_per_rack: int
    racks_per_su: int
    compute_racks: int
    node_units: int  # rack units per node

    def rack_of(self, node: int, slots_per_su: int) -> tuple[int, int]:
        """(0-based compute rack, lowest rack unit) of node `node`; racks never straddle an SU."""
        su, pos = divmod(node, slots_per_su)
        rack, place = divmod(pos, self.nodes_per_rack)
        return su * self.racks_per_su + rack, FIRST_UNIT + place * self.node_units


def nodes_per_rack(bp: Blueprint, sku: NodeSku, node_w: float) -> int:
    """Chosen in the blueprint, else an NVLink domain (rack-scale systems), else as many as the rack group's
    feed and cooling capacity allow (and the rack's height)."""
    if bp.compute.nodes_per_rack:
        return bp.compute.nodes_per_rack
    if sku.nvlink_domain_nodes > 1:
        return sku.nvlink_domain_nodes
    budget = rack_budget(compute_group(bp))
    by_power = int(budget // node_w) if node_w > 0 else RACK_UNITS
    by_space = USABLE_UNITS // max(1, sku.rack_units)
    return max(1, min(by_power, by_space))


def racks_of(bp: Blueprint, sku: NodeSku, layout: Layout, node_w: float) -> Racks:
    per_rack = nodes_per_rack(bp, sku, node_w)
    per_su = math.ceil(min(layout.slots_per_su, layout.nodes) / per_rack)
    used_sus = math.ceil(layout.nodes / layout.slots_per_su)
    last = layout.nodes - (used_sus - 1) * layout.slots_per_su
    total = (used_sus - 1) * per_su + math.ceil(last / per_rack)
    return Racks(per_rack, per_su, total, max(1, sku.rack_units))


def rack_name(index: int, width: int = 4) -> str:
    return f"r{index + 1:0{width}d}"


def rack_overhead_devices(sku: NodeSku, rack: int) -> list[str]:
    """Names of an NVLink domain rack's NVLink switch trays and power shelves (`rack` is 0-based)."""
    name = rack_name(rack)
    return [f"{name}-nvsw{k + 1:02d}" for k in range(sku.nvlink_switch_trays)] + [
        f"{name}-ps{k + 1:02d}" for k in range(sku.power_shelves)
    ]


@dataclass(frozen=True, slots=True)
class Kind:
    """Identical devices to place in network racks: `count` of `units` U at `watts` each, named name_of(i)."""

    key: str
    label: str
    units: int
    watts: float
    count: int


def pack_racks(kinds: list[Kind], budget_w: float, units: int = USABLE_UNITS) -> list[list[tuple[Kind, int, int]]]:
    """Racks for the devices, first fit in decreasing power: each kind (heaviest first) fills the free power and
    height of the racks opened so far, then opens new ones. A device above the budget takes a rack of its own.
    Returns per rack (kind, first index, count); identical devices go in blocks, so this stays fast at scale."""
    racks: list[list[tuple[Kind, int, int]]] = []
    free: list[tuple[float, int]] = []  # (watts, units) left in each rack
    order = sorted(range(len(kinds)), key=lambda i: (-kinds[i].watts, i))

    def fits(free_w: float | None, free_u: int, k: Kind) -> int:
        """How many of `k` fit; free_w None: no power limit (a 0 kW feed is a finding elsewhere)."""
        by_u = free_u // max(1, k.units)
        by_w = int(free_w // k.watts) if k.watts > 0 and free_w is not None else by_u
        return max(0, min(by_u, by_w))

    for i in order:
        k = kinds[i]
        done = 0
        for r in range(len(racks)):
            if done == k.count:
                break
            n = min(k.count - done, fits(free[r][0] if budget_w > 0 else None, free[r][1], k))
            if n:
                racks[r].append((k, done, n))
                free[r] = (free[r][0] - n * k.watts, free[r][1] - n * k.units)
                done += n
        while done < k.count:
            n = max(1, min(k.count - done, fits(budget_w if budget_w > 0 else None, units, k)))
            racks.append([(k, done, n)])
            free.append((budget_w - n * k.watts, units - n * k.units))
            done += n
    return racks


@dataclass(frozen=True, slots=True)
class Device:
    """One device in a rack elevation: lowest rack unit and height in U (0U: a vertical PDU strip)."""

    name: str
    kind: str  # node | nvlink-tray | power-shelf | switch | server
    unit: int
    height: int
    watts: float
    detail: str = ""  # model / role, for the label


@dataclass(frozen=True, slots=True)
class RackView:
    name: str
    role: str  # compute | network
    devices: tuple[Device, ...]
    pdus: int
    of_kind: int = 1  # racks like this one in the factory

    @property
    def watts(self) -> float:
        return sum(d.watts for d in self.devices)


def _stack(start: int, devices: list[tuple[str, str, int, float, str]]) -> list[Device]:
    out, unit = [], start
    for name, kind, height, watts, detail in devices:
        out.append(Device(name, kind, unit, height, watts, detail))
        unit += height
    return out


def _network_devices(p: Plan) -> list[tuple[Kind, list[str], str]]:
    """The network racks' device kinds (as power.network_kinds) with every device's name and model."""
    from aifactory.design.naming import switch_name
    from aifactory.design.power import MGMT_SERVER_W, network_kinds

    per_net = {n: (net.switch, net.switches, p.power.network_w[n]) for n, net in p.nets.items()}
    servers = len(p.mgmt) + p.layout.fm_appliances
    server_w = p.power.management_w / servers if servers else MGMT_SERVER_W
    kinds = network_kinds(p.cat, per_net, servers, server_w)
    out = []
    for k in kinds:
        if k.key == "servers":
            names = [f"fm{a + 1:02d}" for a in range(p.layout.fm_appliances)] + [h.hostname for h in p.mgmt]
            out.append((k, names, "mgmt server"))
            continue
        net = p.nets[k.key]
        planes = net.planes
        names = []
        for tier in ("core", "spine", "leaf"):
            n = net.switch_counts.get(tier, 0)
            for s in range(n):
                plane, idx = divmod(s, max(1, n // planes))
                names.append(switch_name(k.key, tier, idx, plane, planes))
        out.append((k, names, net.switch))
    return out


def rack_views(p: Plan) -> list[RackView]:
    """One rack of each type, as built: the first compute rack (nodes at their rack units, an NVLink domain's
    switch trays and power shelves above them), the last compute rack where it holds fewer nodes, and every
    network rack (switches and management servers packed as power.network_rack_count packs them). A single-rack
    site is one rack with everything. PDUs are vertical 0U strips (placement.USABLE_UNITS)."""
    from aifactory.design.naming import node_name
    from aifactory.design.power import pdus_per_rack

    racks, lay, sku = p.racks, p.layout, p.sku
    red = p.bp.cooling.redundancy
    prefix = p.bp.compute.hostname_prefix
    extra = [*rack_overhead_devices(sku, 0)]
    share = sku.rack_overhead_w / len(extra) if extra else 0.0
    trays_u = sku.rack_overhead_u // sku.nvlink_switch_trays if sku.nvlink_switch_trays else 0

    def compute_rack(r: int) -> list[Device]:
        nodes = [i for i in range(lay.nodes) if racks.rack_of(i, lay.slots_per_su)[0] == r]
        devs = [
            Device(node_name(prefix, i, lay.nodes), "node", racks.rack_of(i, lay.slots_per_su)[1],
                   racks.node_units, p.power.node_w, p.sku_id)
            for i in nodes
        ]
        top = max((d.unit + d.height for d in devs), default=FIRST_UNIT)
        over = [
            (name.replace(rack_name(0), rack_name(r)), "nvlink-tray" if "-nvsw" in name else "power-shelf",
             trays_u if "-nvsw" in name else 1, share, "NVLink switch tray" if "-nvsw" in name else "power shelf")
            for name in extra
        ]
        return devs + _stack(top, over)

    views: list[RackView] = []
    net_devices = _network_devices(p)
    if p.power.network_racks == 0:  # one rack holds everything
        devs = compute_rack(0)
        top = max((d.unit + d.height for d in devs), default=FIRST_UNIT)
        more = [(name, "switch" if k.key != "servers" else "server", k.units, k.watts, detail)
                for k, names, detail in net_devices for name in names]
        devs += _stack(top, more)
        watts = sum(d.watts for d in devs)
        return [RackView(rack_name(0), "compute", tuple(devs), pdus_per_rack(watts, red))]
    first = compute_rack(0)
    pdus = pdus_per_rack(p.power.compute_rack_w, red)
    last_index = racks.compute_racks - 1
    last = compute_rack(last_index) if last_index > 0 else []
    partial = bool(last) and len(last) != len(first)
    views.append(RackView(rack_name(0), "compute", tuple(first), pdus, racks.compute_racks - int(partial)))
    if partial:
        views.append(RackView(rack_name(last_index), "compute", tuple(last), pdus))
    packed = pack_racks([k for k, _, _ in net_devices], rack_budget(network_group(p.bp)))
    names = {k.key: (n, detail) for k, n, detail in net_devices}
    total_w = sum(k.watts * k.count for k, _, _ in net_devices)
    net_pdus = pdus_per_rack(total_w / len(packed), red) if packed else 0
    from aifactory.design.naming import network_rack_name

    for r, contents in enumerate(packed):
        items = []
        for k, start, n in contents:
            labels, detail = names[k.key]
            kind = "server" if k.key == "servers" else "switch"
            items += [(labels[start + j], kind, k.units, k.watts, detail) for j in range(n)]
        views.append(RackView(network_rack_name(r), "network", tuple(_stack(FIRST_UNIT, items)), net_pdus))
    return views
