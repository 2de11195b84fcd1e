"""Checks for what the node roles need from the blueprint: the shared file system's mount (its servers, the
Lustre MGS and LNet interfaces, the WEKA backends) and the compute rails' interface names. A missing one is an
input error on its YAML block, never a placeholder server name in the nodes' fstab."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aifactory.blueprint.storage import csi_missing, host_missing
from aifactory.errors import Problem

if TYPE_CHECKING:
    from aifactory.blueprint.loader import LoadedBlueprint


def host_problems(loaded: LoadedBlueprint) -> list[Problem]:
    return storage_problems(loaded) + rail_problems(loaded) + doca_problems(loaded)


def doca_problems(loaded: LoadedBlueprint) -> list[Problem]:
    sw = loaded.model.software
    if sw.installed_by.ofed != "host" or sw.ofed_repository:
        return []
    path = ("software", "ofed_repository")
    return [Problem(
        loaded.locate(*path),
        "required with `installed_by.ofed: host`: the fabric role installs DOCA-OFED from this repository",
        "add `ofed_repository:` under software (the DOCA-Host apt repository of the `ofed` release, or the "
        "site mirror's copy), or let the network operator install it (`installed_by.ofed: operator`)",
        path=".".join(path),
    )]  # fmt: skip


def storage_problems(loaded: LoadedBlueprint) -> list[Problem]:
    bp = loaded.model
    fs = bp.storage.filesystem
    # With Kubernetes the CSI check (aifactory.blueprint.csi) already reports the fields both need.
    kubernetes = bp.mlops.orchestrator.type in ("kubernetes", "both")
    reported = {name for name, _ in csi_missing(fs)} if kubernetes else set()
    out = []
    for name, use in host_missing(fs):
        if name in reported:
            continue
        path = ("storage", "filesystem", name)
        out.append(Problem(
            loaded.locate(*path),
            f"required: the nodes' {fs.type} mount needs it for {use}",
            f"add `{name}:` under storage.filesystem (the value of your {fs.type} system)",
            path=".".join(path),
        ))  # fmt: skip
    return out


def rail_problems(loaded: LoadedBlueprint) -> list[Problem]:
    compute = loaded.model.fabric.compute
    path = ("fabric", "compute", "rail_interfaces")
    given = compute.rail_interfaces
    if not given and compute.type == "ethernet":
        return [Problem(
            loaded.locate(*path),
            "required on an Ethernet fabric: the rail addresses are made "
            "persistent on these interfaces",
            "list the nodes' interface of each rail in rail order, e.g. `rail_interfaces: [enp41s0f0np0, ...]`",
            path=".".join(path),
        )]  # fmt: skip
    if given and compute.rails is not None and len(given) != compute.rails:
        return [Problem(
            loaded.locate(*path),
            f"{len(given)} rail interfaces for {compute.rails} rails",
            "name one interface per rail (fabric.compute.rails), in rail order",
            path=".".join(path),
        )]  # fmt: skip
    return []
