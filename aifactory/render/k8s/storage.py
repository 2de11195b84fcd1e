"""Storage layer: a CSI storage class for the parallel file system, a shared volume per tenant, and an
in-jurisdiction MinIO object store where the blueprint asks for one.

StorageClass parameters come from the blueprint's file system block; the loader refuses a Kubernetes blueprint
that leaves one the driver needs empty (`aifactory.blueprint.csi`). Binding waits for the first consumer, so a
volume is provisioned where its pod lands (and Pulumi does not wait for a claim no pod uses yet).

Tenant volume sizes never shrink when GPU shares change: a tenant's `shared_storage` if given, else the whole
file system's capacity (on a shared parallel file system a claim's size is a quota ceiling, not a reservation).
Kubernetes refuses to shrink a claim, so lowering `shared_storage` later is an error at `pulumi up`; grow only.
"""

from __future__ import annotations

from typing import Any

from aifactory.blueprint.storage import Lustre, Nfs, StorageScale, Vast, Weka
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
MINIO_SECRET = "minio-root"  # user and password keys (and kes-api-key with KES); see minio_secrets
MINIO_SERVERS = 4  # the smallest MinIO erasure-coded set that survives a lost server
SKIP_AWAIT = "pulumi.com/skipAwait"  # the provider annotation that skips its readiness wait for one resource
WEKA_NS = "csi-wekafs"
WEKA_SECRET = "csi-wekafs-api-secret"  # keys as weka/csi-wekafs examples/common/csi-wekafs-api-secret.yaml
WEKA_API_PORT = 14000
VAST_NS = "vast-csi"  # the vastcsi chart's README installs it there
VAST_SECRET = "csi-vast-mgmt"  # the VMS login the chart's `secretName` mounts (keys username, password)
# CSI sidecar secret parameters (external-provisioner, -attacher, -resizer, node publish).
_SECRET_PARAMS = ("provisioner", "controller-publish", "controller-expand", "node-stage", "node-publish")


def chart_owns_class(ctx: Ctx) -> bool:
    """VAST's chart renders the StorageClass itself (its template fails without one, and has no switch to
    leave it out): the chart's `storageClasses` value carries this class, and the storage layer renders none."""
    return isinstance(ctx.bp.storage.filesystem, Vast)


def storage_objects(ctx: Ctx) -> list[Manifest]:
    out = ([] if chart_owns_class(ctx) else [storage_class(ctx)]) + _tenant_volumes(ctx)
    if isinstance(ctx.bp.storage.filesystem, Weka):
        out.append(namespace(ctx, WEKA_NS, "storage", ("storage", "filesystem")))
    if isinstance(ctx.bp.storage.filesystem, Vast):
        out.append(namespace(ctx, VAST_NS, "storage", ("storage", "filesystem")))
    store = ctx.bp.storage.object_store
    if store is not None and store.type == "minio":
        out += minio(ctx)
    return out


def minio_secrets(ctx: Ctx) -> list[SecretSpec]:
    """The MinIO root credentials: Secret minio-root (keys user, password), values from the secret store;
    and the CSI driver's API secret for WEKA."""
    out = []
    fs = ctx.bp.storage.filesystem
    if isinstance(fs, Weka):
        path = ("storage", "filesystem")
        endpoints = ",".join(f"{h}:{WEKA_API_PORT}" for h in fs.backend_hosts)
        api = (
            SecretKey("password", fs.api_password.secret, (*path, "api_password")),
            SecretKey("username", fs.api_username.secret, (*path, "api_username")),
        )
        plain = (("endpoints", endpoints), ("organization", fs.organization), ("scheme", "https"))
        meta = ctx.metadata(WEKA_SECRET, "storage", path, WEKA_NS)
        out.append(SecretSpec(WEKA_SECRET, WEKA_NS, api, meta, plain, layer="storage"))
    if isinstance(fs, Vast):
        path = ("storage", "filesystem")
        vms = (
            SecretKey("password", fs.vms_password.secret, (*path, "vms_password")),
            SecretKey("username", fs.vms_username.secret, (*path, "vms_username")),
        )
        meta = ctx.metadata(VAST_SECRET, "storage", path, VAST_NS)
        out.append(SecretSpec(VAST_SECRET, VAST_NS, vms, meta, layer="storage"))
    store = ctx.bp.storage.object_store
    if store is None or store.type != "minio":
        return out
    path = ("storage", "object_store")
    keys: tuple[SecretKey, ...] = (
        SecretKey("password", store.root_password.secret, (*path, "root_password")),
        SecretKey("user", store.root_user.secret, (*path, "root_user")),
    )
    if store.kes_endpoint:
        keys = (*keys, SecretKey("kes-api-key", store.kes_api_key.secret, (*path, "kes_api_key")))
    meta = ctx.metadata(MINIO_SECRET, "storage", path, OBJECT_STORE_NS)
    return [*out, SecretSpec(MINIO_SECRET, OBJECT_STORE_NS, keys, meta, layer="storage")]


def class_name(ctx: Ctx) -> str:
    return f"{ctx.bp.storage.filesystem.type}-shared"


def csi_parameters(ctx: Ctx) -> dict[str, str]:
    """The StorageClass parameters of the file system's CSI driver, from the blueprint."""
    fs = ctx.bp.storage.filesystem
    if isinstance(fs, Lustre):
        # DDNStorage/exa-csi-driver: exaFS '<MGS NIDs>:/<fsname>', mountPoint on the host.
        return {"exaFS": f"{fs.mgs_nid}:/{fs.fs_name}", "mountPoint": fs.mount}
    if isinstance(fs, Weka):
        # weka/csi-wekafs: a directory-backed volume per claim in filesystemName, the API secret for every call.
        params = {"volumeType": "dir/v1", "filesystemName": fs.filesystem_name, "capacityEnforcement": "HARD"}
        for step in _SECRET_PARAMS:
            params[f"csi.storage.k8s.io/{step}-secret-name"] = WEKA_SECRET
            params[f"csi.storage.k8s.io/{step}-secret-namespace"] = WEKA_NS
        return params
    if isinstance(fs, Vast):
        # vast-data/vast-csi: root_export and view_policy required, and the VIP pool to mount through.
        return {"root_export": fs.root_export, "view_policy": fs.view_policy, "vip_pool_name": fs.vip_pool_name}
    if isinstance(fs, StorageScale):
        params = {"volBackendFs": fs.filesystem_name}
        if fs.cluster_name:
            params["clusterId"] = fs.cluster_name
        return params
    assert isinstance(fs, Nfs)
    return {"server": fs.server, "share": fs.export}


def storage_class(ctx: Ctx) -> Manifest:
    fs = ctx.bp.storage.filesystem
    return ctx.obj(
        "storage.k8s.io/v1",
        "StorageClass",
        class_name(ctx),
        "storage",
        ("storage", "filesystem", "type"),
        provisioner=PROVISIONERS[fs.type],
        parameters=csi_parameters(ctx),
        reclaimPolicy="Retain",
        volumeBindingMode="WaitForFirstConsumer",
        allowVolumeExpansion=True,
    )


def _gib(nbytes: float) -> str:
    return f"{max(1, int(nbytes // 2**30))}Gi"


def _tenant_volumes(ctx: Ctx) -> list[Manifest]:
    fs = ctx.bp.storage.filesystem
    out = []
    for i, tenant in enumerate(ctx.bp.mlops.tenants):
        size = tenant.shared_storage if tenant.shared_storage is not None else fs.capacity
        path = ("mlops", "tenants", i, "shared_storage") if tenant.shared_storage else ("storage", "filesystem")
        spec = {
            "accessModes": ["ReadWriteMany"],
            "storageClassName": class_name(ctx),
            "resources": {"requests": {"storage": _gib(size)}},
        }
        claim = ctx.obj(
            "v1", "PersistentVolumeClaim", "shared-data", "storage", path, tenant_namespace(tenant), spec=spec
        )
        # Nothing in the stack mounts a tenant's claim: the tenant's jobs do, later. Under WaitForFirstConsumer the
        # claim stays Pending until then, and the provider's readiness wait for a claim depends on its version
        # (it waits for Bound before pulumi/pulumi-kubernetes#3130, and on an update still did before #4181), so
        # `pulumi up` would hang or time out on it. The claim is ready once the API server has it; the pods that
        # mount it are what the tenant's own deployments wait for.
        claim["metadata"]["annotations"][SKIP_AWAIT] = "true"
        out.append(claim)
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


def _secret_env(name: str, key: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": MINIO_SECRET, "key": key}}}


def _minio_set(ctx: Ctx, labels: dict[str, str]) -> Manifest:
    store = ctx.bp.storage.object_store
    assert store is not None
    repository, image, tag = images.MINIO
    pin = ctx.bp.software.charts.get("minio")
    ref = f"{ctx.image(repository)}/{image}" + (f"@{pin.image_digest}" if pin and pin.image_digest else f":{tag}")
    peers = f"http://minio-{{0...{MINIO_SERVERS - 1}}}.minio.{OBJECT_STORE_NS}.svc.cluster.local/data"
    env: list[dict[str, Any]] = [
        _secret_env("MINIO_ROOT_USER", "user"),
        _secret_env("MINIO_ROOT_PASSWORD", "password"),
    ]
    if store.encryption.key_ref and store.kes_endpoint:
        # MinIO reads a KMS key only together with a KES server; a key name alone stops it from starting.
        env += [
            {"name": "MINIO_KMS_KES_ENDPOINT", "value": store.kes_endpoint},
            {"name": "MINIO_KMS_KES_KEY_NAME", "value": store.encryption.key_ref},
            _secret_env("MINIO_KMS_KES_API_KEY", "kes-api-key"),
        ]
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
            "storageClassName": store.storage_class or class_name(ctx),
            "resources": {"requests": {"storage": _gib(store.capacity / MINIO_SERVERS)}},
        },
    }
    location = store.location or ctx.bp.site.jurisdiction
    pod_labels = {**labels, "aifactory.io/jurisdiction": location}
    # One server per node: two on one node would lose two drives of the erasure set with it.
    anti_affinity = {
        "podAntiAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": [
                {"labelSelector": {"matchLabels": labels}, "topologyKey": "kubernetes.io/hostname"}
            ]
        }
    }
    spec = {
        "serviceName": "minio",
        "replicas": MINIO_SERVERS,
        "podManagementPolicy": "Parallel",
        "selector": {"matchLabels": labels},
        "template": {
            "metadata": {"labels": pod_labels},
            "spec": {"affinity": anti_affinity, "containers": [container]},
        },
        "volumeClaimTemplates": [claim],
    }
    return ctx.obj(
        "apps/v1", "StatefulSet", "minio", "storage", ("storage", "object_store"), OBJECT_STORE_NS, spec=spec
    )
