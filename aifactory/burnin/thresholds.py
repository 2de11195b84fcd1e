"""Acceptance thresholds: a plain mirror of the blueprint's `acceptance` section.

The blueprint model (pydantic) lives elsewhere; the GPU worker machines have no pydantic, so the suite
reads the same fields from a plain mapping. `Thresholds.from_mapping(blueprint.acceptance.model_dump())`
and `Thresholds.from_mapping(yaml.safe_load(...))` give the same object.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from aifactory.burnin import BurninInputError

PROFILES = ("quick", "acceptance", "soak")

# Starting floors from shared/BURNIN.md ("Starting floors"), used when the blueprint names none.
DEFAULT_PCIE_GBPS = {5: 48.0, 4: 22.0}  # per direction, pinned host<->device
DEFAULT_P2P_GBPS = {"h100-sxm": 350.0, "h200-sxm": 350.0}  # GPU-to-GPU copy, one way
# 8-GPU all_reduce bus bandwidth (NVLS where present; the ring floor is the one we can always reach).
DEFAULT_ALLREDUCE_BUSBW_GBPS = {"h100-sxm": 340.0, "h200-sxm": 340.0, "b200": 630.0}
DEFAULT_BF16_TFLOPS_MIN = {"h100-sxm": 650.0, "h200-sxm": 650.0}  # 8192^3 sustained


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Pass/warn/fail limits for one run. Fractions are of the catalogue reference figure."""

    profile: str = "acceptance"
    fail_below: float = 0.85
    warn_below: float = 0.92
    bf16_tflops_min: float | None = None
    hbm_fraction_min: float = 0.80
    pcie_gbps_min: float | None = None
    p2p_gbps_min: float | None = None
    allreduce_busbw_gbps_min: float | None = None
    max_gpu_temp_c: float | None = None
    max_throttle_fraction: float = 0.01
    time_budget_min: float = 15.0

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None, source: str = "") -> Thresholds:
        """Build from a plain mapping (YAML, or a pydantic model's `model_dump()`); unknown keys and
        wrong types raise `BurninInputError` naming the key and the bad value."""
        data = dict(data or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise BurninInputError(
                f"unknown acceptance key(s) {', '.join(map(repr, unknown))}",
                hint=f"use only: {', '.join(sorted(known))}",
                file=source,
            )
        values: dict[str, Any] = {}
        for key, raw in data.items():
            if raw is None:
                continue
            values[key] = _coerce(key, raw, source)
        made = cls(**values)
        made.check(source)
        return made

    def check(self, source: str = "") -> None:
        """Reject impossible combinations (a warn floor under the fail floor, a profile we do not know)."""
        if self.profile not in PROFILES:
            raise BurninInputError(
                f"profile {self.profile!r} is not one of {', '.join(PROFILES)}",
                hint="set acceptance.profile to quick, acceptance or soak",
                file=source,
            )
        if not 0 < self.fail_below <= self.warn_below <= 1.5:
            raise BurninInputError(
                f"fail_below {self.fail_below} and warn_below {self.warn_below} must satisfy "
                "0 < fail_below <= warn_below",
                hint="e.g. fail_below: 0.85, warn_below: 0.92",
                file=source,
            )
        if not 0 <= self.max_throttle_fraction <= 1:
            raise BurninInputError(
                f"max_throttle_fraction {self.max_throttle_fraction} is not a fraction",
                hint="use a value between 0 and 1, e.g. 0.01",
                file=source,
            )
        if self.time_budget_min <= 0:
            raise BurninInputError(
                f"time_budget_min {self.time_budget_min} must be positive", hint="e.g. 15", file=source
            )

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _coerce(key: str, raw: Any, source: str) -> Any:
    if key == "profile":
        if not isinstance(raw, str):
            raise BurninInputError(f"profile must be a string, got {raw!r}", file=source)
        return raw
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise BurninInputError(f"{key} must be a number, got {raw!r}", hint=f"write e.g. {key}: 0.9", file=source)
    if raw < 0:
        raise BurninInputError(f"{key} must not be negative, got {raw!r}", file=source)
    return float(raw)
