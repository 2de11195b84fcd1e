"""`plan(bp) -> Plan`: everything the design engine derives from a blueprint, as frozen data.

Cheap figures (counts, power, addressing summary, checks) are computed at once; per-host records and the
cabling plan are built only when asked for (`Plan.hosts`, `aifactory.design.cabling.rows`), so a 100k-GPU
`plan --format json` stays fast.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from aifactory.blueprint.model import Blueprint
from aifactory.catalog import Catalog, Gpu, NodeSku, get_catalog
from aifactory.design import addressing as addr
from aifactory.design import power as pw
from aifactory.design import storage as st
from aifactory.design.checks import DesignCheck
from aifactory.design.fabric import ComputeFabric, Layout, fm_slots_needed, radix_at, size_compute
from aifactory.design.hosts import Host
from aifactory.design.networks import (
    Net,
    from_compute,
    node_nic_watts,
    node_port_speed,
    size_inband,
    size_oob,
    storage_server_ports,
    switch_power,
)
from aifactory.design.placement import (
    FIRST_UNIT,
    RACK_UNITS,
    USABLE_UNITS,
    Racks,
    compute_group,
    layout_of,
    network_group,
    rack_budget,
    racks_of,
)

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class MgmtHost:
    hostname: str
    functions: tuple[str, ...]


@dataclass(frozen=True)
class Plan:
    """The derived design. `to_json()` is the stable, documented form (docs/plan.md)."""

    bp: Blueprint
    cat: Catalog = field(repr=False)
    sku_id: str
    sku: NodeSku
    gpu: Gpu
    layout: Layout
    compute: ComputeFabric
    nets: dict[str, Net]
    racks: Racks
    power: pw.PowerBudget
    pdus: int
    mgmt: tuple[MgmtHost, ...]
    storage: st.StorageFit
    carves: dict[str, addr.Carve]
    checks: list[DesignCheck]

    @property
    def nodes(self) -> int:
        return self.layout.nodes

    @property
    def gpus(self) -> int:
        return self.layout.nodes * self.sku.gpus

    @property
    def total_racks(self) -> int:
        return self.racks.compute_racks + self.power.network_racks + self.power.management_racks

    @cached_property
    def hosts(self) -> list[Host]:
        from aifactory.design.inventory import build_hosts

        return build_hosts(self)

    def to_json(self) -> dict[str, Any]:
        from aifactory.design.report import plan_json

        return plan_json(self)


def management_hosts(bp: Blueprint) -> tuple[MgmtHost, ...]:
    """Login nodes, a Slurm controller, Kubernetes control-plane nodes; monitoring and MLflow ride on the
    first controller (the lab runs them there too)."""
    hosts = [
        MgmtHost(f"login{i + 1:02d}", ("login", "storage-client")) for i in range(bp.compute.login_nodes)
    ]
    orch = bp.mlops.orchestrator
    services = tuple(
        f
        for f, on in (("monitoring", bp.mlops.components.prometheus), ("mlflow", bp.mlops.components.mlflow))
        if on
    )
    controllers: list[MgmtHost] = []
    if orch.type in ("slurm", "both"):
        controllers.append(MgmtHost("slurmctl01", ("slurm-controller",)))
    if orch.type in ("kubernetes", "both"):
        k8s = orch.kubernetes
        controllers += [
            MgmtHost(f"k8s-cp{i + 1:02d}", ("k8s-control-plane",)) for i in range(k8s.control_plane_nodes)
        ]
    if controllers and services:
        controllers[0] = MgmtHost(controllers[0].hostname, controllers[0].functions + services)
    return (*hosts, *controllers)


def _fabric_checks(bp: Blueprint, fab: ComputeFabric, sku: NodeSku) -> list[DesignCheck]:
    found = []
    path = ("fabric", "compute")
    lay = fab.layout
    if not fab.fits:
        found.append(
            DesignCheck(
                "ports-exhausted",
                f"{lay.nodes} nodes x {lay.rails} rails do not fit a {fab.tiers or 'fat'}-tier "
                f"fabric of {fab.switch} ({fab.radix} ports at {fab.link_speed}G) with "
                f"{bp.fabric.compute.tiers} tiers",
                (*path, "switch"),
                "choose a switch with more ports, allow more tiers (fabric.compute.tiers: auto) "
                "or build fewer SUs",
                (*path, "tiers"),
            )
        )
        return found
    clos = fab.clos
    assert clos is not None
    capacity = fab.leaves_per_rail * clos.leaf_down if clos.tiers > 1 else fab.radix
    last_pos = max((pos for _, pos, _ in lay.fm_slots()), default=-1)
    if lay.fm_links and clos.tiers > 1 and last_pos >= capacity:
        found.append(
            DesignCheck(
                "ports-exhausted",
                f"the fabric manager's {lay.fm_links} ports find no free leaf port after "
                f"{lay.nodes} nodes in {lay.sus} SU(s) of {lay.slots_per_su} slots",
                ("compute", "nodes"),
                "leave a slot free for the fabric manager (fewer nodes) or add a scalable unit",
                (*path, "fabric_manager"),
            )
        )
    if bp.fabric.compute.rails and bp.fabric.compute.rails != sku.compute_nics:
        found.append(
            DesignCheck(
                "rails-unbalanced",
                f"{bp.fabric.compute.rails} rails for nodes with {sku.compute_nics} compute NICs",
                (*path, "rails"),
                f"set rails to {sku.compute_nics} (one leaf per NIC) or leave it out",
            )
        )
    if lay.nvlink_domain_nodes > 1 and lay.slots_per_su % lay.nvlink_domain_nodes:
        found.append(
            DesignCheck(
                "nvlink-domain",
                f"an SU of {lay.slots_per_su} nodes splits {lay.nvlink_domain_nodes}-node NVLink "
                "domains across SUs",
                ("compute", "nodes_per_su"),
                f"use a multiple of {lay.nvlink_domain_nodes} nodes per SU",
            )
        )
    found += _domain_checks(bp, lay, sku)
    nic = sku.compute_nic_speed_gbps
    if nic and fab.link_speed > nic:
        found.append(
            DesignCheck(
                "link-speed",
                f"compute links at {fab.link_speed}G are faster than the {nic}G compute NICs of "
                f"{bp.compute.node_sku!r}: a link runs at its slower end",
                (*path, "link_speed"),
                f"set fabric.compute.link_speed to {nic}G or choose a node SKU with faster NICs",
                ("compute", "node_sku"),
            )
        )
    wanted = bp.fabric.compute.oversubscription
    if fab.oversubscription > wanted + 1e-6:
        found.append(
            DesignCheck(
                "oversubscribed",
                f"leaves run {fab.oversubscription:.2f}:1, more than the {wanted:g}:1 asked for",
                (*path, "oversubscription"),
                "choose a switch with more ports",
            )
        )
    return found


def _domain_checks(bp: Blueprint, lay: Layout, sku: NodeSku) -> list[DesignCheck]:
    """Rack-scale NVLink domains (GB200 NVL72: 18 trays per rack) are built whole, one per rack."""
    domain = lay.nvlink_domain_nodes
    if domain <= 1:
        return []
    found = []
    npr = bp.compute.nodes_per_rack
    if npr is not None and npr != domain:
        found.append(
            DesignCheck(
                "nvlink-domain",
                f"{npr} nodes per rack for {sku.name}, whose NVLink domain is one rack of {domain} nodes: "
                + ("racks would split NVLink domains" if npr < domain else "a rack holds one domain only"),
                ("compute", "nodes_per_rack"),
                f"set nodes_per_rack to {domain} (or leave it out)",
            )
        )
    if lay.nodes % domain:
        explicit = bp.compute.nodes is not None
        found.append(
            DesignCheck(
                "nvlink-domain",
                f"{lay.nodes} nodes are not whole {domain}-node NVLink domains "
                f"({lay.nodes // domain} full, one of {lay.nodes % domain})",
                ("compute", "nodes") if explicit else ("compute", "nodes_per_su"),
                f"use a multiple of {domain} nodes ({lay.nodes // domain * domain} or "
                f"{(lay.nodes // domain + 1) * domain})",
            )
        )
    return found


def _one_rack(
    bp: Blueprint,
    cat: Catalog,
    sku: NodeSku,
    racks: Racks,
    nodes: int,
    rack_w: float,
    per_net: dict[str, tuple[str, int, float]],
    servers: int,
    server_w: float,
) -> bool:
    """A site whose nodes fill one rack of a group that also holds the fabric, with room (height, feed and
    cooling) left for every switch and management server, is built as that one rack (an edge site)."""
    group = compute_group(bp)
    if racks.compute_racks != 1 or network_group(bp) is not group:
        return False
    free_u = USABLE_UNITS - min(racks.nodes_per_rack, nodes) * racks.node_units - sku.rack_overhead_u
    units = servers * pw.MGMT_SERVER_UNITS + sum(cat.switches[s].rack_units * n for s, n, _ in per_net.values())
    watts = rack_w + servers * server_w + sum(w for _, _, w in per_net.values())
    return units <= free_u and watts <= rack_budget(group)


def _rack_height_checks(bp: Blueprint, sku: NodeSku, racks: Racks, nodes: int) -> list[DesignCheck]:
    """The nodes of the fullest compute rack, and an NVLink domain rack's switch trays, within the rack's
    height (U3-U42: see placement.USABLE_UNITS)."""
    in_rack = min(racks.nodes_per_rack, nodes)
    used = in_rack * racks.node_units + sku.rack_overhead_u
    if used <= USABLE_UNITS:
        return []
    top = FIRST_UNIT + used - 1
    trays = f" and {sku.rack_overhead_u}U of NVLink switch trays" if sku.rack_overhead_u else ""
    return [
        DesignCheck(
            "rack-height",
            f"{in_rack} x {racks.node_units}U {bp.compute.node_sku} nodes{trays} take {used}U "
            f"(U{FIRST_UNIT}-U{top}) in a {RACK_UNITS}U rack that offers U{FIRST_UNIT}-U{RACK_UNITS} "
            f"({USABLE_UNITS}U)",
            ("compute", "nodes_per_rack"),
            f"put at most {max(1, (USABLE_UNITS - sku.rack_overhead_u) // racks.node_units)} nodes in each rack",
            ("compute", "node_sku"),
        )
    ]


def kubernetes_count(nodes: int, share: float) -> int:
    """The compute nodes `mlops.orchestrator.kubernetes_share` gives Kubernetes when both orchestrators share
    the fleet: share x nodes, rounded half up (0.25 x 127 -> 32). The inventory renderer splits by it."""
    return int(share * nodes + 0.5)


def _share_checks(bp: Blueprint, nodes: int) -> list[DesignCheck]:
    """Both orchestrators need nodes: a share that leaves either with none is a design that cannot run."""
    share = getattr(bp.mlops.orchestrator, "kubernetes_share", None)
    if share is None or bp.mlops.orchestrator.type != "both":
        return []
    k8s = kubernetes_count(nodes, share)
    if 0 < k8s < nodes:
        return []
    # One node each way: share >= 1/nodes gives Kubernetes one, share <= (nodes - 1)/nodes leaves Slurm one.
    low, high = math.ceil(1e4 / nodes) / 1e4, math.floor(1e4 * (nodes - 1) / nodes) / 1e4
    empty, fix = ("Kubernetes", f"at least {low:g}") if k8s == 0 else ("Slurm", f"at most {high:g}")
    return [
        DesignCheck(
            "orchestrator-share",
            f"kubernetes_share {share:g} of {nodes} compute nodes gives Kubernetes {k8s} and Slurm {nodes - k8s}: "
            f"{empty} has no node to run on",
            ("mlops", "orchestrator", "kubernetes_share"),
            f"set kubernetes_share {fix}, or choose orchestrator type "
            f"{'slurm' if k8s == 0 else 'kubernetes'} for one scheduler",
            ("compute", "nodes"),
        )
    ]


def _net_checks(name: str, net: Net) -> list[DesignCheck]:
    if net.fits:
        return []
    return [
        DesignCheck(
            "ports-exhausted",
            f"the {name} network's {net.endpoints} ports do not fit three tiers "
            f"of {net.switch} ({net.radix} ports)",
            ("fabric", name, "switch"),
            "choose a switch with more ports",
        )
    ]


def plan(bp: Blueprint) -> Plan:
    """Derive and check the physical factory. Pure: no I/O besides the (cached) catalogue."""
    cat = get_catalog()
    sku = cat.nodes[bp.compute.node_sku]
    gpu = cat.gpus[sku.gpu]
    fab_bp = bp.fabric.compute
    layout = layout_of(bp, sku)
    sw = cat.switches[fab_bp.switch]
    planes = getattr(fab_bp, "planes", 1)
    tiers = None if fab_bp.tiers == "auto" else int(fab_bp.tiers)
    compute = size_compute(
        layout,
        fab_bp.type,
        fab_bp.switch,
        radix_at(sw.ports, sw.port_speed_gbps, fab_bp.link_speed),
        fab_bp.link_speed,
        fab_bp.oversubscription,
        tiers,
        planes,
    )
    mgmt = management_hosts(bp)
    fs = bp.storage.filesystem
    nets = {"compute": from_compute(compute, cat, sku)}
    storage_speed = None
    if bp.fabric.storage:
        storage_speed = bp.fabric.storage.link_speed
        servers = storage_server_ports(fs.read_throughput, fs.write_throughput, storage_speed)
        nets["storage"] = st.size_fabric(
            cat, bp.fabric.storage, layout.nodes * sku.storage_ports, servers, len(mgmt), layout.used_sus
        )

    node_w = sku.max_power_w - pw.gpu_cap_saving(bp, cat)
    if sku.max_power_w > 0:
        node_w += node_nic_watts(cat, sku, fab_bp.link_speed, planes, storage_speed)
    racks = racks_of(bp, sku, layout, node_w)
    mgmt_w = pw.MGMT_SERVER_W if sku.max_power_w > 0 else 0.0  # lab hosts are virtual
    mgmt_servers = len(mgmt) + layout.fm_appliances

    def net_power() -> dict[str, tuple[str, int, float]]:
        return {n: (net.switch, net.switches, switch_power(cat, net)) for n, net in nets.items()}

    full_rack = min(racks.nodes_per_rack, layout.nodes) * node_w + sku.rack_overhead_w

    def network_racks(per_net: dict[str, tuple[str, int, float]]) -> int:
        if _one_rack(bp, cat, sku, racks, layout.nodes, full_rack, per_net, mgmt_servers, mgmt_w):
            return 0  # a single-rack site: switches and servers sit above the nodes
        return pw.network_rack_count(bp, cat, per_net, mgmt_servers, mgmt_w)

    domain_racks = math.ceil(layout.nodes / sku.nvlink_domain_nodes) if sku.nvlink_domain_nodes > 1 else 0
    # In-band and out-of-band depend on each other (OOB uplinks are in-band ports, in-band switches have OOB
    # management ports) and on the racks (every PDU is an OOB port): settle them together.
    oob_uplink_ports = 0
    for _ in range(8):
        inband_ep = layout.nodes * sku.inband_ports + 2 * (len(mgmt) + layout.fm_appliances) + oob_uplink_ports
        inband = size_inband(cat, bp.fabric.inband, inband_ep, sku.inband_ports >= 2)
        nets["inband"] = replace(inband, shared_cables=oob_uplink_ports)
        per_net = net_power()
        net_racks = network_racks(per_net)
        pdus = pw.pdu_count(bp, racks.compute_racks, full_rack, net_racks, per_net, mgmt_servers * mgmt_w)
        switches = sum(n.switches for name, n in nets.items() if name != "oob")
        oob_ep = (
            layout.nodes * sku.bmc_ports
            + switches
            + pdus
            + mgmt_servers
            + domain_racks * (sku.nvlink_switch_trays + sku.power_shelves)
        )
        nets["oob"] = size_oob(cat, bp.fabric.oob, oob_ep, racks.compute_racks)
        ports = nets["oob"].switches * nets["oob"].uplinks
        if ports == oob_uplink_ports:
            break
        oob_uplink_ports = ports
    per_net = net_power()
    net_racks = network_racks(per_net)
    mgmt_racks = 0  # management servers share the network racks (see power.network_rack_count)
    overhead = sku.rack_overhead_w * max(domain_racks, racks.compute_racks if sku.rack_overhead_w else 0)
    if net_racks == 0:  # the one rack also holds the network gear and management servers
        full_rack += mgmt_w * mgmt_servers + sum(v[2] for v in per_net.values())
        nets = {n: replace(net, in_rack=True) for n, net in nets.items()}
    pdus = pw.pdu_count(bp, racks.compute_racks, full_rack, net_racks, per_net, mgmt_servers * mgmt_w)
    budget = pw.PowerBudget(
        node_w,
        node_w * layout.nodes,
        overhead,
        {n: v[2] for n, v in per_net.items()},
        mgmt_w * mgmt_servers,
        full_rack,
        net_racks,
        mgmt_racks,
        bp.cooling.pue_target,
    )

    link = (
        node_port_speed(sku.storage_port_speed_gbps, storage_speed) * sku.storage_ports
        if storage_speed
        else sku.inband_ports * node_port_speed(sku.inband_port_speed_gbps, bp.fabric.inband.link_speed)
    )
    fm_slots = fm_slots_needed(layout.fm_appliances, layout.fm_ports, layout.rails)
    slot_gpus = (layout.nodes + fm_slots) * sku.gpus if fm_slots and sku.nvlink_domain_nodes <= 1 else None
    sfit = st.fit(bp, layout.nodes * sku.gpus, layout.nodes, link / 8.0, slot_gpus)
    carves = _carve_all(bp, layout, pdus, mgmt, nets)

    found = _fabric_checks(bp, compute, sku)
    for name in ("storage", "inband", "oob"):
        if name in nets:
            found += _net_checks(name, nets[name])
    found += _rack_height_checks(bp, sku, racks, layout.nodes) + _share_checks(bp, layout.nodes)
    found += pw.rack_checks(bp, cat, full_rack) + pw.facility_checks(bp, budget)
    found += pw.network_feed_checks(bp, sum(budget.network_w.values()) + budget.management_w)
    found += st.checks(bp, sfit) + addr.supernet_checks(bp, carves)
    return Plan(
        bp,
        cat,
        bp.compute.node_sku,
        sku,
        gpu,
        layout,
        compute,
        nets,
        racks,
        budget,
        pdus,
        mgmt,
        sfit,
        carves,
        found,
    )


def _carve_all(
    bp: Blueprint, layout: Layout, pdus: int, mgmt: tuple[MgmtHost, ...], nets: dict[str, Net]
) -> dict[str, addr.Carve]:
    """Per-SU subnets for node addresses, per-rail subnets for the compute fabric, and a shared subnet for
    management hosts, switches and PDUs."""
    a = bp.fabric.addressing
    used_sus = math.ceil(layout.nodes / layout.slots_per_su)
    per_su = [min(layout.slots_per_su, layout.nodes - s * layout.slots_per_su) for s in range(used_sus)]
    su = [f"su{s + 1:04d}" for s in range(used_sus)]
    switches = sum(n.switches for n in nets.values())
    shared_oob = len(mgmt) + layout.fm_appliances + switches + pdus
    shared = len(mgmt) + layout.fm_appliances
    fm_per_rail = math.ceil(layout.fm_links / layout.rails) if layout.rails else 0
    wanted = {
        "oob": [(f"oob/{n}", h) for n, h in zip(su, per_su, strict=True)] + [("oob/shared", shared_oob)],
        "inband": [(f"inband/{n}", h) for n, h in zip(su, per_su, strict=True)] + [("inband/shared", shared)],
        "storage": [(f"storage/{n}", h) for n, h in zip(su, per_su, strict=True)] + [("storage/shared", 64)],
        "compute": [
            (f"compute/{n}/rail{r}", h + (fm_per_rail if i == used_sus - 1 else 0))
            for i, (n, h) in enumerate(zip(su, per_su, strict=True))
            for r in range(layout.rails)
        ],
    }
    return {name: addr.carve(name, getattr(a, name), wanted[name]) for name in addr.SUPERNETS}
