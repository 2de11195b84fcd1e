"""Bill of materials: nodes, switches by model and role, transceivers, cables by type, racks, PDUs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aifactory.design.networks import cable_counts, optics_counts
from aifactory.design.optics import nic_optic

if TYPE_CHECKING:
    from aifactory.design.plan import Plan

BomRow = dict[str, str | int]


def _add(rows: dict[tuple[str, str], int], item: str, model: str, count: int) -> None:
    if count:
        rows[(item, model)] = rows.get((item, model), 0) + count


def bom(p: Plan) -> list[BomRow]:
    """One row per (item, model), sorted; counts are what to order."""
    rows: dict[tuple[str, str], int] = {}
    _add(rows, "node", p.sku_id, p.nodes)
    _add(rows, "gpu", p.sku.gpu, p.gpus)
    for name, net in p.nets.items():
        for tier, n in net.switch_counts.items():
            _add(rows, f"switch:{name}-{tier}", net.switch, n)
        for tid, n in optics_counts(p.cat, net).items():
            _add(rows, "transceiver:switch", tid, n)
        for kind, n in cable_counts(net).items():
            _add(rows, "cable", f"{kind}-{net.link_speed}g", n)
    optic = nic_optic(p.cat, p.compute.link_speed)
    if optic:
        _add(rows, "transceiver:nic", optic[0], p.nodes * p.sku.compute_nics * p.compute.planes)
    _add(rows, "rack", "compute", p.racks.compute_racks)
    _add(rows, "rack", "network", p.power.network_racks)
    _add(rows, "rack", "management", p.power.management_racks)
    _add(rows, "pdu", "rack-pdu", p.pdus)
    _add(
        rows,
        "fabric-manager",
        "ufm-appliance" if p.compute.kind == "infiniband" else "fabric-controller",
        p.layout.fm_appliances,
    )
    _add(rows, "management-server", "x86-2s", len(p.mgmt))
    _add(rows, "filesystem", p.bp.storage.filesystem.type, 1)
    return [{"item": i, "model": m, "count": c} for (i, m), c in sorted(rows.items())]
