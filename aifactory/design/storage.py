"""Storage: throughput per node and per GPU against the blueprint's tier, and checkpoint capacity."""

from __future__ import annotations

from dataclasses import dataclass

from aifactory.blueprint.model import Blueprint
from aifactory.design.checks import DesignCheck

# NVIDIA DGX SuperPOD storage guidance, GB/s read/write (REFERENCE-DATA.md s4, from RA-11333-001 "Storage"):
# the single-node target and the target for one SU (32 DGX H100 = 256 GPUs).
TIERS: dict[str, dict[str, tuple[float, float]]] = {
    "good": {"node": (4.0, 2.0), "su": (15.0, 7.0)},
    "better": {"node": (8.0, 4.0), "su": (40.0, 20.0)},
    "best": {"node": (40.0, 20.0), "su": (125.0, 62.0)},
}
SU_GPUS = 256  # the RA's SU the per-SU targets are written for


@dataclass(frozen=True, slots=True)
class StorageFit:
    tier: str
    read_gbps: float  # aggregate GB/s the file system delivers
    write_gbps: float
    target_read_gbps: float  # what the tier asks for this many GPUs
    target_write_gbps: float
    node_link_gbps: float  # GB/s one node can move over its storage ports
    gpus: int
    nodes: int
    checkpoint_bytes: int
    capacity_bytes: int

    @property
    def read_gbps_per_gpu(self) -> float:
        return self.read_gbps / self.gpus if self.gpus else 0.0

    @property
    def read_gbps_per_node(self) -> float:
        """The share each node gets when all read at once."""
        return self.read_gbps / self.nodes

    @property
    def single_node_read_gbps(self) -> float:
        """What one node alone can read: its storage links or the whole file system, whichever is less."""
        return min(self.node_link_gbps, self.read_gbps)


def fit(bp: Blueprint, gpus: int, nodes: int, node_link_gbps: float) -> StorageFit:
    fs = bp.storage.filesystem
    su_read, su_write = TIERS[fs.tier]["su"]
    scale = gpus / SU_GPUS
    ck = bp.storage.checkpoints
    ck_bytes = int(ck.model_params_billion * 1e9 * ck.bytes_per_param * ck.retained) if ck else 0
    return StorageFit(
        fs.tier,
        fs.read_throughput,
        fs.write_throughput,
        su_read * scale,
        su_write * scale,
        node_link_gbps,
        gpus,
        nodes,
        ck_bytes,
        fs.capacity,
    )


def checks(bp: Blueprint, s: StorageFit) -> list[DesignCheck]:
    found = []
    fs = ("storage", "filesystem")
    tier = (*fs, "tier")
    for kind, have, want in (
        ("read", s.read_gbps, s.target_read_gbps),
        ("write", s.write_gbps, s.target_write_gbps),
    ):
        if have + 1e-9 < want:
            found.append(
                DesignCheck(
                    "storage-tier",
                    f"{kind} throughput {have:g} GB/s is below the {s.tier!r} tier's "
                    f"{want:.1f} GB/s for {s.gpus} GPUs",
                    (*fs, f"{kind}_throughput"),
                    f"raise {kind}_throughput to at least {want:.1f} GB/s or choose a lower tier",
                    tier,
                )
            )
    node_read = TIERS[s.tier]["node"][0]
    if s.gpus and s.single_node_read_gbps + 1e-9 < node_read:
        found.append(
            DesignCheck(
                "storage-tier",
                f"one node can read only {s.single_node_read_gbps:g} GB/s, below the {s.tier!r} "
                f"tier's {node_read:g} GB/s per node",
                ("fabric", "storage"),
                "give nodes faster storage links (fabric.storage.link_speed) or choose a lower tier",
                tier,
            )
        )
    if s.checkpoint_bytes > s.capacity_bytes:
        found.append(
            DesignCheck(
                "checkpoint-capacity",
                f"retained checkpoints need {s.checkpoint_bytes / 1e15:.2f} PB, more than the "
                f"file system's {s.capacity_bytes / 1e15:.2f} PB",
                ("storage", "checkpoints"),
                "keep fewer checkpoints or grow storage.filesystem.capacity",
                (*fs, "capacity"),
            )
        )
    return found
