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
    """Switch counts of a fat tree built from `pods` identical pods of `pod_leaves` leaves.

    tiers == 1: one switch, no uplinks. tiers == 2: every leaf reaches every spine (`spines_per_pod` is then
    the whole spine tier and pods == 1). tiers == 3: each pod has its own spine group; spine s of every pod
    uplinks to core group s, of `cores_per_group` cores.
    """

    tiers: int
    radix: int
    pods: int
    pod_leaves: int
    leaf_down: int  # downlink slots per leaf
    leaf_up: int  # uplinks per leaf (0 at tier 1)
    spines_per_pod: int = 0
    spine_up: int = 0  # uplinks per spine (3 tiers)
    cores_per_group: int = 0

    @property
    def leaves(self) -> int:
        return self.pods * self.pod_leaves

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
        return self.spines * self.spine_up if self.tiers == 3 else 0

    @property
    def links_per_leaf_spine(self) -> int:
        return self.leaf_up // self.spines_per_pod if self.spines_per_pod else 0

    @property
    def spine_down(self) -> int:
        """Downlinks used on each spine."""
        leaves = self.pod_leaves if self.tiers == 3 else self.leaves
        return leaves * self.links_per_leaf_spine

    @property
    def links_per_spine_core(self) -> int:
        return self.spine_up // self.cores_per_group if self.cores_per_group else 0

    @property
    def core_down(self) -> int:
        return self.pods * self.links_per_spine_core


def two_tier(leaves: int, leaf_down: int, leaf_up: int, radix: int) -> Clos | None:
    """Leaf-spine: the fewest spines that divide each leaf's uplinks evenly and have ports for all of them."""
    need = math.ceil(leaves * leaf_up / radix)
    spines = smallest_divisor_at_least(leaf_up, need)
    if spines is None:
        return None
    return Clos(2, radix, 1, leaves, leaf_down, leaf_up, spines_per_pod=spines)


def three_tier(pods: int, pod_leaves: int, leaf_down: int, leaf_up: int, radix: int) -> Clos | None:
    """Leaf-spine-core: a spine group per pod (non-blocking spines: half the ports down, half up)."""
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
    return Clos(3, radix, pods, pod_leaves, leaf_down, leaf_up, per_pod, spine_up, cores)


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
    return three_tier(math.ceil(leaves / pod_leaves), pod_leaves, down, up, radix)
