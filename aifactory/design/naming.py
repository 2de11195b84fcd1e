"""Device names shared by the host records, the cabling plan and the pictures."""

from __future__ import annotations

from functools import cache


def width(count: int) -> int:
    return max(3, len(str(count)))


def node_name(prefix: str, index: int, total: int) -> str:
    return f"{prefix}{index + 1:0{width(total)}d}"


@cache  # the cabling plan asks for the same few thousand names again and again
def switch_name(net: str, tier: str, index: int, plane: int = 0, planes: int = 1) -> str:
    plane_part = f"-p{plane + 1}" if planes > 1 else ""
    return f"{net}{plane_part}-{tier}{index + 1:04d}"


def rack_name(index: int) -> str:
    return f"r{index + 1:04d}"


def network_rack_name(index: int) -> str:
    return f"n{index + 1:03d}"
