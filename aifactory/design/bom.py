"""Bill of materials: nodes, switches by model and role, transceivers (switch side per switch cage, node side per
node cage or port), cables by type and speed (physical cables: a twin-plane 800G cable carrying two 400G links is
one cable), racks, PDUs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aifactory.design.networks import cable_counts, node_transceivers, optics_counts

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
            _add(rows, "cable", kind, n)
    storage_speed = p.bp.fabric.storage.link_speed if p.bp.fabric.storage else None
    for tid, n in node_transceivers(
        p.cat, p.sku, p.nodes, p.compute.link_speed, p.compute.planes, storage_speed
    ).items():
        _add(rows, "transceiver:nic", tid, n)
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
