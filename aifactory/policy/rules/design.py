"""Adapter from the design engine's DesignChecks to rule hits: physics lives in one place (aifactory.design);
these rules only give its stable check codes an id, a severity and a level.

A budget has two ends, what consumes it (nodes per rack, scalable units) and the budget itself (rack capacity,
facility power). The engine names both; a pull request shows a finding only on a line it changed, so the hit is
anchored on the end the checked file sets (the line a reviewer edited), and the other end becomes the related
location.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import Any

from aifactory.policy.context import Context
from aifactory.policy.model import BlueprintPath, Hit

_COMPUTE = ("compute",)
# Other inputs that load each budget besides the one the engine names: a file that changes one of them (and not
# the engine's cause) gets the finding there.
CAUSES: dict[str, tuple[BlueprintPath, ...]] = {
    "rack-heat": ((*_COMPUTE, "gpu_power_cap"), (*_COMPUTE, "node_sku"), (*_COMPUTE, "gpu")),
    "rack-power": ((*_COMPUTE, "gpu_power_cap"), (*_COMPUTE, "node_sku"), (*_COMPUTE, "gpu")),
    "facility-power": (("cooling", "pue_target"),),
    "ports-exhausted": (_COMPUTE, ("fabric", "compute", "link_speed"), ("fabric", "compute", "rails")),
    "oversubscribed": (("fabric", "compute", "switch"), ("fabric", "compute", "link_speed")),
    "storage-tier": (_COMPUTE,),
    "cidr-exhausted": (_COMPUTE,),
}


def design_hits(ctx: Context, *codes: str, skip: Collection[BlueprintPath] = ()) -> Iterator[Hit]:
    """Hits for the engine's checks with one of `codes`; `skip` holds paths the rule has reported itself."""
    for check in ctx.design_checks(*codes):
        causes = (tuple(check.path), *CAUSES.get(check.code, ()))
        path, related = anchor(ctx, causes, tuple(check.related) if check.related else None)
        if path in skip:
            continue
        text = f"{check.message}; {check.hint}" if check.hint else check.message
        yield Hit(path, text, related=related)


def anchor(
    ctx: Context, causes: tuple[BlueprintPath, ...], budget: BlueprintPath | None
) -> tuple[BlueprintPath, BlueprintPath | None]:
    """(where to report, related location): the first cause (the engine's own first) the checked file sets,
    else the budget where the checked file sets that, else the engine's cause as it named it."""
    cause = causes[0]
    for candidate in causes:
        here = _in_focus(ctx, candidate)
        if here is not None:
            return here, budget if budget is not None or candidate == cause else cause
    if budget is not None:
        there = _in_focus(ctx, budget)
        if there is not None:
            return there, cause
    return cause, budget


def _in_focus(ctx: Context, path: BlueprintPath) -> BlueprintPath | None:
    """`path` itself when the checked file sets it as a value; for a section, its first value set there."""
    locs = ctx.loaded.locations
    loc = locs.get(path)
    if loc is None or loc.file != ctx.focus:
        return None
    if not isinstance(ctx.value_at(path), dict | list):
        return path
    n = len(path)
    inner = [
        (where.line, where.column, p)
        for p, where in locs.items()
        if len(p) > n and p[:n] == path and where.file == ctx.focus and _scalar(ctx.value_at(p))
    ]
    return min(inner)[2] if inner else path


def _scalar(value: Any) -> bool:
    return not isinstance(value, dict | list)
