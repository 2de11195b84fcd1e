"""One owner per node component: the Ansible host roles or the Kubernetes operators (`software.installed_by`)."""

from __future__ import annotations

from typing import Literal

from aifactory.blueprint import Blueprint

Component = Literal["driver", "dcgm", "ofed"]


def owner(bp: Blueprint, component: Component) -> str:
    """'host' or 'operator': the blueprint's choice, else the host where a host role installs the pinned
    version (driver, DCGM), else the operator."""
    chosen = getattr(bp.software.installed_by, component)
    if chosen is not None:
        return str(chosen)
    if component == "ofed":
        return "operator"  # no host role installs DOCA-OFED; the fabric role uses the distribution's rdma-core
    return "host" if getattr(bp.software, component) is not None else "operator"
