"""The plan as a stable JSON object (documented in docs/plan.md); bump SCHEMA_VERSION on breaking changes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aifactory.design.addressing import partitions
from aifactory.design.bom import bom
from aifactory.design.kpi import kpis
from aifactory.design.networks import cable_counts, optics_counts

if TYPE_CHECKING:
    from aifactory.catalog import Catalog
    from aifactory.design.checks import DesignCheck
    from aifactory.design.networks import Net
    from aifactory.design.plan import Plan


def _kw(watts: float) -> float:
    return round(watts / 1e3, 3)


def net_json(net: Net, cat: Catalog) -> dict[str, Any]:
    return {
        "switch": net.switch,
        "link_speed_gbps": net.link_speed,
        "radix": net.radix,
        "tiers": net.tiers or None,
        "links": net.link_counts(),
        "cables": cable_counts(net),
        "switch_transceivers": sum(optics_counts(cat, net).values()),
        "leaf_switches": net.switch_counts.get("leaf", 0),
        "spine_switches": net.switch_counts.get("spine", 0),
        "core_switches": net.switch_counts.get("core", 0),
        "node_links": net.links.get("node-leaf", 0),
        "leaf_spine_links": net.links.get("leaf-spine", 0),
        "spine_core_links": net.links.get("spine-core", 0),
        "ports_used": dict(net.ports_used),
        **(  # four tiers only: the top tier above the cores
            {"top_switches": net.switch_counts["top"], "core_top_links": net.links.get("core-top", 0)}
            if "top" in net.switch_counts
            else {}
        ),
    }


def compute_json(p: Plan) -> dict[str, Any]:
    fab = p.compute
    out = net_json(p.nets["compute"], p.cat)
    out.update(
        {
            "type": fab.kind,
            "rails": p.layout.rails,
            "planes": fab.planes,
            "scalable_units": p.layout.sus,
            "slots_per_su": p.layout.slots_per_su,
            "leaves_per_rail_per_su": fab.leaves_per_rail,
            "oversubscription": round(fab.oversubscription, 4),
            "fabric_manager": {"appliances": p.layout.fm_appliances, "ports": p.layout.fm_links},
            "nvlink_domain_gpus": p.layout.nvlink_domain_nodes * p.sku.gpus,
            "partitions": partitions(p.bp),
        }
    )
    return out


def check_json(c: DesignCheck) -> dict[str, Any]:
    return {
        "code": c.code,
        "message": c.message,
        "path": ".".join(map(str, c.path)),
        "hint": c.hint,
        "related": ".".join(map(str, c.related)) if c.related else None,
    }


def plan_json(p: Plan) -> dict[str, Any]:
    pb = p.power
    s = p.storage
    nets = {name: net_json(net, p.cat) for name, net in p.nets.items() if name != "compute"}
    nets["compute"] = compute_json(p)
    from aifactory.design.cdus import cdu_groups

    out: dict[str, Any] = {
        "schema_version": 1,
        "blueprint": p.bp.name,
        "node_sku": p.sku_id,
        "gpu_model": p.sku.gpu,
        "nodes": p.nodes,
        "gpus": p.gpus,
        "gpus_per_node": p.sku.gpus,
        "management_hosts": len(p.mgmt),
        "fabric": nets,
        "power": {
            "node_kw": _kw(pb.node_w),
            "nodes_kw": _kw(pb.nodes_w),
            "rack_overhead_kw": _kw(pb.rack_overhead_w),
            "network_kw": {k: _kw(v) for k, v in sorted(pb.network_w.items())},
            "management_kw": _kw(pb.management_w),
            "it_kw": _kw(pb.it_w),
            "pue": pb.pue,
            "facility_kw": _kw(pb.facility_w),
            "facility_budget_kw": _kw(p.bp.cooling.facility_power),
        },
        "cooling": {
            "racks": p.total_racks,
            "compute_racks": p.racks.compute_racks,
            "network_racks": pb.network_racks,
            "management_racks": pb.management_racks,
            "nodes_per_rack": p.racks.nodes_per_rack,
            "max_rack_kw": _kw(pb.compute_rack_w),
            "pdus": p.pdus,
        },
        "storage": {
            "tier": s.tier,
            "read_gbps": s.read_gbps,
            "write_gbps": s.write_gbps,
            "target_read_gbps": round(s.target_read_gbps, 3),
            "target_write_gbps": round(s.target_write_gbps, 3),
            "read_gbps_per_gpu": round(s.read_gbps_per_gpu, 4),
            "read_gbps_per_node": round(s.read_gbps_per_node, 4),
            "single_node_read_gbps": round(s.single_node_read_gbps, 3),
            "checkpoint_tb": round(s.checkpoint_bytes / 1e12, 3),
            "capacity_tb": round(s.capacity_bytes / 1e12, 3),
        },
        "addressing": {
            name: {"supernet": c.cidr, "subnets": len(c.subnets), "needed_prefix": c.needed_prefix}
            for name, c in sorted(p.carves.items())
        },
        "kpi": kpis(p.gpu, p.gpus, pb.it_w, p.sku.max_power_w * p.nodes),
        "bom": bom(p),
        "findings": [check_json(c) for c in p.checks],
    }
    cdus = cdu_groups(p)
    if cdus:  # only designs with liquid heat have coolant distribution units
        out["cooling"]["cdus"] = [g.to_json() for g in cdus]
    return out
