"""Slurm workloads: sbatch scripts (torchrun under srun for training; the evaluation gate; the benchmark), a
systemd unit per serving host, the serving endpoints as Prometheus file_sd targets, and the energy schedule's
reservations and GPU power-cap timers."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from aifactory.blueprint.loader import LoadedBlueprint
from aifactory.design.energy import EnergySchedule
from aifactory.design.plan import Plan
from aifactory.design.workloads import CHALLENGER, CHAMPION, Bench, Eval, Serve, Train, WorkloadPlan
from aifactory.render.hostlist import compress
from aifactory.render.k8s.fabric import job_nccl_env
from aifactory.render.workloads.templating import render as tpl
from aifactory.render.workloads.templating import script

RDZV_PORT = 29500  # torchrun's usual c10d rendezvous port
# The Python environment with mlflow and vllm that the gate, the benchmark and the serving units run from on
# the nodes (no role installs it yet: docs/workloads.md). Training runs the user's own torchrun.
WORKLOAD_ENV = "/opt/aifactory/workloads"


def _partition(loaded: LoadedBlueprint) -> str:
    orch = loaded.model.mlops.orchestrator
    slurm = getattr(orch, "slurm", None)
    parts = slurm.partitions if slurm is not None else []
    return next((x.name for x in parts if x.default), parts[0].name if parts else "gpu")


def _common(loaded: LoadedBlueprint, wp: WorkloadPlan) -> dict[str, Any]:
    return {"blueprint": loaded.source, "partition": _partition(loaded), "experiment": wp.experiment,
            "mlflow_uri": wp.mlflow_uri.get("slurm", ""), "env": WORKLOAD_ENV}  # fmt: skip


def reservation_names(sched: EnergySchedule | None) -> list[str]:
    return [f"aif-train-{w.start:%Y%m%dT%H}" for w in sched.cheap] if sched else []


def _train(loaded: LoadedBlueprint, p: Plan, wp: WorkloadPlan, t: Train, res: list[str]) -> str:
    s = t.spec
    return tpl("train.sbatch.j2", **_common(loaded, wp), name=s.name, nodes=s.nodes,
               gpus=t.gpus_per_node if p.sku.gpus else 0, procs=t.gpus_per_node if p.sku.gpus else 1,
               time_limit=s.time_limit, reservations=res if s.flexible else [], nccl=job_nccl_env(loaded.model),
               model=s.model, data=s.data, rdzv_port=RDZV_PORT, script=s.script, args=s.args)  # fmt: skip


def gate_env(e: Eval) -> dict[str, str]:
    s = e.spec
    return {"AIFACTORY_MODEL": e.training.spec.model, "AIFACTORY_METRIC": s.metric,
            "AIFACTORY_THRESHOLD": repr(s.threshold), "AIFACTORY_DIRECTION": s.direction,
            "AIFACTORY_EVAL_NAME": s.name}  # fmt: skip


def _eval(loaded: LoadedBlueprint, p: Plan, wp: WorkloadPlan, e: Eval) -> str:
    return tpl("eval.sbatch.j2", **_common(loaded, wp), name=e.spec.name, model=e.training.spec.model,
               gpus=p.sku.gpus, gate=gate_env(e), challenger=CHALLENGER, gate_script=script("gate.py"),
               script=e.spec.script, data=e.spec.data)  # fmt: skip


def _bench(loaded: LoadedBlueprint, wp: WorkloadPlan, b: Bench) -> str:
    s, srv = b.spec, b.serving
    urls = [f"http://{h}:{srv.spec.port}" for h in srv.hosts]
    return tpl("bench.sbatch.j2", **_common(loaded, wp), name=s.name, serving=srv.spec.name, urls=urls,
               model=srv.spec.model, prompt_tokens=s.prompt_tokens, output_tokens=s.output_tokens,
               concurrency=max(1, s.concurrency // len(urls)), per_replica=math.ceil(s.requests / len(urls)),
               log_script=script("bench_log.py"))  # fmt: skip


def canary_hosts(srv: Serve) -> int:
    """Replicas that serve the challenger: the canary share of them, rounded up where the share is above 0, as
    KServe's Standard mode sizes its canary (components/predictor.go canaryReplicaCount)."""
    return math.ceil(len(srv.hosts) * srv.spec.canary_percent / 100)


def _serve(loaded: LoadedBlueprint, wp: WorkloadPlan, srv: Serve) -> dict[str, str]:
    s = srv.spec
    canary = canary_hosts(srv)
    out = {}
    for i, host in enumerate(srv.hosts):
        alias = CHALLENGER if i >= len(srv.hosts) - canary else CHAMPION
        out[f"slurm/systemd/{host}/aifactory-serve-{s.name}.service"] = tpl(
            "serve.service.j2", env=WORKLOAD_ENV, blueprint=loaded.source, name=s.name, model=s.model, alias=alias,
            host=host, port=s.port, mlflow_uri=wp.mlflow_uri.get("slurm", ""),
            devices=",".join(map(str, range(s.gpus))), gpus=s.gpus)  # fmt: skip
    return out


def _targets(wp: WorkloadPlan) -> str:
    """Prometheus file_sd targets: each serving replica's vLLM /metrics."""
    groups = []
    for srv in wp.serving:
        canary = canary_hosts(srv)
        for i, host in enumerate(srv.hosts):
            alias = CHALLENGER if i >= len(srv.hosts) - canary else CHAMPION
            groups.append({"targets": [f"{host}:{srv.spec.port}"],
                           "labels": {"job": "aifactory-serving", "serving": srv.spec.name,
                                      "model": srv.spec.model, "alias": alias}})  # fmt: skip
    return json.dumps(groups, indent=2, sort_keys=True) + "\n"


def render(loaded: LoadedBlueprint, p: Plan, wp: WorkloadPlan, sched: EnergySchedule | None = None) -> dict[str, str]:
    if wp.empty:
        return {}
    res = reservation_names(sched)
    files = {f"slurm/train-{t.spec.name}.sbatch": _train(loaded, p, wp, t, res) for t in wp.training}
    files |= {f"slurm/eval-{e.spec.name}.sbatch": _eval(loaded, p, wp, e) for e in wp.evaluations}
    files |= {f"slurm/bench-{b.spec.name}.sbatch": _bench(loaded, wp, b) for b in wp.benchmarks}
    for srv in wp.serving:
        files |= _serve(loaded, wp, srv)
    if wp.serving:
        files["slurm/prometheus/aifactory-serving.json"] = _targets(wp)
    return files


def energy(
    loaded: LoadedBlueprint, p: Plan, wp: WorkloadPlan, sched: EnergySchedule, slurm_nodes: Sequence[str]
) -> dict[str, str]:
    """The Slurm side of the energy schedule: reservations for the training windows, and the training scripts
    of flexible jobs naming them (render() with the schedule). A reservation names its nodes,
    the first Slurm nodes (the topology's first leaves) as many as the largest flexible job needs: slurmctld
    picks nodes for a bare node count only among nodes up at creation, where named ones may be down or busy."""
    sig = loaded.model.cooling.energy_signal
    assert sig is not None
    if not slurm_nodes:
        return {}
    files = render(loaded, p, wp.on("slurm"), sched)
    flexible = [t.spec.nodes for t in wp.on("slurm").training if t.spec.flexible]
    windows = [{"name": n, "start": f"{w.start:%Y-%m-%dT%H:%M:%S}", "duration": f"{w.hours:02d}:00:00"}
               for n, w in zip(reservation_names(sched), sched.cheap, strict=True)]  # fmt: skip
    files["slurm/energy/reservations.sh"] = tpl(
        "reservations.sh.j2",
        blueprint=loaded.source,
        signal=sched.signal,
        kind=sched.kind,
        cheap_hours=sig.cheap_hours,
        windows=windows,
        partition=_partition(loaded),
        nodes=compress(slurm_nodes[: max(flexible, default=len(slurm_nodes))]),
        users=",".join(sig.reservation_users),
    )
    return files
