"""Kubernetes workloads: a Kubeflow Trainer v2 TrainJob on the `torch-distributed` runtime (render/k8s/
training.py), the evaluation gate and the benchmark as Jobs, a KServe InferenceService with its canary, and a
PodMonitor for the served model's vLLM metrics. Objects carry the same labels and source annotations as the
rest of the Kubernetes layer (render/k8s/context.py).

KServe v0.20 splits traffic with `canaryTrafficPercent` only in its Knative (Serverless) mode; the factory
runs it in RawDeployment (render/k8s/charts.py), which v0.20 calls Standard and where a canary is `spec.canary`
with `trafficPercent`, the stable predictor and the canary each a Deployment (pkg/apis/serving/v1beta1/
inference_service.go, inference_service_validation.go: canary only in Standard mode).
"""

from __future__ import annotations

from typing import Any

import yaml

from aifactory.blueprint.loader import LoadedBlueprint
from aifactory.catalog import get_catalog
from aifactory.design.workloads import CHALLENGER, Bench, Eval, Serve, Train, WorkloadPlan
from aifactory.render.k8s import images
from aifactory.render.k8s.context import Ctx, Manifest
from aifactory.render.k8s.tenants import tenant_namespace
from aifactory.render.k8s.training import RUNTIME, TORCH_IMAGE
from aifactory.render.workloads.slurm import gate_env
from aifactory.render.workloads.templating import script

TRAINER = "trainer.kubeflow.org/v1alpha1"
KSERVE = "serving.kserve.io/v1beta1"
QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
SERVING_PORT = 8080  # the vllm ClusterServingRuntime's --port (render/k8s/operators.py)


def _has_gpus(ctx: Ctx) -> bool:
    return get_catalog().nodes[ctx.bp.compute.node_sku].gpus > 0


def _ns(w: Train | Eval | Serve | Bench) -> str:
    assert w.at.tenant is not None  # resolve() requires a tenant on Kubernetes
    return tenant_namespace(w.at.tenant)


def _queued(ctx: Ctx, obj: Manifest, w: Train | Eval | Bench) -> Manifest:
    if ctx.bp.mlops.components.kueue and w.at.tenant is not None:
        obj["metadata"]["labels"][QUEUE_LABEL] = w.at.tenant.name
    return obj


def _mlflow_env(wp: WorkloadPlan, extra: dict[str, str]) -> list[dict[str, str]]:
    env = {"MLFLOW_TRACKING_URI": wp.mlflow_uri["kubernetes"], "MLFLOW_EXPERIMENT_NAME": wp.experiment, **extra}
    return [{"name": k, "value": v} for k, v in sorted(env.items())]


def _train(ctx: Ctx, wp: WorkloadPlan, i: int, t: Train) -> Manifest:
    s = t.spec
    env = _mlflow_env(wp, {"AIFACTORY_MODEL": s.model, "AIFACTORY_DATA": s.data})
    trainer: dict[str, Any] = {"numNodes": s.nodes, "command": ["torchrun"], "args": [s.script, *s.args], "env": env}
    if _has_gpus(ctx):
        gpus = {ctx.gpu_resource(): t.gpus_per_node}
        trainer["resourcesPerNode"] = {"limits": gpus, "requests": dict(gpus)}
    spec = {"runtimeRef": {"apiGroup": "trainer.kubeflow.org", "kind": "ClusterTrainingRuntime", "name": RUNTIME},
            "trainer": trainer}  # fmt: skip
    obj = ctx.obj(TRAINER, "TrainJob", s.name, "mlops", ("mlops", "workloads", "training", i), _ns(t), spec=spec)
    return _queued(ctx, obj, t)


def _gate_configmap(ctx: Ctx, ns: str) -> Manifest:
    data = {"gate.py": script("gate.py") + "\n", "bench_log.py": script("bench_log.py") + "\n"}
    return ctx.obj("v1", "ConfigMap", "aifactory-workload-scripts", "mlops", ("mlops", "workloads"), ns, data=data)


def _job(
    ctx: Ctx, name: str, ns: str, path: tuple[str | int, ...], steps: list[dict[str, Any]], env: list[dict[str, str]]
) -> Manifest:
    """A Job whose steps run in order (init containers, the last one the main container), sharing /work and the
    helper scripts."""
    mounts: list[dict[str, Any]] = [
        {"name": "scripts", "mountPath": "/opt/aifactory", "readOnly": True},
        {"name": "work", "mountPath": "/work"},
    ]
    # Each container its own copies: shared lists would come out as YAML anchors.
    containers = [{**step, "env": [dict(e) for e in env], "volumeMounts": [dict(m) for m in mounts]} for step in steps]
    pod = {"restartPolicy": "Never", "initContainers": containers[:-1], "containers": containers[-1:],
           "volumes": [{"name": "scripts", "configMap": {"name": "aifactory-workload-scripts"}},
                       {"name": "work", "emptyDir": {}}]}  # fmt: skip
    return ctx.obj("batch/v1", "Job", name, "mlops", path, ns,
                   spec={"backoffLimit": 0, "template": {"spec": pod}})  # fmt: skip


def _mlflow_step(ctx: Ctx, name: str, command: list[str]) -> dict[str, Any]:
    """A step in the MLflow image (it has the client the helper scripts import)."""
    repository, image, tag = images.MLFLOW
    return {"name": name, "image": f"{ctx.image(repository)}/{image}:{tag}", "command": command}


def _eval(ctx: Ctx, wp: WorkloadPlan, i: int, e: Eval) -> Manifest:
    s = e.spec
    model = e.training.spec.model
    env = _mlflow_env(wp, {**gate_env(e), "EVAL_RESULT": "/work/result.json",
                           "AIFACTORY_MODEL_URI": f"models:/{model}@{CHALLENGER}"})  # fmt: skip
    repository, tag = TORCH_IMAGE
    evaluate: dict[str, Any] = {"name": "evaluate", "image": f"{ctx.image(repository)}:{tag}",
                                "command": ["python3", s.script, "--data", s.data]}  # fmt: skip
    if _has_gpus(ctx):
        gpu: dict[str, int] = {ctx.gpu_resource(): 1}
        evaluate["resources"] = {"limits": gpu, "requests": dict(gpu)}
    steps = [_mlflow_step(ctx, "challenger", ["python3", "/opt/aifactory/gate.py", "challenger"]), evaluate,
             _mlflow_step(ctx, "decide", ["python3", "/opt/aifactory/gate.py", "decide"])]  # fmt: skip
    obj = _job(ctx, s.name, _ns(e), ("mlops", "workloads", "evaluations", i), steps, env)
    return _queued(ctx, obj, e)


def _predictor(ctx: Ctx, uri: str, gpus: int) -> dict[str, Any]:
    limits = {ctx.gpu_resource(): gpus}
    # `model` is a container spec (name required): the runtime's container, kserve-container, takes it.
    model = {"name": "kserve-container", "modelFormat": {"name": "huggingface"}, "runtime": "vllm",
             "storageUri": uri, "resources": {"limits": limits, "requests": dict(limits)}}  # fmt: skip
    return {"model": model}


def _isvc(ctx: Ctx, i: int, srv: Serve) -> Manifest:
    s = srv.spec
    assert s.storage_uri is not None
    # The stable predictor keeps no name: its Service stays {isvc}-predictor, with or without a canary
    # (constants.PredictorServiceName); the canary's Deployment and Service are {isvc}-challenger-predictor.
    predictor = {**_predictor(ctx, s.storage_uri, s.gpus), "minReplicas": s.replicas, "maxReplicas": s.replicas}
    spec: dict[str, Any] = {"predictor": predictor}
    if s.canary_percent:
        assert s.canary_storage_uri is not None
        canary = {**_predictor(ctx, s.canary_storage_uri, s.gpus), "name": CHALLENGER}
        spec["canary"] = [{"predictor": canary,
                           "trafficPercent": s.canary_percent}]  # fmt: skip
    obj = ctx.obj(KSERVE, "InferenceService", s.name, "mlops", ("mlops", "workloads", "serving", i), _ns(srv),
                  spec=spec)  # fmt: skip
    obj["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] = "Standard"
    return obj


def _pod_monitor(ctx: Ctx, i: int, srv: Serve) -> Manifest:
    spec = {"selector": {"matchLabels": {"serving.kserve.io/inferenceservice": srv.spec.name}},
            "podMetricsEndpoints": [{"portNumber": SERVING_PORT, "path": "/metrics", "interval": "30s"}]}  # fmt: skip
    return ctx.obj("monitoring.coreos.com/v1", "PodMonitor", srv.spec.name, "mlops",
                   ("mlops", "workloads", "serving", i), _ns(srv), spec=spec)  # fmt: skip


def _bench(ctx: Ctx, wp: WorkloadPlan, i: int, b: Bench) -> Manifest:
    s, srv = b.spec, b.serving
    url = f"http://{srv.spec.name}-predictor.{_ns(srv)}.svc.cluster.local"
    args = ["bench", "serve", "--backend", "openai", "--base-url", url, "--model", srv.spec.name,
            "--dataset-name", "random", "--random-input-len", str(s.prompt_tokens),
            "--random-output-len", str(s.output_tokens), "--max-concurrency", str(s.concurrency),
            "--num-prompts", str(s.requests), "--percentile-metrics", "ttft,tpot,itl,e2el",
            "--metric-percentiles", "50,99", "--save-result", "--result-dir", "/work/results",
            "--result-filename", "0.json"]  # fmt: skip
    repository, image, tag = images.VLLM
    bench = {"name": "benchmark", "image": f"{ctx.image(repository)}/{image}:{tag}", "command": ["vllm", *args]}
    log = _mlflow_step(ctx, "log", ["python3", "/opt/aifactory/bench_log.py", "/work/results"])
    env = _mlflow_env(wp, {"AIFACTORY_BENCH_NAME": s.name})
    obj = _job(ctx, s.name, _ns(b), ("mlops", "workloads", "benchmarks", i), [bench, log], env)
    return _queued(ctx, obj, b)


def objects(loaded: LoadedBlueprint, region: str, wp: WorkloadPlan) -> list[Manifest]:
    ctx = Ctx(loaded, region)
    w = loaded.model.mlops.workloads
    at = {(kind, x.name): i for kind, xs in (("t", w.training), ("e", w.evaluations), ("s", w.serving),
                                             ("b", w.benchmarks)) for i, x in enumerate(xs)}  # fmt: skip
    out = [_train(ctx, wp, at["t", t.spec.name], t) for t in wp.training]
    out += [_eval(ctx, wp, at["e", e.spec.name], e) for e in wp.evaluations]
    for srv in wp.serving:
        out.append(_isvc(ctx, at["s", srv.spec.name], srv))
        if loaded.model.mlops.components.prometheus:
            out.append(_pod_monitor(ctx, at["s", srv.spec.name], srv))
    out += [_bench(ctx, wp, at["b", b.spec.name], b) for b in wp.benchmarks]
    namespaces = sorted({_ns(e) for e in wp.evaluations} | {_ns(b) for b in wp.benchmarks})
    out += [_gate_configmap(ctx, ns) for ns in namespaces]
    return out


def render(loaded: LoadedBlueprint, region: str, wp: WorkloadPlan) -> dict[str, str]:
    files = {}
    for obj in objects(loaded, region, wp):
        meta = obj["metadata"]
        name = f"kubernetes/{meta['namespace']}/{obj['kind'].lower()}-{meta['name']}.yaml"
        files[name] = yaml.safe_dump(obj, sort_keys=True, default_flow_style=False)
    return files
