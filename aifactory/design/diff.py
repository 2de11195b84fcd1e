"""What a change does: compare two plans' JSON figures (GPUs, switches, cables, power, heat, BOM)."""

from __future__ import annotations

from typing import Any

FIGURES = (
    ("nodes",),
    ("gpus",),
    ("fabric", "compute", "leaf_switches"),
    ("fabric", "compute", "spine_switches"),
    ("fabric", "compute", "core_switches"),
    ("fabric", "compute", "node_links"),
    ("fabric", "compute", "leaf_spine_links"),
    ("fabric", "compute", "spine_core_links"),
    ("power", "it_kw"),
    ("power", "facility_kw"),
    ("cooling", "racks"),
    ("cooling", "max_rack_kw"),
    ("storage", "read_gbps_per_gpu"),
    ("kpi", "peak_pflops_bf16"),
    ("kpi", "tokens_per_s"),
)


def _get(data: dict[str, Any], path: tuple[str, ...]) -> Any:
    for key in path:
        data = data.get(key, {}) if isinstance(data, dict) else {}
    return data if not isinstance(data, dict) else None


def _delta(a: Any, b: Any) -> Any:
    if isinstance(a, int | float) and isinstance(b, int | float):
        return round(b - a, 4)
    return None


def diff_plans(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Figures that changed, BOM lines that changed, and findings that appeared or went away."""
    figures = []
    for path in FIGURES:
        a, b = _get(before, path), _get(after, path)
        if a != b:
            figures.append({"figure": ".".join(path), "base": a, "head": b, "delta": _delta(a, b)})
    bom_a = {(r["item"], r["model"]): r["count"] for r in before["bom"]}
    bom_b = {(r["item"], r["model"]): r["count"] for r in after["bom"]}
    bom = [
        {
            "item": i,
            "model": m,
            "base": bom_a.get((i, m), 0),
            "head": bom_b.get((i, m), 0),
            "delta": bom_b.get((i, m), 0) - bom_a.get((i, m), 0),
        }
        for i, m in sorted(set(bom_a) | set(bom_b))
        if bom_a.get((i, m), 0) != bom_b.get((i, m), 0)
    ]
    codes_a = {(f["code"], f["message"]) for f in before["findings"]}
    codes_b = {(f["code"], f["message"]) for f in after["findings"]}
    return {
        "schema_version": 1,
        "base": before["blueprint"],
        "head": after["blueprint"],
        "figures": figures,
        "bom": bom,
        "findings_added": [{"code": c, "message": m} for c, m in sorted(codes_b - codes_a)],
        "findings_removed": [{"code": c, "message": m} for c, m in sorted(codes_a - codes_b)],
    }
