"""Storage: the storage fabric, throughput per node and per GPU against the blueprint's tier, and checkpoint
capacity."""

from __future__ import annotations

import math
from dataclasses import dataclass

from aifactory.blueprint.fabric import Network
from aifactory.blueprint.model import Blueprint
from aifactory.catalog import Catalog
from aifactory.design.checks import DesignCheck
from aifactory.design.clos import smallest_divisor_at_least, split_ports
from aifactory.design.fabric import radix_at
from aifactory.design.networks import LeafGroup, Net, from_groups, size_network

# NVIDIA DGX SuperPOD storage guidance, GB/s read/write (REFERENCE-DATA.md s4, from RA-11333-001 "Storage"):
# the single-node target and the target for one SU (32 DGX H100 = 256 GPUs).
# RA-11333-001 V11 Table 6 also gives the 4-SU aggregates (60/30, 160/80, 500/250): not quite 4 x the SU's writes,
# so targets run linearly through both published points (and on at that slope beyond 4 SU).
TIERS: dict[str, dict[str, tuple[float, float]]] = {
    "good": {"node": (4.0, 2.0), "su": (15.0, 7.0), "su4": (60.0, 30.0)},
    "better": {"node": (8.0, 4.0), "su": (40.0, 20.0), "su4": (160.0, 80.0)},
    "best": {"node": (40.0, 20.0), "su": (125.0, 62.0), "su4": (500.0, 250.0)},
}


def tier_target(tier: str, sus: float) -> tuple[float, float]:
    """(read, write) GB/s the tier asks for `sus` SUs (of 256 GPU slots): proportional up to one SU, then the
    line through the RA's 1-SU and 4-SU points."""
    one, four = TIERS[tier]["su"], TIERS[tier]["su4"]
    if sus <= 1:
        return one[0] * sus, one[1] * sus
    f = (sus - 1) / 3
    return one[0] + (four[0] - one[0]) * f, one[1] + (four[1] - one[1]) * f
SU_GPUS = 256  # the RA's SU the per-SU targets are written for (32 DGX slots x 8 GPUs)


def size_fabric(
    cat: Catalog, net: Network, node_ports: int, server_ports: int, host_ports: int, sus: int
) -> Net:
    """The storage fabric (RA-11333-001 "Storage fabric": storage devices at 1:1, DGX connections "slightly
    oversubscribed with a ratio near 4:3 with adjustments as needed"). The adjustments chosen here:

    - node leaves: the fewest that hold the node ports at the blueprint's ratio, the ports spread evenly over
      them, and each leaf given the uplinks its actual ports need at that ratio (254 DGX ports: 8 leaves of
      32 ports and 24 uplinks, not 7 of 36 and 27);
    - storage leaves: one per scalable unit (the RA's storage targets are per SU: the storage side grows with
      the SUs) or more when the ports exceed half a switch, storage ports at 1:1, management hosts on the
      free ports (copper: the arrays and servers sit beside the storage leaves);
    - spines: at least two (never a single point of failure), dividing every leaf's uplinks evenly.

    RA-11333-001 Table 7 (4 SU): 16 storage switches = 8 node leaves + 4 storage leaves + 4 spines; Table 8:
    494 400G cables (254 DGX + 240 leaf-spine). Beyond what two tiers hold: a plain three-tier fat tree.
    """
    sw = cat.switches[net.switch]
    radix = radix_at(sw.ports, sw.port_speed_gbps, net.link_speed)
    ratio = max(1.0, net.oversubscription)
    total = node_ports + server_ports + host_ports
    if total <= radix and sus <= 1:  # a small site: one switch
        group = LeafGroup("node", 1, total, 0, total)
        return from_groups("storage", net.switch, net.link_speed, radix, (group,), 0)
    down_cap, _ = split_ports(radix, ratio)
    n_leaves = max(1, math.ceil(node_ports / down_cap))
    n_down = math.ceil(node_ports / n_leaves)
    n_up = math.ceil(n_down / ratio - 1e-9)
    n_up += n_up % 2  # even, so that two spines can share it
    half = radix // 2
    s_leaves = max(1, min(sus, server_ports // 2), math.ceil(server_ports / half))
    while True:
        s_down = math.ceil(server_ports / s_leaves)
        s_down += s_down % 2
        if s_leaves * (radix - 2 * s_down) >= host_ports:
            break
        s_leaves += 1
    s_used = s_down + math.ceil(host_ports / s_leaves)
    # spines: the fewest (at least two) that divide the node leaves' uplinks and hold every uplink; a storage leaf
    # gets its 1:1 uplinks rounded up to a multiple of the spines (the storage side is never oversubscribed)
    spines: int | None = 2
    need = 2
    while True:
        spines = smallest_divisor_at_least(n_up, need)
        if spines is None:
            break
        s_up = math.ceil(s_down / spines) * spines
        need_now = max(2, math.ceil((n_leaves * n_up + s_leaves * s_up) / radix))
        if need_now <= spines:
            break
        need = need_now
    if spines is None or n_down + n_up > radix or s_used + s_up > radix:
        return size_network(cat, "storage", net, total)
    groups = (
        LeafGroup("node", n_leaves, n_down, n_up, node_ports),
        LeafGroup("storage", s_leaves, s_used, s_up, server_ports + host_ports, copper_down=True),
    )
    return from_groups("storage", net.switch, net.link_speed, radix, groups, spines)


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


def fit(bp: Blueprint, gpus: int, nodes: int, node_link_gbps: float, slot_gpus: int | None = None) -> StorageFit:
    """`slot_gpus`: the GPUs of every node slot, the fabric manager's slot included; the tier's SU targets are per
    SU of 32 slots (RA-11333-001 Table 6: one SU is 31 DGX + the UFM, 4 SU = 4 x the SU targets: 60/30, 160/80,
    500/250 GB/s)."""
    fs = bp.storage.filesystem
    su_read, su_write = tier_target(fs.tier, (slot_gpus if slot_gpus is not None else gpus) / SU_GPUS)
    ck = bp.storage.checkpoints
    ck_bytes = int(ck.model_params_billion * 1e9 * ck.bytes_per_param * ck.retained) if ck else 0
    return StorageFit(
        fs.tier,
        fs.read_throughput,
        fs.write_throughput,
        su_read,
        su_write,
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
