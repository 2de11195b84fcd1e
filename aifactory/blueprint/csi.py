"""Checks that need two layers at once: a Kubernetes orchestrator renders a StorageClass for the shared file
system, and its CSI driver refuses to provision without the parameters listed in `storage.CSI_REQUIRED`. A
missing one is an input error on the file system's YAML block, not a PVC that stays Pending. A tenant volume
larger than the file system is refused the same way.

A CSI driver whose chart no public repository publishes (DDN EXAScaler keeps it in its source tree) is served
from the site's own Helm repository: its pin must name one the blueprint declares (a `kind: helm` mirror, or an
`oci://` path on a `kind: oci` mirror), or nothing would serve the chart at `pulumi up`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aifactory.blueprint.storage import csi_missing
from aifactory.errors import Problem

if TYPE_CHECKING:
    from aifactory.blueprint.loader import LoadedBlueprint
    from aifactory.blueprint.model import Blueprint

# File system -> (chart pin, where its chart lives upstream) for drivers whose chart only the site serves.
SITE_SERVED_CHARTS = {"lustre": ("exa-csi", "DDNStorage/exa-csi-driver deploy/helm-chart")}


def _host(url: str) -> str:
    return url.split("://", 1)[-1].rstrip("/")


def site_serves(bp: Blueprint, repository: str) -> bool:
    """Whether `repository` is a chart repository the blueprint's site declares: a `kind: helm` mirror's URL, or
    an `oci://` path on a `kind: oci` mirror."""
    for mirror in bp.site.sovereignty.mirrors:
        if mirror.kind == "helm" and repository.rstrip("/") == mirror.url.rstrip("/"):
            return True
        on_mirror = (_host(repository) + "/").startswith(_host(mirror.url) + "/")
        if mirror.kind == "oci" and repository.startswith("oci://") and on_mirror:
            return True
    return False


def _site_chart_problems(loaded: LoadedBlueprint) -> list[Problem]:
    bp = loaded.model
    served = SITE_SERVED_CHARTS.get(bp.storage.filesystem.type)
    if served is None or served[0] not in bp.software.charts:
        return []  # an absent pin is the renderer's error (it names the driver like every other chart's)
    pin, upstream = served
    repository = bp.software.charts[pin].repository
    if site_serves(bp, repository):
        return []
    mirrors = [m.url for m in bp.site.sovereignty.mirrors if m.kind == "helm"]
    path = ("software", "charts", pin, "repository") if repository else ("software", "charts", pin)
    found = f"names {repository!r}, which" if repository else "names no repository, and"
    fix = (
        f"set repository: {mirrors[0]!r} (a helm mirror of this site) and push the chart there"
        if mirrors
        else "add a `kind: helm` mirror under site.sovereignty.mirrors, push the chart to it and name its url here"
    )
    return [
        Problem(
            loaded.locate(*path),
            f"software.charts.{pin} {found} is not a chart repository of this site: the {bp.storage.filesystem.type} "
            f"CSI driver's chart is published by no public repository (only in {upstream})",
            f"{fix} (`helm package deploy/helm-chart` at the pinned tag)",
            path=".".join(path),
        )
    ]


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
    out += _site_chart_problems(loaded)
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
