"""Storage layer: a CSI storage class for the parallel file system, a shared volume per tenant sized by its
GPU share, and an in-jurisdiction MinIO object store where the blueprint asks for one."""

from __future__ import annotations

from typing import Any

from aifactory.blueprint.storage import Nfs
from aifactory.render.k8s import images
from aifactory.render.k8s.context import Ctx, Manifest, SecretKey, SecretSpec
from aifactory.render.k8s.tenants import namespace, tenant_namespace

# CSI driver names as each vendor's driver registers them.
PROVISIONERS = {
    "lustre": "exa.csi.ddn.com",  # DDN EXAScaler CSI driver
    "weka": "csi.weka.io",
    "vast": "csi.vastdata.com",
    "storage-scale": "spectrumscale.csi.ibm.com",
    "nfs": "nfs.csi.k8s.io",  # kubernetes-csi/csi-driver-nfs
}
OBJECT_STORE_NS = "object-store"
MINIO_SECRET = "minio-root"  # user and password keys; see minio_secrets
MINIO_SERVERS = 4  # the smallest MinIO erasure-coded set that survives a lost server


def storage_objects(ctx: Ctx) -> list[Manifest]:
    out = [storage_class(ctx), *_tenant_volumes(ctx)]
    store = ctx.bp.storage.object_store
    if store is not None and store.type == "minio":
        out += minio(ctx)
    return out


def minio_secrets(ctx: Ctx) -> list[SecretSpec]:
    """The MinIO root credentials: Secret minio-root (keys user, password), values from the secret store."""
    store = ctx.bp.storage.object_store
    if store is None or store.type != "minio":
        return []
    path = ("storage", "object_store")
    keys = (
        SecretKey("password", store.root_password.secret, (*path, "root_password")),
        SecretKey("user", store.root_user.secret, (*path, "root_user")),
    )
    meta = ctx.metadata(MINIO_SECRET, "storage", path, OBJECT_STORE_NS)
    return [SecretSpec(MINIO_SECRET, OBJECT_STORE_NS, keys, meta, layer="storage")]


def storage_class(ctx: Ctx) -> Manifest:
    fs = ctx.bp.storage.filesystem
    params: dict[str, str] = {}
    if isinstance(fs, Nfs):
        params = {"server": fs.server or "nfs", "share": fs.export}
    return ctx.obj(
        "storage.k8s.io/v1",
        "StorageClass",
        f"{fs.type}-shared",
        "storage",
        ("storage", "filesystem", "type"),
        provisioner=PROVISIONERS[fs.type],
        parameters=params,
        reclaimPolicy="Retain",
        volumeBindingMode="Immediate",
        allowVolumeExpansion=True,
    )


def _gib(nbytes: float) -> str:
    return f"{max(1, int(nbytes // 2**30))}Gi"


def _tenant_volumes(ctx: Ctx) -> list[Manifest]:
    tenants = ctx.bp.mlops.tenants
    total = sum(t.gpus for t in tenants)
    fs = ctx.bp.storage.filesystem
    out = []
    for i, tenant in enumerate(tenants):
        share = tenant.gpus / total if total else 1 / len(tenants)
        spec = {
            "accessModes": ["ReadWriteMany"],
            "storageClassName": f"{fs.type}-shared",
            "resources": {"requests": {"storage": _gib(fs.capacity * share)}},
        }
        out.append(
            ctx.obj(
                "v1",
                "PersistentVolumeClaim",
                "shared-data",
                "storage",
                ("mlops", "tenants", i),
                tenant_namespace(tenant),
                spec=spec,
            )
        )
    return out


def minio(ctx: Ctx) -> list[Manifest]:
    store = ctx.bp.storage.object_store
    assert store is not None
    path = ("storage", "object_store")
    labels = {"app.kubernetes.io/name": "minio"}
    ns = OBJECT_STORE_NS
    service = ctx.obj(
        "v1",
        "Service",
        "minio",
        "storage",
        path,
        ns,
        spec={
            "clusterIP": "None",
            "selector": labels,
            "ports": [{"name": "s3", "port": 9000, "targetPort": 9000}],
        },
    )
    return [namespace(ctx, ns, "storage", path), service, _minio_set(ctx, labels)]


def _minio_set(ctx: Ctx, labels: dict[str, str]) -> Manifest:
    store = ctx.bp.storage.object_store
    assert store is not None
    repository, image, tag = images.MINIO
    pin = ctx.bp.software.charts.get("minio")
    ref = f"{ctx.image(repository)}/{image}" + (
        f"@{pin.image_digest}" if pin and pin.image_digest else f":{tag}"
    )
    peers = f"http://minio-{{0...{MINIO_SERVERS - 1}}}.minio.{OBJECT_STORE_NS}.svc.cluster.local/data"
    env: list[dict[str, Any]] = [
        {"name": "MINIO_ROOT_USER", "valueFrom": {"secretKeyRef": {"name": MINIO_SECRET, "key": "user"}}},
        {
            "name": "MINIO_ROOT_PASSWORD",
            "valueFrom": {"secretKeyRef": {"name": MINIO_SECRET, "key": "password"}},
        },
    ]
    if store.encryption.key_ref:
        env.append({"name": "MINIO_KMS_KES_KEY_NAME", "value": store.encryption.key_ref})
    if ctx.telemetry_off:
        env.append({"name": "MINIO_CALLHOME_ENABLE", "value": "off"})
    container = {
        "name": "minio",
        "image": ref,
        "args": ["server", peers, "--console-address", ":9001"],
        "env": env,
        "ports": [{"containerPort": 9000, "name": "s3"}],
        "volumeMounts": [{"name": "data", "mountPath": "/data"}],
    }
    claim = {
        "metadata": {"name": "data"},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": _gib(store.capacity / MINIO_SERVERS)}},
        },
    }
    location = store.location or ctx.bp.site.jurisdiction
    pod_labels = {**labels, "aifactory.io/jurisdiction": location}
    spec = {
        "serviceName": "minio",
        "replicas": MINIO_SERVERS,
        "podManagementPolicy": "Parallel",
        "selector": {"matchLabels": labels},
        "template": {"metadata": {"labels": pod_labels}, "spec": {"containers": [container]}},
        "volumeClaimTemplates": [claim],
    }
    return ctx.obj(
        "apps/v1", "StatefulSet", "minio", "storage", ("storage", "object_store"), OBJECT_STORE_NS, spec=spec
    )
