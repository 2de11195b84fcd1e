"""The fabric role's variables from the blueprint and its plan: rail interfaces and their subnets' prefix,
tenant partitions (InfiniBand P_Keys and who holds their membership), RoCE QoS, and the DOCA-OFED pin."""

from __future__ import annotations

from collections import Counter
from typing import Any

from aifactory.blueprint.model import Blueprint
from aifactory.design.addressing import partitions
from aifactory.design.plan import Plan
from aifactory.render.k8s.ownership import owner


def fabric_vars(bp: Blueprint, p: Plan) -> dict[str, Any]:
    fab = bp.fabric.compute
    rails = p.layout.rails
    # IPoIB names its interfaces ib0, ib1, ... where the OS does not rename them; Ethernet must name them
    # (the blueprint's validation asks for them).
    interfaces = list(fab.rail_interfaces) or [f"ib{r}" for r in range(rails)]
    out: dict[str, Any] = {"fabric_rail_interfaces": interfaces[:rails], **rail_prefixes(p)}
    if fab.type == "infiniband":
        parts = [{"tenant": str(t["tenant"]), "pkey": int(str(t["pkey"]), 16)} for t in partitions(bp)]
        out["fabric_partitions"] = parts
        # UFM appliances on the fabric run the subnet manager; without them opensm does.
        out["fabric_subnet_manager"] = "ufm" if fab.fabric_manager.appliances else "opensm"
    else:
        out["fabric_mtu"] = fab.mtu
        out["fabric_roce_qos"] = {"trust": "dscp", "priority": fab.roce_priority, "dscp": fab.roce_dscp,
                                  "pfc": fab.pfc, "ecn": fab.ecn}  # fmt: skip
    if owner(bp, "ofed") == "host" and bp.software.ofed:
        out["fabric_doca_version"] = str(bp.software.ofed)
        out["fabric_doca_repository"] = str(bp.software.ofed_repository)
        # DOCA-Host's profiles: doca-ofed (InfiniBand and RoCE), doca-roce (the RoCE subset).
        out["fabric_doca_package"] = "doca-ofed" if fab.type == "infiniband" else "doca-roce"
    return out


def rail_prefixes(p: Plan) -> dict[str, Any]:
    """The rail subnets' prefix length: the usual one, and per scalable unit where one differs (a smaller
    last SU gets a smaller subnet)."""
    by_su: dict[int, int] = {}
    for name, sub in p.carves["compute"].subnets.items():
        _, su, rail = name.split("/")
        if rail == "rail0":
            by_su[int(su.removeprefix("su"))] = sub.prefix
    if not by_su:
        return {}
    usual = Counter(by_su.values()).most_common(1)[0][0]
    return {"fabric_rail_prefix": usual,
            "fabric_rail_prefix_by_su": {su: n for su, n in sorted(by_su.items()) if n != usual}}  # fmt: skip
