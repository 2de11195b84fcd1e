"""Fabric rules: non-blocking training fabrics, port budgets, balanced rails and addressing (the last three
from the design engine), and lossless Ethernet settings."""

from __future__ import annotations

from collections.abc import Iterator

from aifactory.blueprint.types import format_ratio
from aifactory.policy.context import Context
from aifactory.policy.model import Hit
from aifactory.policy.registry import rule
from aifactory.policy.rules.design import design_hits

_FAB = ("fabric",)


@rule(
    "FAB-001",
    "Non-blocking compute fabric where the factory trains",
    severity="high",
    tags=_FAB,
    rationale="All-reduce traffic is all-to-all at line rate; an oversubscribed fabric slows every step of "
    "multi-node training (the SuperPOD reference architecture is 1:1).",
    remediation='Set `fabric.compute.oversubscription: "1:1"` or drop training from this factory.',
)
def non_blocking(ctx: Context) -> Iterator[Hit]:
    ratio = ctx.bp.fabric.compute.oversubscription
    path = ("fabric", "compute", "oversubscription")
    if ctx.trains and ratio > 1.0:
        yield Hit(
            path,
            f"the compute fabric is oversubscribed {format_ratio(ratio)} but this factory trains",
            related=("mlops", "orchestrator", "type"),
            value=format_ratio(ratio),
        )
        return  # one finding per line: the engine's "leaves run worse than asked" adds nothing here
    yield from design_hits(ctx, "oversubscribed")


@rule(
    "FAB-002",
    "Switch ports within budget",
    severity="critical",
    tags=_FAB,
    needs_design=True,
    rationale="Every node port, uplink and fabric-manager port needs a switch port; the design must close.",
    remediation="Use a switch with more ports, another tier, or fewer nodes per scalable unit.",
)
def ports(ctx: Context) -> Iterator[Hit]:
    yield from design_hits(ctx, "ports-exhausted", "spine-ports")


@rule(
    "FAB-003",
    "Balanced rails",
    severity="high",
    tags=_FAB,
    rationale="Rail-optimized fabrics wire NIC k of every node to leaf k; rails that differ from the node's "
    "NICs leave GPUs without a rail or rails unevenly loaded.",
    remediation="Set `fabric.compute.rails` to the node SKU's compute NIC count.",
)
def balanced_rails(ctx: Context) -> Iterator[Hit]:
    rails = ctx.bp.fabric.compute.rails
    nics = ctx.sku.compute_nics
    path = ("fabric", "compute", "rails")
    reported = bool(rails is not None and nics and rails != nics)
    reported = reported and ctx.bp.fabric.compute.topology == "rail-optimized"
    if reported:
        yield Hit(
            path,
            f"{rails} rails but node SKU {ctx.bp.compute.node_sku!r} has {nics} compute NICs",
            related=("compute", "node_sku"),
        )
    # The engine finds the same mismatch on any topology; report it once per line.
    yield from design_hits(ctx, "rails-unbalanced", skip=(path,) if reported else ())


@rule(
    "FAB-004",
    "Address ranges do not overlap",
    severity="high",
    tags=_FAB,
    needs_design=True,
    rationale="Overlapping supernets (or a range the site already uses) route traffic to the wrong network.",
    remediation="Move one of the ranges under `fabric.addressing` (or check `site.reserved_cidrs`).",
)
def cidr_overlap(ctx: Context) -> Iterator[Hit]:
    yield from design_hits(ctx, "cidr-overlap")


@rule(
    "FAB-005",
    "Address ranges large enough",
    severity="high",
    tags=_FAB,
    needs_design=True,
    rationale="A supernet too small for every host, rail and scalable unit cannot be carved.",
    remediation="Widen the range under `fabric.addressing` (a shorter prefix).",
)
def cidr_size(ctx: Context) -> Iterator[Hit]:
    yield from design_hits(ctx, "cidr-exhausted")


@rule(
    "FAB-006",
    "Lossless RoCE settings",
    severity="high",
    tags=_FAB,
    rationale="RDMA over Converged Ethernet needs PFC and ECN; without them congestion drops packets and "
    "collectives stall.",
    remediation="Set `pfc: true` and `ecn: true` on an Ethernet compute fabric.",
)
def lossless(ctx: Context) -> Iterator[Hit]:
    fabric = ctx.bp.fabric.compute
    if fabric.type != "ethernet":
        return
    for flag in ("pfc", "ecn"):
        if not getattr(fabric, flag):
            yield Hit(("fabric", "compute", flag), f"{flag} is off on the RoCE compute fabric", value=False)


@rule(
    "FAB-007",
    "Link speed within the NIC's speed",
    severity="high",
    tags=_FAB,
    rationale="A link runs at the slower end; a fabric link faster than the node NIC is a bill of materials "
    "that cannot be cabled as designed.",
    remediation="Set `fabric.compute.link_speed` to the node SKU's compute NIC speed.",
)
def link_speed(ctx: Context) -> Iterator[Hit]:
    speed = ctx.bp.fabric.compute.link_speed
    nic = ctx.sku.compute_nic_speed_gbps
    if nic and speed > nic:
        yield Hit(
            ("fabric", "compute", "link_speed"),
            f"link speed {speed}G is above the {nic}G compute NICs of {ctx.bp.compute.node_sku!r}",
            related=("compute", "node_sku"),
        )


@rule(
    "FAB-008",
    "InfiniBand in-network reduction for training",
    severity="low",
    level="advisory",
    tags=_FAB,
    rationale="SHARP and adaptive routing raise all-reduce bandwidth on InfiniBand training fabrics.",
    remediation="Set `sharp: true` and `adaptive_routing: true`.",
)
def sharp(ctx: Context) -> Iterator[Hit]:
    fabric = ctx.bp.fabric.compute
    if fabric.type != "infiniband" or not ctx.trains:
        return
    for flag in ("sharp", "adaptive_routing"):
        if not getattr(fabric, flag):
            yield Hit(("fabric", "compute", flag), f"{flag} is off on a training fabric", value=False)
