"""MLOps layer: orchestrators (chosen by `type`), platform components, tenants and their GPU quotas."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from aifactory.blueprint.base import StrictModel
from aifactory.blueprint.secretref import SecretRef, ref
from aifactory.blueprint.site import Name
from aifactory.blueprint.types import DataSize
from aifactory.blueprint.workloads import Workloads

MAX_PARTITIONS = 256
MAX_TENANTS = 1000


class SlurmPartition(StrictModel):
    """A Slurm partition (queue)."""

    name: Name = Field(description="Partition name (a DNS-1123 label).")
    nodes: Literal["all"] | Annotated[int, Field(ge=1, le=1_000_000)] = Field(
        "all", description="Compute nodes in the partition: 'all', or a count (the first N nodes)."
    )
    default: bool = Field(False, description="Jobs that name no partition go to this one.")
    max_time: Annotated[str, Field(pattern=r"^(INFINITE|[0-9]+(-[0-9]{1,2})?(:[0-9]{2}){0,2})$")] = Field(
        "INFINITE", description="Longest job run time, in Slurm's form ('INFINITE', '2-00:00:00', '90')."
    )


class Slurm(StrictModel):
    """Slurm settings."""

    cluster_name: Name = Field("aifactory", description="Slurm ClusterName.")
    partitions: Annotated[list[SlurmPartition], Field(min_length=1, max_length=MAX_PARTITIONS)] = Field(
        default_factory=lambda: [SlurmPartition(name="gpu", default=True)],
        description="Partitions; default: one default partition 'gpu' with every compute node.",
    )
    topology_aware: bool = Field(
        True, description="Schedule with the fabric's switch topology (recorded; topology.conf is always written)."
    )
    prolog_health_check: bool = Field(
        True, description="Run a node health check before each job (recorded; not yet rendered)."
    )
    munge_key: SecretRef | None = Field(
        None, description="Ansible Vault variable holding the factory's munge key (at least 32 characters); "
        "default: the key made once on the first Slurm controller."
    )
    accounting: bool = Field(
        False, description="Job accounting: slurmdbd with MariaDB on the first Slurm controller, one Slurm account "
        "per mlops tenant limited to the tenant's GPU quota (GrpTRES), limits enforced."
    )
    accounting_db_password: SecretRef | None = Field(
        None, description="Ansible Vault variable holding the password of slurmdbd's MariaDB user; default: one "
        "made once on the accounting host, kept there in a root-only file (it never leaves that host)."
    )


class Kubernetes(StrictModel):
    """Kubernetes settings."""

    distribution: Literal["kubeadm", "rke2", "k3s", "openshift"] = Field(
        "kubeadm", description="Kubernetes distribution (recorded)."
    )
    control_plane_nodes: Annotated[int, Field(ge=1, le=7)] = Field(
        3, description="Number of control plane hosts (management hosts, not GPU nodes)."
    )
    gpu_nodes: Literal["all", "none"] | Annotated[int, Field(ge=0, le=1_000_000)] = Field(
        "all", description="GPU nodes that join Kubernetes: 'all', 'none' or a count (recorded)."
    )
    scheduler: Literal["kueue", "volcano", "default"] = Field(
        "kueue", description="Batch scheduler for GPU jobs; kueue and volcano need their mlops.components entry."
    )


class SlurmOrchestrator(StrictModel):
    """Slurm only."""

    type: Literal["slurm"] = Field(description="Orchestrator: Slurm.")
    slurm: Slurm = Field(default_factory=Slurm, description="Slurm cluster settings.")


class KubernetesOrchestrator(StrictModel):
    """Kubernetes only."""

    type: Literal["kubernetes"] = Field(description="Orchestrator: Kubernetes.")
    kubernetes: Kubernetes = Field(default_factory=Kubernetes, description="Kubernetes cluster settings.")


class BothOrchestrators(StrictModel):
    """Slurm for training, Kubernetes for serving and services, on one fleet."""

    type: Literal["both"] = Field(description="Orchestrator: Slurm and Kubernetes.")
    slurm: Slurm = Field(default_factory=Slurm, description="Slurm cluster settings.")
    kubernetes: Kubernetes = Field(default_factory=Kubernetes, description="Kubernetes cluster settings.")
    kubernetes_share: Annotated[float, Field(ge=0, le=1)] = Field(
        default=0.25, description="Fraction of GPU nodes given to Kubernetes, in whole racks from the end of the "
        "fleet nearest share x nodes; the rest run Slurm. Both must get at least one node."
    )


Orchestrator = Annotated[
    SlurmOrchestrator | KubernetesOrchestrator | BothOrchestrators, Field(discriminator="type")
]


class Tenant(StrictModel):
    """A team or project with a GPU quota."""

    name: Name = Field(description="Tenant name (a DNS-1123 label).")
    gpus: Annotated[int, Field(ge=0, le=10_000_000)] = Field(
        description="GPU quota (the tenant's ResourceQuota and Kueue queue, whose CPU and memory quotas follow "
        "as whole nodes' worth)."
    )
    shared_storage: DataSize | None = Field(
        None, description="Size of the tenant's volume on the shared file system, e.g. '500TB'; default: the "
        "file system's capacity (a ceiling on a shared file system, not a reservation). A volume only grows: "
        "lowering it later is refused by Kubernetes."
    )
    namespace: Name | None = Field(None, description="Kubernetes namespace of the tenant; default: its name.")
    priority: Annotated[int, Field(ge=0, le=1000)] = Field(100, description="Scheduling priority (recorded).")


class Components(StrictModel):
    """Which platform components run; versions are pinned under `software.charts`."""

    gpu_operator: bool = Field(
        True, description="The GPU vendor's operator: NVIDIA GPU Operator (drivers, device plugin, MIG manager), or "
        "the AMD GPU operator (device plugin, metrics exporter) on AMD nodes."
    )
    network_operator: bool = Field(True, description="NVIDIA Network Operator (RDMA, OFED driver).")
    dcgm_exporter: bool = Field(True, description="DCGM exporter for GPU metrics.")
    prometheus: bool = Field(True, description="Prometheus monitoring and the factory's alert rules.")
    kueue: bool = Field(False, description="Kueue job queueing with per-tenant GPU quotas.")
    volcano: bool = Field(False, description="Volcano batch scheduler.")
    kubeflow_trainer: bool = Field(False, description="Kubeflow Trainer for distributed training jobs.")
    kuberay: bool = Field(False, description="KubeRay operator for Ray clusters.")
    kserve: bool = Field(False, description="KServe model serving.")
    nim: bool = Field(False, description="NVIDIA NIM inference microservices.")
    mlflow: bool = Field(True, description="MLflow experiment tracking.")


class Mlops(StrictModel):
    """Orchestration and the platform on top of it."""

    orchestrator: Orchestrator = Field(description="Workload orchestrator; `type` picks Slurm, Kubernetes or both.")
    components: Components = Field(default_factory=Components, description="Platform components to run.")
    tenants: Annotated[list[Tenant], Field(max_length=MAX_TENANTS)] = Field(
        default_factory=list, description="Tenants and their GPU quotas."
    )
    grafana_admin_password: SecretRef = Field(
        default_factory=lambda: ref("grafana_admin_password"),
        description="Pulumi config secret holding Grafana's admin password (Secret grafana-admin in monitoring; "
        "used where mlops.components.prometheus is on).",
    )
    workloads: Workloads = Field(
        default_factory=Workloads, description="Training, evaluation, serving and benchmark workloads "
        "(`aifactory render --workloads`)."
    )
