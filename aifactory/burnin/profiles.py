"""Phase order, budgets and sizes per profile and device type.

`quick` is the between-jobs check (Slurm prolog/epilog, Kubernetes node health), `acceptance` the one a
node must pass to join (<= 15 minutes on an 8-GPU node), `soak` the long one. CPU mode keeps the same logic with
sizes small enough for a laptop or a CI runner; its figures are not comparable with any GPU.

The time budget is a promise, kept by construction: a phase's budget is for the whole node, and phases that
run one GPU at a time (pcie, p2p) split it across the GPUs; every dispatch adds at most `grace_s`; the workers
get `ready_s` to start. `worst_case_s` adds all of that up and the profile's `node_budget_s` must cover it
(tests/burnin check it for 8 GPUs); the runner also holds a hard node deadline. `scaled` shrinks or stretches
a whole profile to another node budget (operators with a tighter prolog, and the tests).
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


# Parameters that are durations: scaled with the budgets by `Profile.scaled`.
TIME_PARAMS = ("min_s", "max_s", "tput_window_s", "temp_window_s", "seconds", "loop_s", "integrity_s")
SERIAL_PHASES = ("pcie", "p2p")
"""Phases measured one GPU at a time (a slow link must not hide behind contention); pcie then once more with
every GPU together."""
REPORT_RESERVE_S = 20.0
"""Kept back from the node budget for shutting the workers down and writing the report."""


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    device_type: str
    phases: dict[str, PhasePlan]
    node_budget_s: float = 840.0
    ready_s: float = 60.0
    grace_s: float = 2.0
    reserve_s: float = REPORT_RESERVE_S

    def with_timeout(self, seconds: float | None) -> Profile:
        """Same plan with every phase budget replaced (operators who know their node); the node budget grows
        to cover it, so the promise stays true."""
        if seconds is None:
            return self
        out = replace(self, phases={k: replace(v, budget_s=seconds) for k, v in self.phases.items()})
        return replace(out, node_budget_s=max(self.node_budget_s, worst_case_s(out, 8) + self.reserve_s))

    def scaled(self, node_budget_s: float | None) -> Profile:
        """The same plan shrunk or stretched to a node budget: every phase budget, every duration parameter,
        the start-up wait and the grace scale by the same factor."""
        if node_budget_s is None:
            return self
        if node_budget_s <= 0:
            raise ValueError("node budget must be positive")
        f = node_budget_s / self.node_budget_s
        phases = {
            k: PhasePlan(
                v.budget_s * f,
                {p: (x * f if p in TIME_PARAMS else x) for p, x in v.params.items()},
            )
            for k, v in self.phases.items()
        }
        return replace(self, phases=phases, node_budget_s=node_budget_s, ready_s=self.ready_s * f,
                       grace_s=self.grace_s * f, reserve_s=self.reserve_s * f)

    def dispatch_budget_s(self, phase: str, workers: int) -> float:
        """Seconds one dispatch of `phase` may take: the phase budget, split across the GPUs for the serial
        phases (pcie: each GPU alone, then all together)."""
        budget = self.phases[phase].budget_s
        if phase in SERIAL_PHASES and workers > 1:
            return budget / (workers + 1 if phase == "pcie" else workers)
        return budget


def dispatches(phase: str, workers: int) -> int:
    """How many times the runner sends `phase` out (each with its own grace)."""
    if phase in SERIAL_PHASES and workers > 1:
        return workers + 1 if phase == "pcie" else workers
    return 1


def worst_case_s(profile: Profile, workers: int) -> float:
    """The longest a run can take if every dispatch runs to its budget plus grace (the report reserve aside)."""
    total = profile.ready_s
    for name in profile.phases:
        n = dispatches(name, workers)
        total += n * (profile.dispatch_budget_s(name, workers) + profile.grace_s)
    return total


_Table = dict[str, tuple[float, dict[str, Any]]]  # phase -> (budget seconds, parameters)
_GPU_COMPUTE: dict[str, Any] = {
    "n": 8192,
    "batch": 10,
    "extra_dtypes": ["tf32", "fp16"],
    "max_variation": 0.01,
}
PLATEAU_BYTES = 1 << 31
"""all_reduce is gated only at >= 2 GiB, where busbw has reached its plateau (shared/BURNIN.md phase 5)."""
_GPU: dict[str, _Table] = {
    "quick": {
        "preflight": (10, {}),
        "compute": (60, {**_GPU_COMPUTE, "min_s": 20, "max_s": 40, "tput_window_s": 10, "temp_window_s": 20}),
        "sdc": (25, {"n": 4096, "repeats": 5, "fp64_rows": 16}),
        "memory": (
            40,
            {"triad_bytes": 1 << 30, "triad_reps": 20, "triad_kernels": 10, "integrity_fraction": 0.5,
             "integrity_s": 10},
        ),
        "pcie": (20, {"bytes": 1 << 30, "reps": 5}),
        "p2p": (20, {"bytes": 1 << 28, "reps": 5}),
        "collectives": (40, {"min_bytes": 1 << 20, "max_bytes": PLATEAU_BYTES, "warmup": 2, "iters": 5}),
        "stress": (45, {"seconds": 30, "n": 8192, "comm_bytes": 1 << 26, "h2d_bytes": 1 << 26}),
    },
    "acceptance": {
        "preflight": (15, {}),
        "compute": (
            180,
            {
                **_GPU_COMPUTE,
                "extra_dtypes": ["tf32", "fp16", "fp8"],
                "min_s": 90,
                "max_s": 140,
                "tput_window_s": 30,
                "temp_window_s": 60,
            },
        ),
        "sdc": (60, {"n": 8192, "repeats": 10, "fp64_rows": 32}),
        "memory": (
            120,
            {"triad_bytes": 1 << 30, "triad_reps": 30, "triad_kernels": 10, "integrity_fraction": 0.9,
             "integrity_s": 45},
        ),
        "pcie": (45, {"bytes": 1 << 30, "reps": 10}),
        "p2p": (45, {"bytes": 1 << 30, "reps": 10}),
        "collectives": (75, {"min_bytes": 1 << 20, "max_bytes": 1 << 32, "warmup": 5, "iters": 20}),
        "stress": (150, {"seconds": 120, "n": 8192, "comm_bytes": 1 << 28, "h2d_bytes": 1 << 28}),
    },
}
_GPU["soak"] = {
    **_GPU["acceptance"],
    "compute": (1200, {**_GPU["acceptance"]["compute"][1], "min_s": 600, "max_s": 1100}),
    "memory": (600, {**_GPU["acceptance"]["memory"][1], "integrity_s": 500}),
    "stress": (3700, {**_GPU["acceptance"]["stress"][1], "seconds": 3600}),
}

_CPU_COMPUTE: dict[str, Any] = {"n": 192, "batch": 8, "extra_dtypes": ["fp32"], "max_variation": 0.10}
_CPU_BASE: _Table = {
    "preflight": (20, {}),
    "compute": (30, {**_CPU_COMPUTE, "min_s": 0.6, "max_s": 1.5, "tput_window_s": 0.4, "temp_window_s": 0.4}),
    "sdc": (20, {"n": 96, "repeats": 4, "fp64_rows": 4}),
    "memory": (
        20,
        {"triad_bytes": 1 << 20, "triad_reps": 20, "triad_kernels": 4, "integrity_fraction": 1.0,
         "integrity_bytes": 1 << 22, "integrity_s": 0.3},
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
# (node budget, worker start-up, grace per dispatch) per device type and profile. The GPU acceptance figure
# is the promise of docs/burnin.md: 840 s of runner time leaves a minute of the 15 for the parent's start.
_NODE: dict[str, dict[str, tuple[float, float, float]]] = {
    "cuda": {"quick": (340, 30, 1), "acceptance": (840, 60, 2), "soak": (6300, 60, 2)},
    "cpu": {"quick": (380, 60, 5), "acceptance": (410, 60, 5), "soak": (470, 60, 5)},
}


def get_profile(name: str, device_type: str) -> Profile:
    """The plan for a profile on `cuda` or `cpu`."""
    table = _GPU if device_type == "cuda" else _CPU
    raw = table[name]
    node, ready, grace = _NODE["cuda" if device_type == "cuda" else "cpu"][name]
    phases = {p: PhasePlan(float(raw[p][0]), dict(raw[p][1])) for p in PHASES}
    return Profile(name, device_type, phases, float(node), float(ready), float(grace))


def total_budget_s(profile: Profile) -> float:
    return sum(p.budget_s for p in profile.phases.values())
