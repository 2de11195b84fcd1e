"""MLOps layer, tenants: a namespace each, a GPU ResourceQuota, and Kueue queues when Kueue schedules.

Kueue admits a workload only when its ClusterQueue covers every resource the pods request (Kueue v0.19: "resource
cpu unavailable in ClusterQueue" otherwise), so each tenant's queue covers cpu, memory, the GPUs and, where the
network operator runs, the RDMA shared device that multi-node jobs request (or, with tenant partitions on
InfiniBand, one SR-IOV VF per rail: `aifactory.render.k8s.partitions`). The quotas follow the tenant's GPU
share of whole nodes: `gpus / gpus per node` nodes' worth of the SKU's logical CPUs and memory (catalogue
`nodes.yaml` `cpu:` and `memory_gib`, cited there) and of RDMA device slots.

The ResourceFlavor selects the nodes by the product label GPU feature discovery sets (catalogue `gpus.yaml`
`product_label`, cited there) and names the fabric `Topology` (`aifactory.render.k8s.topology`), so Kueue's
topology-aware scheduling can keep a job inside a leaf group or an NVLink domain.
"""

from __future__ import annotations

from typing import Any

from aifactory.blueprint.mlops import Tenant
from aifactory.catalog import NodeSku, get_catalog
from aifactory.errors import UserError
from aifactory.render.k8s import partitions
from aifactory.render.k8s.context import Ctx, Manifest
from aifactory.render.k8s.topology import TOPOLOGY, topology
from aifactory.render.quotas import gpu_quota

KUEUE = "kueue.x-k8s.io/v1beta2"
FLAVOR = "gpu"
COHORT = "aifactory"
# The network operator's RDMA shared device plugin (fabric.nic_cluster_policy): resource `rdma/<resourceName>`,
# at most `rdmaHcaMax` pods per node share it.
RDMA_RESOURCE_NAME = "rdma_shared_device"
RDMA_RESOURCE = f"rdma/{RDMA_RESOURCE_NAME}"
RDMA_HCA_MAX = 63


def tenant_namespace(tenant: Tenant) -> str:
    return tenant.namespace or tenant.name


def namespace(ctx: Ctx, name: str, layer: str, path: tuple[str | int, ...]) -> Manifest:
    return ctx.obj("v1", "Namespace", name, layer, path)


def tenant_objects(ctx: Ctx) -> list[Manifest]:
    out: list[Manifest] = []
    kueue = ctx.bp.mlops.components.kueue
    if kueue and ctx.bp.mlops.tenants:
        out += [_flavor(ctx), topology(ctx)]
    for i, tenant in enumerate(ctx.bp.mlops.tenants):
        path = ("mlops", "tenants", i)
        ns = tenant_namespace(tenant)
        out.append(namespace(ctx, ns, "mlops", path))
        out.append(_quota(ctx, tenant, ns, path))
        if kueue:
            out += [_cluster_queue(ctx, tenant, path), _local_queue(ctx, tenant, ns, path)]
    return out


def _quota(ctx: Ctx, tenant: Tenant, ns: str, path: tuple[str | int, ...]) -> Manifest:
    gpu = ctx.gpu_resource()
    hard = {f"requests.{gpu}": str(gpu_quota(tenant))}
    return ctx.obj("v1", "ResourceQuota", "gpu-quota", "mlops", (*path, "gpus"), ns, spec={"hard": hard})


def _sku(ctx: Ctx) -> NodeSku:
    return get_catalog().nodes[ctx.bp.compute.node_sku]


def product_label(ctx: Ctx) -> dict[str, str]:
    """The node label feature discovery sets for the SKU's GPUs; an error where none is known or MIG renames
    the product (GFD appends the slice profile under MIG)."""
    sku = _sku(ctx)
    label = dict(get_catalog().gpus[sku.gpu].product_label) if sku.gpus else {}
    where = ctx.loaded.locate("mlops", "components", "kueue")
    if not label:
        raise UserError.at(
            where,
            f"Kueue needs a node label to select the GPU nodes, and the catalogue knows none for "
            f"{ctx.bp.compute.node_sku!r} (GPU {sku.gpu!r})",
            "use a node SKU with GPUs whose feature-discovery label the catalogue records, or set "
            "mlops.components.kueue: false",
            path="mlops.components.kueue",
        )
    if ctx.bp.compute.mig.enabled:
        raise UserError.at(
            ctx.loaded.locate("compute", "mig", "enabled"),
            "Kueue quotas are rendered for whole GPUs; with MIG the GPU product label and resources change "
            "per slice profile",
            "set compute.mig.enabled: false, or mlops.components.kueue: false",
            path="compute.mig.enabled",
        )
    return label


def _shape(ctx: Ctx) -> tuple[int, int, int]:
    """(GPUs, logical CPUs, memory GiB) of one node of the SKU."""
    sku = _sku(ctx)
    if sku.cpu is None or sku.memory_gib is None:
        raise UserError.at(
            ctx.loaded.locate("mlops", "components", "kueue"),
            f"Kueue quotas need the CPUs and memory of a node, and the catalogue has no published figure for "
            f"{ctx.bp.compute.node_sku!r}",
            "use a node SKU with `cpu:` and `memory_gib` in the catalogue, or set mlops.components.kueue: false",
            path="mlops.components.kueue",
        )
    cpus = sku.cpu.sockets * sku.cpu.cores_per_socket * sku.cpu.threads_per_core
    return sku.gpus, cpus, sku.memory_gib


def covered_resources(ctx: Ctx) -> list[str]:
    """What the tenants' pods request: with tenant partitions on InfiniBand a VF per rail
    (`partitions.vf_resources`), else the RDMA shared device where the network operator runs."""
    out = ["cpu", "memory", ctx.gpu_resource()]
    vfs = partitions.vf_resources(ctx)
    if vfs:
        out += vfs
    elif ctx.bp.mlops.components.network_operator:
        out.append(RDMA_RESOURCE)
    return out


def quotas(ctx: Ctx, tenant: Tenant) -> dict[str, Any]:
    """Nominal quota per covered resource: the tenant's GPUs in whole nodes' worth (rounded down)."""
    gpus, cpus, memory_gib = _shape(ctx)
    quota = gpu_quota(tenant)
    out: dict[str, Any] = {
        "cpu": quota * cpus // gpus,
        "memory": f"{quota * memory_gib // gpus}Gi",
        ctx.gpu_resource(): quota,
    }
    covered = covered_resources(ctx)
    if RDMA_RESOURCE in covered:
        out[RDMA_RESOURCE] = quota * RDMA_HCA_MAX // gpus
    for vf in partitions.vf_resources(ctx):  # the VFs of the tenant's nodes' worth, on each rail
        out[vf] = quota * partitions.vfs_per_rail(ctx) // gpus
    return out


def _flavor(ctx: Ctx) -> Manifest:
    # One flavor per factory: every GPU node carries the same SKU, so its product label selects them all.
    spec = {"nodeLabels": product_label(ctx), "topologyName": TOPOLOGY}
    return ctx.obj(KUEUE, "ResourceFlavor", FLAVOR, "mlops", ("compute", "node_sku"), spec=spec)


def _cluster_queue(ctx: Ctx, tenant: Tenant, path: tuple[str | int, ...]) -> Manifest:
    covered = covered_resources(ctx)
    quota = quotas(ctx, tenant)
    spec = {
        "cohortName": COHORT,
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": tenant_namespace(tenant)}},
        "resourceGroups": [
            {
                "coveredResources": covered,
                "flavors": [
                    {"name": FLAVOR, "resources": [{"name": r, "nominalQuota": quota[r]} for r in covered]}
                ],
            }
        ],
    }
    return ctx.obj(KUEUE, "ClusterQueue", tenant.name, "mlops", (*path, "gpus"), spec=spec)


def _local_queue(ctx: Ctx, tenant: Tenant, ns: str, path: tuple[str | int, ...]) -> Manifest:
    return ctx.obj(KUEUE, "LocalQueue", tenant.name, "mlops", path, ns, spec={"clusterQueue": tenant.name})
