"""The pictures show what the plan built: the devices drawn in each rack are the plan's rack contents, every network
is drawn, the drawings are deterministic."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable

import pytest

from aifactory.design import Plan
from aifactory.design.naming import node_name
from aifactory.design.placement import RACK_UNITS, rack_views
from aifactory.render.pictures import pictures

REFERENCES = ["dgx-h100-superpod", "gb200-nvl72", "edge-l40s-inference", "b200-spectrum-x", "lab"]


def _ids(svg: bytes, prefix: str) -> list[str]:
    return re.findall(rf'id="({prefix}[^"]*)"', svg.decode())


@pytest.mark.parametrize("name", REFERENCES)
def test_rack_views_hold_the_plan(plan_of: Callable[..., Plan], name: str) -> None:
    p = plan_of(name)
    views = rack_views(p)
    compute = [v for v in views if v.role == "compute"]
    network = [v for v in views if v.role == "network"]
    assert len(network) == p.power.network_racks
    # every rack's devices sit within U1-U42 without overlapping
    for v in views:
        units = Counter(u for d in v.devices for u in range(d.unit, d.unit + d.height))
        assert all(n == 1 for n in units.values()), v.name
        assert all(1 <= u <= RACK_UNITS for u in units), v.name
    # the first compute rack holds the nodes the plan places there, at their rack units
    first = compute[0]
    want = {
        (node_name(p.bp.compute.hostname_prefix, i, p.nodes), p.racks.rack_of(i, p.layout.slots_per_su)[1])
        for i in range(p.nodes)
        if p.racks.rack_of(i, p.layout.slots_per_su)[0] == 0
    }
    assert {(d.name, d.unit) for d in first.devices if d.kind == "node"} == want
    # PDUs: the racks drawn, weighted by the racks like them, are the plan's PDUs
    assert sum(v.pdus * v.of_kind for v in views) == p.pdus
    if network:
        switches = Counter(d.name for v in network for d in v.devices if d.kind == "switch")
        assert sum(switches.values()) == sum(n.switches for n in p.nets.values()) and max(switches.values()) == 1
        assert sum(v.watts for v in network) == pytest.approx(sum(p.power.network_w.values()) + p.power.management_w)
    else:  # a single-rack site: the one rack also holds every switch
        assert sum(1 for d in first.devices if d.kind == "switch") == sum(n.switches for n in p.nets.values())
    if p.power.network_racks:
        assert first.watts == pytest.approx(p.power.compute_rack_w)


def test_nvl72_rack_elevation(plan_of: Callable[..., Plan]) -> None:
    p = plan_of("gb200-nvl72")
    rack = rack_views(p)[0]
    kinds = Counter(d.kind for d in rack.devices)
    assert kinds == {"node": 18, "nvlink-tray": 9, "power-shelf": 8}
    assert rack.pdus == 5 and rack.watts == pytest.approx(120_000)  # 120 kW: 4 x 34.5 kVA + 1 (N+1)


@pytest.mark.parametrize("name", ["dgx-h100-superpod", "gb200-nvl72", "edge-l40s-inference"])
def test_racks_drawing_shows_every_device(plan_of: Callable[..., Plan], name: str) -> None:
    p = plan_of(name)
    svg = pictures(p)["racks.svg"]
    drawn = set(_ids(svg, "dev/"))
    want = {f"dev/{v.name}/{d.name}" for v in rack_views(p) for d in v.devices}
    want |= {f"dev/{v.name}/pdu{k + 1}" for v in rack_views(p) for k in range(v.pdus)}
    assert drawn == want
    text = svg.decode()
    for v in rack_views(p):  # the rack's power is written on it
        assert f"{v.watts / 1e3:.1f} kW, {v.pdus} PDUs" in text


@pytest.mark.parametrize("name", ["dgx-h100-superpod", "gb200-nvl72", "lab"])
def test_topology_draws_every_network(plan_of: Callable[..., Plan], name: str) -> None:
    p = plan_of(name)
    svg = pictures(p)["topology.svg"]
    assert _ids(svg, "net/") == [f"net/{n}" for n in ("compute", "storage", "inband", "oob") if n in p.nets]
    text = svg.decode()
    for n, net in p.nets.items():
        assert f"{net.switch} {net.link_speed}G, {net.switches:,} switches" in text, n
    leaves = Counter(i.split("/")[1] for i in _ids(svg, "sw/"))
    fab = p.compute
    if fab.tiers > 1:  # one leaf per rail of SU 1, each labelled with its rail
        assert leaves["compute-leaf"] == min(16, p.layout.rails * fab.leaves_per_rail)
        for r in range(p.layout.rails):
            assert f"rail {r}" in text
    for n, net in p.nets.items():
        if n != "compute" and net.groups:
            assert leaves[f"{n}-leaf"] == sum(min(8, g.count) for g in net.groups)


def test_pictures_are_deterministic(plan_of: Callable[..., Plan]) -> None:
    a = pictures(plan_of("gb200-nvl72"))
    b = pictures(plan_of("gb200-nvl72"))
    assert a == b
    assert b"<dc:date>" not in a["racks.svg"] and b"Date" not in a["topology.svg"]
