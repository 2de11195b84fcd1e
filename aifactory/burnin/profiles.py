"""Phase order, budgets and sizes per profile and device type.

`quick` is the between-jobs check (Slurm prolog/epilog, Kubernetes node health), `acceptance` the one a
node must pass to join (<= 15 minutes), `soak` the long one. CPU mode keeps the same logic with sizes small
enough for a laptop or a CI runner; its figures are not comparable with any GPU.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

PROFILE_NAMES = ("quick", "acceptance", "soak")

PHASES = ("preflight", "compute", "sdc", "memory", "pcie", "p2p", "collectives", "stress")
"""Run order. preflight fails fast; stress last so every earlier phase ran on a cool, healthy node."""

NODE_PHASES = ("p2p", "collectives", "stress")
"""Phases whose result belongs to the node as much as to a GPU (they need all workers together)."""

CUDA_ONLY = ("pcie", "p2p")
"""Phases that need CUDA; on CPU they report SKIPPED with a reason."""


@dataclass(frozen=True, slots=True)
class PhasePlan:
    """Budget (seconds; the parent kills a worker that overruns it plus a grace) and parameters."""

    budget_s: float
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    device_type: str
    phases: dict[str, PhasePlan]

    def with_timeout(self, seconds: float | None) -> Profile:
        """Same plan with every phase budget replaced (tests, and operators who know their node)."""
        if seconds is None:
            return self
        return replace(self, phases={k: replace(v, budget_s=seconds) for k, v in self.phases.items()})


_Table = dict[str, tuple[float, dict[str, Any]]]  # phase -> (budget seconds, parameters)
_GPU_COMPUTE: dict[str, Any] = {
    "n": 8192,
    "batch": 10,
    "extra_dtypes": ["tf32", "fp16"],
    "max_variation": 0.01,
}
_GPU: dict[str, _Table] = {
    "quick": {
        "preflight": (30, {}),
        "compute": (75, {**_GPU_COMPUTE, "min_s": 20, "max_s": 45, "tput_window_s": 10, "temp_window_s": 20}),
        "sdc": (40, {"n": 4096, "repeats": 5, "fp64_rows": 16}),
        "memory": (60, {"triad_bytes": 1 << 30, "triad_reps": 20, "integrity_fraction": 0.5}),
        "pcie": (40, {"bytes": 1 << 30, "reps": 5}),
        "p2p": (40, {"bytes": 1 << 28, "reps": 5}),
        "collectives": (60, {"min_bytes": 1 << 20, "max_bytes": 1 << 28, "warmup": 2, "iters": 5}),
        "stress": (60, {"seconds": 30, "n": 8192, "comm_bytes": 1 << 26, "h2d_bytes": 1 << 26}),
    },
    "acceptance": {
        "preflight": (30, {}),
        "compute": (
            200,
            {
                **_GPU_COMPUTE,
                "extra_dtypes": ["tf32", "fp16", "fp8"],
                "min_s": 90,
                "max_s": 150,
                "tput_window_s": 30,
                "temp_window_s": 60,
            },
        ),
        "sdc": (60, {"n": 8192, "repeats": 10, "fp64_rows": 32}),
        "memory": (150, {"triad_bytes": 1 << 30, "triad_reps": 30, "integrity_fraction": 0.9}),
        "pcie": (60, {"bytes": 1 << 30, "reps": 10}),
        "p2p": (60, {"bytes": 1 << 30, "reps": 10}),
        "collectives": (120, {"min_bytes": 1 << 20, "max_bytes": 1 << 32, "warmup": 5, "iters": 20}),
        "stress": (200, {"seconds": 150, "n": 8192, "comm_bytes": 1 << 28, "h2d_bytes": 1 << 28}),
    },
}
_GPU["soak"] = {
    **_GPU["acceptance"],
    "compute": (1200, {**_GPU["acceptance"]["compute"][1], "min_s": 600, "max_s": 1100}),
    "stress": (3700, {**_GPU["acceptance"]["stress"][1], "seconds": 3600}),
}

_CPU_COMPUTE: dict[str, Any] = {"n": 192, "batch": 8, "extra_dtypes": ["fp32"], "max_variation": 0.10}
_CPU_BASE: _Table = {
    "preflight": (20, {}),
    "compute": (30, {**_CPU_COMPUTE, "min_s": 0.6, "max_s": 1.5, "tput_window_s": 0.4, "temp_window_s": 0.4}),
    "sdc": (20, {"n": 96, "repeats": 4, "fp64_rows": 4}),
    "memory": (
        20,
        {"triad_bytes": 1 << 20, "triad_reps": 20, "integrity_fraction": 1.0, "integrity_bytes": 1 << 22},
    ),
    "pcie": (10, {}),
    "p2p": (10, {}),
    "collectives": (30, {"min_bytes": 1 << 10, "max_bytes": 1 << 18, "warmup": 1, "iters": 3}),
    "stress": (30, {"seconds": 1.0, "n": 192, "comm_bytes": 1 << 14, "h2d_bytes": 0}),
}
_CPU: dict[str, _Table] = {
    "quick": _CPU_BASE,
    "acceptance": {
        **_CPU_BASE,
        "compute": (
            60,
            {**_CPU_BASE["compute"][1], "min_s": 3, "max_s": 10, "tput_window_s": 1.5, "temp_window_s": 3},
        ),
    },
    "soak": {**_CPU_BASE, "stress": (120, {**_CPU_BASE["stress"][1], "seconds": 60})},
}


def get_profile(name: str, device_type: str) -> Profile:
    """The plan for a profile on `cuda` or `cpu`."""
    table = _GPU if device_type == "cuda" else _CPU
    raw = table[name]
    return Profile(name, device_type, {p: PhasePlan(float(raw[p][0]), dict(raw[p][1])) for p in PHASES})


def total_budget_s(profile: Profile) -> float:
    return sum(p.budget_s for p in profile.phases.values())
