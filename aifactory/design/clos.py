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
    uplinks to core group s, of `cores_per_group` cores. The last pod may hold fewer leaves (`total_leaves`
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

    @property
    def leaves(self) -> int:
        return self.pods * self.pod_leaves if self.total_leaves is None else self.total_leaves

    def leaves_in_pod(self, pod: int) -> int:
        return min(self.pod_leaves, self.leaves - pod * self.pod_leaves)

    def spine_up_in_pod(self, pod: int) -> int:
        """Uplinks of each spine of `pod`: as many as it takes from the pod's leaves (3 tiers)."""
        return self.leaves_in_pod(pod) * self.links_per_leaf_spine if self.tiers == 3 else 0

    @property
    def spines(self) -> int:
        return self.pods * self.spines_per_pod if self.tiers == 3 else self.spines_per_pod

    @property
    def cores(self) -> int:
        return self.spines_per_pod * self.cores_per_group if self.tiers == 3 else 0

    @property
    def leaf_spine_links(self) -> int:
        return self.leaves * self.leaf_up

    @property
    def spine_core_links(self) -> int:
        """Each spine uplinks what it takes from below, so this tier carries every leaf uplink."""
        return self.leaves * self.leaf_up if self.tiers == 3 else 0

    @property
    def links_per_leaf_spine(self) -> int:
        return self.leaf_up // self.spines_per_pod if self.spines_per_pod else 0

    @property
    def spine_down(self) -> int:
        """Downlinks used on each spine (of a full pod)."""
        leaves = self.pod_leaves if self.tiers == 3 else self.leaves
        return leaves * self.links_per_leaf_spine

    @property
    def links_per_spine_core(self) -> int:
        """Core ports set aside for each pod on each core of its group (what a full pod's spine sends)."""
        return self.spine_up // self.cores_per_group if self.cores_per_group else 0

    @property
    def core_down(self) -> int:
        """Ports used on the busiest core: every full pod's share, and the last pod's first links."""
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
    group per SU, up to 64 SUs on QM9700). Beyond, pods group the fewest units that fit, so a radix-k fat tree
    reaches its k^3/4 endpoints (Al-Fares et al., "A Scalable, Commodity Data Center Network Architecture",
    SIGCOMM 2008); the last pod may be partial."""
    spine_down_cap, _ = split_ports(radix, 1.0)
    units = max(1, units)
    per = 1
    while per <= units and per * unit_leaves <= spine_down_cap:
        pods = math.ceil(units / per)
        clos = three_tier_pod(pods, per * unit_leaves, leaf_down, leaf_up, radix, units * unit_leaves)
        if clos is not None:
            return clos
        per += 1
    return None


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
