"""Where nodes go: how many, which scalable unit, which rack, which rack unit."""

from __future__ import annotations

import math
from dataclasses import dataclass

from aifactory.blueprint.cooling import RackGroup, RearDoor
from aifactory.blueprint.model import Blueprint
from aifactory.catalog import NodeSku, get_catalog
from aifactory.design.fabric import Layout, fm_slots_needed

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
    31 DGX in a 1-SU pod, 63 in 2 SUs). An explicit `compute.nodes` sets the total; SUs grow to hold it."""
    c, fab = bp.compute, bp.fabric.compute
    rails = fab.rails or sku.compute_nics
    fm = fab.fabric_manager
    fm_slots = fm_slots_needed(fm.appliances, fm.ports, rails)
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
