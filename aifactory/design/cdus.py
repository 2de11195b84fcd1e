"""Coolant distribution units (CDUs) per liquid-cooled rack group, and what failed CDUs do to it.

A CDU moves the heat of a group's secondary (technology) loop to facility water. A group needs
ceil(liquid heat / CDU capacity) units plus its redundancy's spares (N: none, N+1: one, 2N: as many again);
its racks are split evenly across all of them. The CDUs of a group feed one shared secondary loop (a row
manifold), so survivors take over a failed unit's racks up to their own spare capacity (docs/plan.md, "CDUs").
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aifactory.blueprint.cooling import DirectLiquid, Immersion, RackGroup
from aifactory.design.placement import compute_group
from aifactory.errors import UserError

if TYPE_CHECKING:
    from aifactory.design.plan import Plan


@dataclass(frozen=True, slots=True)
class CduGroup:
    group: str
    model: str
    capacity_w: float  # one unit
    liquid_w: float  # the group's heat into liquid, all racks
    rack_liquid_w: float  # the fullest rack's heat into liquid
    racks: int
    nodes_per_rack: int
    needed: int  # units that carry the heat
    spares: int  # redundancy: N 0, N+1 1, 2N as many again

    @property
    def count(self) -> int:
        return self.needed + self.spares

    def racks_served(self) -> list[int]:
        """Racks on each CDU, an even split (the first units take one more where it does not divide)."""
        base, extra = divmod(self.racks, self.count)
        return [base + (1 if i < extra else 0) for i in range(self.count)]

    def to_json(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "model": self.model,
            "capacity_kw": round(self.capacity_w / 1000, 3),
            "liquid_kw": round(self.liquid_w / 1000, 3),
            "needed": self.needed,
            "spares": self.spares,
            "cdus": self.count,
            "racks": self.racks,
            "racks_per_cdu": max(self.racks_served()),
        }


def liquid_fraction(group: RackGroup, sku_cooling: str) -> float:
    """Share of a rack's heat that goes into liquid: the direct-liquid group's `liquid_fraction` (none for an
    air-cooled node SKU: no cold plates), all of it in immersion; air and rear-door groups have no CDU."""
    if isinstance(group, DirectLiquid):
        return group.liquid_fraction if sku_cooling == "liquid" else 0.0
    if isinstance(group, Immersion):
        return 1.0
    return 0.0


def spares_for(redundancy: str, needed: int) -> int:
    return {"N": 0, "N+1": 1, "2N": needed}[redundancy]


def cdu_groups(p: Plan) -> list[CduGroup]:
    """One entry per rack group with liquid heat (today only the compute group holds nodes)."""
    group = compute_group(p.bp)
    frac = liquid_fraction(group, p.sku.cooling)
    per_rack = min(p.racks.nodes_per_rack, p.nodes) * p.power.node_w + p.sku.rack_overhead_w
    liquid = (p.power.nodes_w + p.power.rack_overhead_w) * frac
    if liquid <= 0 or p.racks.compute_racks == 0:
        return []
    assert isinstance(group, DirectLiquid | Immersion)  # liquid_fraction is zero for the others
    method = p.cat.cooling.get(group.type)
    model = group.cdu or (method.cdu if method else None)
    if model is None:
        return []
    cap = p.cat.cdus[model].capacity_kw * 1000
    needed = max(1, math.ceil(liquid / cap - 1e-9))
    return [
        CduGroup(group.name, model, cap, liquid, per_rack * frac, p.racks.compute_racks, p.racks.nodes_per_rack,
                 needed, spares_for(group.redundancy, needed))
    ]


def failed_cdus(p: Plan, n: int) -> dict[str, Any]:
    """`n` failed CDUs in the liquid group: spares first; beyond them the survivors' capacity against the group's
    liquid heat is the margin, and the racks the failed units served that the survivors cannot absorb must be
    throttled or shut down (worst case: the failed units served the most racks)."""
    groups = cdu_groups(p)
    if not groups:
        raise UserError.at(
            None,
            "--what-if fail:cdu: no rack group of this design has liquid heat, so it has no coolant distribution "
            "units to fail",
            "fail spines, leaves, cores or feeds; CDUs serve direct-liquid and immersion groups with liquid-cooled "
            "nodes",
        )
    g = groups[0]
    if n > g.count:
        raise UserError.at(None, f"--what-if fail:cdu={n}: rack group {g.group!r} has {g.count} CDU(s)",
                           f"fail at most {g.count}")
    remaining_w = (g.count - n) * g.capacity_w
    margin_w = remaining_w - g.liquid_w
    orphaned = sum(sorted(g.racks_served(), reverse=True)[:n])
    shed = math.ceil(-margin_w / g.rack_liquid_w - 1e-9) if margin_w < 0 and g.rack_liquid_w > 0 else 0
    racks_down = min(orphaned, shed, g.racks)
    gpus_down = min(p.gpus, racks_down * g.nodes_per_rack * p.sku.gpus)
    return {
        "group": g.group,
        "model": g.model,
        "cdus": g.count,
        "failed": n,
        "spares_left": max(0, g.spares - n),
        "capacity_kw_remaining": round(remaining_w / 1000, 3),
        "liquid_kw": round(g.liquid_w / 1000, 3),
        "cooling_margin_kw": round(margin_w / 1000, 3),
        "racks_served_by_failed": orphaned,
        "racks_throttled": racks_down,
        "gpus_affected": gpus_down,
    }
