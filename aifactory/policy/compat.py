"""Known-good software sets (aifactory/catalog/data/compat.yaml) and the nearest set to a blueprint's pins."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import yaml

from aifactory import resources
from aifactory.blueprint.software import Software

COMPAT_FILE = resources.package_file("catalog", "data", "compat.yaml")
PIN_KEYS = ("os", "driver", "cuda", "dcgm", "nccl", "ofed", "rocm", "slurm", "kubernetes")
Miss = tuple[tuple[str | int, ...], str, list[str]]


@lru_cache(maxsize=1)
def compat_sets() -> dict[str, dict[str, Any]]:
    with COMPAT_FILE.open(encoding="utf-8") as fh:
        sets: dict[str, dict[str, Any]] = yaml.safe_load(fh)["sets"]
    return sets


def misses(software: Software, entry: dict[str, Any]) -> list[Miss]:
    """The pins of `software` that `entry` does not allow, each with the versions it does allow."""
    out: list[Miss] = []
    pins: dict[str, list[str]] = entry.get("pins", {})
    for key in PIN_KEYS:
        value = getattr(software, key)
        if value is not None and value not in pins.get(key, []):
            out.append((("software", key), value, pins.get(key, ["(not part of this set)"])))
    charts: dict[str, list[str]] = entry.get("charts", {})
    for name, chart in sorted(software.charts.items()):
        if name in charts and chart.version not in charts[name]:
            out.append((("software", "charts", name, "version"), chart.version, charts[name]))
    return out


def best_set(software: Software) -> tuple[str, list[Miss]]:
    """The set with the fewest mismatches (ties: the first in file order) and those mismatches."""
    scored = [
        (len(m), i, name, m)
        for i, (name, entry) in enumerate(compat_sets().items())
        for m in [misses(software, entry)]
    ]
    _, _, name, found = min(scored, key=lambda t: (t[0], t[1]))
    return name, found
