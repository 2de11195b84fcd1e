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


RAIL_COLORS = ["#e41a1c", "#377eb8", "#4daf4a", "#984ea3", "#ff7f00", "#a65628", "#f781bf", "#666666"]
NET_TITLES = {"compute": "compute fabric", "storage": "storage fabric", "inband": "in-band management",
              "oob": "out-of-band management"}


def _box(ax: Any, x: float, y: float, w: float, label: str, color: str, gid: str, size: float = 6.5) -> None:
    box = Rectangle((x - w / 2, y - 0.04), w, 0.08, facecolor=color, edgecolor="black", lw=0.5)
    box.set_gid(gid)
    ax.add_patch(box)
    ax.text(x, y, label, ha="center", va="center", fontsize=size)


def _panel(ax: Any, title: str, name: str) -> None:
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.05)
    ax.axis("off")
    ax.set_gid(f"net/{name}")
    ax.text(0.5, 1.0, title, ha="center", va="top", fontsize=9, weight="bold")


def _compute_panel(ax: Any, p: Plan) -> None:
    """SU 1 of the compute fabric: its nodes, each NIC to the leaf of its rail (colour per rail), spines."""
    fab, lay = p.compute, p.layout
    net = p.nets["compute"]
    _panel(ax, f"{NET_TITLES['compute']}: {fab.switch} {fab.link_speed}G, {net.switches:,} switches "
           f"({net.switch_counts['leaf']:,} leaf, {net.switch_counts['spine']:,} spine, "
           f"{net.switch_counts['core']:,} core), {fab.planes} plane(s)", "compute")
    clos = fab.clos
    if clos is None:
        ax.text(0.5, 0.5, "does not fit (see findings)", ha="center", fontsize=10)
        return
    su_leaves = min(MAX_BOXES, lay.rails * fab.leaves_per_rail if clos.tiers > 1 else 1)
    leaf_x = [(k + 0.5) / su_leaves for k in range(su_leaves)]
    for k, x in enumerate(leaf_x):
        rail = k // max(1, fab.leaves_per_rail) if clos.tiers > 1 else 0
        label = f"L{k + 1} rail {rail}" if clos.tiers > 1 else "leaf (all rails)"
        _box(ax, x, 0.5, min(0.9 / su_leaves, 0.14), label, COLORS["leaf"], f"sw/compute-leaf/{k}")
    if clos.tiers >= 2:
        spines = min(MAX_BOXES, clos.spines_per_pod)
        spine_x = [(k + 0.5) / spines for k in range(spines)]
        for k, x in enumerate(spine_x):
            _box(ax, x, 0.8, min(0.9 / spines, 0.14), f"S{k + 1}", COLORS["spine"], f"sw/compute-spine/{k}")
        for lx in leaf_x:
            for sx in spine_x:
                ax.plot([lx, sx], [0.54, 0.76], color="grey", lw=0.3)
    in_su = min(lay.nodes, lay.slots_per_su, 8)
    node_x = [(k + 0.5) / in_su for k in range(in_su)]
    for k, x in enumerate(node_x):
        _box(ax, x, 0.2, min(0.9 / in_su, 0.12), node_name(p.bp.compute.hostname_prefix, k, lay.nodes),
             COLORS["node"], f"node/{k}")
        for lk, lx in enumerate(leaf_x):
            rail = lk // max(1, fab.leaves_per_rail) if clos.tiers > 1 else lk
            if clos.tiers > 1 and k // clos.leaf_down != lk % max(1, fab.leaves_per_rail):
                continue
            ax.plot([x, lx], [0.24, 0.46], color=RAIL_COLORS[rail % len(RAIL_COLORS)], lw=0.5)
    shown = f" (SU 1: {in_su} of {min(lay.nodes, lay.slots_per_su)} nodes drawn)"
    ax.text(0.5, 0.06, f"rails coloured; node-leaf {net.links['node-leaf']:,} links, leaf-spine "
            f"{net.links['leaf-spine']:,}, spine-core {net.links['spine-core']:,}{shown}", ha="center", fontsize=6.5)


def _groups_panel(ax: Any, p: Plan, name: str) -> None:
    """A storage/in-band/out-of-band network: its leaf groups with what they connect, spines, uplinks."""
    net = p.nets[name]
    _panel(ax, f"{NET_TITLES[name]}: {net.switch} {net.link_speed}G, {net.switches:,} switches "
           f"({net.switch_counts.get('leaf', 0):,} leaf, {net.switch_counts.get('spine', 0):,} spine)", name)
    groups = net.groups
    if not groups:  # a plain fat tree
        ax.text(0.5, 0.5, f"fat tree, {net.tiers} tier(s): {net.endpoints:,} ports", ha="center", fontsize=7)
        return
    total = sum(g.count for g in groups)
    x = 0.0
    leaf_x: list[float] = []
    for g in groups:
        share = g.count / total
        centre = x + share / 2
        what = {"node": "node ports", "storage": "storage + host ports", "host": "ports"}[g.role]
        shown = min(g.count, 8)
        for k in range(shown):
            lx = x + (k + 0.5) * share / shown
            leaf_x.append(lx)
            _box(ax, lx, 0.5, min(0.8 * share / shown, 0.1), f"L{len(leaf_x)}", COLORS["leaf"],
                 f"sw/{name}-leaf/{len(leaf_x) - 1}", 6)
        ax.text(centre, 0.36, f"{g.count} leaves x {g.down} down / {g.up} up", ha="center", fontsize=6.5)
        ax.text(centre, 0.2, f"{g.endpoints:,} {what}", ha="center", fontsize=6.5,
                bbox={"facecolor": "#e0f3f8", "lw": 0.3})
        x += share
    if net.spines:
        spine_x = [(k + 0.5) / min(net.spines, MAX_BOXES) for k in range(min(net.spines, MAX_BOXES))]
        for k, sx in enumerate(spine_x):
            _box(ax, sx, 0.8, min(0.8 / len(spine_x), 0.12), f"S{k + 1}", COLORS["spine"], f"sw/{name}-spine/{k}")
        for lx in leaf_x:
            for sx in spine_x:
                ax.plot([lx, sx], [0.54, 0.76], color="grey", lw=0.3)
    notes = []
    if net.links.get("isl"):
        notes.append(f"leaf pairs, {net.links['isl']} ISL cables")
    if net.uplinks:
        notes.append(f"{net.uplinks} x {net.uplink_speed}G uplinks per switch into the in-band network")
    if net.spines:
        notes.append(f"{net.links['leaf-spine']:,} leaf-spine links")
    ax.text(0.5, 0.06, "; ".join(notes), ha="center", fontsize=6.5)


def draw_topology(p: Plan) -> Figure:
    """Every network: the compute fabric's SU 1 with its rails, then storage, in-band and out-of-band."""
    names = [n for n in ("compute", "storage", "inband", "oob") if n in p.nets]
    fig, axes = plt.subplots(len(names), 1, figsize=(12, 3.2 * len(names)))
    fig.suptitle(f"{p.bp.name}: {p.nodes:,} nodes, {p.gpus:,} GPUs, {p.layout.sus} SU(s)", fontsize=10,
                 weight="bold")
    for ax, name in zip(axes, names, strict=True):
        if name == "compute":
            _compute_panel(ax, p)
        else:
            _groups_panel(ax, p, name)
    return fig


KIND_COLORS = {
    "node": "#1b7837",
    "nvlink-tray": "#762a83",
    "power-shelf": "#e08214",
    "switch": "#2166ac",
    "server": "#8c510a",
}
MAX_RACKS = 12  # racks drawn; the rest are counted in the title


def draw_racks(p: Plan) -> Figure:
    """Rack elevations, one of each rack type (placement.rack_views): every device at its rack units with its
    name and model, the vertical PDU strips, the rack's power and how many racks are like it."""
    from aifactory.design.placement import FIRST_UNIT, rack_views

    views = rack_views(p)
    shown = views[:MAX_RACKS]
    width = 2.6
    fig, ax = plt.subplots(figsize=(max(6.0, width * len(shown) + 1.0), 10.5))
    ax.set_xlim(-0.4, len(shown) * width)
    ax.set_ylim(-5, RACK_UNITS + 5)
    ax.axis("off")
    for r, view in enumerate(shown):
        x = r * width
        frame = Rectangle((x, 0), 2.0, RACK_UNITS, facecolor="#f7f7f7", edgecolor="black", lw=0.8)
        frame.set_gid(f"rack/{view.name}")
        ax.add_patch(frame)
        for u in range(1, RACK_UNITS + 1, 5):
            ax.text(x - 0.05, u - 0.5, f"U{u}", ha="right", va="center", fontsize=5, color="#555555")
        ax.text(x + 1.0, (FIRST_UNIT - 1) / 2, "cable mgmt / feed", ha="center", va="center", fontsize=5,
                color="#555555")
        for k in range(view.pdus):  # vertical 0U strips at the rear, drawn at the rack's sides
            side = x - 0.12 if k % 2 == 0 else x + 2.02
            strip = Rectangle((side + 0.02 * (k // 2), 0.5), 0.08, RACK_UNITS - 1, facecolor="#fdae61",
                              edgecolor="black", lw=0.3)
            strip.set_gid(f"dev/{view.name}/pdu{k + 1}")
            ax.add_patch(strip)
        for d in view.devices:
            box = Rectangle((x + 0.05, d.unit - 1 + 0.04), 1.9, d.height - 0.08,
                            facecolor=KIND_COLORS.get(d.kind, "#999999"), edgecolor="black", lw=0.3)
            box.set_gid(f"dev/{view.name}/{d.name}")
            ax.add_patch(box)
            span = f"U{d.unit}" if d.height == 1 else f"U{d.unit}-{d.unit + d.height - 1}"
            ax.text(x + 1.0, d.unit - 1 + d.height / 2, f"{span} {d.name}  {d.detail}", ha="center",
                    va="center", fontsize=5.5, color="white")
        like = f" (x{view.of_kind})" if view.of_kind > 1 else ""
        ax.text(x + 1.0, RACK_UNITS + 0.6,
                f"{view.name} {view.role}{like}\n{view.watts / 1e3:.1f} kW, {view.pdus} PDUs", ha="center",
                va="bottom", fontsize=7, weight="bold")
    more = len(views) - len(shown)
    ax.text(
        -0.3,
        -2.5,
        f"{p.bp.name}: {p.racks.compute_racks:,} compute racks x {p.racks.nodes_per_rack} nodes "
        f"(max {p.power.compute_rack_w / 1e3:.1f} kW), {p.power.network_racks:,} network racks, {p.pdus:,} PDUs"
        + (f"; {more} more network racks not drawn" if more > 0 else "")
        + ". PDUs: vertical 0U strips (orange).",
        fontsize=8,
    )
    return fig
