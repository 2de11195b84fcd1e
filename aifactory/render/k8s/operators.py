"""Custom resources the operators reconcile: the GPU operator's ClusterPolicy (driver pinned to the blueprint)
and KServe's serving runtime. The charts are installed with their own CR disabled so this one is the truth."""

from __future__ import annotations

from typing import Any

from aifactory.blueprint.fabric import InfinibandFabric
from aifactory.render.k8s import images
from aifactory.render.k8s.context import Ctx, Manifest
from aifactory.render.k8s.ownership import owner

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


def gpu_operator_objects(ctx: Ctx) -> list[Manifest]:
    """The GPU vendor's operator CR: NVIDIA's ClusterPolicy or AMD's DeviceConfig."""
    return [device_config(ctx)] if ctx.gpu_resource() == "amd.com/gpu" else [cluster_policy(ctx)]


def _driver(ctx: Ctx) -> dict[str, Any]:
    """The containerized driver: off where the host roles install it (one owner per component). GPUDirect RDMA
    (nvidia-peermem) is on for InfiniBand fabrics, over the host's DOCA-OFED where the host owns OFED."""
    sw, gpu = ctx.bp.software, images.GPU_OPERATOR
    on = owner(ctx.bp, "driver") == "operator" and sw.driver is not None
    driver = _image(ctx, gpu["driver"], sw.driver or "", enabled=on)
    manager = gpu["driverManager"]
    driver["manager"] = {"repository": ctx.image(manager[0]), "image": manager[1], "version": manager[2]}
    if isinstance(ctx.bp.fabric.compute, InfinibandFabric):
        driver["rdma"] = {"enabled": True, "useHostMofed": owner(ctx.bp, "ofed") == "host"}
    return driver


def cluster_policy(ctx: Ctx) -> Manifest:
    sw, gpu = ctx.bp.software, images.GPU_OPERATOR
    dcgm_on = owner(ctx.bp, "dcgm") == "operator" and sw.dcgm is not None
    dcgm_tag = f"{sw.dcgm}-1-{_os_tag(ctx)}" if sw.dcgm else ""
    mig = ctx.bp.compute.mig
    spec = {
        "operator": {"defaultRuntime": "containerd"},
        "daemonsets": {"priorityClassName": "system-node-critical"},
        "driver": _driver(ctx),
        "toolkit": _image(ctx, gpu["toolkit"]),
        "devicePlugin": _image(ctx, gpu["devicePlugin"]),
        "dcgm": _image(ctx, gpu["dcgm"], dcgm_tag, enabled=dcgm_on),
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


AMD_GPU_NS = "kube-amd-gpu"


def device_config(ctx: Ctx) -> Manifest:
    """AMD GPU operator's DeviceConfig: the host's amdgpu driver (ROCm from the host roles), the device plugin
    and node labeller, and the device-metrics-exporter Prometheus scrapes through its ServiceMonitor."""
    amd = images.AMD_GPU_OPERANDS
    exporter = images.AMD_GPU_OPERATOR["metricsExporter"]
    spec: dict[str, Any] = {
        "selector": {"feature.node.kubernetes.io/amd-gpu": "true"},
        "driver": {"enable": False},
        "devicePlugin": {
            "enableDevicePlugin": True,
            "devicePluginImage": ctx.image(amd["devicePlugin"]),
            "enableNodeLabeller": True,
            "nodeLabellerImage": ctx.image(amd["nodeLabeller"]),
        },
        "commonConfig": {
            "initContainerImage": ctx.image(amd["initContainer"]),
            "utilsContainer": {"image": ctx.image(amd["utils"])},
        },
        "metricsExporter": {
            "enable": True,
            "image": ctx.image(f"{exporter[0]}:{exporter[1]}"),
            "port": 5000,
            "prometheus": {"serviceMonitor": {"enable": ctx.bp.mlops.components.prometheus}},
        },
    }
    return ctx.obj(
        "amd.com/v1alpha1", "DeviceConfig", "gpu-device-config", "mlops", ("compute", "node_sku"), AMD_GPU_NS,
        spec=spec,
    )


def serving_runtime(ctx: Ctx) -> Manifest:
    repository, image, tag = images.VLLM
    gpu = ctx.gpu_resource()
    container: dict[str, Any] = {
        "name": "kserve-container",
        "image": f"{ctx.image(repository)}/{image}:{tag}",
        # KServe fills {{.Name}} with the InferenceService's name: the OpenAI API then serves the model under it
        # (vLLM would otherwise answer only to the path /mnt/models).
        "args": ["--model", "/mnt/models", "--served-model-name", "{{.Name}}", "--port", "8080"],
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
