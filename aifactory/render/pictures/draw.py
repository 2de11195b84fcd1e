"""The two drawings. Each tier shows at most MAX_BOXES switches (and one SU of nodes); the rest counted."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.patches import Rectangle

from aifactory.design.naming import node_name
from aifactory.design.placement import RACK_UNITS

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from aifactory.design.plan import Plan

MAX_BOXES = 16
COLORS = {"core": "#7b3294", "spine": "#c2a5cf", "leaf": "#a6dba0", "node": "#008837", "fm": "#f4a582"}


def to_bytes(fig: Figure, fmt: str) -> bytes:
    """Deterministic bytes: no timestamps or software versions in the file."""
    buf = io.BytesIO()
    with plt.rc_context({"svg.hashsalt": "aifactory", "svg.fonttype": "none"}):
        meta: dict[str, Any] = {"Date": None, "Creator": None} if fmt == "svg" else {"Software": None}
        fig.savefig(buf, format=fmt, metadata=meta, dpi=100)
    return buf.getvalue()


def _row(ax: Any, y: float, n: int, total: int, label: str, color: str, names: list[str]) -> list[float]:
    """Draw up to MAX_BOXES boxes across the width; return their x centres."""
    shown = min(n, MAX_BOXES)
    xs = [(i + 0.5) / max(1, shown) for i in range(shown)]
    w = min(0.9 / max(1, shown), 0.12)
    for x, name in zip(xs, names, strict=False):
        ax.add_patch(Rectangle((x - w / 2, y - 0.035), w, 0.07, facecolor=color, edgecolor="black", lw=0.5))
        ax.text(x, y, name, ha="center", va="center", fontsize=5, rotation=90 if shown > 8 else 0)
    more = f" (showing {shown})" if total > shown else ""
    ax.text(-0.02, y, f"{label}\n{total:,}{more}", ha="right", va="center", fontsize=7)
    return xs


def draw_topology(p: Plan) -> Figure:
    fab, lay = p.compute, p.layout
    clos = fab.clos
    fig, ax = plt.subplots(figsize=(11, 6))
    ax.set_xlim(-0.25, 1.02)
    ax.set_ylim(0, 1.08)
    ax.axis("off")
    title = (
        f"{p.bp.name}: {p.nodes:,} nodes, {p.gpus:,} GPUs, {lay.sus} SU(s), compute fabric {fab.switch} "
        f"{fab.link_speed}G, {fab.tiers} tier(s); rails {lay.rails}"
    )
    ax.text(0.4, 1.05, title, ha="center", fontsize=9, weight="bold")
    if clos is None:
        ax.text(0.4, 0.5, "the compute fabric does not fit (see findings)", ha="center", fontsize=12)
        return fig
    su_leaves = lay.rails * fab.leaves_per_rail if clos.tiers > 1 else 1
    leaf_x = _row(
        ax,
        0.45,
        su_leaves,
        fab.leaf_switches,
        "leaf (SU 1)",
        COLORS["leaf"],
        [f"L{i + 1}" for i in range(su_leaves)],
    )
    if clos.tiers >= 2:
        s_shown = clos.spines_per_pod
        spine_x = _row(
            ax,
            0.7,
            s_shown,
            fab.spine_switches,
            "spine" + (" (SU 1 group)" if clos.tiers == 3 else ""),
            COLORS["spine"],
            [f"S{i + 1}" for i in range(s_shown)],
        )
        for lx in leaf_x:
            for sx in spine_x:
                ax.plot([lx, sx], [0.485, 0.665], color="grey", lw=0.2)
    if clos.tiers >= 3:
        core_x = _row(
            ax,
            0.93,
            clos.cores,
            fab.core_switches,
            "core",
            COLORS["core"],
            [f"C{i + 1}" for i in range(clos.cores)],
        )
        for sx in spine_x[: min(len(spine_x), MAX_BOXES)]:
            for cx in core_x[:: max(1, len(core_x) // 4)]:
                ax.plot([sx, cx], [0.735, 0.895], color="grey", lw=0.2)
    in_su = min(lay.nodes, lay.slots_per_su)
    names = [node_name(p.bp.compute.hostname_prefix, i, lay.nodes) for i in range(min(in_su, MAX_BOXES))]
    node_x = _row(ax, 0.15, in_su, p.nodes, "nodes (SU 1)", COLORS["node"], names)
    for nx in node_x:
        for lx in leaf_x:
            ax.plot([nx, lx], [0.185, 0.415], color="#1b7837", lw=0.15)
    ax.text(
        0.4,
        0.02,
        f"node-leaf cables {fab.node_links:,} (incl. {lay.fm_links} fabric manager), "
        f"leaf-spine {fab.leaf_spine_links:,}, spine-core {fab.spine_core_links:,}; oversubscription "
        f"{fab.oversubscription:g}:1",
        ha="center",
        fontsize=8,
    )
    return fig


def draw_racks(p: Plan) -> Figure:
    """Rack elevation of SU 1's compute racks (up to 8) with their load, and the counts of all racks."""
    racks = p.racks
    shown = min(racks.compute_racks, 8)
    fig, ax = plt.subplots(figsize=(max(4, 1.4 * shown + 2), 7))
    ax.set_xlim(-0.5, shown * 1.4 + 0.2)
    ax.set_ylim(-4, RACK_UNITS + 6)
    ax.axis("off")
    node_w = p.power.node_w
    prefix = p.bp.compute.hostname_prefix
    for r in range(shown):
        x = r * 1.4
        ax.add_patch(Rectangle((x, 0), 1.0, RACK_UNITS, facecolor="#f0f0f0", edgecolor="black", lw=0.8))
        first = r * racks.nodes_per_rack
        count = min(racks.nodes_per_rack, max(0, p.nodes - first), max(0, p.layout.slots_per_su - first))
        for k in range(count):
            i = first + k
            _, unit = racks.rack_of(i, p.layout.slots_per_su)
            ax.add_patch(
                Rectangle(
                    (x + 0.05, unit - 1),
                    0.9,
                    racks.node_units * 0.95,
                    facecolor=COLORS["node"],
                    edgecolor="black",
                    lw=0.3,
                )
            )
            ax.text(
                x + 0.5,
                unit - 1 + racks.node_units / 2,
                node_name(prefix, i, p.nodes),
                ha="center",
                va="center",
                fontsize=5,
                color="white",
            )
        kw = (count * node_w + p.sku.rack_overhead_w) / 1e3
        ax.text(x + 0.5, -1.5, f"r{r + 1:04d}\n{kw:.1f} kW", ha="center", va="top", fontsize=6)
    ax.text(
        0,
        RACK_UNITS + 3,
        f"{p.bp.name}: {racks.compute_racks:,} compute racks x {racks.nodes_per_rack} nodes "
        f"(max {p.power.compute_rack_w / 1e3:.1f} kW), {p.power.network_racks:,} network racks; "
        f"showing SU 1",
        fontsize=8,
        weight="bold",
    )
    return fig
