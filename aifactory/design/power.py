"""Power and heat: per node, per rack, network gear, IT load, facility power; rack heat against cooling."""

from __future__ import annotations

import math
from dataclasses import dataclass

from aifactory.blueprint.cooling import DirectLiquid, RackGroup, RearDoor
from aifactory.blueprint.model import Blueprint
from aifactory.catalog import Catalog
from aifactory.design.checks import DesignCheck
from aifactory.design.placement import (
    RACK_UNITS,
    Kind,
    compute_group,
    network_group,
    pack_racks,
    rack_budget,
    rack_feed,
    rack_heat_limit,
)

# Unconfirmed estimate: a 2-socket x86 management server (login, controllers, UFM appliance) at full load.
MGMT_SERVER_W = 1000.0
MGMT_SERVER_UNITS = 2
# One rack PDU: 415 V 3-phase 60 A input, 34.5 kVA (Raritan PX3-5878I2R-P1Q1R1A5D5 data sheet, the nearest published
# sheet to RA-11333-001 Table 7's PX3-5878I2R-P1Q2R1A15D5; power factor 1 assumed). A rack gets as many as its load
# needs, plus one (N+1) or twice (2N): RA-11333-001 Table 7 has 96 for 32 compute racks of ~41 kW (3 each) and 12
# for 6 management racks (2 each).
PDU_W = 34_500.0


@dataclass(frozen=True, slots=True)
class PowerBudget:
    node_w: float
    nodes_w: float
    rack_overhead_w: float  # rack-scale systems' switch trays and shelves, all racks together
    network_w: dict[str, float]  # network -> switches plus their optics
    management_w: float
    compute_rack_w: float  # the fullest compute rack
    network_racks: int
    management_racks: int
    pue: float

    @property
    def it_w(self) -> float:
        return self.nodes_w + self.rack_overhead_w + sum(self.network_w.values()) + self.management_w

    @property
    def facility_w(self) -> float:
        return self.it_w * self.pue


def pdus_per_rack(rack_w: float, redundancy: str) -> int:
    n = max(1, math.ceil(rack_w / PDU_W - 1e-9))
    return {"N": n, "N+1": n + 1, "2N": 2 * n}[redundancy]


def pdu_count(
    bp: Blueprint,
    compute_racks: int,
    compute_rack_w: float,
    network_racks: int,
    per_net: dict[str, tuple[str, int, float]],
    management_w: float,
) -> int:
    """PDUs of every rack: compute racks at the fullest rack's load, network racks at their average load."""
    red = bp.cooling.redundancy
    total = compute_racks * pdus_per_rack(compute_rack_w, red)
    if network_racks:
        net_w = (sum(w for _, _, w in per_net.values()) + management_w) / network_racks
        total += network_racks * pdus_per_rack(net_w, red)
    return total


def gpu_cap_saving(bp: Blueprint, cat: Catalog) -> float:
    """Watts a per-GPU power cap takes off a node's maximum."""
    cap = bp.compute.gpu_power_cap
    sku = cat.nodes[bp.compute.node_sku]
    gpu = cat.gpus[sku.gpu]
    return max(0.0, gpu.tdp_w - cap) * sku.gpus if cap else 0.0


def gpu_cap_w(bp: Blueprint, cat: Catalog, rack_w: float, nodes_in_rack: int) -> float:
    """The per-GPU power limit the nodes get: the GPU's maximum (its TDP), the blueprint's cap where lower, and
    lower still where the fullest compute rack (`rack_w` with `nodes_in_rack` nodes, at those GPU figures) would
    exceed its rack group's power and cooling budget: then the GPUs take what the rest of the rack leaves,
    rounded down to a watt. 0 for nodes without GPUs."""
    sku = cat.nodes[bp.compute.node_sku]
    tdp = cat.gpus[sku.gpu].tdp_w
    gpus = nodes_in_rack * sku.gpus
    if gpus == 0 or tdp <= 0:
        return 0.0
    per_gpu = min(tdp, bp.compute.gpu_power_cap or tdp)
    rest = rack_w - gpus * per_gpu  # CPUs, NICs, fans, switch trays, and the network gear of a one-rack site
    room = (rack_budget(compute_group(bp)) - rest) / gpus
    return float(max(0, min(per_gpu, math.floor(room + 1e-9))))


def racks_for(total_w: float, units: int, per_item_w: float, items: int, group: RackGroup) -> int:
    """Racks of `group` that hold `items` devices of `units` U each within its feed and cooling."""
    if items == 0:
        return 0
    budget = rack_budget(group)
    by_power = int(budget // per_item_w) if per_item_w > 0 else items
    by_space = RACK_UNITS // max(1, units)
    per_rack = max(1, min(by_power, by_space))
    return math.ceil(items / per_rack)


def rack_checks(bp: Blueprint, cat: Catalog, rack_w: float) -> list[DesignCheck]:
    """The fullest compute rack against its group's feed and cooling (a passive rear door at its passive
    figure), and the room's air limit for DLC: all of the rack's heat when the node SKU is air-cooled."""
    group = compute_group(bp)
    index = bp.cooling.rack_groups.index(group)
    where = ("cooling", "rack_groups", index)
    found: list[DesignCheck] = []
    npr = ("compute", "nodes_per_rack")
    heat = rack_heat_limit(group)
    passive = isinstance(group, RearDoor) and not group.active and heat < group.capacity
    if rack_w > heat:
        found.append(
            DesignCheck(
                "rack-heat",
                f"a compute rack dissipates {rack_w / 1e3:.1f} kW, above the "
                + (f"passive rear-door limit ({heat / 1e3:g} kW; REFERENCE-DATA.md s5) of "
                   if passive else f"{group.type} capacity of ")
                + f"rack group {group.name!r}" + ("" if passive else f" ({group.capacity / 1e3:g} kW)"),
                npr,
                "put fewer nodes in each rack (compute.nodes_per_rack), cap GPU power, "
                + ("or make the doors active (active: true)" if passive
                   else "or choose a cooling method with more capacity"),
                (*where, "active" if passive else "capacity"),
            )
        )
    limit = rack_feed(group)
    if rack_w > limit:
        found.append(
            DesignCheck(
                "rack-power",
                f"a compute rack draws {rack_w / 1e3:.1f} kW, above the rack feed of "
                f"{limit / 1e3:g} kW in rack group {group.name!r}",
                npr,
                "put fewer nodes in each rack or raise the rack group's power_limit",
                # without a power_limit the feed is the capacity: that is the line that sets it
                (*where, "power_limit" if group.power_limit is not None else "capacity"),
            )
        )
    method = cat.cooling.get(group.type)
    if method and group.capacity > method.max_rack_kw * 1e3:
        found.append(
            DesignCheck(
                "rack-heat",
                f"rack group {group.name!r} claims {group.capacity / 1e3:g} kW per rack, more than "
                f"{method.name} removes ({method.max_rack_kw:g} kW)",
                (*where, "capacity"),
                "lower the capacity to what the cooling method can remove, or change its type",
                (*where, "type"),
            )
        )
    sku = cat.nodes[bp.compute.node_sku]
    if isinstance(group, DirectLiquid):
        air = cat.cooling["air"].max_rack_kw * 1e3
        air_cooled = sku.cooling == "air"
        air_share = 1.0 if air_cooled else 1.0 - group.liquid_fraction
        air_w = rack_w * air_share
        if air_cooled and rack_w > 0:
            found.append(
                DesignCheck(
                    "node-cooling",
                    f"{sku.name} ({bp.compute.node_sku}) is an air-cooled system in the direct-liquid rack "
                    f"group {group.name!r}: no cold plates take its heat, all {rack_w / 1e3:.1f} kW per rack "
                    "goes to air",
                    (*where, "type"),
                    "put these nodes in an air or rear-door rack group, or choose a liquid-cooled node SKU",
                    ("compute", "node_sku"),
                )
            )
        if air_w > air:
            why = "the node SKU is air-cooled" if air_cooled else f"{air_share:.0%} of {rack_w / 1e3:.1f} kW"
            found.append(
                DesignCheck(
                    "rack-heat",
                    f"the air-side heat of a direct-liquid rack is {air_w / 1e3:.1f} kW "
                    f"({why}), above the room's air limit of {air / 1e3:g} kW per rack",
                    (*where, "type") if air_cooled else (*where, "liquid_fraction"),
                    "capture more heat in liquid or put fewer nodes in each rack",
                    npr,
                )
            )
    elif sku.cooling == "liquid" and group.type == "air":
        found.append(
            DesignCheck(
                "node-cooling",
                f"{sku.name} ({bp.compute.node_sku}) is a liquid-cooled system in the air-cooled rack group "
                f"{group.name!r}",
                (*where, "type"),
                "put these nodes in a direct-liquid rack group",
                ("compute", "node_sku"),
            )
        )
    return found


def network_feed_checks(bp: Blueprint, network_w: float) -> list[DesignCheck]:
    """A network rack group whose feed is 0 kW cannot power its switches (compute racks are checked above)."""
    group = network_group(bp)
    if group is compute_group(bp) or network_w <= 0 or rack_feed(group) > 0:
        return []
    index = bp.cooling.rack_groups.index(group)
    return [
        DesignCheck(
            "rack-power",
            f"rack group {group.name!r} holds the network gear ({network_w / 1e3:.1f} kW) with a rack feed of "
            "0 kW",
            ("cooling", "rack_groups", index, "power_limit"),
            "raise the rack group's power_limit (or leave it out to use the capacity)",
        )
    ]


def facility_checks(bp: Blueprint, budget: PowerBudget) -> list[DesignCheck]:
    if budget.facility_w <= bp.cooling.facility_power:
        return []
    return [
        DesignCheck(
            "facility-power",
            f"facility power {budget.facility_w / 1e6:.3f} MW (IT {budget.it_w / 1e6:.3f} MW x PUE "
            f"{budget.pue:g}) exceeds the budget of {bp.cooling.facility_power / 1e6:.3f} MW",
            ("compute",),
            "build fewer nodes, cap GPU power, or raise cooling.facility_power",
            ("cooling", "facility_power"),
        )
    ]


def network_kinds(
    cat: Catalog, per_net: dict[str, tuple[str, int, float]], servers: int, server_w: float
) -> list[Kind]:
    """The devices of the network racks: every network's switches (at their share of the network's power, optics
    included) and the management servers."""
    kinds = [
        Kind(name, f"{name} {switch}", cat.switches[switch].rack_units, watts / n, n)
        for name, (switch, n, watts) in per_net.items()
        if n
    ]
    if servers:
        kinds.append(Kind("servers", "management servers", MGMT_SERVER_UNITS, server_w, servers))
    return kinds


def network_rack_count(
    bp: Blueprint, cat: Catalog, per_net: dict[str, tuple[str, int, float]], servers: int, server_w: float
) -> int:
    """Racks for all switches and management servers together, packed (first fit, heaviest first) within the
    network group's feed and cooling and the rack's height (U3-U42); a device above the budget still takes a rack
    of its own."""
    return len(pack_racks(network_kinds(cat, per_net, servers, server_w), rack_budget(network_group(bp))))
