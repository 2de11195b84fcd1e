"""MLOps layer: orchestrators (chosen by `type`), platform components, tenants and their GPU quotas."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from aifactory.blueprint.base import StrictModel
from aifactory.blueprint.site import Name

MAX_PARTITIONS = 256
MAX_TENANTS = 1000


class SlurmPartition(StrictModel):
    name: Name
    nodes: Literal["all"] | Annotated[int, Field(ge=1, le=1_000_000)] = "all"
    default: bool = False
    max_time: Annotated[str, Field(pattern=r"^(INFINITE|[0-9]+(-[0-9]{1,2})?(:[0-9]{2}){0,2})$")] = "INFINITE"


class Slurm(StrictModel):
    cluster_name: Name = "aifactory"
    partitions: Annotated[list[SlurmPartition], Field(min_length=1, max_length=MAX_PARTITIONS)] = Field(
        default_factory=lambda: [SlurmPartition(name="gpu", default=True)]
    )
    topology_aware: bool = True
    prolog_health_check: bool = True


class Kubernetes(StrictModel):
    distribution: Literal["kubeadm", "rke2", "k3s", "openshift"] = "kubeadm"
    control_plane_nodes: Annotated[int, Field(ge=1, le=7)] = 3
    gpu_nodes: Literal["all", "none"] | Annotated[int, Field(ge=0, le=1_000_000)] = "all"
    scheduler: Literal["kueue", "volcano", "default"] = "kueue"


class SlurmOrchestrator(StrictModel):
    type: Literal["slurm"]
    slurm: Slurm = Field(default_factory=Slurm)


class KubernetesOrchestrator(StrictModel):
    type: Literal["kubernetes"]
    kubernetes: Kubernetes = Field(default_factory=Kubernetes)


class BothOrchestrators(StrictModel):
    """Slurm for training, Kubernetes for serving and services, on one fleet."""

    type: Literal["both"]
    slurm: Slurm = Field(default_factory=Slurm)
    kubernetes: Kubernetes = Field(default_factory=Kubernetes)
    kubernetes_share: Annotated[float, Field(ge=0, le=1)] = Field(
        default=0.25, description="Fraction of GPU nodes given to Kubernetes; the rest run Slurm."
    )


Orchestrator = Annotated[
    SlurmOrchestrator | KubernetesOrchestrator | BothOrchestrators, Field(discriminator="type")
]


class Tenant(StrictModel):
    name: Name
    gpus: Annotated[int, Field(ge=0, le=10_000_000)]
    namespace: Name | None = None
    priority: Annotated[int, Field(ge=0, le=1000)] = 100


class Components(StrictModel):
    """Which platform components run; versions are pinned under `software.charts`."""

    gpu_operator: bool = True
    network_operator: bool = True
    dcgm_exporter: bool = True
    prometheus: bool = True
    kueue: bool = False
    volcano: bool = False
    kubeflow_trainer: bool = False
    kuberay: bool = False
    kserve: bool = False
    nim: bool = False
    mlflow: bool = True


class Mlops(StrictModel):
    orchestrator: Orchestrator
    components: Components = Field(default_factory=Components)
    tenants: Annotated[list[Tenant], Field(max_length=MAX_TENANTS)] = Field(default_factory=list)
