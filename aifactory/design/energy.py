"""Energy- and price-aware scheduling: from an hourly signal, the training windows (the cheapest hours of each
day) and the capped hours (the dearest), with the per-GPU caps and the facility draw they give.

The normal cap is the plan's own (aifactory.design.power.gpu_cap_w: TDP, the blueprint's cap, the rack budget);
the capped hours lower it by `expensive_cap`, never below the GPU's published minimum (catalogue
`power_limit_min_w`). Facility draw follows the plan's power budget: IT load x PUE, less the GPUs' saving.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from aifactory.blueprint.energysignal import Hour
from aifactory.design import power as pw
from aifactory.design.plan import Plan


@dataclass(frozen=True)
class Window:
    start: datetime
    hours: int
    mean: float

    @property
    def end(self) -> datetime:
        return self.start + timedelta(hours=self.hours)


@dataclass(frozen=True)
class EnergySchedule:
    signal: str
    kind: str
    cheap: tuple[Window, ...]
    expensive: tuple[Window, ...]
    normal_cap_w: int  # per GPU; 0: the nodes have no GPU cap to lower
    low_cap_w: int
    gpus: int
    facility_w: float  # the plan's facility draw at the normal cap
    facility_low_w: float  # in the capped hours
    budget_w: float  # the blueprint's facility power

    def to_json(self) -> dict[str, object]:
        def windows(ws: Iterable[Window]) -> list[dict[str, object]]:
            return [{"start": f"{w.start:%Y-%m-%dT%H:%MZ}", "hours": w.hours, "mean": round(w.mean, 3)} for w in ws]

        return {
            "signal": self.signal, "kind": self.kind, "training_windows": windows(self.cheap),
            "capped_windows": windows(self.expensive), "gpu_cap_w": self.normal_cap_w,
            "gpu_cap_low_w": self.low_cap_w, "gpus": self.gpus, "facility_w": round(self.facility_w),
            "facility_low_w": round(self.facility_low_w), "facility_budget_w": round(self.budget_w),
        }  # fmt: skip


def _windows(chosen: Sequence[Hour]) -> tuple[Window, ...]:
    """Consecutive chosen hours as one window each."""
    out: list[list[Hour]] = []
    for hour in sorted(chosen, key=lambda h: h.start):
        if out and out[-1][-1].start + timedelta(hours=1) == hour.start:
            out[-1].append(hour)
        else:
            out.append([hour])
    return tuple(Window(w[0].start, len(w), sum(h.value for h in w) / len(w)) for w in out)


def _ranked(hours: Sequence[Hour], cheap: int, dear: int) -> tuple[list[Hour], list[Hour]]:
    """Per UTC day: its `cheap` lowest hours, and its `dear` highest of the rest (ties: the earlier hour)."""
    days: dict[object, list[Hour]] = {}
    for hour in hours:
        days.setdefault(hour.start.date(), []).append(hour)
    low: list[Hour] = []
    high: list[Hour] = []
    for day in days.values():
        ranked = sorted(day, key=lambda h: (h.value, h.start))
        low += ranked[:cheap]
        rest = sorted(ranked[cheap:], key=lambda h: (-h.value, h.start))
        high += rest[:dear]
    return low, high


def schedule(p: Plan, signal: str, hours: Sequence[Hour]) -> EnergySchedule:
    sig = p.bp.cooling.energy_signal
    assert sig is not None
    low, high = _ranked(hours, sig.cheap_hours, sig.expensive_hours)
    normal = int(pw.gpu_cap_w(p.bp, p.cat, p.power.compute_rack_w, min(p.racks.nodes_per_rack, p.layout.nodes)))
    floor_w = int(p.gpu.power_limit_min_w or 0)
    capped = max(floor_w, math.floor(normal * sig.expensive_cap)) if normal else 0
    saving = p.gpus * (normal - capped) * p.power.pue
    return EnergySchedule(
        signal, sig.kind, _windows(low), _windows(high) if normal else (), normal, capped, p.gpus,
        p.power.facility_w, p.power.facility_w - saving, p.bp.cooling.facility_power,
    )  # fmt: skip
