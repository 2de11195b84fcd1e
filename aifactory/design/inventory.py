"""Per-host records (`Host`) for the inventory, Slurm and Kubernetes renderers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aifactory.design import power as pw
from aifactory.design.hosts import Host
from aifactory.design.naming import network_rack_name, node_name, rack_name
from aifactory.design.placement import FIRST_UNIT
from aifactory.design.power import MGMT_SERVER_UNITS

if TYPE_CHECKING:
    from aifactory.design.plan import Plan


def _ip(p: Plan, supernet: str, subnet: str, index: int) -> str:
    carve = p.carves[supernet]
    sub = carve.subnets.get(subnet)
    return sub.host(index) if sub is not None and carve.fits else ""


def build_hosts(p: Plan) -> list[Host]:
    """Compute nodes in order, then login, controller and control-plane hosts (SU 0, first network rack)."""
    lay, sku = p.layout, p.sku
    prefix = p.bp.compute.hostname_prefix
    cap = pw.gpu_cap_w(p.bp, p.cat, p.power.compute_rack_w, min(p.racks.nodes_per_rack, p.layout.nodes))
    has_storage = "storage" in p.nets
    functions = ("compute", "storage-client")
    hosts = []
    for i in range(lay.nodes):
        su, pos = divmod(i, lay.slots_per_su)
        su_name = f"su{su + 1:04d}"
        rack, unit = p.racks.rack_of(i, lay.slots_per_su)
        rails = tuple(_ip(p, "compute", f"compute/{su_name}/rail{r}", pos) for r in range(lay.rails))
        hosts.append(
            Host(
                node_name(prefix, i, lay.nodes),
                functions,
                su + 1,
                rack_name(rack),
                unit,
                _ip(p, "oob", f"oob/{su_name}", pos),
                _ip(p, "inband", f"inband/{su_name}", pos),
                _ip(p, "storage", f"storage/{su_name}", pos) if has_storage else "",
                rails,
                sku.gpu,
                sku.gpus,
                cap,
            )
        )
    # a single-rack site has no network rack: its management servers sit above the nodes of rack 1
    shared = p.power.network_racks == 0 and p.racks.compute_racks == 1
    above = FIRST_UNIT + min(p.racks.nodes_per_rack, lay.nodes) * p.racks.node_units + sku.rack_overhead_u
    for k, m in enumerate(p.mgmt):
        hosts.append(
            Host(
                m.hostname,
                m.functions,
                0,
                rack_name(0) if shared else network_rack_name(0),
                (above if shared else 1) + MGMT_SERVER_UNITS * k,
                _ip(p, "oob", "oob/shared", k),
                _ip(p, "inband", "inband/shared", k),
                _ip(p, "storage", "storage/shared", k) if has_storage else "",
            )
        )
    return hosts


HOSTS_HEADER = (
    "hostname",
    "functions",
    "su",
    "rack",
    "rack_unit",
    "oob_ip",
    "inband_ip",
    "storage_ip",
    "rail_ips",
    "gpu_model",
    "gpus",
    "power_cap_w",
)


def hosts_csv(hosts: list[Host]) -> str:
    lines = [",".join(HOSTS_HEADER)]
    for h in hosts:
        lines.append(
            ",".join(
                (
                    h.hostname,
                    " ".join(h.functions),
                    str(h.su),
                    h.rack,
                    str(h.rack_unit),
                    h.oob_ip,
                    h.inband_ip,
                    h.storage_ip,
                    " ".join(h.rail_ips),
                    h.gpu_model,
                    str(h.gpus),
                    f"{h.power_cap_w:g}",
                )
            )
        )
    return "\n".join(lines) + "\n"
