"""Storage rules: per-GPU throughput for the tier and checkpoint capacity (design engine), plus declared
checkpoint sizing and backups."""

from __future__ import annotations

from collections.abc import Iterator

from aifactory.policy.context import Context
from aifactory.policy.model import Hit
from aifactory.policy.registry import rule
from aifactory.policy.rules.design import design_hits

_STO = ("storage",)


@rule(
    "STO-001",
    "Storage throughput per GPU meets the tier",
    severity="high",
    tags=_STO,
    needs_design=True,
    rationale="NVIDIA's SuperPOD storage tiers set read/write GB/s per node and per scalable unit "
    "(REFERENCE-DATA.md s4); below them GPUs wait on I/O.",
    remediation="Raise `storage.filesystem.read_throughput`/`write_throughput` or choose a lower `tier`.",
)
def tier_throughput(ctx: Context) -> Iterator[Hit]:
    yield from design_hits(ctx, "storage-tier")


@rule(
    "STO-002",
    "Checkpoints fit the file system",
    severity="high",
    tags=_STO,
    needs_design=True,
    rationale="Retained checkpoints (parameters x bytes per parameter x retained) must fit beside the data.",
    remediation="Raise `storage.filesystem.capacity` or lower `storage.checkpoints.retained`.",
)
def checkpoint_capacity(ctx: Context) -> Iterator[Hit]:
    yield from design_hits(ctx, "checkpoint-capacity")


@rule(
    "STO-003",
    "Training factories size their checkpoints",
    severity="low",
    level="advisory",
    tags=_STO,
    rationale="Without `storage.checkpoints` the capacity check cannot run; checkpoint bursts go unplanned.",
    remediation="Add `storage.checkpoints: {model_params_billion: N, bytes_per_param: 14, retained: K}`.",
)
def checkpoints_declared(ctx: Context) -> Iterator[Hit]:
    if ctx.trains and ctx.sku.gpus and ctx.bp.storage.checkpoints is None:
        yield Hit(("storage",), "this factory trains but declares no checkpoint sizing", value="checkpoints")


@rule(
    "STO-004",
    "Backups are configured",
    severity="medium",
    level="advisory",
    tags=_STO,
    rationale="Parallel file systems are scratch-like; models, registries and configuration need backups.",
    remediation="Add `storage.backups: {location: <jurisdiction>, retention_days: 30}`.",
)
def backups_declared(ctx: Context) -> Iterator[Hit]:
    if ctx.bp.storage.backups is None:
        yield Hit(("storage",), "no backups are configured", value="backups")
