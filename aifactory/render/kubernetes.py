"""The Kubernetes and MLOps layer as plain objects: built once here, created by the Pulumi modules and written
as YAML by `aifactory render --kubernetes`, so the two cannot drift.

`build(loaded, region)` returns every object (labelled with region, blueprint and source) and every pinned
Helm release. A blueprint whose orchestrator is Slurm alone has no Kubernetes layer: the result is empty.
"""

from __future__ import annotations

from aifactory.blueprint import Blueprint, LoadedBlueprint
from aifactory.render.k8s.charts import chart_secrets, releases
from aifactory.render.k8s.context import LAYERS, ChartRelease, Ctx, Manifest, Rendered, layer_of
from aifactory.render.k8s.cooling import cooling_objects
from aifactory.render.k8s.fabric import fabric_objects, fabric_secrets
from aifactory.render.k8s.operators import gpu_operator_objects, serving_runtime
from aifactory.render.k8s.storage import minio_secrets, storage_objects
from aifactory.render.k8s.tenants import namespace, tenant_objects
from aifactory.render.k8s.training import training_runtimes

__all__ = ["LAYERS", "ChartRelease", "Manifest", "Rendered", "build", "has_kubernetes", "layer_of"]

# Creation order inside a layer: namespaces before what lives in them.
_KIND_ORDER = {"Namespace": 0, "StorageClass": 1, "ResourceQuota": 2, "ConfigMap": 3}


def has_kubernetes(bp: Blueprint) -> bool:
    return bp.mlops.orchestrator.type in ("kubernetes", "both")


def build(loaded: LoadedBlueprint, region: str) -> Rendered:
    """All Kubernetes objects and Helm releases for one blueprint in one region (deterministic order)."""
    if not has_kubernetes(loaded.model):
        return Rendered()
    ctx = Ctx(loaded, region)
    objects = tenant_objects(ctx) + fabric_objects(ctx) + storage_objects(ctx) + cooling_objects(ctx)
    flags = loaded.model.mlops.components
    if flags.gpu_operator:
        objects += gpu_operator_objects(ctx)
    if flags.kserve:
        objects.append(serving_runtime(ctx))
    objects += training_runtimes(ctx)
    charts = releases(ctx)
    objects += _system_namespaces(ctx, objects, charts)
    secrets = minio_secrets(ctx) + chart_secrets(ctx) + fabric_secrets(ctx)
    return Rendered(sorted(objects, key=sort_key), charts, secrets)


def sort_key(obj: Manifest) -> tuple[str, int, str, str, str]:
    meta = obj["metadata"]
    return (
        layer_of(obj),
        _KIND_ORDER.get(obj["kind"], 9),
        obj["kind"],
        meta.get("namespace", ""),
        meta["name"],
    )


# Namespaces every cluster has: a Namespace object for one would be a create that fails at `pulumi up`
# (it already exists) and a resource whose deletion Kubernetes refuses.
BUILT_IN_NAMESPACES = frozenset({"default", "kube-node-lease", "kube-public", "kube-system"})


def _system_namespaces(ctx: Ctx, objects: list[Manifest], charts: list[ChartRelease]) -> list[Manifest]:
    """A Namespace for every namespace an object or release uses that no layer created and the cluster does not
    have from the start (csi-driver-nfs and the EXAScaler driver install into kube-system)."""
    have = {o["metadata"]["name"] for o in objects if o["kind"] == "Namespace"}
    used = {o["metadata"]["namespace"] for o in objects if "namespace" in o["metadata"]}
    used |= {r.namespace for r in charts}
    return [namespace(ctx, ns, "mlops", ("mlops", "components")) for ns in sorted(used - have - BUILT_IN_NAMESPACES)]
