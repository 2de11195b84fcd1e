"""Storage layer: the parallel file system (chosen by `type`), an object store, local cache, checkpoints."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from aifactory.blueprint.base import StrictModel
from aifactory.blueprint.grammar import Host, KeyRef, LustreNid, MountPath, ObjectName, OptionalHost
from aifactory.blueprint.site import Jurisdiction
from aifactory.blueprint.types import DataSize, Throughput

MAX_HOSTS = 256


class Encryption(StrictModel):
    at_rest: bool = True
    in_transit: bool = True
    key_ref: KeyRef = Field(default="", description="Key name in the site's key custody system (no secrets).")


class _FileSystem(StrictModel):
    tier: Literal["good", "better", "best"] = "better"
    capacity: DataSize
    read_throughput: Throughput = Field(description="Aggregate read the appliance delivers, e.g. '125GB/s'.")
    write_throughput: Throughput
    mount: MountPath = "/data"
    location: Jurisdiction | None = Field(default=None, description="Default: the site's jurisdiction.")
    encryption: Encryption = Field(default_factory=Encryption)


class Lustre(_FileSystem):
    type: Literal["lustre"]
    mgs_nid: LustreNid = ""
    fs_name: Annotated[str, StringConstraints(pattern=r"^[a-z0-9]{1,8}$")] = "lustre"


class Weka(_FileSystem):
    type: Literal["weka"]
    backend_hosts: Annotated[list[Host], Field(max_length=MAX_HOSTS)] = Field(default_factory=list)


class Vast(_FileSystem):
    type: Literal["vast"]
    vip_pool: OptionalHost = ""


class StorageScale(_FileSystem):
    type: Literal["storage-scale"]
    cluster_name: ObjectName = ""


class Nfs(_FileSystem):
    type: Literal["nfs"]
    server: OptionalHost = ""
    export: MountPath = "/export"
    version: Literal["3", "4.1", "4.2"] = "4.2"


FileSystem = Annotated[Lustre | Weka | Vast | StorageScale | Nfs, Field(discriminator="type")]


class ObjectStore(StrictModel):
    type: Literal["minio", "ceph-rgw", "s3-compatible"]
    capacity: DataSize
    location: Jurisdiction | None = None
    encryption: Encryption = Field(default_factory=Encryption)
    replication_targets: Annotated[list[Jurisdiction], Field(max_length=64)] = Field(default_factory=list)
    versioning: bool = True


class Backups(StrictModel):
    location: Jurisdiction
    retention_days: Annotated[int, Field(ge=1, le=36500)] = 30
    encrypted: bool = True


class Checkpoints(StrictModel):
    """Checkpoint sizing: model parameters x bytes per parameter (weights + optimizer state) x retention."""

    model_params_billion: Annotated[float, Field(gt=0, le=100_000)]
    bytes_per_param: Annotated[float, Field(gt=0, le=64)] = 14.0
    retained: Annotated[int, Field(ge=1, le=10_000)] = 5


class Storage(StrictModel):
    filesystem: FileSystem
    object_store: ObjectStore | None = None
    local_nvme_per_node: DataSize | None = None
    backups: Backups | None = None
    checkpoints: Checkpoints | None = None
