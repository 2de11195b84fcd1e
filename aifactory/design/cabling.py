"""The cabling plan: one row per cable, device:port to device:port, generated lazily (100k-GPU plans have
several hundred thousand cables; only `plan --out` asks for them)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from aifactory.design.clos import Clos
from aifactory.design.naming import node_name, switch_name
from aifactory.design.networks import INBAND_ISL_PER_LEAF
from aifactory.design.optics import cable_type
from aifactory.design.placement import rack_overhead_devices

if TYPE_CHECKING:
    from aifactory.design.networks import Net
    from aifactory.design.plan import Plan

Row = tuple[str, str, str, str, str, str]  # network, a device, a port, b device, b port, cable
HEADER = ("network", "a_device", "a_port", "b_device", "b_port", "cable")


def uplinks(net: str, clos: Clos, plane: int, planes: int, speed: int) -> Iterator[Row]:
    """Leaf-spine, spine-core and core-top cables of a fat tree (each tier's switch count divides the uplinks
    of the tier below). Names and port labels are built once per switch and port number: a million-GPU fabric
    has some 3 M such cables."""
    fiber = cable_type(speed, "multimode")
    if clos.tiers < 2:
        return
    port = [f"p{i}" for i in range(clos.radix + 1)]

    def names(tier: str, count: int) -> list[str]:
        return [switch_name(net, tier, i, plane, planes) for i in range(count)]

    spines = names("spine", clos.spines)
    k = clos.links_per_leaf_spine
    s_per = clos.spines_per_pod
    for leaf, a in enumerate(names("leaf", clos.leaves)):
        pod, local = divmod(leaf, clos.pod_leaves)
        base = pod * s_per if clos.tiers >= 3 else 0
        first = clos.leaf_down + 1
        for j in range(clos.leaf_up):
            yield net, a, port[first + j], spines[base + j % s_per], port[local * k + j // s_per + 1], fiber
    if clos.tiers < 3:
        return
    cores = names("core", clos.cores)
    c_per, kc, down = clos.cores_per_group, clos.links_per_spine_core, clos.spine_down
    per_block = clos.pods_per_block if clos.tiers == 4 else clos.pods
    for spine, a in enumerate(spines):
        pod, s = divmod(spine, s_per)
        block, local_pod = divmod(pod, per_block)
        group = (block * s_per + s) * c_per  # first core of this spine's group (of its block, at 4 tiers)
        first = local_pod * kc + 1
        for m in range(clos.spine_up_in_pod(pod)):
            yield net, a, port[down + m + 1], cores[group + m % c_per], port[first + m // c_per], fiber
    if clos.tiers == 4:
        tops = names("top", clos.tops)
        t_per, kt, down = clos.tops_per_group, clos.links_per_core_top, clos.core_down
        groups = s_per * c_per  # core (s, c) of every block uplinks to top group (s, c)
        for core, a in enumerate(cores):
            block, g = divmod(core, groups)
            first = block * kt + 1
            for r in range(clos.core_up_in_block(block, g % c_per)):
                yield net, a, port[down + r + 1], tops[g * t_per + r % t_per], port[first + r // t_per], fiber


def compute_rows(p: Plan) -> Iterator[Row]:
    fab, lay = p.compute, p.layout
    if fab.clos is None:
        return
    cable = p.nets["compute"].cable_for(fab.link_speed)
    prefix = p.bp.compute.hostname_prefix
    for plane in range(fab.planes):
        suffix = f"p{plane + 1}" if fab.planes > 1 else ""
        for i in range(lay.nodes):
            su, pos = divmod(i, lay.slots_per_su)
            host = node_name(prefix, i, lay.nodes)
            for r in range(lay.rails):
                leaf, port = fab.leaf_of(su, pos, r)
                yield (
                    "compute",
                    host,
                    f"rail{r}{suffix}",
                    switch_name("compute", "leaf", leaf, plane, fab.planes),
                    f"p{port + 1}",
                    cable,
                )
        for q, (su, pos, r) in enumerate(lay.fm_slots()):
            leaf, port = fab.leaf_of(su, pos, r)
            appliance, fm_port = divmod(q, lay.fm_ports)
            yield (
                "compute",
                f"fm{appliance + 1:02d}",
                f"ib{fm_port}{suffix}",
                switch_name("compute", "leaf", leaf, plane, fab.planes),
                f"p{port + 1}",
                cable,
            )
        yield from uplinks("compute", fab.clos, plane, fab.planes, fab.link_speed)


def endpoints(p: Plan, name: str, net: Net) -> Iterator[tuple[str, str]]:
    """(device, port) of everything a storage or management network connects, in a fixed order."""
    sku, lay = p.sku, p.layout
    prefix = p.bp.compute.hostname_prefix
    per_node = {"storage": sku.storage_ports, "inband": sku.inband_ports, "oob": sku.bmc_ports}[name]
    port_name = {"storage": "stor", "inband": "inb", "oob": "bmc"}[name]
    count = 0
    for i in range(lay.nodes):
        host = node_name(prefix, i, lay.nodes)
        for k in range(per_node):
            yield host, f"{port_name}{k}"
    count += lay.nodes * per_node
    extra: list[tuple[str, str]] = []
    for h in p.mgmt:
        extra += [(h.hostname, f"{port_name}{k}") for k in range(2 if name == "inband" else 1)]
    fm = [
        (f"fm{a + 1:02d}", f"{port_name}{k}")
        for a in range(lay.fm_appliances)
        for k in range(2 if name == "inband" else 1)
    ]
    if name != "storage":
        extra += fm
    if name == "inband" and "oob" in p.nets:
        oob = p.nets["oob"]
        extra += [
            (switch_name("oob", "leaf", s), f"p{oob.radix + k + 1}")  # SN2201: QSFP28 ports 49-52 after the RJ45s
            for s in range(oob.switches)
            for k in range(oob.uplinks)
        ]
    if name == "oob":
        domain = sku.nvlink_domain_nodes
        if domain > 1:
            for r in range(-(-lay.nodes // domain)):
                extra += [(tray, "mgmt0") for tray in rack_overhead_devices(sku, r)]
        for other, onet in p.nets.items():
            if other == "oob":
                continue
            planes = _planes(p, other)
            for tier, n in onet.switch_counts.items():
                for s in range(n):
                    plane, idx = divmod(s, n // planes)
                    extra.append((switch_name(other, tier, idx, plane, planes), "mgmt0"))
    yield from extra
    count += len(extra)
    label = {"storage": "fs-server", "oob": "pdu"}.get(name, "spare")
    for n in range(max(0, net.endpoints - count)):
        yield f"{label}{n + 1:04d}", "p1" if name == "storage" else "mgmt0"


def _planes(p: Plan, net: str) -> int:
    return p.compute.planes if net == "compute" else 1


def group_rows(p: Plan, name: str, net: Net) -> Iterator[Row]:
    """Cables of a network built from leaf groups: each group's endpoints round-robin over its leaves (the two
    ports of a dual-homed host land on two leaves, of one pair where leaves come in pairs), every leaf's uplinks
    split evenly over the spines, the ISLs of each in-band leaf pair, and the OOB switches' uplinks."""
    speed = net.link_speed
    fiber = net.cable_for(speed)
    it = endpoints(p, name, net)
    base = 0
    spine_offset = 0
    isl = INBAND_ISL_PER_LEAF if net.links.get("isl") else 0
    for g in net.groups:
        cable = "copper-dac" if g.copper_down else fiber
        for e in range(g.endpoints):
            dev, port = next(it)
            if name == "inband" and dev.startswith("oob-"):
                yield ("oob", dev, port, switch_name(name, "leaf", base + e % g.count), f"p{e // g.count + 1}",
                       p.nets["oob"].cable_for(p.nets["oob"].uplink_speed))
                continue
            yield (name, dev, port, switch_name(name, "leaf", base + e % g.count), f"p{e // g.count + 1}", cable)
        for k in range(g.count):
            leaf = switch_name(name, "leaf", base + k)
            per = g.up // net.spines if net.spines else 0
            for m in range(g.up if net.spines else 0):
                spine = m % net.spines
                yield (name, leaf, f"p{g.down + m + 1}", switch_name(name, "spine", spine),
                       f"p{spine_offset + m // net.spines + 1}", fiber)
            spine_offset += per
            if isl and k % 2 == 0:
                peer = switch_name(name, "leaf", base + k + 1)
                for i in range(isl):
                    port = f"p{g.down + g.up + i + 1}"
                    yield (name, leaf, port, peer, port, "copper-dac")
        base += g.count


def network_rows(p: Plan, name: str, net: Net) -> Iterator[Row]:
    if net.groups:
        yield from group_rows(p, name, net)
        return
    clos = net.clos
    if clos is None:
        return
    cable = net.cable_for(net.link_speed)
    for e, (dev, port) in enumerate(endpoints(p, name, net)):
        if clos.tiers == 1:
            leaf, lport = 0, e
        else:
            leaf, lport = divmod(e, clos.leaf_down)
        if name == "inband" and dev.startswith("oob-"):  # an OOB switch's uplink: the OOB network's cable
            oob = p.nets["oob"]
            yield ("oob", dev, port, switch_name(name, "leaf", leaf), f"p{lport + 1}", oob.cable_for(oob.uplink_speed))
            continue
        yield (name, dev, port, switch_name(name, "leaf", leaf), f"p{lport + 1}", cable)
    yield from uplinks(name, clos, 0, 1, net.link_speed)


def rows(p: Plan) -> Iterator[Row]:
    """Every cable of the factory: compute fabric first, then storage, in-band and out-of-band."""
    yield from compute_rows(p)
    for name in ("storage", "inband", "oob"):
        if name in p.nets:
            yield from network_rows(p, name, p.nets[name])


CHUNK_ROWS = 20_000


def csv_chunks(p: Plan) -> Iterator[str]:
    """cabling.csv as text chunks of `CHUNK_ROWS` rows, so a million-GPU plan (5.5 M cables, ~350 MB) is
    written as it is generated rather than held in memory."""
    batch = [",".join(HEADER)]
    for r in rows(p):
        batch.append(",".join(r))
        if len(batch) >= CHUNK_ROWS:
            yield "\n".join(batch) + "\n"
            batch = []
    if batch:
        yield "\n".join(batch) + "\n"


def to_csv(p: Plan) -> str:
    return "".join(csv_chunks(p))
