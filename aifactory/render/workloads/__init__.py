"""`aifactory render --workloads`: mlops.workloads for Slurm and Kubernetes from the same resolved definitions
(aifactory.design.workloads), and the energy schedule (aifactory.design.energy) where the blueprint has a signal.

`render_workloads(loaded, region)` returns the files keyed by their path under the output's `workloads/` folder
and a summary for the report; the CLI writes them as one atomic tree.
"""

from __future__ import annotations

import json
from typing import Any

from aifactory.blueprint.energysignal import load_signal
from aifactory.blueprint.loader import LoadedBlueprint
from aifactory.design.energy import EnergySchedule, schedule
from aifactory.design.plan import plan
from aifactory.design.workloads import WorkloadPlan, resolve
from aifactory.render.inventory import orchestrator_groups
from aifactory.render.workloads import energy, kubernetes, slurm


def _groups(loaded: LoadedBlueprint, hosts: Any) -> dict[str, list[str]]:
    orch = loaded.model.mlops.orchestrator
    return orchestrator_groups(hosts, orch.type, getattr(orch, "kubernetes_share", 1.0))


def render_workloads(loaded: LoadedBlueprint, region: str) -> tuple[dict[str, str], dict[str, Any]]:
    p = plan(loaded.model)
    groups = _groups(loaded, p.hosts)
    wp: WorkloadPlan = resolve(loaded, p, groups)
    files: dict[str, str] = {}
    files.update(slurm.render(loaded, p, wp.on("slurm")))
    files.update(kubernetes.render(loaded, region, wp.on("kubernetes")))
    summary: dict[str, Any] = {
        "experiment": wp.experiment,
        "mlflow": dict(sorted(wp.mlflow_uri.items())),
        "training": [{"name": t.spec.name, "on": t.at.orchestrator, "nodes": t.spec.nodes,
                      "gpus_per_node": t.gpus_per_node} for t in wp.training],
        "evaluations": [{"name": e.spec.name, "on": e.at.orchestrator, "metric": e.spec.metric,
                         "threshold": e.spec.threshold, "direction": e.spec.direction} for e in wp.evaluations],
        "serving": [{"name": s.spec.name, "on": s.at.orchestrator, "replicas": s.spec.replicas,
                     "canary_percent": s.spec.canary_percent, "hosts": list(s.hosts)} for s in wp.serving],
        "benchmarks": [{"name": b.spec.name, "on": b.at.orchestrator, "serving": b.spec.serving}
                       for b in wp.benchmarks],
    }  # fmt: skip
    signal = load_signal(loaded)
    if signal is not None:
        sched: EnergySchedule = schedule(p, *signal)
        files.update(slurm.energy(loaded, p, wp, sched, groups.get("slurm", [])))
        files.update(energy.power_caps(loaded, sched))
        summary["energy"] = sched.to_json()
        files["energy/schedule.json"] = json.dumps(sched.to_json(), indent=2, sort_keys=True) + "\n"
    return dict(sorted(files.items())), summary
