"""The compute fabric against NVIDIA's published DGX SuperPOD tables (counts are derived, never looked up)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from aifactory.design import Plan

# NVIDIA DGX SuperPOD RA for DGX H100 (RA-11333-001), compute fabric: 32 node slots per SU, one taken by the
# UFM appliance (4 ports); QM9700 NDR. Rows: SUs, nodes, GPUs, leaf, spine, core, node-leaf (incl. UFM),
# leaf-spine, spine-core. 1 and 2 SUs from the RA's table (REFERENCE-DATA.md s3); 4 SUs = "the 4 SU, 127-node
# DGX SuperPOD" of the RA's Table 7.
H100_RA = [
    (1, 31, 248, 8, 4, 0, 252, 256, 0),
    (2, 63, 504, 16, 8, 0, 508, 512, 0),
    (4, 127, 1016, 32, 16, 0, 1020, 1024, 0),
]

# NVIDIA DGX SuperPOD RA for DGX B200, "Larger DGX SuperPOD component counts" (same QM9700 rail-optimized
# fabric, 32 nodes per SU, no slot counted for UFM):
# https://docs.nvidia.com/dgx-superpod/reference-architecture-scalable-infrastructure-b200/latest/dgx-superpod-architecture.html
B200_RA = [
    (2, 64, 512, 16, 8, 0, 512, 512, 0),
    (4, 128, 1024, 32, 16, 0, 1024, 1024, 0),
    (8, 256, 2048, 64, 32, 0, 2048, 2048, 0),
    (16, 512, 4096, 128, 128, 64, 4096, 4096, 4096),
    (32, 1024, 8192, 256, 256, 128, 8192, 8192, 8192),
    (64, 2048, 16384, 512, 512, 256, 16384, 16384, 16384),
]


def row(p: Plan) -> tuple[int, ...]:
    f = p.compute
    return (
        p.layout.sus,
        p.nodes,
        p.gpus,
        f.leaf_switches,
        f.spine_switches,
        f.core_switches,
        f.node_links,
        f.leaf_spine_links,
        f.spine_core_links,
    )


@pytest.mark.parametrize("expected", H100_RA, ids=lambda r: f"{r[0]}su")
def test_h100_superpod_table(plan_of: Callable[..., Plan], expected: tuple[int, ...]) -> None:
    p = plan_of("dgx-h100-superpod", f"compute.scalable_units={expected[0]}")
    assert expected == row(p)
    assert p.compute.oversubscription == 1.0


@pytest.mark.parametrize("expected", B200_RA, ids=lambda r: f"{r[0]}su")
def test_b200_superpod_table_same_fabric(plan_of: Callable[..., Plan], expected: tuple[int, ...]) -> None:
    p = plan_of(
        "dgx-h100-superpod",
        f"compute.scalable_units={expected[0]}",
        "fabric.compute.fabric_manager.appliances=0",
    )
    assert expected == row(p)
    assert (3 if expected[5] else 2) == p.compute.tiers


@pytest.mark.parametrize("expected", B200_RA, ids=lambda r: f"{r[0]}su")
def test_h100_with_ufm_at_scale(plan_of: Callable[..., Plan], expected: tuple[int, ...]) -> None:
    """With the UFM slot, the H100 RA's pattern holds at every size: one node fewer, four UFM cables more."""
    sus, nodes, gpus, leaf, spine, core, node_leaf, leaf_spine, spine_core = expected
    p = plan_of("dgx-h100-superpod", f"compute.scalable_units={sus}")
    assert (sus, nodes - 1, gpus - 8, leaf, spine, core, node_leaf - 8 + 4, leaf_spine, spine_core) == row(p)


def test_three_sus_spines_divide_leaf_uplinks(plan_of: Callable[..., Plan]) -> None:
    """24 leaves x 32 uplinks need 12 spines' ports, but 32 uplinks split evenly only over 16."""
    p = plan_of("dgx-h100-superpod", "compute.scalable_units=3")
    assert (
        p.nodes,
        p.compute.leaf_switches,
        p.compute.spine_switches,
        p.compute.node_links,
        p.compute.leaf_spine_links,
    ) == (95, 24, 16, 764, 768)


def test_beyond_64_sus_pods_group_sus(plan_of: Callable[..., Plan]) -> None:
    """65 SUs: one SU per pod would need 65 x 32 core ports per group (64 on a core), so pods hold 2 SUs
    (33 pods, the last of one SU); before, this was refused."""
    p = plan_of("dgx-h100-superpod", "compute.scalable_units=65", "cooling.facility_power=100MW")
    assert [c.code for c in p.checks if c.code == "ports-exhausted"] == []
    assert p.compute.clos is not None and (p.compute.clos.pods, p.compute.clos.pod_leaves) == (33, 16)
    assert row(p)[3:] == (520, 528, 512, 65 * 256 - 4, 65 * 256, 65 * 256)


def test_radix_64_reaches_k_cubed_over_4(plan_of: Callable[..., Plan]) -> None:
    """A three-tier fat tree of radix k serves k^3/4 endpoints (65,536 at 64 ports): 256 SUs fit, 257 do not
    in three tiers and take four."""
    full = plan_of("dgx-h100-superpod", "compute.scalable_units=256", "cooling.facility_power=1000MW")
    clos = full.compute.clos
    assert clos is not None and clos.tiers == 3 and clos.leaves * clos.leaf_down == 64**3 // 4
    assert full.compute.ports_used() == {"leaf": 64, "spine": 64, "core": 64}
    three = ("compute.scalable_units=257", "cooling.facility_power=1000MW", "fabric.compute.tiers=3")
    p = plan_of("dgx-h100-superpod", *three)
    assert [c.code for c in p.checks if c.code == "ports-exhausted"] == ["ports-exhausted"]
    four = plan_of("dgx-h100-superpod", "compute.scalable_units=257", "cooling.facility_power=1000MW")
    assert [c.code for c in four.checks if c.code == "ports-exhausted"] == [] and four.compute.tiers == 4
    f = four.compute
    assert f.leaf_spine_links == f.spine_core_links == f.core_top_links == 257 * 8 * 32
    assert max(f.ports_used().values()) <= 64 and f.top_switches > 0


def test_two_tiers_forced_too_small(plan_of: Callable[..., Plan]) -> None:
    p = plan_of("dgx-h100-superpod", "compute.scalable_units=16", "fabric.compute.tiers=2")
    assert "ports-exhausted" in [c.code for c in p.checks]
