"""Slurm host-list expressions: `node001,node002,node003,gpu7` <-> `gpu7,node[001-003]`."""

from __future__ import annotations

import re
from collections.abc import Iterable

_NAME = re.compile(r"^(.*?)(\d+)$")


def _runs(numbers: list[str]) -> list[str]:
    """Contiguous runs of same-width numbers, written as `a-b` or `a`."""
    out: list[str] = []
    ordered = sorted(numbers, key=lambda n: (len(n), int(n)))
    start = prev = ordered[0]
    for num in ordered[1:]:
        if len(num) == len(prev) and int(num) == int(prev) + 1:
            prev = num
            continue
        out.append(start if start == prev else f"{start}-{prev}")
        start = prev = num
    out.append(start if start == prev else f"{start}-{prev}")
    return out


def compress(names: Iterable[str]) -> str:
    """The shortest-form host list Slurm reads: names grouped by prefix, numbers folded into ranges."""
    by_prefix: dict[str, list[str]] = {}
    plain: list[str] = []
    for name in sorted(set(names)):
        match = _NAME.match(name)
        if match:
            by_prefix.setdefault(match.group(1), []).append(match.group(2))
        else:
            plain.append(name)
    parts = list(plain)
    for prefix, numbers in sorted(by_prefix.items()):
        runs = _runs(numbers)
        parts.append(
            f"{prefix}{runs[0]}" if len(runs) == 1 and "-" not in runs[0] else f"{prefix}[{','.join(runs)}]"
        )
    return ",".join(sorted(parts))


def expand(expr: str) -> list[str]:
    """The names in a host-list expression (the inverse of `compress`, for tests and checks)."""
    names: list[str] = []
    for part in re.findall(r"[^,\[]+(?:\[[^\]]*\])?", expr):
        match = re.match(r"^(.*)\[(.*)\]$", part)
        if not match:
            names.append(part)
            continue
        prefix, body = match.groups()
        for item in body.split(","):
            lo, _, hi = item.partition("-")
            hi = hi or lo
            names += [f"{prefix}{n:0{len(lo)}d}" for n in range(int(lo), int(hi) + 1)]
    return names
