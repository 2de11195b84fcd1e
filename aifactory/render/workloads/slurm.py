"""Slurm workloads: sbatch scripts (torchrun under srun for training; the evaluation gate; the benchmark), a
systemd unit per serving host, the serving endpoints as Prometheus file_sd targets with the deployments' alert
rules, and the energy schedule's reservations and GPU power-cap timers."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import yaml

from aifactory.blueprint.loader import LoadedBlueprint
from aifactory.design.energy import EnergySchedule
from aifactory.design.plan import Plan
from aifactory.design.workloads import (
    CHALLENGER,
    CHAMPION,
    Bench,
    Eval,
    Serve,
    Train,
    WorkloadPlan,
    slurm_partition,
    slurm_seconds,
)
from aifactory.render.hostlist import compress
from aifactory.render.k8s.fabric import job_nccl_env
from aifactory.render.workloads.templating import render as tpl
from aifactory.render.workloads.templating import script

RDZV_PORT = 29500  # torchrun's usual c10d rendezvous port
# The Python environment with mlflow and vllm that the gate, the benchmark and the serving units run from on
# the nodes (no role installs it yet: docs/workloads.md). Training runs the user's own torchrun.
WORKLOAD_ENV = "/opt/aifactory/workloads"
SERVING_JOB = "aifactory-serving"  # the `job` label of the serving replicas' file_sd targets (_targets)
# Request latency histograms in seconds: the KServe runtime's (aifactory.tinylm.serve), and vLLM's end-to-end
# request latency (vllm/v1/metrics/loggers.py, `vllm:e2e_request_latency_seconds`).
LATENCY_HISTOGRAM = {"kserve": "aifactory_serving_request_seconds", "vllm": "vllm:e2e_request_latency_seconds"}
LATENCY_WINDOW = "5m"


# Longest run of an evaluation and of a benchmark, or the partition's max_time where that is shorter (a job that
# asks for more than its partition allows stays pending).
EVAL_TIME, BENCH_TIME = "02:00:00", "01:00:00"


def _partition(loaded: LoadedBlueprint) -> str:
    return slurm_partition(loaded)[0]


def _time(loaded: LoadedBlueprint, wanted: str) -> str:
    max_time = slurm_partition(loaded)[1]
    limit = slurm_seconds(max_time)
    return max_time if limit is not None and limit < (slurm_seconds(wanted) or 0) else wanted


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
               script=e.spec.script, data=e.spec.data, time_limit=_time(loaded, EVAL_TIME))  # fmt: skip


def _bench(loaded: LoadedBlueprint, wp: WorkloadPlan, b: Bench) -> str:
    s, srv = b.spec, b.serving
    urls = [f"http://{h}:{srv.spec.port}" for h in srv.hosts]
    return tpl("bench.sbatch.j2", **_common(loaded, wp), name=s.name, serving=srv.spec.name, urls=urls,
               model=srv.spec.model, prompt_tokens=s.prompt_tokens, output_tokens=s.output_tokens,
               concurrency=max(1, s.concurrency // len(urls)), per_replica=math.ceil(s.requests / len(urls)),
               engine=srv.spec.engine, log_script=script("bench_log.py"),
               time_limit=_time(loaded, BENCH_TIME))  # fmt: skip


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
            devices=",".join(map(str, range(s.gpus))), gpus=s.gpus, engine=s.engine)  # fmt: skip
    return out


def _targets(wp: WorkloadPlan) -> str:
    """Prometheus file_sd targets: each serving replica's /metrics (vLLM's, or the KServe model server's)."""
    groups = []
    for srv in wp.serving:
        canary = canary_hosts(srv)
        for i, host in enumerate(srv.hosts):
            alias = CHALLENGER if i >= len(srv.hosts) - canary else CHAMPION
            groups.append({"targets": [f"{host}:{srv.spec.port}"],
                           "labels": {"job": SERVING_JOB, "serving": srv.spec.name,
                                      "model": srv.spec.model, "alias": alias}})  # fmt: skip
    return json.dumps(groups, indent=2, sort_keys=True) + "\n"


def _quality_rule(srv: Serve, e: Eval) -> dict[str, Any]:
    """The served version's evaluation value (the gate's version tag `aifactory.METRIC`, which the KServe
    runtime exports as aifactory_serving_model_quality) worse than the evaluation's threshold."""
    s, ev = srv.spec, e.spec
    worse, word = (">", "above") if ev.direction == "lower" else ("<", "below")
    series = f'aifactory_serving_model_quality{{job="{SERVING_JOB}",serving="{s.name}",metric="{ev.metric}"}}'
    return {
        "alert": "AifactoryServingQualityWorseThanThreshold",
        "expr": f"{series} {worse} {ev.threshold!r}",
        "for": "1m",
        "labels": {"severity": "critical"},
        "annotations": {
            "summary": f"{s.name} serves a {s.model} version whose {ev.metric} is {word} the {ev.threshold!r} "
            f"threshold of evaluation {ev.name}",
            "description": "{{ $labels.model }}@{{ $labels.alias }} on {{ $labels.instance }}: "
            f"{ev.metric} {{{{ $value }}}}",
        },
    }


def _latency_rule(srv: Serve, limit_ms: int) -> dict[str, Any]:
    """The deployment's 99th percentile of request latency over the last 5 minutes, per alias (champion and
    challenger apart), above the objective."""
    s = srv.spec
    buckets = f'{LATENCY_HISTOGRAM[s.engine]}_bucket{{job="{SERVING_JOB}",serving="{s.name}"}}'
    p99 = f"histogram_quantile(0.99, sum by (le, serving, alias) (rate({buckets}[{LATENCY_WINDOW}])))"
    return {
        "alert": "AifactoryServingLatencyP99High",
        "expr": f"{p99} > {limit_ms / 1000!r}",
        "for": "5m",
        "labels": {"severity": "warning"},
        "annotations": {
            "summary": f"{s.name}: p99 request latency above its {limit_ms} ms objective",
            "description": "{{ $labels.alias }}: p99 {{ $value | humanizeDuration }} over " + LATENCY_WINDOW,
        },
    }


def _rules(wp: WorkloadPlan) -> str | None:
    """Prometheus alerting rules, one group per serving deployment that has any: for engine kserve the served
    model's quality against the threshold of every evaluation of that model (vLLM exports no such value), and
    the p99 latency against latency_p99_ms where it is set. None where no deployment has a rule."""
    groups = []
    for srv in wp.serving:
        rules = [_quality_rule(srv, e) for e in wp.evaluations
                 if srv.spec.engine == "kserve" and e.training.spec.model == srv.spec.model]  # fmt: skip
        if srv.spec.latency_p99_ms is not None:
            rules.append(_latency_rule(srv, srv.spec.latency_p99_ms))
        if rules:
            groups.append({"name": f"aifactory-serving-{srv.spec.name}", "rules": rules})
    if not groups:
        return None
    head = "# Alerting rules of the Slurm serving deployments: rendered by aifactory (mlops.workloads.serving).\n"
    return head + yaml.safe_dump({"groups": groups}, sort_keys=False, default_flow_style=False, width=1000)


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
        rules = _rules(wp)
        if rules is not None:
            files["slurm/prometheus/aifactory-serving-rules.yml"] = rules
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
