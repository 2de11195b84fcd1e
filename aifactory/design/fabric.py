"""The compute fabric: a rail-optimized fat tree sized from the blueprint (DGX SuperPOD style).

NIC k of every node in a scalable unit (SU) goes to a leaf of rail k (RA-11333-001, "rail-optimized").
An SU's node slots are spread over `leaves_per_rail` leaves per rail; each leaf has as many uplinks as its
downlink slots divided by the oversubscription. The fabric-manager (UFM) appliances take the slots after the
last node. Two tiers while every leaf can reach every spine, three beyond: a spine group per pod, cores above;
a pod is one SU while the cores have ports for every pod, else the fewest SUs that fit (`clos.three_tier`);
four (blocks of pods under a top tier, `clos.four_tier`) where the radix cannot reach the design in three.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from aifactory.design.clos import Clos, four_tier, split_ports, three_tier, two_tier


@dataclass(frozen=True, slots=True)
class Layout:
    """How nodes fill scalable units."""

    nodes: int
    sus: int
    slots_per_su: int
    rails: int
    fm_appliances: int
    fm_ports: int
    nvlink_domain_nodes: int

    @property
    def fm_links(self) -> int:
        return self.fm_appliances * self.fm_ports

    @property
    def used_sus(self) -> int:
        return max(1, math.ceil(self.nodes / self.slots_per_su))

    def fm_slots(self) -> list[tuple[int, int, int]]:
        """(SU, position in the SU, rail) of every fabric-manager port: the positions after the last node of
        the last SU (RA-11333-001: the UFM takes the 32nd slot of a 1-SU pod)."""
        su = self.sus - 1
        first = max(0, self.nodes - su * self.slots_per_su)
        return [(su, first + i // self.rails, i % self.rails) for i in range(self.fm_links)]


def fm_slots_needed(appliances: int, ports: int, rails: int) -> int:
    """Node slots the fabric manager's ports take: one slot per `rails` ports of all appliances together, as
    `Layout.fm_slots` places them (RA-11333-001: the UFM costs exactly one slot of a 32-slot SU)."""
    return math.ceil(appliances * ports / rails) if appliances and ports else 0


def radix_at(ports: int, port_speed: int, link_speed: int) -> int:
    """Logical ports at `link_speed`: a faster port splits (800G as 2x400G), else one link per port."""
    if link_speed < port_speed and port_speed % link_speed == 0:
        return ports * (port_speed // link_speed)
    return ports


@dataclass(frozen=True, slots=True)
class ComputeFabric:
    kind: str  # infiniband | ethernet
    switch: str
    radix: int
    link_speed: int
    planes: int
    layout: Layout
    leaves_per_rail: int  # per SU
    clos: Clos | None  # None: the design does not fit in the tiers allowed

    @property
    def tiers(self) -> int:
        return self.clos.tiers if self.clos else 0

    @property
    def fits(self) -> bool:
        return self.clos is not None

    def _count(self, n: int) -> int:
        return n * self.planes if self.clos else 0

    @property
    def leaf_switches(self) -> int:
        return self._count(self.clos.leaves if self.clos else 0)

    @property
    def spine_switches(self) -> int:
        return self._count(self.clos.spines if self.clos else 0)

    @property
    def core_switches(self) -> int:
        return self._count(self.clos.cores if self.clos else 0)

    @property
    def top_switches(self) -> int:
        return self._count(self.clos.tops if self.clos else 0)

    @property
    def switches(self) -> int:
        return self.leaf_switches + self.spine_switches + self.core_switches + self.top_switches

    @property
    def node_links(self) -> int:
        """Node-to-leaf cables including the fabric-manager ones (as the RA counts them)."""
        return (self.layout.nodes * self.layout.rails + self.layout.fm_links) * self.planes

    @property
    def leaf_spine_links(self) -> int:
        return self._count(self.clos.leaf_spine_links if self.clos else 0)

    @property
    def spine_core_links(self) -> int:
        return self._count(self.clos.spine_core_links if self.clos else 0)

    @property
    def core_top_links(self) -> int:
        return self._count(self.clos.core_top_links if self.clos else 0)

    @property
    def oversubscription(self) -> float:
        if not self.clos or not self.clos.leaf_up:
            return 1.0
        return self.clos.leaf_down / self.clos.leaf_up

    def leaf_of(self, su: int, pos: int, rail: int) -> tuple[int, int]:
        """(leaf index within one plane, leaf port) of the NIC on `rail` at position `pos` of SU `su`."""
        assert self.clos is not None
        if self.clos.tiers == 1:  # one switch holds every rail
            return 0, (su * self.layout.slots_per_su + pos) * self.layout.rails + rail
        k, port = divmod(pos, self.clos.leaf_down)
        return (su * self.layout.rails + rail) * self.leaves_per_rail + k, port

    def ports_used(self) -> dict[str, int]:
        """The most ports any switch of each tier uses."""
        if not self.clos:
            return {}
        c = self.clos
        used = {"leaf": min(c.leaf_down, self.layout.slots_per_su) + c.leaf_up}
        if c.tiers == 1:
            used["leaf"] = self.layout.nodes * self.layout.rails + self.layout.fm_links
        if c.tiers >= 2:
            used["spine"] = c.spine_down + (c.spine_up if c.tiers >= 3 else 0)
        if c.tiers >= 3:
            used["core"] = c.core_down + c.core_up
        if c.tiers == 4:
            used["top"] = c.top_down
        return used


def size_compute(
    layout: Layout,
    kind: str,
    switch: str,
    radix: int,
    link_speed: int,
    oversubscription: float,
    tiers: int | None,
    planes: int = 1,
) -> ComputeFabric:
    """Size the rail-optimized fabric; `tiers` None chooses the fewest that fit."""
    endpoints = layout.nodes * layout.rails + layout.fm_links
    if tiers in (None, 1) and layout.sus == 1 and endpoints <= radix:
        clos: Clos | None = Clos(1, radix, 1, 1, endpoints, 0)
        return ComputeFabric(kind, switch, radix, link_speed, planes, layout, 1, clos)
    down_cap, _ = split_ports(radix, oversubscription)
    leaves_per_rail = math.ceil(layout.slots_per_su / down_cap)
    down = min(layout.slots_per_su, down_cap)
    up = math.ceil(down / oversubscription - 1e-9)
    pod_leaves = layout.rails * leaves_per_rail
    clos = None
    if tiers in (None, 2):
        clos = two_tier(layout.sus * pod_leaves, down, up, radix)
    if clos is None and tiers in (None, 3):
        clos = three_tier(layout.sus, pod_leaves, down, up, radix)
    if clos is None and tiers in (None, 4):
        clos = four_tier(layout.sus, pod_leaves, down, up, radix)
    return ComputeFabric(kind, switch, radix, link_speed, planes, layout, leaves_per_rail, clos)
