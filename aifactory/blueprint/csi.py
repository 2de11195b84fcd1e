"""Checks that need two layers at once: a Kubernetes orchestrator renders a StorageClass for the shared file
system, and its CSI driver refuses to provision without the parameters listed in `storage.CSI_REQUIRED`. A
missing one is an input error on the file system's YAML block, not a PVC that stays Pending. A tenant volume
larger than the file system is refused the same way."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aifactory.blueprint.storage import csi_missing
from aifactory.errors import Problem

if TYPE_CHECKING:
    from aifactory.blueprint.loader import LoadedBlueprint


def csi_problems(loaded: LoadedBlueprint) -> list[Problem]:
    bp = loaded.model
    if bp.mlops.orchestrator.type not in ("kubernetes", "both"):
        return []
    fs = bp.storage.filesystem
    out = []
    for name, param in csi_missing(fs):
        path = ("storage", "filesystem", name)
        out.append(
            Problem(
                loaded.locate(*path),
                f"storage.filesystem.{name} is required with a Kubernetes orchestrator: the {fs.type} CSI "
                f"driver's StorageClass needs it ({param})",
                f"add `{name}:` under storage.filesystem (the value your {fs.type} system uses), or run the "
                "factory with `mlops.orchestrator.type: slurm`",
                path=".".join(path),
            )
        )
    for i, tenant in enumerate(bp.mlops.tenants):
        if tenant.shared_storage is not None and tenant.shared_storage > fs.capacity:
            where = ("mlops", "tenants", i, "shared_storage")
            out.append(
                Problem(
                    loaded.locate(*where),
                    f"tenant {tenant.name!r} asks for a {tenant.shared_storage} byte volume on a "
                    f"{fs.capacity} byte file system",
                    "lower shared_storage to at most storage.filesystem.capacity (volumes only grow: pick the "
                    "size the tenant may reach)",
                    path=".".join(str(p) for p in where),
                )
            )
    return out
