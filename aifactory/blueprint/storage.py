"""Storage layer: the parallel file system (chosen by `type`), an object store, local cache, checkpoints."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints, WithJsonSchema

from aifactory.blueprint.base import StrictModel
from aifactory.blueprint.grammar import (
    Host,
    InterfaceName,
    KeyRef,
    LustreNid,
    MountPath,
    ObjectName,
    OptionalHost,
    OptionalUrl,
    _mount_path,
)
from aifactory.blueprint.secretref import SecretRef, ref
from aifactory.blueprint.site import Jurisdiction
from aifactory.blueprint.types import DataSize, Throughput

MAX_HOSTS = 256
OptionalMountPath = Annotated[
    str,
    AfterValidator(lambda v: v if v == "" else _mount_path(v)),
    WithJsonSchema({"type": "string", "pattern": r"^(/[A-Za-z0-9._/-]*)?$", "maxLength": 255}),
]


class Encryption(StrictModel):
    at_rest: bool = Field(True, description="Encrypt data stored on disk.")
    in_transit: bool = Field(True, description="Encrypt data on the network.")
    key_ref: KeyRef = Field(default="", description="Key name in the site's key custody system (no secrets).")


class _FileSystem(StrictModel):
    tier: Literal["good", "better", "best"] = Field(
        "better", description="DGX SuperPOD storage performance tier the throughput is checked against "
        "(per 256 GPUs: good 15 GB/s read, better 40 GB/s, best 125 GB/s)."
    )
    capacity: DataSize = Field(description="Usable capacity in bytes, e.g. '2PB' or '500TB'.")
    read_throughput: Throughput = Field(description="Aggregate read the appliance delivers, e.g. '125GB/s'.")
    write_throughput: Throughput = Field(description="Aggregate write the appliance delivers, e.g. '62GB/s'.")
    mount: MountPath = Field("/data", description="Where nodes mount the file system.")
    location: Jurisdiction | None = Field(default=None, description="Default: the site's jurisdiction.")
    encryption: Encryption = Field(default_factory=Encryption, description="Encryption of the file system.")


class Lustre(_FileSystem):
    type: Literal["lustre"] = Field(description="File system: Lustre.")
    mgs_nid: LustreNid = Field(
        "", description="NID(s) of the management server, e.g. '10.0.0.5@o2ib'; required: clients mount "
        "'<mgs_nid>:/<fs_name>' (so does the EXAScaler CSI driver's `exaFS`)."
    )
    fs_name: Annotated[str, StringConstraints(pattern=r"^[a-z0-9]{1,8}$")] = Field(
        "lustre", description="Lustre file system name (1 to 8 lowercase letters or digits)."
    )
    lnet_interfaces: Annotated[list[InterfaceName], Field(max_length=16)] = Field(
        default_factory=list, description="The clients' interfaces LNet uses on the MGS NIDs' network (LNet "
        "`networks=o2ib(ibp41s0f0)`), e.g. ['ibp41s0f0']; required."
    )


class Weka(_FileSystem):
    type: Literal["weka"] = Field(description="File system: WEKA.")
    backend_hosts: Annotated[list[Host], Field(max_length=MAX_HOSTS)] = Field(
        default_factory=list, description="WEKA backend hosts; clients mount from the first one. Required with "
        "Kubernetes: the CSI driver's API secret lists them as its endpoints (port 14000)."
    )
    filesystem_name: ObjectName = Field(
        "", description="WEKA file system the CSI driver creates volumes in (StorageClass `filesystemName`); "
        "required with Kubernetes."
    )
    organization: ObjectName = Field("Root", description="WEKA organization of the CSI driver's API user.")
    api_username: SecretRef = Field(
        default_factory=lambda: ref("weka_api_username"),
        description="The Pulumi config secret holding the WEKA API user of the CSI driver (Secret "
        "csi-wekafs-api-secret in csi-wekafs, key username).",
    )
    api_password: SecretRef = Field(
        default_factory=lambda: ref("weka_api_password"),
        description="The Pulumi config secret holding that user's password (key password).",
    )


class Vast(_FileSystem):
    type: Literal["vast"] = Field(description="File system: VAST Data (over NFS).")
    vip_pool: OptionalHost = Field(
        "", description="DNS name (or address) of the VAST virtual IP pool nodes mount from; required."
    )
    export: MountPath = Field("/", description="VAST view path the nodes mount.")
    vip_pool_name: ObjectName = Field(
        "", description="Name of the VAST virtual IP pool the CSI driver mounts through (StorageClass "
        "`vip_pool_name`); required with Kubernetes."
    )
    root_export: OptionalMountPath = Field(
        "", description="VAST path under which the CSI driver creates volumes (StorageClass `root_export`); "
        "required with Kubernetes."
    )
    view_policy: ObjectName = Field(
        "", description="VAST view policy of the volumes the CSI driver creates (StorageClass `view_policy`); "
        "required with Kubernetes."
    )
    vms_endpoint: OptionalHost = Field(
        "", description="Host name or address of the VAST management service (VMS) the CSI driver creates "
        "volumes through (the vastcsi chart's `endpoint`); required with Kubernetes."
    )
    vms_username: SecretRef = Field(
        default_factory=lambda: ref("vast_vms_username"),
        description="The Pulumi config secret holding the VMS user of the CSI driver (Secret csi-vast-mgmt in "
        "vast-csi, key username).",
    )
    vms_password: SecretRef = Field(
        default_factory=lambda: ref("vast_vms_password"),
        description="The Pulumi config secret holding that user's password (key password).",
    )


class StorageScale(_FileSystem):
    type: Literal["storage-scale"] = Field(description="File system: IBM Storage Scale (GPFS).")
    cluster_name: ObjectName = Field("", description="Name of the Storage Scale cluster (recorded).")
    filesystem_name: ObjectName = Field(
        "", description="Storage Scale file system the CSI driver creates volumes in (StorageClass "
        "`volBackendFs`); required with Kubernetes."
    )


class Nfs(_FileSystem):
    type: Literal["nfs"] = Field(description="File system: NFS.")
    server: OptionalHost = Field(
        "", description="Host name or address of the NFS server; required with Kubernetes (StorageClass `server`)."
    )
    export: MountPath = Field("/export", description="Path the server exports.")
    version: Literal["3", "4.1", "4.2"] = Field("4.2", description="NFS protocol version to mount with.")


FileSystem = Annotated[Lustre | Weka | Vast | StorageScale | Nfs, Field(discriminator="type")]


class ObjectStore(StrictModel):
    type: Literal["minio", "ceph-rgw", "s3-compatible"] = Field(
        description="Object store product: MinIO, Ceph RADOS Gateway, or another S3-compatible store."
    )
    capacity: DataSize = Field(description="Usable capacity in bytes, e.g. '4PB'.")
    location: Jurisdiction | None = Field(None, description="Jurisdiction the store is in; default: the site's.")
    encryption: Encryption = Field(default_factory=Encryption, description="Encryption of the object store.")
    replication_targets: Annotated[list[Jurisdiction], Field(max_length=64)] = Field(
        default_factory=list, description="Jurisdictions the store replicates objects to."
    )
    versioning: bool = Field(True, description="Keep earlier versions of overwritten objects (recorded).")
    storage_class: ObjectName = Field(
        "", description="MinIO only: StorageClass of the servers' drives (one ReadWriteOnce volume per server); "
        "default: the shared file system's class, which the factory creates."
    )
    kes_endpoint: OptionalUrl = Field(
        "", description="MinIO only: URL of the KES server that holds `encryption.key_ref` (server-side "
        "encryption through the site's KMS); without it MinIO is given no KMS key."
    )
    kes_api_key: SecretRef = Field(
        default_factory=lambda: ref("minio_kes_api_key"),
        description="MinIO only, with kes_endpoint: the Pulumi config secret holding MinIO's KES API key (Secret "
        "minio-root, key kes-api-key).",
    )
    root_user: SecretRef = Field(
        default_factory=lambda: ref("minio_root_user"),
        description="MinIO only: the Pulumi config secret holding the root user name (Secret minio-root, key user).",
    )
    root_password: SecretRef = Field(
        default_factory=lambda: ref("minio_root_password"),
        description="MinIO only: the Pulumi config secret holding the root password (Secret minio-root, key "
        "password).",
    )


class Backups(StrictModel):
    location: Jurisdiction = Field(description="Jurisdiction the backups are kept in.")
    retention_days: Annotated[int, Field(ge=1, le=36500)] = Field(30, description="Days a backup is kept.")
    encrypted: bool = Field(True, description="Encrypt the backups.")


class Checkpoints(StrictModel):
    """Checkpoint sizing: model parameters x bytes per parameter (weights + optimizer state) x retention."""

    model_params_billion: Annotated[float, Field(gt=0, le=100_000)] = Field(
        description="Size of the largest model trained, in billions of parameters."
    )
    bytes_per_param: Annotated[float, Field(gt=0, le=64)] = Field(
        14.0, description="Checkpoint bytes per parameter (weights plus optimizer state; 14 for mixed-precision "
        "Adam)."
    )
    retained: Annotated[int, Field(ge=1, le=10_000)] = Field(5, description="Checkpoints kept at a time.")


class Storage(StrictModel):
    """Shared storage of the factory."""

    filesystem: FileSystem = Field(description="The shared parallel file system; `type` picks the product.")
    object_store: ObjectStore | None = Field(None, description="An S3-compatible object store, if any.")
    local_nvme_per_node: DataSize | None = Field(
        None, description="Local NVMe cache per node in bytes, e.g. '30TB' (recorded)."
    )
    backups: Backups | None = Field(None, description="Backups of the data, if any.")
    checkpoints: Checkpoints | None = Field(
        None, description="Checkpoint sizing; the design checks that retained checkpoints fit the file system."
    )


# What each CSI driver's StorageClass needs from the blueprint: (field, parameter it fills).
# DDN EXAScaler CSI (DDNStorage/exa-csi-driver README: exaFS, mountPoint); WEKA CSI (weka/csi-wekafs
# examples: volumeType, filesystemName, API secret); VAST CSI (vast-data/vast-csi charts/vastcsi storage-class
# template: root_export, view_policy, vip_pool_name); IBM Storage Scale CSI (volBackendFs); csi-driver-nfs
# (server, share).
CSI_REQUIRED: dict[str, tuple[tuple[str, str], ...]] = {
    "lustre": (("mgs_nid", "exaFS"),),
    "weka": (("filesystem_name", "filesystemName"), ("backend_hosts", "the API secret's endpoints")),
    "vast": (
        ("vip_pool_name", "vip_pool_name"), ("root_export", "root_export"), ("view_policy", "view_policy"),
        ("vms_endpoint", "the driver's VMS endpoint"),
    ),
    "storage-scale": (("filesystem_name", "volBackendFs"),),
    "nfs": (("server", "server"),),
}


def csi_missing(fs: Lustre | Weka | Vast | StorageScale | Nfs) -> list[tuple[str, str]]:
    """(field, StorageClass parameter) pairs the Kubernetes storage class needs and `fs` leaves empty."""
    return [(name, param) for name, param in CSI_REQUIRED[fs.type] if not getattr(fs, name)]


# What the nodes' own mount (roles/storage_client) needs: (field, what it is for). IBM Storage Scale is
# mounted by its own cluster (mmmount), not from fstab, so it needs nothing here.
HOST_REQUIRED: dict[str, tuple[tuple[str, str], ...]] = {
    "lustre": (("mgs_nid", "the mount source '<mgs_nid>:/<fs_name>'"),
               ("lnet_interfaces", "LNet's networks=<net>(<interfaces>)")),
    "weka": (("backend_hosts", "the client installer and the mount source"),
             ("filesystem_name", "the mount source '<backends>/<filesystem_name>'")),
    "vast": (("vip_pool", "the mount source '<vip_pool>:<export>'"),),
    "storage-scale": (),
    "nfs": (("server", "the mount source '<server>:<export>'"),),
}


def host_missing(fs: Lustre | Weka | Vast | StorageScale | Nfs) -> list[tuple[str, str]]:
    """(field, use) pairs the nodes' mount needs and `fs` leaves empty."""
    return [(name, use) for name, use in HOST_REQUIRED[fs.type] if not getattr(fs, name)]
