"""GPU power caps for the dear hours of the energy schedule (aifactory.design.energy): `nvidia-smi -pl` from
systemd timers, at the times of the schedule's capped windows."""

from __future__ import annotations

from aifactory.blueprint.loader import LoadedBlueprint
from aifactory.design.energy import EnergySchedule
from aifactory.render.workloads.templating import render as tpl


def power_caps(loaded: LoadedBlueprint, sched: EnergySchedule) -> dict[str, str]:
    """Systemd services and timers for every GPU node, whichever orchestrator runs it: the lower cap when a
    capped window starts, the plan's cap when it ends (none where the nodes have no GPU cap to lower)."""
    files: dict[str, str] = {}
    if sched.normal_cap_w:
        for unit, watts, why, starts in (
            ("low", sched.low_cap_w, "dear hours", [w.start for w in sched.expensive]),
            ("normal", sched.normal_cap_w, "the plan's cap", [w.end for w in sched.expensive]),
        ):
            name = f"aifactory-gpu-cap-{unit}"
            files[f"energy/{name}.service"] = tpl("power-cap.service.j2", blueprint=loaded.source, watts=watts, why=why)
            files[f"energy/{name}.timer"] = tpl(
                "power-cap.timer.j2",
                blueprint=loaded.source,
                unit=f"{name}.service",
                why=why,
                times=[f"{t:%Y-%m-%d %H:%M:%S} UTC" for t in starts],
            )
    return files
