"""GPU node role inputs from the catalogue and the plan: which NVLink services a node SKU runs (fabric manager,
NVLink subnet manager, IMEX), where NVIDIA's packages come from (the site's apt mirror where it serves NVIDIA's
repository), DCGM's CUDA flavour, the GPU's power-limit range, and per host the IMEX domain's peers.
The roles carry no per-platform defaults: these values decide (roles/nvidia_driver, roles/dcgm, roles/power_caps).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aifactory.blueprint.model import Blueprint
from aifactory.catalog import get_catalog
from aifactory.render.inventory import HostLike, compute_hosts

# NVIDIA's CUDA network repository, which carries the driver, fabric manager, nvlsm, IMEX and DCGM for Debian 12
# and Ubuntu (docs.nvidia.com/datacenter/tesla/driver-installation-guide, "Network repository installation").
NVIDIA_REPOSITORY = "https://developer.download.nvidia.com"
NVIDIA_REPOSITORY_HOST = "developer.download.nvidia.com"


def nvidia_repository(bp: Blueprint) -> str:
    """The archive root NVIDIA's packages come from: the first apt mirror that says it serves NVIDIA's
    repository (`mirrors: [developer.download.nvidia.com]`), else NVIDIA's own."""
    for mirror in bp.site.sovereignty.mirrors:
        if mirror.kind == "apt" and NVIDIA_REPOSITORY_HOST in [str(m) for m in mirror.mirrors]:
            return str(mirror.url).rstrip("/")
    return NVIDIA_REPOSITORY


def gpu_vars(bp: Blueprint) -> dict[str, Any]:
    """Variables for group_vars/all.yml: one node SKU per blueprint, so one set for every compute host."""
    cat = get_catalog()
    sku = cat.nodes[bp.compute.node_sku]
    gpu = cat.gpus[sku.gpu]
    services = set(sku.nvlink_software)
    out: dict[str, Any] = {
        "nvidia_driver_fabric_manager": "fabric-manager" in services,
        "nvidia_driver_nvlsm": "nvlsm" in services,
        "nvidia_driver_imex": "imex" in services,
        # Both compute fabric types are RDMA (InfiniBand, RoCE): GPUDirect RDMA needs nvidia-peermem.
        "nvidia_driver_peermem": gpu.vendor == "nvidia",
        "nvidia_driver_repository": nvidia_repository(bp),
        "power_caps_max_w": int(gpu.tdp_w),
        "power_caps_min_w": int(gpu.power_limit_min_w or 0),
    }
    if bp.software.cuda is not None:
        out["dcgm_cuda_major"] = int(str(bp.software.cuda).split(".")[0])
    return out


def imex_peers(bp: Blueprint, hosts: Sequence[HostLike]) -> dict[str, dict[str, Any]]:
    """Per compute host of a rack-scale SKU that runs IMEX: `nvidia_driver_imex_peers`, the in-band addresses
    of every tray in its NVLink domain (its rack), itself included, in host-name order."""
    sku = get_catalog().nodes[bp.compute.node_sku]
    if "imex" not in sku.nvlink_software:
        return {}
    racks: dict[str, list[HostLike]] = {}
    for host in compute_hosts(hosts):
        racks.setdefault(str(host.rack), []).append(host)
    return {
        host.hostname: {"nvidia_driver_imex_peers": [str(h.inband_ip or h.hostname) for h in members]}
        for members in racks.values()
        for host in members
    }
