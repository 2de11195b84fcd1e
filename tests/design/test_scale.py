"""Fat trees beyond one SU per pod: the 1,048,576-GPU example and properties of the generalized three tiers."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from aifactory.blueprint import load_blueprint
from aifactory.design import plan
from aifactory.design.cabling import uplinks
from aifactory.design.clos import Clos, four_tier, split_ports, three_tier
from tests.conftest import REPO

GW = REPO / "blueprints" / "scale" / "dgx-h200-1gw.yaml"


def test_million_gpus_on_quantum_x800_plan_as_valid_design() -> None:
    p = plan(load_blueprint(str(GW)).model)
    assert p.checks == []
    assert (p.gpus, p.layout.sus, p.compute.tiers) == (1_048_576, 911, 3)
    clos = p.compute.clos
    assert clos is not None and clos.radix == 288  # 144 x 800G ports, each split in two 400G links
    assert clos.pods > 1 and clos.pod_leaves > 8  # pods of several SUs
    assert clos.pod_leaves * clos.pods >= clos.leaves == 911 * 8
    assert max(p.compute.ports_used().values()) <= 288
    assert p.compute.leaf_spine_links == p.compute.spine_core_links == clos.leaves * clos.leaf_up
    assert 1.0e6 < p.power.it_w / 1000 < 1.3e6  # kW: a gigawatt-class IT load within its budget
    assert p.power.facility_w <= p.bp.cooling.facility_power


def cabled(clos: Clos) -> tuple[Counter[tuple[str, str]], Counter[str], Counter[str], Counter[str]]:
    ends: Counter[tuple[str, str]] = Counter()
    kinds: Counter[str] = Counter()
    spine_down: Counter[str] = Counter()
    spine_up: Counter[str] = Counter()
    for leaf in range(clos.leaves):  # the endpoints on every leaf's downlink ports
        for port in range(clos.leaf_down):
            ends[(f"n-leaf{leaf}", f"p{port + 1}")] += 1
    for _, a, ap, b, bp, _ in uplinks("n", clos, 0, 1, 400):
        ends[(a, ap)] += 1
        ends[(b, bp)] += 1
        kinds["leaf-spine" if "-leaf" in a else "spine-core" if "-spine" in a else "core-top"] += 1
        if "-spine" in b:
            spine_down[b] += 1
        if "-spine" in a:
            spine_up[a] += 1
    return ends, kinds, spine_down, spine_up


@settings(max_examples=60, deadline=None)
@given(
    radix=st.sampled_from([8, 12, 16, 24, 32, 48, 64]),
    units=st.integers(1, 200),
    unit_leaves=st.integers(1, 8),
    oversubscription=st.sampled_from([1.0, 4 / 3, 2.0, 3.0]),
)
def test_generalized_three_tier(radix: int, units: int, unit_leaves: int, oversubscription: float) -> None:
    down, up = split_ports(radix, oversubscription)
    clos = three_tier(units, unit_leaves, down, up, radix)
    # Buildable exactly when some pod of whole units fits a spine group (at most k/2 leaves, each spine taking
    # one link of every leaf) and the pods fit a core's k ports: at most k pods of k/2 leaves (k^3/4 leaf ports).
    cap = radix // 2
    buildable = unit_leaves <= cap and -(-units // (cap // unit_leaves)) <= radix
    assert (clos is not None) == buildable
    if clos is None:
        return
    assert clos.leaves == units * unit_leaves and clos.pod_leaves % unit_leaves == 0
    ends, kinds, spine_down, spine_up = cabled(clos)
    assert [e for e, n in ends.items() if n != 1] == []  # every port cabled exactly once
    per_switch = Counter(dev for dev, _ in ends)
    assert max(per_switch.values()) <= radix  # no switch over its radix
    assert all(1 <= int(port[1:]) <= radix for _, port in ends)
    # bisection: the leaves oversubscribe as asked, every tier above carries all the leaves send up
    assert clos.leaf_down / clos.leaf_up == down / up
    assert kinds["leaf-spine"] == clos.leaf_spine_links == clos.leaves * clos.leaf_up
    assert kinds["spine-core"] == clos.spine_core_links == clos.leaf_spine_links
    assert len(spine_down) == clos.spines and spine_up == spine_down  # each spine 1:1, up as many as down
    assert len([d for d in per_switch if "-core" in d]) <= clos.cores


@settings(max_examples=40, deadline=None)
@given(
    radix=st.sampled_from([6, 8, 12]),
    units=st.integers(1, 120),
    unit_leaves=st.integers(1, 3),
    oversubscription=st.sampled_from([1.0, 2.0]),
)
def test_four_tiers(radix: int, units: int, unit_leaves: int, oversubscription: float) -> None:
    down, up = split_ports(radix, oversubscription)
    clos = four_tier(units, unit_leaves, down, up, radix)
    half = radix // 2
    # buildable exactly when a unit fits a pod (k/2 leaves) and the pods fit k blocks of k/2 (k^4/8 leaf ports)
    buildable = unit_leaves <= half and -(-units // (half // unit_leaves)) <= half * radix
    assert (clos is not None) == buildable
    if clos is None:
        return
    assert clos.tiers == 4 and clos.leaves == units * unit_leaves
    ends, kinds, spine_down, spine_up = cabled(clos)
    assert [e for e, n in ends.items() if n != 1] == []
    per_switch = Counter(dev for dev, _ in ends)
    assert max(per_switch.values()) <= radix
    assert all(1 <= int(port[1:]) <= radix for _, port in ends)
    assert kinds["leaf-spine"] == kinds["spine-core"] == kinds["core-top"] == clos.leaves * clos.leaf_up
    assert clos.core_top_links == clos.spine_core_links == clos.leaf_spine_links
    assert spine_up == spine_down and len(spine_down) == clos.spines
    core_down = Counter(b for _, a, _, b, _, _ in uplinks("n", clos, 0, 1, 400) if "-core" in b)
    core_up = Counter(a for _, a, _, b, _, _ in uplinks("n", clos, 0, 1, 400) if "-top" in b)
    assert core_down == core_up and len(core_down) <= clos.cores  # every core 1:1
    assert max(n for d, n in per_switch.items() if "-top" in d) <= clos.top_down <= radix


def test_four_tier_plan_cables_every_port_once() -> None:
    """257 SUs on 64-port QM9700 (beyond k^3/4 in three tiers): four tiers, the whole plan's cabling and power
    hold the properties every plan holds (tests/design/test_properties.py)."""
    from tests.design.test_properties import check_cabling, check_power

    sets = ["compute.scalable_units=257", "compute.nodes_per_su=8", "cooling.facility_power=1000MW"]
    p = plan(load_blueprint("dgx-h100-superpod", sets=sets).model)
    assert p.compute.tiers == 4 and p.nets["compute"].switch_counts["top"] == p.compute.top_switches > 0
    assert [c.code for c in p.checks if c.code == "ports-exhausted"] == []
    check_cabling(p)
    check_power(p)


def test_million_gpu_blueprint_passes_validate_plan_and_policy() -> None:
    from typer.testing import CliRunner

    from aifactory.cli.main import app

    runner = CliRunner()
    for args in (["validate", str(GW)], ["policy", "check", str(GW)], ["plan", str(GW), "--format", "json"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, (args, result.output[-2000:])
