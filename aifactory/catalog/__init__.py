"""The hardware catalogue: GPUs, node SKUs, switches, transceivers, cooling methods and coolant distribution units.

Entries are YAML under `data/`, each number with its source. Blueprints refer to entries by id; an unknown id
is an error listing the valid ids and suggesting the nearest.
"""

from __future__ import annotations

import difflib
from functools import lru_cache
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from aifactory import resources

DATA = resources.package_file("catalog", "data")


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    name: str
    sources: dict[str, str] = Field(default_factory=dict)


class Gpu(_Entry):
    vendor: str
    architecture: str
    nvml_names: list[str]
    # The node label the vendor's feature discovery sets on a node with this GPU ({key: value}), cited in
    # `sources` (`product_label`); empty where no labeller is known.
    product_label: dict[str, str] = Field(default_factory=dict)
    bf16_tflops: float
    fp16_tflops: float
    tf32_tflops: float
    fp8_tflops: float
    fp64_tflops: float
    memory_gb: float
    memory_type: str
    hbm_tbps: float
    tdp_w: float  # also the highest power limit the roles set
    power_limit_min_w: float | None = None  # the lowest limit the GPU accepts (nvidia-smi -pl)
    scaleup: str
    scaleup_gbps: float
    pcie_gen: int
    achieved_bf16_tflops: float | None = None
    achieved_hbm_tbps: float | None = None
    inference_tokens_per_s: float | None = None


class CpuShape(BaseModel):
    """The host CPUs as slurmd counts them (`slurmd -C`): sockets, cores per socket, hardware threads per core,
    each figure cited in the SKU's `sources` (`cpu`)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    sockets: int = Field(ge=1)
    cores_per_socket: int = Field(ge=1)
    threads_per_core: int = Field(ge=1)


class NodeSku(_Entry):
    gpu: str
    gpus: int
    max_power_w: float
    rack_units: int
    compute_nics: int
    compute_nic_speed_gbps: int
    storage_ports: int
    storage_port_speed_gbps: int
    inband_ports: int
    inband_port_speed_gbps: int
    bmc_ports: int
    nic_power_w: float
    nvlink_domain_nodes: int = 1
    # NVLink services a node runs (roles/nvidia_driver): the NVSwitch fabric manager on HGX/DGX, the NVLink subnet
    # manager beside it on NVLink5 HGX, IMEX on rack-scale trays; none on PCIe cards
    nvlink_software: list[Literal["fabric-manager", "nvlsm", "imex"]] = Field(default_factory=list)
    rack_overhead_w: float = 0.0
    # how the system itself is cooled: an air-cooled server in a direct-liquid rack group sends all heat to air
    cooling: Literal["air", "liquid"]
    rack_overhead_u: int = 0  # rack units per NVLink domain rack besides the nodes (NVLink switch trays)
    # per NVLink domain rack: NVLink switch trays (1U each, within rack_overhead_u) and power shelves (1U each),
    # each with a 1G management port on the out-of-band network
    nvlink_switch_trays: int = 0
    power_shelves: int = 0
    # twin-port OSFP cages holding the compute NICs' transceivers (DGX: 4 cages for 8 NICs); None: one per NIC
    compute_nic_cages: int | None = None
    # the maximum rating already covers the installed NICs and the transceivers they power (integrated systems)
    max_power_includes_nics: bool = False
    # The host's shape for Slurm's node lines; None where the catalogue has no published figure (OEM platforms
    # whose CPUs and memory vary by build, and lab hosts whose shape is the machine they run on).
    cpu: CpuShape | None = None
    memory_gib: int | None = Field(default=None, ge=1)  # installed system memory (DIMMs or LPDDR), GiB


class Switch(_Entry):
    fabric: Literal["infiniband", "ethernet"]
    ports: int
    port_speed_gbps: int
    cages: int
    rack_units: int
    max_power_w: float
    # the maximum is quoted with optics in every cage (QM9700: 1.72 kW "with active cables"): do not add them
    power_includes_optics: bool = False
    uplink_ports: int = 0  # separate uplink ports (SN2201: 4x QSFP28 100G beside 48x 1G)
    uplink_speed_gbps: int = 0


class Transceiver(_Entry):
    end: Literal["switch", "nic"]
    ports: int
    speed_gbps: int
    power_w: float
    media: str


class CoolingMethod(_Entry):
    max_rack_kw: float
    passive_max_rack_kw: float | None = None  # rear doors without fans
    typical_rack_kw: float
    liquid_fraction: float
    cdu: str | None = None  # the coolant distribution unit a liquid group gets when the blueprint names none


class Cdu(_Entry):
    """A coolant distribution unit: the heat (kW) it moves from a liquid group's secondary loop to facility water."""

    vendor: str
    placement: Literal["in-row", "in-rack", "facility"]
    capacity_kw: float = Field(gt=0)


class Region(_Entry):
    jurisdiction: str
    city: str


class Catalog(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    gpus: dict[str, Gpu]
    nodes: dict[str, NodeSku]
    switches: dict[str, Switch]
    transceivers: dict[str, Transceiver]
    cooling: dict[str, CoolingMethod]
    cdus: dict[str, Cdu]
    regions: dict[str, Region]

    def gpu_of(self, node_sku: str) -> Gpu:
        return self.gpus[self.nodes[node_sku].gpu]


KINDS = ("gpus", "nodes", "switches", "transceivers", "cooling", "cdus", "regions")


def raw(kind: str) -> dict[str, Any]:
    """One catalogue file as plain data (for code that must not import pydantic, e.g. GPU workers)."""
    with (DATA / f"{kind}.yaml").open(encoding="utf-8") as fh:
        # libyaml when available: the pure-Python loader made the catalogue a large part of start-up
        data: dict[str, Any] = yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))[kind]
    return data


@lru_cache(maxsize=1)
def get_catalog() -> Catalog:
    return Catalog.model_validate({kind: raw(kind) for kind in KINDS})


def suggest(value: str, valid: list[str]) -> str:
    """'did you mean X?' plus the list of valid ids, for an unknown-id message."""
    near = difflib.get_close_matches(value.lower(), valid, n=1, cutoff=0.5)
    hint = f"did you mean {near[0]!r}? " if near else ""
    return f"{hint}valid ids: {', '.join(sorted(valid))}"
