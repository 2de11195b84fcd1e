"""Pictures of a plan: the fabric topology and a rack elevation, as SVG and PNG with deterministic bytes.

Drawn with matplotlib (imported here only, so `plan --format json` never pays for it). Determinism: a fixed
`svg.hashsalt`, no date/creator/software metadata. Large factories are drawn as one SU in detail plus counts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aifactory.design.plan import Plan


def pictures(p: Plan) -> dict[str, bytes]:
    """topology.svg/png and racks.svg/png, rendered in memory."""
    from aifactory.render.pictures.draw import draw_racks, draw_topology, to_bytes

    out: dict[str, bytes] = {}
    for name, fig in (("topology", draw_topology(p)), ("racks", draw_racks(p))):
        out[f"{name}.svg"] = to_bytes(fig, "svg")
        out[f"{name}.png"] = to_bytes(fig, "png")
    return out
