"""The whole plan against the counts NVIDIA publishes in its DGX SuperPOD reference architectures.

Each row names its document, version and table. The blueprint settings each test applies are the RA's stated
inputs (SUs, nodes per rack, UFM appliances, management servers, the storage selected); everything asserted is
derived by the engine. Rows the engine does not reproduce are listed in docs/plan.md ("Published tables") with
the reason. Compute-fabric rows of the same RAs (H100 Table 4, B200 Tables 3.1/4.1): test_superpod_tables.py.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from aifactory.design import Plan, cabling
from aifactory.design.bom import bom
from aifactory.design.networks import cable_counts, optics_counts

H100 = "NVIDIA DGX SuperPOD RA, DGX H100 (RA-11333-001 V11, 2023-09-22)"
B200 = "NVIDIA DGX SuperPOD RA, DGX B200 (RA-11334-001 V08)"
B300_XDR = "NVIDIA DGX SuperPOD RA, DGX B300 with Quantum-X800 InfiniBand (RA-11339-001 V01)"
B300_SPX = "NVIDIA DGX SuperPOD RA, DGX B300 with Spectrum-4 Ethernet (RA-11337-001 V01)"
GB200 = "NVIDIA DGX SuperPOD RA, DGX GB200 (docs.nvidia.com/dgx-superpod, GB200 RA)"

# The RA's 4-SU build: 4 UFM appliances (their 4 compute-fabric ports take one node slot: Table 4, 1,020 = 1,016
# DGX + 4 UFM cables) and 4 BCM management servers (here 2 login nodes, the Slurm controller and one Kubernetes
# control plane).
# Its 48 storage cables "depend on the specific storage selected" (Table 8 note 2): 48 x 400G at 1:1 is a
# 2.4 TB/s array. The RA does not state its 6 management racks' budget: they hold the 124.5 kW of switches and
# servers at 20.8-24.9 kW per rack (22 kW here; the reference blueprint's 20 kW gives 7).
H100_4SU = (
    "compute.scalable_units=4",
    "compute.login_nodes=2",
    "mlops.orchestrator.kubernetes.control_plane_nodes=1",
    "fabric.compute.fabric_manager.appliances=4",
    "fabric.compute.fabric_manager.ports=1",
    "storage.filesystem.read_throughput=2400GB/s",
    "cooling.rack_groups.1.capacity=22kW",
)


@pytest.fixture
def h100_4su(plan_of: Callable[..., Plan]) -> Plan:
    return plan_of("dgx-h100-superpod", *H100_4SU)


def _bom(p: Plan) -> dict[tuple[str, str], int]:
    return {(str(r["item"]), str(r["model"])): int(r["count"]) for r in bom(p)}


# (source, what, published count, how to read it from the plan)
H100_TABLE7: list[tuple[str, str, int, Callable[[Plan], int]]] = [
    (f"{H100} Table 7", "racks", 38, lambda p: p.total_racks),
    (f"{H100} Table 7", "DGX H100 nodes", 127, lambda p: p.nodes),
    (f"{H100} Table 7", "UFM appliances", 4, lambda p: p.layout.fm_appliances),
    (f"{H100} Table 7", "BCM management servers", 4, lambda p: len(p.mgmt)),
    (f"{H100} Table 7", "in-band management switches (SN4600C)", 8, lambda p: p.nets["inband"].switches),
    (f"{H100} Table 7", "OOB management switches (SN2201)", 8, lambda p: p.nets["oob"].switches),
    (f"{H100} Table 7", "compute fabric switches (QM9700)", 48, lambda p: p.nets["compute"].switches),
    (f"{H100} Table 7", "storage fabric switches (QM9700)", 16, lambda p: p.nets["storage"].switches),
    (f"{H100} Table 7", "rack PDUs (96 + 12)", 108, lambda p: p.pdus),
]

H100_TABLE8: list[tuple[str, str, int, Callable[[Plan], int]]] = [
    # in-band Ethernet cables
    (f"{H100} Table 8", "in-band: DGX H100 system cables", 254,
     lambda p: p.nodes * p.sku.inband_ports),
    (f"{H100} Table 8", "in-band: leaf-core cables", 24, lambda p: p.nets["inband"].links["leaf-spine"]),
    (f"{H100} Table 8", "in-band: ISL cables (100G passive copper)", 6, lambda p: p.nets["inband"].links["isl"]),
    # OOB Ethernet cables: 127 DGX + 64 InfiniBand switches + 8 management/UFM + 8 in-band switches + 108 PDUs
    (f"{H100} Table 8", "OOB: 1 Gbps Cat5e cables", 127 + 64 + 8 + 8 + 108,
     lambda p: _bom(p)[("cable", "copper-rj45-1g")]),
    (f"{H100} Table 8", "OOB: 100 Gbps, two uplinks per OOB switch to in-band", 16,
     lambda p: cable_counts(p.nets["oob"])["aoc-100g"]),
    # compute InfiniBand cabling
    (f"{H100} Table 8", "compute: NDR 400G cables, DGX to leaf and leaf to spine", 2040,
     lambda p: p.nets["compute"].links["node-leaf"] - p.layout.fm_links + p.nets["compute"].links["leaf-spine"]),
    (f"{H100} Table 8", "compute: switch OSFP transceivers, leaf and spine", 1536,
     lambda p: optics_counts(p.cat, p.nets["compute"])["osfp-2x400g-sr8"]),
    (f"{H100} Table 8", "compute: system OSFP transceivers in the DGX H100 systems", 508,
     lambda p: _bom(p)[("transceiver:nic", "osfp-2x400g-sr8-nic")]),
    (f"{H100} Table 4/8", "compute: UFM ports on leaves (1,020 - 1,016)", 4, lambda p: p.layout.fm_links),
    # storage InfiniBand cabling
    (f"{H100} Table 8", "storage: NDR 400G cables, DGX to leaf and leaf to spine", 494,
     lambda p: cable_counts(p.nets["storage"])["fiber-multimode-400g"]),
    (f"{H100} Table 8", "storage: NDR cables to the storage", 48,
     lambda p: p.nets["storage"].groups[1].endpoints - len(p.mgmt)),
    (f"{H100} Table 8", "storage: 400G to 2x200G cables, Slurm management", 4, lambda p: len(p.mgmt)),
    (f"{H100} Table 8", "storage: DGX system QSFP112 transceivers", 254,
     lambda p: _bom(p)[("transceiver:nic", "qsfp112-400g-sr4")]),
]


@pytest.mark.parametrize("row", H100_TABLE7 + H100_TABLE8, ids=lambda r: r[1])
def test_h100_4su_tables_7_and_8(h100_4su: Plan, row: tuple[str, str, int, Callable[[Plan], int]]) -> None:
    source, what, published, read = row
    assert read(h100_4su) == published, f"{source}: {what}"


def test_h100_4su_storage_fabric_shape(h100_4su: Plan) -> None:
    """Table 7's 16 storage switches, as the engine builds them (RA: storage at 1:1, DGX near 4:3)."""
    s = h100_4su.nets["storage"]
    node, store = s.groups
    assert (node.count, node.down, node.up) == (8, 32, 24)  # 4:3 exactly
    assert (store.count, store.up) == (4, 12) and s.spines == 4
    assert all(g.up % s.spines == 0 for g in s.groups)  # every leaf reaches every spine evenly
    # the storage UFM's two 200G ports (one more cage: Table 8's 369) are not modelled
    assert optics_counts(h100_4su.cat, s) == {"osfp-2x400g-sr8": 368}


def test_h100_4su_power_and_racks(h100_4su: Plan) -> None:
    p = h100_4su
    assert (p.racks.compute_racks, p.power.network_racks) == (32, 6)
    assert p.power.node_w == 10200  # the DGX maximum, its NICs included (no adder)
    # QM9700 at 1,720 W "with active cables": 64 compute + storage switches, no transceivers added on top
    assert p.power.network_w["compute"] + p.power.network_w["storage"] == 64 * 1720
    # "power consumption per rack exceeds 40 kW" (Figure 2, 4 DGX H100 per rack)
    assert 40_000 < p.power.compute_rack_w <= 4 * 10_200


# RA-11333-001 V11 Table 6 (GB/s): single node read/write, 1 SU and 4 SU aggregate read/write per tier.
H100_TABLE6 = {
    "good": ((4, 2), (15, 7), (60, 30)),
    "better": ((8, 4), (40, 20), (160, 80)),
    "best": ((40, 20), (125, 62), (500, 250)),
}


@pytest.mark.parametrize("tier", sorted(H100_TABLE6))
def test_h100_table6_storage_targets(plan_of: Callable[..., Plan], tier: str) -> None:
    from aifactory.design.storage import TIERS

    node, su1, su4 = H100_TABLE6[tier]
    assert TIERS[tier]["node"] == node
    for sus, want in ((1, su1), (4, su4)):
        p = plan_of("dgx-h100-superpod", f"compute.scalable_units={sus}", f"storage.filesystem.tier={tier}")
        assert (p.storage.target_read_gbps, p.storage.target_write_gbps) == pytest.approx(want), (tier, sus)


# B300 on Quantum-X800 InfiniBand: Table 3 "Example Compute Fabric Components" (72 nodes per SU, no UFM slot).
# Rows: SUs, nodes, GPUs, leaf, spine, node-leaf cables, leaf-spine cables. The RA prints 9,216 GPUs for the
# 18-SU row, whose 1,296 nodes carry 10,368: the row is checked with the node count's GPUs.
B300_XDR_TABLE3 = [
    (1, 72, 576, 8, 4, 576, 576),
    (2, 144, 1152, 16, 8, 1152, 1152),
    (4, 288, 2304, 32, 18, 2304, 2304),
    (8, 576, 4608, 64, 36, 4608, 4608),
    (18, 1296, 10368, 144, 72, 10368, 10368),
]
B300 = ("compute.node_sku=dgx-b300", "compute.gpu=B300:8", "compute.nodes_per_rack=4",
        "cooling.facility_power=1000MW", "cooling.rack_groups.0.capacity=75kW",
        "cooling.rack_groups.0.power_limit=75kW")


@pytest.mark.parametrize("row", B300_XDR_TABLE3, ids=lambda r: f"{r[0]}su")
def test_b300_xdr_table3(plan_of: Callable[..., Plan], row: tuple[int, ...]) -> None:
    sus = row[0]
    p = plan_of(
        "dgx-h100-superpod", *B300, "compute.nodes_per_su=72", f"compute.scalable_units={sus}",
        "fabric.compute.switch=q3400", "fabric.compute.link_speed=800G",
        "fabric.compute.fabric_manager.appliances=0",
    )
    c = p.nets["compute"]
    got = (sus, p.nodes, p.gpus, c.switch_counts["leaf"], c.switch_counts["spine"],
           *(c.cable_counts_by_kind()[k] for k in ("node-leaf", "leaf-spine")))
    assert got == row, B300_XDR


def test_b300_xdr_racks(plan_of: Callable[..., Plan]) -> None:
    """RA-11339-001: four DGX B300 per rack at ~56 kW (the engine uses the 14.5 kW maximum: 58 kW), each rack
    with three 2U PDUs (Figure 2): N+1 on 34.5 kVA PDUs."""
    p = plan_of("dgx-h100-superpod", *B300, "compute.nodes_per_su=72", "fabric.compute.switch=q3400",
                "fabric.compute.link_speed=800G", "fabric.compute.fabric_manager.appliances=0")
    assert p.racks.compute_racks == 18  # 72 nodes, 4 per rack
    assert p.power.compute_rack_w == pytest.approx(56_000, rel=0.05)
    from aifactory.design.power import pdus_per_rack

    assert pdus_per_rack(p.power.compute_rack_w, "N+1") == 3


# B300 on Spectrum-X Ethernet, twin-plane (2 x 400GbE per GPU): Table 3 "Larger DGX SuperPOD component counts",
# 64 nodes per SU. The RA counts cables; each ConnectX-8 800G cable carries one 400G link of each plane, and each
# 800G switch-to-switch cable two 400G links: the plane links are twice the cables.
B300_SPX_TABLE3 = [
    (1, 64, 512, 16, 8, 512, 512),
    (2, 128, 1024, 32, 16, 1024, 1024),
    (4, 256, 2048, 64, 32, 2048, 2048),
    (8, 512, 4096, 128, 64, 4096, 4096),
    (16, 1024, 8192, 256, 128, 8192, 8192),
]


@pytest.mark.parametrize("row", B300_SPX_TABLE3, ids=lambda r: f"{r[0]}su")
def test_b300_spectrum_x_table3_cables_and_links(plan_of: Callable[..., Plan], row: tuple[int, ...]) -> None:
    sus = row[0]
    p = plan_of(
        "b200-spectrum-x", *B300, "compute.nodes_per_su=64", f"compute.scalable_units={sus}",
        "fabric.compute.planes=2",
    )
    c = p.nets["compute"]
    cables = c.cable_counts_by_kind()
    got = (sus, p.nodes, p.gpus, c.switch_counts["leaf"], c.switch_counts["spine"],
           cables["node-leaf"], cables["leaf-spine"])
    assert got == row, B300_SPX
    assert (c.links["node-leaf"], c.links["leaf-spine"]) == (2 * row[5], 2 * row[6])  # 400G plane links
    assert _bom(p)[("cable", "fiber-multimode-800g")] == row[5] + row[6]


def test_b200_oob_switches_per_compute_racks(plan_of: Callable[..., Plan]) -> None:
    """RA-11334-001 Figure 3.2 (read from the figure, secondary): 16 SN2201 out-of-band switches for the 4-SU
    build of two DGX B200 per rack (64 compute racks)."""
    p = plan_of("dgx-h100-superpod", "compute.node_sku=dgx-b200", "compute.gpu=B200:8",
                "compute.scalable_units=4", "compute.nodes_per_rack=2", "cooling.facility_power=1000MW")
    assert (p.racks.compute_racks, p.nets["oob"].switches) == (64, 16)


def test_gb200_su(plan_of: Callable[..., Plan]) -> None:
    """GB200 RA: an SU is 8 DGX GB200 racks of 72 GPUs (18 compute trays, 9 NVLink switch trays), one SU
    needs a TDP of 1.2 MW; every NVLink switch tray and power shelf has an out-of-band port."""
    p = plan_of("gb200-nvl72")
    assert (p.racks.compute_racks, p.gpus, p.racks.nodes_per_rack) == (8, 576, 18)
    assert p.power.it_w <= 1.2e6
    trays = [r[1] for r in cabling.rows(p) if r[0] == "oob" and ("-nvsw" in r[1] or "-ps" in r[1])]
    assert len(trays) == len(set(trays)) == 8 * (9 + 8)
    assert {t.split("-")[0] for t in trays} == {f"r{i:04d}" for i in range(1, 9)}  # 17 in each NVL72 rack


def test_gb200_scales_by_su_to_128_racks(plan_of: Callable[..., Plan]) -> None:
    """GB200 RA: "DGX SuperPOD can scale to ... 128 racks with 9216 GPUs" (16 SUs of 8 racks). Scaling by SU
    alone builds whole NVL72 racks (physics review item 14: the UFM takes spare leaf ports, not a tray)."""
    p = plan_of("gb200-nvl72", "compute.scalable_units=16", "cooling.facility_power=1000MW")
    assert (p.racks.compute_racks, p.gpus, p.nodes % 18) == (128, 9216, 0)
    assert p.compute.fits
    assert not [c for c in p.checks if c.code in ("nvlink-domain", "ports-exhausted")]
