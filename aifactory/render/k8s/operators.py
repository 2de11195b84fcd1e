"""Custom resources the operators reconcile: the GPU operator's ClusterPolicy (driver pinned to the blueprint)
and KServe's serving runtime. The charts are installed with their own CR disabled so this one is the truth."""

from __future__ import annotations

from typing import Any

from aifactory.render.k8s import images
from aifactory.render.k8s.context import Ctx, Manifest

GPU_OPERATOR_NS = "gpu-operator"


def _image(ctx: Ctx, entry: tuple[str, str, str], version: str = "", enabled: bool = True) -> dict[str, Any]:
    repository, image, tag = entry
    return {
        "enabled": enabled,
        "repository": ctx.image(repository),
        "image": image,
        "version": version or tag,
    }


def _os_tag(ctx: Ctx) -> str:
    return ctx.bp.software.os.replace("-", "")  # ubuntu-24.04 -> ubuntu24.04, the operators' tag suffix


def cluster_policy(ctx: Ctx) -> Manifest:
    sw, gpu = ctx.bp.software, images.GPU_OPERATOR
    dcgm_tag = f"{sw.dcgm}-1-{_os_tag(ctx)}" if sw.dcgm else ""
    mig = ctx.bp.compute.mig
    spec = {
        "operator": {"defaultRuntime": "containerd"},
        "daemonsets": {"priorityClassName": "system-node-critical"},
        "driver": _image(ctx, gpu["driver"], sw.driver or "", enabled=sw.driver is not None),
        "toolkit": _image(ctx, gpu["toolkit"]),
        "devicePlugin": _image(ctx, gpu["devicePlugin"]),
        "dcgm": _image(ctx, gpu["dcgm"], dcgm_tag, enabled=bool(dcgm_tag)),
        # A separate, pinned dcgm-exporter chart runs the exporter when the blueprint enables it.
        "dcgmExporter": _image(ctx, gpu["dcgmExporter"], enabled=False),
        "gfd": _image(ctx, gpu["gfd"]),
        "mig": {"strategy": mig.strategy},
        "migManager": _image(ctx, gpu["migManager"], enabled=mig.enabled),
        "nodeStatusExporter": _image(ctx, gpu["nodeStatusExporter"], enabled=False),
        "validator": {
            "repository": ctx.image(gpu["validator"][0]),
            "image": gpu["validator"][1],
            "version": gpu["validator"][2],
        },
    }
    return ctx.obj(
        "nvidia.com/v1", "ClusterPolicy", "cluster-policy", "mlops", ("software", "driver"), spec=spec
    )


def serving_runtime(ctx: Ctx) -> Manifest:
    repository, image, tag = images.VLLM
    gpu = ctx.gpu_resource()
    container: dict[str, Any] = {
        "name": "kserve-container",
        "image": f"{ctx.image(repository)}/{image}:{tag}",
        "args": ["--model", "/mnt/models", "--port", "8080"],
        "resources": {"limits": {gpu: "1"}, "requests": {gpu: "1"}},
    }
    env = [{"name": "VLLM_NO_USAGE_STATS", "value": "1"}, {"name": "DO_NOT_TRACK", "value": "1"}]
    if ctx.telemetry_off:
        container["env"] = env
    spec = {
        "supportedModelFormats": [{"name": "huggingface", "version": "1", "autoSelect": True}],
        "containers": [container],
    }
    return ctx.obj(
        "serving.kserve.io/v1alpha1",
        "ClusterServingRuntime",
        "vllm",
        "mlops",
        ("mlops", "components", "kserve"),
        spec=spec,
    )
