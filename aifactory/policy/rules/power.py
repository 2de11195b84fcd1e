"""Power and cooling rules: rack heat and feed, the facility budget (from the design engine), and cooling
configuration (REFERENCE-DATA.md s5)."""

from __future__ import annotations

from collections.abc import Iterator

from aifactory.policy.context import Context
from aifactory.policy.model import Hit
from aifactory.policy.registry import rule
from aifactory.policy.rules.design import design_hits

_PWR = ("power",)
_CLG = ("cooling",)
# REFERENCE-DATA.md s5: new builds reach PUE <= 1.3.
PUE_NEW_BUILD = 1.3
# ASHRAE TC9.9 facility water classes: the number is the maximum supply temperature in C (REFERENCE-DATA s5).
WATER_CLASS_MAX_C = {"W17": 17.0, "W27": 27.0, "W32": 32.0, "W40": 40.0, "W45": 45.0}


@rule(
    "PWR-001",
    "Rack heat within cooling capacity",
    severity="critical",
    tags=(*_PWR, *_CLG),
    needs_design=True,
    rationale="A rack that makes more heat than its cooling removes throttles its GPUs or trips.",
    remediation="Put fewer nodes per rack (`compute.nodes_per_rack`), cap GPU power, or use a cooling method "
    "with more capacity.",
)
def rack_heat(ctx: Context) -> Iterator[Hit]:
    yield from design_hits(ctx, "rack-heat")


@rule(
    "PWR-002",
    "Rack power within the feed",
    severity="critical",
    tags=_PWR,
    needs_design=True,
    rationale="A rack drawing more than its electrical feed trips its breakers under load.",
    remediation="Lower `compute.nodes_per_rack` or raise the rack group's `power_limit`.",
)
def rack_power(ctx: Context) -> Iterator[Hit]:
    yield from design_hits(ctx, "rack-power")


@rule(
    "PWR-003",
    "Facility power budget",
    severity="critical",
    tags=_PWR,
    needs_design=True,
    rationale="IT load times PUE must fit the facility's power budget.",
    remediation="Raise `cooling.facility_power`, lower the PUE, or build fewer scalable units.",
)
def facility_power(ctx: Context) -> Iterator[Hit]:
    yield from design_hits(ctx, "facility-power")


@rule(
    "PWR-004",
    "PUE target for a new build",
    severity="low",
    level="advisory",
    tags=(*_PWR, *_CLG),
    rationale="New builds reach PUE 1.3 or better; the industry average is 1.56-1.58 (Uptime Institute, "
    "2023-24, see REFERENCE-DATA.md s5).",
    remediation="Aim `cooling.pue_target` at 1.3 or below (liquid cooling, warm-water classes).",
)
def pue_target(ctx: Context) -> Iterator[Hit]:
    pue = ctx.bp.cooling.pue_target
    if pue > PUE_NEW_BUILD:
        yield Hit(
            ("cooling", "pue_target"), f"PUE target {pue:g} is above the new-build level {PUE_NEW_BUILD:g}"
        )


@rule(
    "PWR-005",
    "Cooling and power redundancy",
    severity="medium",
    level="advisory",
    tags=(*_PWR, *_CLG),
    rationale="With N redundancy one failed CRAH, CDU or UPS takes racks down; training jobs span racks.",
    remediation="Use `redundancy: N+1` (or 2N) for the facility and for compute rack groups.",
)
def redundancy(ctx: Context) -> Iterator[Hit]:
    if ctx.bp.cooling.redundancy == "N":
        yield Hit(("cooling", "redundancy"), "the facility has no cooling/power redundancy (N)")
    for i, g in enumerate(ctx.bp.cooling.rack_groups):
        if g.redundancy == "N" and "compute" in g.holds:
            yield Hit(
                ("cooling", "rack_groups", i, "redundancy"), f"rack group {g.name!r} has no redundancy (N)"
            )


@rule(
    "CLG-001",
    "Rack capacity within what the cooling method can do",
    severity="high",
    tags=_CLG,
    rationale="Air cools about 25-30 kW per rack, passive rear doors ~35 kW, active ~55-75 kW, direct liquid "
    "~50-142 kW (REFERENCE-DATA.md s5); a capacity beyond the method is a wish, not a design.",
    remediation="Lower the rack group's `capacity` or choose a stronger cooling `type`.",
)
def method_capacity(ctx: Context) -> Iterator[Hit]:
    from aifactory.catalog import get_catalog

    methods = get_catalog().cooling
    for i, g in enumerate(ctx.bp.cooling.rack_groups):
        limit_kw = methods[g.type].max_rack_kw
        passive_kw = methods[g.type].passive_max_rack_kw  # catalogue: REFERENCE-DATA.md s5, passive ~35 kW
        if g.type == "rear-door" and not g.active and passive_kw is not None:
            limit_kw = passive_kw
        if g.capacity > limit_kw * 1000:
            yield Hit(
                ("cooling", "rack_groups", i, "capacity"),
                f"rack group {g.name!r} claims {g.capacity / 1000:g} kW per rack; {g.type} cooling "
                f"removes at most about {limit_kw:g} kW",
            )


@rule(
    "CLG-002",
    "Liquid loop temperatures fit the water class",
    severity="medium",
    tags=_CLG,
    rationale="The facility water class (ASHRAE W17-W45) bounds the supply temperature; return must be "
    "warmer than supply.",
    remediation="Lower `supply_c` to the class maximum or pick a warmer `water_class`; keep `return_c` above "
    "`supply_c`.",
)
def water_class(ctx: Context) -> Iterator[Hit]:
    for i, g in enumerate(ctx.bp.cooling.rack_groups):
        if g.type != "direct-liquid":
            continue
        limit = WATER_CLASS_MAX_C.get(g.water_class)
        if limit is not None and g.supply_c > limit:
            yield Hit(
                ("cooling", "rack_groups", i, "supply_c"),
                f"supply {g.supply_c:g} C is above the {g.water_class} maximum of {limit:g} C",
                related=("cooling", "rack_groups", i, "water_class"),
            )
        if g.return_c <= g.supply_c:
            yield Hit(
                ("cooling", "rack_groups", i, "return_c"),
                f"return {g.return_c:g} C is not above supply {g.supply_c:g} C",
            )


@rule(
    "CLG-003",
    "Compute racks have a cooling group",
    severity="high",
    tags=_CLG,
    rationale="Compute nodes need a rack group that holds them, else their heat is unaccounted for.",
    remediation="Add `compute` to the `holds:` list of a rack group.",
)
def compute_group(ctx: Context) -> Iterator[Hit]:
    if not any("compute" in g.holds for g in ctx.bp.cooling.rack_groups):
        yield Hit(("cooling", "rack_groups"), "no rack group holds compute nodes", value="compute")
