"""Operations rules: burn-in thresholds, known-good version sets (compat.yaml), consistent Slurm and
Kubernetes settings, and tenant quotas that fit the fleet."""

from __future__ import annotations

from collections.abc import Iterator

from aifactory.policy.compat import best_set
from aifactory.policy.context import Context
from aifactory.policy.model import Hit
from aifactory.policy.registry import rule

_OPS = ("operations",)
_THRESHOLDS = ("bf16_tflops_min", "pcie_gbps_min", "p2p_gbps_min", "allreduce_busbw_gbps_min")
_K8S_ONLY = ("kueue", "volcano", "kubeflow_trainer", "kuberay", "kserve", "nim")


@rule(
    "OPS-001",
    "Burn-in thresholds are present",
    severity="medium",
    tags=_OPS,
    rationale="A node joins the factory only after burn-in proves it; without an absolute threshold a slow "
    "GPU or link passes.",
    remediation="Set at least one of `acceptance.bf16_tflops_min`, `pcie_gbps_min`, `p2p_gbps_min`, "
    "`allreduce_busbw_gbps_min`.",
)
def burnin_thresholds(ctx: Context) -> Iterator[Hit]:
    acc = ctx.bp.acceptance
    if ctx.sku.gpus and all(getattr(acc, t) is None for t in _THRESHOLDS):
        yield Hit(
            ("acceptance",), "a GPU factory with no absolute burn-in threshold", value=list(_THRESHOLDS)
        )


@rule(
    "OPS-002",
    "Multi-node training has a collective-bandwidth threshold",
    severity="low",
    level="advisory",
    tags=_OPS,
    rationale="Bad cables and NIC firmware show up only in all-reduce bus bandwidth.",
    remediation="Set `acceptance.allreduce_busbw_gbps_min`.",
)
def allreduce_threshold(ctx: Context) -> Iterator[Hit]:
    if ctx.trains and ctx.sku.gpus and ctx.bp.acceptance.allreduce_busbw_gbps_min is None:
        yield Hit(
            ("acceptance",),
            "training factory without an all-reduce threshold",
            value="allreduce_busbw_gbps_min",
        )


@rule(
    "OPS-003",
    "Version pins form a known-good set",
    severity="high",
    tags=_OPS,
    rationale="Known breakages come from unpinned drivers and driver/DCGM/operator mismatches; pins must "
    "match one tested set in aifactory/catalog/data/compat.yaml.",
    remediation="Change the pin to the value of the nearest known-good set (see `aifactory policy explain "
    "OPS-003`), or add a tested set with its sources to compat.yaml.",
)
def compat(ctx: Context) -> Iterator[Hit]:
    name, misses = best_set(ctx.bp.software)
    for path, value, allowed in misses:
        yield Hit(
            path, f"{path[-1]} {value!r} is not in known-good set {name!r} (allows {', '.join(allowed)})"
        )


@rule(
    "OPS-004",
    "GPU driver stack is pinned",
    severity="high",
    tags=_OPS,
    rationale="An unpinned driver, CUDA or DCGM drifts node by node as images are rebuilt.",
    remediation="Pin `software.driver`, `cuda` and `dcgm` (NVIDIA) or `software.rocm` (AMD).",
)
def driver_pinned(ctx: Context) -> Iterator[Hit]:
    if not ctx.sku.gpus:
        return
    from aifactory.catalog import get_catalog

    vendor = get_catalog().gpus[ctx.sku.gpu].vendor.lower()
    keys = ("rocm",) if vendor == "amd" else ("driver", "cuda", "dcgm")
    for key in keys:
        if getattr(ctx.bp.software, key) is None:
            yield Hit(("software",), f"{key} is not pinned", value=key)


@rule(
    "OPS-005",
    "Orchestrator versions are pinned",
    severity="medium",
    tags=_OPS,
    rationale="Slurm and Kubernetes versions decide plugin, GRES and API compatibility.",
    remediation="Pin `software.slurm` and/or `software.kubernetes` for the orchestrators in use.",
)
def orchestrator_pinned(ctx: Context) -> Iterator[Hit]:
    kind = ctx.bp.mlops.orchestrator.type
    needs = {"slurm": ("slurm",), "kubernetes": ("kubernetes",), "both": ("slurm", "kubernetes")}[kind]
    for key in needs:
        if getattr(ctx.bp.software, key) is None:
            yield Hit(
                ("mlops", "orchestrator", "type"),
                f"orchestrator {kind!r} but software.{key} is not pinned",
                related=("software",),
            )


@rule(
    "OPS-006",
    "Kubernetes scheduler component is enabled",
    severity="medium",
    tags=_OPS,
    rationale="`scheduler: kueue` or `volcano` needs that component installed, else GPU jobs never start.",
    remediation="Enable the matching `mlops.components` entry or set `scheduler: default`.",
)
def scheduler_component(ctx: Context) -> Iterator[Hit]:
    orch = ctx.bp.mlops.orchestrator
    k8s = getattr(orch, "kubernetes", None)
    if k8s is None or k8s.scheduler == "default":
        return
    if not getattr(ctx.bp.mlops.components, k8s.scheduler):
        yield Hit(
            ("mlops", "orchestrator", "kubernetes", "scheduler"),
            f"scheduler {k8s.scheduler!r} but mlops.components.{k8s.scheduler} is off",
            related=("mlops", "components"),
        )


@rule(
    "OPS-007",
    "Exactly one default Slurm partition",
    severity="medium",
    tags=_OPS,
    rationale="Slurm takes the first default partition; none or several make job placement surprising.",
    remediation="Mark exactly one partition `default: true`.",
)
def slurm_default(ctx: Context) -> Iterator[Hit]:
    slurm = getattr(ctx.bp.mlops.orchestrator, "slurm", None)
    if slurm is None:
        return
    defaults = [i for i, p in enumerate(slurm.partitions) if p.default]
    if len(defaults) != 1:
        path: tuple[str | int, ...] = ("mlops", "orchestrator", "slurm", "partitions", *defaults[1:2])
        yield Hit(path, f"{len(defaults)} default Slurm partitions (want exactly 1)", value=len(defaults))


@rule(
    "OPS-008",
    "Kubernetes components need Kubernetes",
    severity="medium",
    tags=_OPS,
    rationale="Kueue, Volcano, Kubeflow Trainer, KubeRay, KServe and NIM run on Kubernetes; enabling them on "
    "a Slurm-only factory renders nothing that works.",
    remediation="Switch the orchestrator to `kubernetes` or `both`, or disable the component.",
)
def k8s_components(ctx: Context) -> Iterator[Hit]:
    if ctx.bp.mlops.orchestrator.type != "slurm":
        return
    for comp in _K8S_ONLY:
        if getattr(ctx.bp.mlops.components, comp):
            yield Hit(
                ("mlops", "components", comp),
                f"{comp} is enabled on a Slurm-only factory",
                related=("mlops", "orchestrator", "type"),
                value=True,
            )


def _total_gpus(ctx: Context) -> int | None:
    p = ctx.plan
    if p is not None and getattr(p, "gpus", None) is not None:
        return int(p.gpus)
    nodes = ctx.bp.compute.nodes
    return nodes * ctx.sku.gpus if nodes is not None else None


@rule(
    "OPS-009",
    "Tenant GPU quotas fit the fleet",
    severity="medium",
    tags=_OPS,
    rationale="Quotas that add up to more GPUs than exist promise capacity that is not there.",
    remediation="Lower the tenants' `gpus` or grow the factory.",
)
def tenant_quotas(ctx: Context) -> Iterator[Hit]:
    total = _total_gpus(ctx)
    tenants = ctx.bp.mlops.tenants
    asked = sum(t.gpus for t in tenants)
    if total is not None and tenants and asked > total:
        yield Hit(
            ("mlops", "tenants", len(tenants) - 1, "gpus"),
            f"tenants ask for {asked} GPUs, the factory has {total}",
            related=("compute",),
        )


@rule(
    "OPS-010",
    "Slurm partitions fit the fleet",
    severity="medium",
    tags=_OPS,
    rationale="A partition naming more nodes than exist cannot be rendered into slurm.conf.",
    remediation="Lower the partition's `nodes` or use `nodes: all`.",
)
def slurm_partition_size(ctx: Context) -> Iterator[Hit]:
    slurm = getattr(ctx.bp.mlops.orchestrator, "slurm", None)
    total = _total_gpus(ctx)
    gpus = ctx.sku.gpus or 1
    if slurm is None or total is None:
        return
    nodes = total // gpus if ctx.sku.gpus else ctx.bp.compute.nodes or 0
    for i, p in enumerate(slurm.partitions):
        if isinstance(p.nodes, int) and nodes and p.nodes > nodes:
            yield Hit(
                ("mlops", "orchestrator", "slurm", "partitions", i, "nodes"),
                f"partition {p.name!r} wants {p.nodes} nodes, the factory has {nodes}",
            )
