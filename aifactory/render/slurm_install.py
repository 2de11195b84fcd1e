"""Which Slurm the roles install: the `software.slurm` pin decides.

A pin whose major.minor is the Slurm the node OS ships (`DISTRIBUTION_SLURM`) installs the distribution's
packages from the site's apt mirror; any other pin builds the pinned release from its source tarball
(`slurm_common`'s build tasks); no pin takes the distribution's. The version installed is what the Slurm
renderer may use (topology/block needs 23.11), and `capability_notes` says where it cannot express the design.
"""

from __future__ import annotations

from dataclasses import dataclass

from aifactory.blueprint import Blueprint
from aifactory.render.slurm import BLOCK_TOPOLOGY_SINCE

# Slurm (major.minor) in each node OS's own archive: Debian 12 bookworm ships slurm-wlm 22.05.8
# (packages.debian.org/bookworm/slurm-wlm), Ubuntu 22.04 jammy 21.08.5 and 24.04 noble 23.11.4
# (packages.ubuntu.com/{jammy,noble}/slurm-wlm); also /work/shared/reviews/ansible-slurm.md.
DISTRIBUTION_SLURM = {"debian-12": "22.05", "ubuntu-22.04": "21.08", "ubuntu-24.04": "23.11"}


@dataclass(frozen=True)
class SlurmInstall:
    method: str  # "distribution" (the OS's packages from the apt mirror) or "source" (the pinned tarball)
    version: str  # what is installed: the pin, or the distribution's major.minor ("" where unknown)


def major_minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def version_tuple(version: str) -> tuple[int, int]:
    major, _, minor = major_minor(version).partition(".")
    return int(major or 0), int(minor or 0)


def slurm_install(bp: Blueprint) -> SlurmInstall:
    """The blueprint's choice: the distribution's Slurm where the pin is it (or there is no pin), else a build."""
    shipped = DISTRIBUTION_SLURM.get(bp.software.os, "")
    pin = str(bp.software.slurm) if bp.software.slurm is not None else ""
    if not pin or major_minor(pin) == shipped:
        return SlurmInstall("distribution", pin or shipped)
    return SlurmInstall("source", pin)


def capability_notes(bp: Blueprint, nvlink_domain_nodes: int) -> list[str]:
    """What the installed Slurm cannot express of the design (empty where it can): a multi-node NVLink domain
    needs topology/block."""
    installed = slurm_install(bp)
    if nvlink_domain_nodes <= 1 or not installed.version:
        return []
    if version_tuple(installed.version) >= BLOCK_TOPOLOGY_SINCE:
        return []
    since = ".".join(map(str, BLOCK_TOPOLOGY_SINCE))
    return [
        f"Slurm {installed.version} ({installed.method}) has no topology/block (since {since}): the "
        f"{nvlink_domain_nodes}-node NVLink domains are no scheduling unit; pin software.slurm to {since} or later "
        "to build it from source"
    ]
