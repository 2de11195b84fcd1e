"""The fault-injection test hook: `AIFACTORY_BURNIN_INJECT=kind[:worker][,kind[:worker]...]`.

Read only by the suite (the parent reads it once and hands each worker its own faults), so tests can
prove that every fault leads to the right verdict and reason code. Kinds:
  sdc      flip one bit in the worker's second SDC result
  nan      the worker's GEMM output contains NaN
  slow     the worker wastes seven GEMMs for each one it counts (about 8x slower)
  missing  the worker's device cannot be opened (a GPU fallen off the bus)
  oom      the compute phase raises an out-of-memory error
  hang     the compute phase never returns (the parent kills the worker after the phase budget)
  no-nvml  the suite behaves as if nvidia-ml-py were not installed (node-wide; the index is ignored)
Without an index a worker fault hits worker 0.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from aifactory.burnin import INJECT_ENV, BurninInputError

KINDS = ("sdc", "nan", "slow", "missing", "oom", "hang", "no-nvml")


@dataclass(frozen=True, slots=True)
class Injection:
    kind: str
    worker: int = 0


def parse(text: str | None) -> tuple[Injection, ...]:
    """Parse the hook's value; an unknown kind is a user error listing the valid ones."""
    if not text or not text.strip():
        return ()
    found = []
    for part in text.split(","):
        kind, _, index = part.strip().partition(":")
        if kind not in KINDS:
            raise BurninInputError(
                f"{INJECT_ENV}={text!r}: unknown fault {kind!r}", hint=f"use one of: {', '.join(KINDS)}"
            )
        if index and not index.isdigit():
            raise BurninInputError(f"{INJECT_ENV}={text!r}: worker index {index!r} is not a number", hint="e.g. sdc:1")
        found.append(Injection(kind, int(index) if index else 0))
    return tuple(found)


def from_environment() -> tuple[Injection, ...]:
    return parse(os.environ.get(INJECT_ENV))


def for_worker(injections: tuple[Injection, ...], worker: int) -> tuple[str, ...]:
    """The fault kinds aimed at one worker."""
    return tuple(sorted(i.kind for i in injections if i.worker == worker and i.kind != "no-nvml"))


def node_wide(injections: tuple[Injection, ...], kind: str) -> bool:
    return any(i.kind == kind for i in injections)
