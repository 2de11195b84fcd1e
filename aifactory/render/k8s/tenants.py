"""MLOps layer, tenants: a namespace each, a GPU ResourceQuota, and Kueue queues when Kueue schedules."""

from __future__ import annotations

from aifactory.blueprint.mlops import Tenant
from aifactory.render.k8s.context import Ctx, Manifest

KUEUE = "kueue.x-k8s.io/v1beta2"
FLAVOR = "gpu"


def tenant_namespace(tenant: Tenant) -> str:
    return tenant.namespace or tenant.name


def namespace(ctx: Ctx, name: str, layer: str, path: tuple[str | int, ...]) -> Manifest:
    return ctx.obj("v1", "Namespace", name, layer, path)


def tenant_objects(ctx: Ctx) -> list[Manifest]:
    out: list[Manifest] = []
    kueue = ctx.bp.mlops.components.kueue
    if kueue and ctx.bp.mlops.tenants:
        out.append(_flavor(ctx))
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
    hard = {f"requests.{gpu}": str(tenant.gpus)}
    return ctx.obj("v1", "ResourceQuota", "gpu-quota", "mlops", (*path, "gpus"), ns, spec={"hard": hard})


def _flavor(ctx: Ctx) -> Manifest:
    # One flavor per factory: every GPU node carries the same SKU, so the product label selects them all.
    return ctx.obj(
        KUEUE,
        "ResourceFlavor",
        FLAVOR,
        "mlops",
        ("compute", "node_sku"),
        spec={"nodeLabels": {"aifactory.io/node-sku": ctx.bp.compute.node_sku}},
    )


def _cluster_queue(ctx: Ctx, tenant: Tenant, path: tuple[str | int, ...]) -> Manifest:
    gpu = ctx.gpu_resource()
    spec = {
        "cohortName": "aifactory",
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": tenant_namespace(tenant)}},
        "resourceGroups": [
            {
                "coveredResources": [gpu],
                "flavors": [{"name": FLAVOR, "resources": [{"name": gpu, "nominalQuota": tenant.gpus}]}],
            }
        ],
    }
    return ctx.obj(KUEUE, "ClusterQueue", tenant.name, "mlops", (*path, "gpus"), spec=spec)


def _local_queue(ctx: Ctx, tenant: Tenant, ns: str, path: tuple[str | int, ...]) -> Manifest:
    return ctx.obj(KUEUE, "LocalQueue", tenant.name, "mlops", path, ns, spec={"clusterQueue": tenant.name})
