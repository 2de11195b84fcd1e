"""What-if questions on the real plan engine: the largest design within a power, cooling and rack envelope
(`size`), and what failed switches, power feeds or CDUs do to a planned factory (`failures`).

`size` plans the blueprint itself at each candidate SU count (no separate model), so every rule of the engine
(fabric ports, rack heat, storage tier, address space) takes part; `failures` derives its figures from the
plan's own fabric, racks and power (docs/plan.md, "What-if").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aifactory.design.cdus import failed_cdus
from aifactory.design.placement import compute_group, rack_budget, rack_feed, rack_heat_limit
from aifactory.design.plan import Plan
from aifactory.design.power import pdus_per_rack
from aifactory.errors import UserError

MAX_SUS = 1 << 16  # 65,536 SUs: far past any fabric the catalogue's switches can build
FAILURE_KINDS = ("leaf", "spine", "core", "feed", "cdu")


@dataclass(frozen=True)
class Limits:
    power_w: float  # facility power budget (replaces cooling.facility_power)
    cooling_w: float | None = None  # heat the facility can reject: the IT load must stay within it
    racks: int | None = None  # racks the site has room for


def violations(p: Plan, limits: Limits) -> list[tuple[str, str]]:
    """(constraint, reason) for everything that keeps `p` from being a valid design within `limits`."""
    found = [(c.code, c.message) for c in p.checks]
    if limits.cooling_w is not None and p.power.it_w > limits.cooling_w:
        found.append(
            ("cooling", f"IT heat {p.power.it_w / 1e6:,.3f} MW exceeds the {limits.cooling_w / 1e6:,.3f} MW of cooling")
        )
    if limits.racks is not None and p.total_racks > limits.racks:
        found.append(("racks", f"{p.total_racks} racks exceed the {limits.racks} the site holds"))
    return found


def size(plan_at: Callable[[int], Plan], limits: Limits) -> dict[str, Any]:
    """The largest SU count whose plan is valid within `limits`: doubling, then bisection, each step a full
    plan. `plan_at(n)` plans the blueprint at n SUs under the limits' power budget. The binding constraint is
    what refuses one SU more."""
    first = plan_at(1)
    if violations(first, limits):
        reasons = "; ".join(f"{c}: {m}" for c, m in violations(first, limits))
        raise UserError.at(
            None,
            f"no design fits the limits, not even one scalable unit ({reasons})",
            "raise --power/--cooling/--racks, or fix the blueprint's findings (aifactory plan)",
        )
    good, good_plan, bad = 1, first, 0
    n = 2
    while n <= MAX_SUS:
        p = plan_at(n)
        if violations(p, limits):
            bad, bad_plan = n, p
            break
        good, good_plan = n, p
        n *= 2
    if not bad:
        raise UserError.at(None, f"the limits hold more than {MAX_SUS} scalable units", "give tighter limits")
    while bad - good > 1:
        mid = (good + bad) // 2
        p = plan_at(mid)
        if violations(p, limits):
            bad, bad_plan = mid, p
        else:
            good, good_plan = mid, p
    binding = violations(bad_plan, limits)
    g = good_plan
    return {
        "scalable_units": g.layout.sus,
        "nodes": g.nodes,
        "gpus": g.gpus,
        "racks": g.total_racks,
        "compute_racks": g.racks.compute_racks,
        "it_kw": round(g.power.it_w / 1000, 3),
        "facility_kw": round(g.power.facility_w / 1000, 3),
        "limits": {
            "facility_power_kw": round(limits.power_w / 1000, 3),
            "cooling_kw": None if limits.cooling_w is None else round(limits.cooling_w / 1000, 3),
            "racks": limits.racks,
        },
        "binding": {
            "scalable_units": bad,
            "constraints": sorted({c for c, _ in binding}),
            "reasons": [m for _, m in binding],
        },
    }


_SPEC = re.compile(r"^fail:([a-z]+=[0-9]+(?:,[a-z]+=[0-9]+)*)$")


def parse_failures(spec: str) -> dict[str, int]:
    """`fail:spine=2` or `fail:leaf=1,feed=3` -> {kind: count}."""
    m = _SPEC.match(spec.strip())
    hint = f"write fail:KIND=N[,KIND=N...] with KIND one of {', '.join(FAILURE_KINDS)}, e.g. fail:spine=2"
    if not m:
        raise UserError.at(None, f"--what-if {spec!r} is not a failure scenario", hint)
    out: dict[str, int] = {}
    for part in m.group(1).split(","):
        kind, _, count = part.partition("=")
        if kind not in FAILURE_KINDS or kind in out:
            raise UserError.at(None, f"--what-if {spec!r}: {kind!r} is unknown or given twice", hint)
        out[kind] = int(count)
    return out


def _frac(x: float) -> float:
    return round(max(0.0, x), 4)


def failures(p: Plan, fail: dict[str, int]) -> dict[str, Any]:
    """What the failed switches of the compute fabric (in one plane), failed rack power feeds and failed CDUs
    do to uplink bandwidth, GPU capacity and the racks' power and cooling margin. Worst case: failed spines sit in
    one pod, failed leaves serve distinct nodes, failed feeds hit the fullest compute racks, failed CDUs served the
    most racks (design/cdus.py)."""
    fab, clos = p.compute, p.compute.clos
    speed = fab.link_speed
    if clos is None:
        raise UserError.at(None, "the compute fabric does not fit; plan it without --what-if first", "")
    uplinks = fab.leaf_spine_links
    lost_up = 0
    worst_pod = 1.0
    lost_core = 0
    gpus_per_node = p.sku.gpus
    degraded_nodes = cut_nics = 0
    n_leaf, n_spine, n_core = fail.get("leaf", 0), fail.get("spine", 0), fail.get("core", 0)
    if n_core and clos.tiers < 3:
        raise UserError.at(None, "--what-if fail:core: this fabric has no core tier", "fail spines or leaves")
    if n_spine and clos.tiers < 2:
        raise UserError.at(None, "--what-if fail:spine: this fabric has no spine tier", "fail leaves")
    for kind, n in fail.items():
        have = {"leaf": clos.leaves, "spine": clos.spines, "core": clos.cores}.get(kind)
        if have is not None and n > have:
            raise UserError.at(
                None, f"--what-if fail:{kind}={n}: a plane of this fabric has {have} {kind} switch(es)",
                f"fail at most {have}",
            )
    if n_leaf:
        lost_up += n_leaf * clos.leaf_up
        degraded_nodes = min(p.nodes, n_leaf * clos.leaf_down)
        cut_nics = min(p.nodes * p.layout.rails, n_leaf * min(clos.leaf_down, p.nodes))
    if n_spine:
        per_spine = clos.spine_down
        lost_up += n_spine * per_spine
        worst_pod = min(worst_pod, 1 - n_spine / clos.spines_per_pod)
        if clos.tiers == 3:
            lost_core += n_spine * clos.spine_up
    if n_core:
        lost_core += n_core * clos.core_down
    lost_up = min(lost_up, uplinks)
    out: dict[str, Any] = {"failed": dict(sorted(fail.items()))}
    out["bandwidth"] = {
        "leaf_spine_gbps": uplinks * speed,
        "leaf_spine_gbps_remaining": (uplinks - lost_up) * speed,
        "leaf_spine_remaining": _frac(1 - lost_up / uplinks) if uplinks else 1.0,
        "worst_pod_uplinks_remaining": _frac(worst_pod),
        "planes": fab.planes,
        "fabric_remaining_all_planes": _frac(1 - lost_up / (uplinks * fab.planes)) if uplinks else 1.0,
    }
    if clos.tiers == 3:
        core = fab.spine_core_links
        lost_core = min(lost_core, core)
        out["bandwidth"]["spine_core_gbps_remaining"] = (core - lost_core) * speed
        out["bandwidth"]["spine_core_remaining"] = _frac(1 - lost_core / core)
    group = compute_group(p.bp)
    budget = rack_budget(group)
    rack_w = p.power.compute_rack_w
    feeds = pdus_per_rack(rack_w, p.bp.cooling.redundancy)
    spare = feeds - pdus_per_rack(rack_w, "N")  # PDUs a rack can lose and still carry its load
    n_feed = fail.get("feed", 0)
    racks_down = 0
    feed_margin = budget - rack_w
    if n_feed:
        if n_feed > p.pdus:
            raise UserError.at(None, f"--what-if fail:feed={n_feed}: the factory has {p.pdus} rack feeds",
                               f"fail at most {p.pdus}")
        if spare == 0 or rack_w > budget:
            racks_down = min(n_feed, p.racks.compute_racks)
    nodes_down = min(p.nodes, racks_down * p.racks.nodes_per_rack)
    cdu = failed_cdus(p, fail["cdu"]) if "cdu" in fail else None
    cooled_down = cdu["gpus_affected"] if cdu else 0
    out["capacity"] = {
        "gpus": p.gpus,
        "gpus_down": nodes_down * gpus_per_node,
        "nodes_with_a_failed_rail": degraded_nodes,
        "gpus_without_their_nic": cut_nics * gpus_per_node // max(1, p.layout.rails),
        "gpus_remaining": max(0, (p.nodes - nodes_down) * gpus_per_node - cooled_down),
        "compute_racks_down": racks_down,
    }
    out["power_cooling"] = {
        "feeds_per_rack": feeds,
        "rack_budget_kw": round(budget / 1000, 3),
        "fullest_rack_kw": round(rack_w / 1000, 3),
        "rack_margin_kw": round(feed_margin / 1000, 3),
        "it_kw_remaining": round((p.power.it_w - nodes_down * p.power.node_w) / 1000, 3),
        "cooling_margin_kw_per_rack": round((rack_heat_limit(group) - rack_w) / 1000, 3),
        "feed_margin_kw_per_rack": round((rack_feed(group) - rack_w) / 1000, 3),
    }
    if cdu is not None:
        out["capacity"]["gpus_cooling_limited"] = cooled_down
        out["cdu"] = cdu
    return out
