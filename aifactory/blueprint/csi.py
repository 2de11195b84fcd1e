"""Checks that need two layers at once: a Kubernetes orchestrator renders a StorageClass for the shared file
system, and its CSI driver refuses to provision without the parameters listed in `storage.CSI_REQUIRED`. A
missing one is an input error on the file system's YAML block, not a PVC that stays Pending."""

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
    return out
