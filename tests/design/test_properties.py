"""Properties of every plan: cabling, radix, tier links, address disjointness, power against the BOM."""

from __future__ import annotations

import ipaddress
import itertools
from collections import Counter
from collections.abc import Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aifactory.design import Plan, cabling
from aifactory.design.bom import bom
from aifactory.design.networks import optics_counts

designs = st.fixed_dictionaries(
    {
        "compute.scalable_units": st.integers(1, 6),
        "compute.nodes_per_su": st.sampled_from([8, 16, 31, 32, 48, 72, 144]),
        "fabric.compute.oversubscription": st.sampled_from(["1:1", "4:3", "2:1"]),
        "fabric.compute.switch": st.sampled_from(["qm9700", "sn5600", "q3400"]),
        "fabric.compute.fabric_manager.appliances": st.integers(0, 2),
    }
)


def sets_of(d: dict[str, object]) -> list[str]:
    return [f"{k}={v}" for k, v in d.items()] + ["cooling.facility_power=1000MW"]


def check_cabling(p: Plan) -> None:
    ends: Counter[tuple[str, str]] = Counter()
    links: Counter[tuple[str, str, str]] = Counter()
    for net, a, ap, b, bp_, _ in cabling.rows(p):
        ends[(a, ap)] += 1
        ends[(b, bp_)] += 1
        if net == "oob" and b.startswith("inband-"):
            kind = "uplink"
        elif a.startswith(f"{net}-leaf") and b.startswith(f"{net}-leaf"):
            kind = "isl"
        else:
            tier = next(x for x in ("leaf", "spine", "core", "top") if f"-{x}" in b)
            kind = {"leaf": "node-leaf", "spine": "leaf-spine", "core": "spine-core", "top": "core-top"}[tier]
        links[(net, kind, "")] += 1
    assert [e for e, n in ends.items() if n != 1] == []  # every port is cabled exactly once
    for name, net in p.nets.items():
        for kind, n in net.link_counts().items():
            assert n == links[(name, kind, "")], (name, kind)
        assert sum(net.link_counts().values()) == sum(v for (m, _, _), v in links.items() if m == name)
        radix = net.radix + net.uplinks  # OOB switches' uplink ports follow their 1G ports
        used: Counter[str] = Counter(d for d, port in ends if d.startswith(f"{name}-") and port != "mgmt0")
        assert all(n <= radix for n in used.values())
        for dev, port in ends:
            if dev.startswith(f"{name}-") and port != "mgmt0":
                assert 1 <= int(port[1:]) <= radix
    prefix = p.bp.compute.hostname_prefix
    nics = Counter(a for a, _ in ends if a.startswith(prefix) and a[len(prefix) :].isdigit())
    assert set(nics) == {h.hostname for h in p.hosts if "compute" in h.functions}


def check_addresses(p: Plan) -> None:
    subnets = [ipaddress.ip_network(s.cidr) for c in p.carves.values() for s in c.subnets.values()]
    for c in p.carves.values():
        sup = ipaddress.ip_network(c.cidr)
        if c.fits:
            assert all(ipaddress.ip_network(s.cidr).subnet_of(sup) for s in c.subnets.values())  # type: ignore[arg-type]
    ordered = sorted(subnets, key=lambda n: (int(n.network_address), n.prefixlen))
    for a, b in itertools.pairwise(ordered):
        assert not a.overlaps(b), (a, b)
    ips = [ip for h in p.hosts for ip in (h.oob_ip, h.inband_ip, h.storage_ip, *h.rail_ips) if ip]
    assert len(ips) == len(set(ips))


def check_power(p: Plan) -> None:
    rows = {(r["item"], r["model"]): r["count"] for r in bom(p)}
    assert p.nodes == rows[("node", p.sku_id)]
    assert p.power.nodes_w == rows[("node", p.sku_id)] * p.power.node_w
    switch_w = sum(
        p.cat.switches[m].max_power_w * n for (i, m), n in rows.items() if str(i).startswith("switch:")
    )
    # transceivers add power only where the switch's maximum is quoted without them (QM9700's 1,720 W includes
    # active cables): no optics counted twice
    optic_w = sum(
        p.cat.transceivers[tid].power_w * k
        for net in p.nets.values()
        if not p.cat.switches[net.switch].power_includes_optics
        for tid, k in optics_counts(p.cat, net).items()
    )
    assert abs(sum(p.power.network_w.values()) - (switch_w + optic_w)) < 1e-6
    for name, net in p.nets.items():
        if p.cat.switches[net.switch].power_includes_optics:
            assert p.power.network_w[name] == net.switches * p.cat.switches[net.switch].max_power_w
    assert sum(sum(optics_counts(p.cat, n).values()) for n in p.nets.values()) == sum(
        n for (i, _), n in rows.items() if i == "transceiver:switch"
    )


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(designs)
def test_plan_properties(plan_of: Callable[..., Plan], d: dict[str, object]) -> None:
    p = plan_of("dgx-h100-superpod", *sets_of(d))
    if not p.compute.fits or any(c.code == "ports-exhausted" for c in p.checks):
        return
    check_cabling(p)
    check_addresses(p)
    check_power(p)


def test_reference_blueprints_hold(plan_of: Callable[..., Plan]) -> None:
    for name in (
        "dgx-h100-superpod",
        "gb200-nvl72",
        "lab",
        "b200-spectrum-x",
        "edge-l40s-inference",
        "mi300x-roce",
        "dgx-h200-sovereign-eu",
    ):
        p = plan_of(name)
        assert p.checks == []
        check_cabling(p)
        check_addresses(p)
        check_power(p)
