"""Host records: the design engine's per-host output that inventory, Slurm and Kubernetes renderers consume."""

from __future__ import annotations

from dataclasses import dataclass, field

# Functions a host can have; a host may have several (a lab node is compute and storage client).
FUNCTIONS = ("compute", "login", "slurm-controller", "k8s-control-plane", "storage-client", "storage-server",
             "monitoring", "mlflow")


@dataclass(frozen=True, slots=True)
class Host:
    hostname: str
    functions: tuple[str, ...]
    su: int  # scalable unit, 1-based; 0 for hosts outside any SU (login, control plane)
    rack: str  # rack name, e.g. "r001"
    rack_unit: int  # lowest rack unit the host occupies, 1-based
    oob_ip: str
    inband_ip: str
    storage_ip: str = ""
    rail_ips: tuple[str, ...] = field(default_factory=tuple)  # index = rail number
    gpu_model: str = ""  # catalogue id, e.g. "h100-sxm"
    gpus: int = 0
    power_cap_w: float = 0.0  # per GPU; 0 = the default limit
