"""Fat-tree (Clos) arithmetic: how many switches each tier needs and how the links split over them.

Pure integer functions, shared by the rail-optimized compute fabric and the storage/management networks.
The rules follow NVIDIA's DGX SuperPOD reference architecture (RA-11333-001, section "Compute fabric"):
a leaf's uplinks must split evenly over the spines it reaches (so the spine count divides the uplink count),
and the spines must have enough ports for every leaf uplink. Counts are derived, never looked up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


def split_ports(radix: int, oversubscription: float) -> tuple[int, int]:
    """(down, up) ports of a switch whose downlinks:uplinks ratio is `oversubscription` (>= 1)."""
    up = max(1, math.floor(radix / (1.0 + oversubscription) + 1e-9))
    down = min(radix - up, math.floor(up * oversubscription + 1e-9))
    return down, up


def smallest_divisor_at_least(n: int, lower: int) -> int | None:
    """The smallest divisor of `n` that is >= `lower`, or None (then the tier cannot be built)."""
    lower = max(1, lower)
    for d in range(lower, n + 1):
        if n % d == 0:
            return d
    return None


@dataclass(frozen=True, slots=True)
class Clos:
    """Switch counts of a fat tree whose leaves are grouped into `pods` pods of `pod_leaves` leaves.

    tiers == 1: one switch, no uplinks. tiers == 2: every leaf reaches every spine (`spines_per_pod` is then
    the whole spine tier and pods == 1). tiers == 3: each pod has its own spine group; spine s of every pod
    uplinks to core group s, of `cores_per_group` cores. tiers == 4: `pods_per_block` pods form a block with
    core group s per spine index, its cores 1:1 (as many up as down); core c of group s of every block
    uplinks to top group (s, c) of `tops_per_group` switches. The last pod may hold fewer leaves (`total_leaves`
    short of `pods x pod_leaves`): its spines are built whole and uplink as many links as they take from below,
    so every tier carries what the leaves send up (the spine and core tiers do not oversubscribe).
    """

    tiers: int
    radix: int
    pods: int
    pod_leaves: int
    leaf_down: int  # downlink slots per leaf
    leaf_up: int  # uplinks per leaf (0 at tier 1)
    spines_per_pod: int = 0
    spine_up: int = 0  # uplinks per spine of a full pod (3 tiers)
    cores_per_group: int = 0
    total_leaves: int | None = None  # None: pods x pod_leaves
    pods_per_block: int = 0  # 4 tiers: pods per block (a three-tier tree whose cores uplink to the top tier)
    tops_per_group: int = 0  # 4 tiers: top switches above core (s, c) of every block

    @property
    def leaves(self) -> int:
        return self.pods * self.pod_leaves if self.total_leaves is None else self.total_leaves

    def leaves_in_pod(self, pod: int) -> int:
        return min(self.pod_leaves, self.leaves - pod * self.pod_leaves)

    def spine_up_in_pod(self, pod: int) -> int:
        """Uplinks of each spine of `pod`: as many as it takes from the pod's leaves (3 or 4 tiers)."""
        return self.leaves_in_pod(pod) * self.links_per_leaf_spine if self.tiers >= 3 else 0

    @property
    def blocks(self) -> int:
        return math.ceil(self.pods / self.pods_per_block) if self.tiers == 4 else 1

    def core_up_in_block(self, block: int, core: int) -> int:
        """Uplinks (= downlinks) of core `core` (0 .. cores_per_group - 1) of any group of `block` (4 tiers)."""
        first = block * self.pods_per_block
        total = 0
        for pod in range(first, min(self.pods, first + self.pods_per_block)):
            up = self.spine_up_in_pod(pod)
            total += up // self.cores_per_group + (1 if core < up % self.cores_per_group else 0)
        return total

    @property
    def spines(self) -> int:
        return self.pods * self.spines_per_pod if self.tiers >= 3 else self.spines_per_pod

    @property
    def cores(self) -> int:
        if self.tiers == 4:
            return self.blocks * self.spines_per_pod * self.cores_per_group
        return self.spines_per_pod * self.cores_per_group if self.tiers == 3 else 0

    @property
    def tops(self) -> int:
        return self.spines_per_pod * self.cores_per_group * self.tops_per_group if self.tiers == 4 else 0

    @property
    def core_top_links(self) -> int:
        """Each core uplinks what it takes from below (4 tiers)."""
        return self.leaves * self.leaf_up if self.tiers == 4 else 0

    @property
    def core_up(self) -> int:
        """Uplinks of each core of a full block (4 tiers): as many as its downlinks."""
        return self.pods_per_block * self.links_per_spine_core if self.tiers == 4 else 0

    @property
    def links_per_core_top(self) -> int:
        """Top ports set aside for each block on each top switch of its group (4 tiers)."""
        return self.core_up // self.tops_per_group if self.tops_per_group else 0

    @property
    def top_down(self) -> int:
        """Ports used on the busiest top switch (at most every block's share)."""
        return self.blocks * self.links_per_core_top if self.tiers == 4 else 0

    @property
    def leaf_spine_links(self) -> int:
        return self.leaves * self.leaf_up

    @property
    def spine_core_links(self) -> int:
        """Each spine uplinks what it takes from below, so this tier carries every leaf uplink."""
        return self.leaves * self.leaf_up if self.tiers >= 3 else 0

    @property
    def links_per_leaf_spine(self) -> int:
        return self.leaf_up // self.spines_per_pod if self.spines_per_pod else 0

    @property
    def spine_down(self) -> int:
        """Downlinks used on each spine (of a full pod)."""
        leaves = self.pod_leaves if self.tiers >= 3 else self.leaves
        return leaves * self.links_per_leaf_spine

    @property
    def links_per_spine_core(self) -> int:
        """Core ports set aside for each pod on each core of its group (what a full pod's spine sends)."""
        return self.spine_up // self.cores_per_group if self.cores_per_group else 0

    @property
    def core_down(self) -> int:
        """Ports used on the busiest core: every full pod's share, and the last pod's first links."""
        if self.tiers == 4:  # a full block's share: at most pods_per_block pods of links_per_spine_core
            return min(self.pods, self.pods_per_block) * self.links_per_spine_core
        if self.tiers != 3:
            return 0
        last = self.spine_up_in_pod(self.pods - 1)
        return (self.pods - 1) * self.links_per_spine_core + math.ceil(last / self.cores_per_group)


def two_tier(leaves: int, leaf_down: int, leaf_up: int, radix: int) -> Clos | None:
    """Leaf-spine: the fewest spines that divide each leaf's uplinks evenly and have ports for all of them."""
    need = math.ceil(leaves * leaf_up / radix)
    spines = smallest_divisor_at_least(leaf_up, need)
    if spines is None:
        return None
    return Clos(2, radix, 1, leaves, leaf_down, leaf_up, spines_per_pod=spines)


def three_tier_pod(pods: int, pod_leaves: int, leaf_down: int, leaf_up: int, radix: int,
                   total_leaves: int | None = None) -> Clos | None:
    """Leaf-spine-core with pods of `pod_leaves` leaves, a spine group per pod (non-blocking spines: as many
    uplinks as downlinks) and, above, core group s for spine s of every pod: the fewest cores that divide a
    spine's uplinks and have ports for every pod's share."""
    spine_down_cap, spine_up_cap = split_ports(radix, 1.0)
    per_pod = smallest_divisor_at_least(leaf_up, math.ceil(pod_leaves * leaf_up / spine_down_cap))
    if per_pod is None:
        return None
    spine_up = pod_leaves * (leaf_up // per_pod)  # as many up as down: the spine tier does not oversubscribe
    if spine_up > spine_up_cap:
        return None
    cores = smallest_divisor_at_least(spine_up, math.ceil(pods * spine_up / radix))
    if cores is None:
        return None
    total = None if total_leaves is None or total_leaves == pods * pod_leaves else total_leaves
    return Clos(3, radix, pods, pod_leaves, leaf_down, leaf_up, per_pod, spine_up, cores, total)


def three_tier(units: int, unit_leaves: int, leaf_down: int, leaf_up: int, radix: int) -> Clos | None:
    """Leaf-spine-core over `units` building blocks (scalable units) of `unit_leaves` leaves each.

    A pod is one unit as long as the cores have ports for every pod (NVIDIA's DGX SuperPOD RA builds one spine
    group per SU, up to 64 SUs on QM9700). Beyond, pods group several units: of the pod sizes that build, the
    one with the fewest spines and cores (on a tie the smallest), so a radix-k fat tree reaches its k^3/4
    endpoints (Al-Fares et al., "A Scalable, Commodity Data Center Network Architecture", SIGCOMM 2008); the
    last pod may be partial."""
    spine_down_cap, _ = split_ports(radix, 1.0)
    units = max(1, units)
    if (one := three_tier_pod(units, unit_leaves, leaf_down, leaf_up, radix, units * unit_leaves)) is not None:
        return one
    candidates = []
    for per in range(2, min(units, spine_down_cap // unit_leaves) + 1):
        pods = math.ceil(units / per)
        clos = three_tier_pod(pods, per * unit_leaves, leaf_down, leaf_up, radix, units * unit_leaves)
        if clos is not None:
            candidates.append(clos)
    return _fewest_switches(candidates)


def _fewest_switches(candidates: list[Clos]) -> Clos | None:
    """The candidate with the fewest switches above the leaves; on a tie, the first (the smallest pods)."""
    best: Clos | None = None
    for clos in candidates:
        if best is None or clos.spines + clos.cores + clos.tops < best.spines + best.cores + best.tops:
            best = clos
    return best


def four_tier(units: int, unit_leaves: int, leaf_down: int, leaf_up: int, radix: int) -> Clos | None:
    """Leaf-spine-core-top: pods of whole units under a spine group, blocks of pods under core groups (cores
    1:1, half their ports up) and above core (s, c) of every block the fewest top switches that divide its
    uplinks and have ports for every block. Of the pod and block sizes that build, the one with the fewest
    switches above the leaves (on a tie the smallest pods, then blocks). A radix-k tree of four tiers reaches
    k^4/8 leaf ports (the k-ary fat tree of Al-Fares et al. with one more 1:1 tier)."""
    half, _ = split_ports(radix, 1.0)
    units = max(1, units)
    candidates = []
    for per in range(1, min(units, half // unit_leaves) + 1):
        pod_leaves = per * unit_leaves
        per_pod = smallest_divisor_at_least(leaf_up, math.ceil(pod_leaves * leaf_up / half))
        pods = math.ceil(units / per)
        if per_pod is None:
            continue
        spine_up = pod_leaves * (leaf_up // per_pod)
        for per_block in range(1, pods + 1):
            cores = smallest_divisor_at_least(spine_up, math.ceil(per_block * spine_up / half))
            if cores is None:
                break
            core_up = per_block * (spine_up // cores)
            blocks = math.ceil(pods / per_block)
            tops = smallest_divisor_at_least(core_up, math.ceil(blocks * core_up / radix))
            if tops is not None:
                candidates.append(Clos(4, radix, pods, pod_leaves, leaf_down, leaf_up, per_pod, spine_up, cores,
                                       units * unit_leaves, per_block, tops))
    return _fewest_switches(candidates)


def generic(endpoints: int, radix: int, oversubscription: float, tiers: int | None = None) -> Clos | None:
    """A plain fat tree for `endpoints` ports (storage, in-band, out-of-band networks): 1, 2 or 3 tiers."""
    endpoints = max(1, endpoints)
    if tiers in (None, 1) and endpoints <= radix:
        return Clos(1, radix, 1, 1, endpoints, 0)
    down, up = split_ports(radix, oversubscription)
    leaves = math.ceil(endpoints / down)
    if tiers in (None, 2):
        clos = two_tier(leaves, down, up, radix)
        if clos is not None or tiers == 2:
            return clos
    spine_down_cap, _ = split_ports(radix, 1.0)
    pod_leaves = min(leaves, spine_down_cap)
    return three_tier_pod(math.ceil(leaves / pod_leaves), pod_leaves, down, up, radix)
