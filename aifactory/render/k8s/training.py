"""Training runtime: the Kubeflow Trainer v2 `ClusterTrainingRuntime` that TrainJobs name.

The Trainer chart installs no runtime of its own here (`runtimes.defaultEnabled: false`), so a TrainJob would
find nothing to run on. This one is the upstream torch runtime's shape (charts/kubeflow-trainer/files/runtimes/
torch-distributed.yaml at v2.3.0) made to fit the factory: the image through the site's mirror, one node's GPUs
(and the RDMA shared device where the network operator runs; with tenant partitions on InfiniBand instead one
SR-IOV VF per rail and the tenant's rail networks, `aifactory.render.k8s.partitions`) per trainer pod, the tenant
namespace's `nccl-env` ConfigMap (fabric layer) as the trainer's environment, and /dev/shm in memory for NCCL's
shared-memory transport.
A TrainJob asks for nodes with `spec.trainer.numNodes` and for its tenant's queue with the
`kueue.x-k8s.io/queue-name` label (Kueue's TrainJob integration).
"""

from __future__ import annotations

from typing import Any

from aifactory.catalog import get_catalog
from aifactory.render.k8s import partitions
from aifactory.render.k8s.context import Ctx, Manifest
from aifactory.render.k8s.tenants import RDMA_RESOURCE

RUNTIME = "torch-distributed"
# docker.io/pytorch/pytorch, the tag the upstream torch runtime uses at Trainer v2.3.0.
TORCH_IMAGE = ("docker.io/pytorch/pytorch", "2.13.0-cuda13.0-cudnn9-runtime")
NCCL_CONFIGMAP = "nccl-env"


def training_runtimes(ctx: Ctx) -> list[Manifest]:
    if not ctx.bp.mlops.components.kubeflow_trainer:
        return []
    return [_torch_runtime(ctx)]


def _torch_runtime(ctx: Ctx) -> Manifest:
    sku = get_catalog().nodes[ctx.bp.compute.node_sku]
    limits: dict[str, Any] = {}
    if sku.gpus:
        limits[ctx.gpu_resource()] = sku.gpus
    networks = partitions.network_names(ctx)
    for vf in partitions.vf_resources(ctx):  # tenant partitions on InfiniBand: a VF on every rail
        limits[vf] = 1
    if ctx.bp.mlops.components.network_operator and not networks:
        limits[RDMA_RESOURCE] = 1
    repository, tag = TORCH_IMAGE
    container: dict[str, Any] = {
        "name": "node",
        "image": f"{ctx.image(repository)}:{tag}",
        "envFrom": [{"configMapRef": {"name": NCCL_CONFIGMAP, "optional": False}}],
        "volumeMounts": [{"name": "dshm", "mountPath": "/dev/shm"}],
    }
    if limits:
        container["resources"] = {"limits": limits, "requests": dict(limits)}
    pod_spec = {
        "containers": [container],
        "volumes": [{"name": "dshm", "emptyDir": {"medium": "Memory"}}],
    }
    pod: dict[str, Any] = {"spec": pod_spec}
    if networks:
        # Multus attaches the rail networks of the pod's own namespace: its tenant's partition.
        pod["metadata"] = {"annotations": {partitions.NETWORKS_ANNOTATION: ",".join(networks)}}
    job = {
        "name": "node",
        "template": {
            "metadata": {"labels": {"trainer.kubeflow.org/trainjob-ancestor-step": "trainer"}},
            "spec": {"template": pod},
        },
    }
    spec = {
        "mlPolicy": {"numNodes": 1, "torch": {}},
        "template": {"spec": {"replicatedJobs": [job]}},
    }
    manifest = ctx.obj(
        "trainer.kubeflow.org/v1alpha1",
        "ClusterTrainingRuntime",
        RUNTIME,
        "mlops",
        ("mlops", "components", "kubeflow_trainer"),
        spec=spec,
    )
    manifest["metadata"]["labels"]["trainer.kubeflow.org/framework"] = "torch"
    return manifest
