"""`run_suite`: the one entry point both command lines call. Options in, versioned report dict out.

With `out` set, a partial report is written (atomically) after every phase, so a run killed by Slurm or
Kubernetes still leaves its evidence: `run.partial` is true and every phase not reached reads SKIPPED.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import socket
import time
from dataclasses import dataclass, field, replace
from typing import Any

from aifactory import __version__
from aifactory.burnin import REPORT_SCHEMA_VERSION, BurninInputError, inject
from aifactory.burnin.catalog import GpuReference, load_catalog, resolve
from aifactory.burnin.checks import Context, Reason, reason
from aifactory.burnin.profiles import PHASES, get_profile
from aifactory.burnin.runner import NodeRun, Worker
from aifactory.burnin.thresholds import Thresholds
from aifactory.burnin.verdict import (
    derived_metrics,
    finish,
    judge_gpu,
    load_temperature,
    peer_reasons,
    severity_verdict,
)

DEFAULT_CPU_WORKERS = 2


@dataclass
class SuiteOptions:
    """Everything a run needs; the command lines only fill this in."""

    profile: str | None = None  # None: the thresholds' profile
    device_type: str = "auto"  # auto | cuda | cpu
    devices: list[int] | None = None  # None: every CUDA device, or DEFAULT_CPU_WORKERS CPU workers
    gpu_id: str | None = None  # catalogue id; None: identify from NVML names
    thresholds: Thresholds = field(default_factory=Thresholds)
    phases: tuple[str, ...] = PHASES
    phase_timeout_s: float | None = None
    node_budget_s: float | None = None  # None: the profile's own (acceptance on CUDA: 840 s)
    progress: Any = None


def parse_devices(text: str | None) -> list[int] | None:
    """`0,1,3` or `all` (None)."""
    if text is None or text.strip() in ("", "all"):
        return None
    try:
        out = [int(x) for x in text.split(",")]
    except ValueError:
        raise BurninInputError(
            f"--devices {text!r} is not a comma-separated list of indices",
            hint="e.g. --devices 0,1,2,3 or --devices all",
        ) from None
    if any(i < 0 for i in out) or len(set(out)) != len(out):
        raise BurninInputError(f"--devices {text!r}: indices must be distinct and not negative", hint="e.g. 0,1")
    return out


def parse_phases(text: str | None) -> tuple[str, ...]:
    if not text:
        return PHASES
    chosen = tuple(p.strip() for p in text.split(","))
    bad = [p for p in chosen if p not in PHASES]
    if bad:
        raise BurninInputError(f"--phases: unknown phase(s) {bad}", hint=f"choose from {', '.join(PHASES)}")
    return chosen


def _device_plan(opts: SuiteOptions) -> tuple[str, list[int]]:
    kind = opts.device_type
    if kind not in ("auto", "cuda", "cpu"):
        raise BurninInputError(f"--device-type {kind!r} is not auto, cuda or cpu", hint="e.g. --device-type cpu")
    if kind in ("auto", "cuda"):
        import torch

        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if kind == "cuda" or count > 0 or os.path.exists("/dev/nvidia0"):
            # A GPU node whose CUDA is broken must fail as a GPU node, not pass quietly as a CPU one.
            return "cuda", opts.devices if opts.devices is not None else list(range(max(count, 1)))
    return "cpu", opts.devices if opts.devices is not None else list(range(DEFAULT_CPU_WORKERS))


def run_suite(opts: SuiteOptions, out: Any = None, **run_kwargs: Any) -> dict[str, Any]:
    """Run the burn-in on this node and return the report (see `schema/report.schema.json`). `out`: a folder
    for the partial reports written after every phase (the caller writes the final artifacts)."""
    injections = inject.from_environment()
    profile_name = opts.profile or opts.thresholds.profile
    catalog = load_catalog()
    kind, indices = _device_plan(opts)
    profile = get_profile(profile_name, kind).scaled(opts.node_budget_s).with_timeout(opts.phase_timeout_s)
    started, t0 = _dt.datetime.now(_dt.timezone.utc), time.monotonic()  # noqa: UP017 - datetime.UTC is 3.11+
    if kind == "cuda" and opts.gpu_id:
        resolve(opts.gpu_id, [], catalog)  # an unknown --gpu is refused before any work, not after
    meta = {"opts": opts, "profile": profile, "injections": injections, "started": started, "t0": t0,
            "catalog": catalog, "kind": kind, "indices": indices, "profile_name": profile_name}

    def partial(run: NodeRun) -> None:
        if out is not None:
            from pathlib import Path

            from aifactory.burnin.report import write_partial

            write_partial(build_report(run, meta, partial=True), Path(out))

    run = NodeRun(profile, indices, injections, opts.phases, opts.progress, on_update=partial, **run_kwargs).run()
    return build_report(run, meta, partial=False)


def build_report(run: NodeRun, meta: dict[str, Any], partial: bool) -> dict[str, Any]:
    """The report for the run as it stands; in a partial one the phases not reached count as skipped."""
    opts, profile, kind, catalog = meta["opts"], meta["profile"], meta["kind"], meta["catalog"]
    duration = time.monotonic() - meta["t0"]
    names = [w.identity.get("name") or "" for w in run.workers]
    names += [w.nvml.get("identity", {}).get("name") or "" for w in run.workers]
    # On a CPU run a GPU id from the blueprint must not lend GPU floors to CPU figures.
    reference = resolve(opts.gpu_id, names, catalog) if kind == "cuda" else catalog.get("cpu")
    ctx = Context(opts.thresholds, reference, kind, len(run.workers))
    gpus = _judge(run, ctx, partial)
    node_reasons = _node_reasons(run, ctx, opts, duration, partial)
    all_reasons = node_reasons + [{**r, "gpu": g["slot"]} for g in gpus for r in g["reasons"]]
    verdict = severity_verdict(all_reasons)
    return {
        "schema_version": REPORT_SCHEMA_VERSION,
        "kind": "aifactory.burnin.report",
        "tool": {"name": "aifactory-burnin", "version": __version__},
        "run": {
            "profile": meta["profile_name"],
            "device_type": kind,
            "devices": meta["indices"],
            "phases": list(opts.phases),
            "injected": [f"{i.kind}:{i.worker}" for i in meta["injections"]],
            "started_at": meta["started"].isoformat(timespec="seconds"),
            "duration_s": round(duration, 3),
            "budget_s": {k: round(v.budget_s, 3) for k, v in profile.phases.items()},
            "node_budget_s": round(profile.node_budget_s, 3),
            "partial": partial,
            "completed_phases": list(run.done),
            "thresholds": opts.thresholds.as_dict(),
        },
        "environment": _environment(run),
        "node": {
            "hostname": socket.gethostname(),
            "gpu_id": reference.gpu_id if reference else None,
            "reference": _reference(reference),
            "verdict": verdict,
            "exit_code": 1 if verdict == "FAIL" else 0,
            "reasons": all_reasons,
            "counts": {v: sum(g["verdict"] == v for g in gpus) for v in ("PASS", "WARN", "FAIL")},
        },
        "gpus": gpus,
        "node_phases": _node_phases(run, gpus),
        "telemetry": {
            "available": run.nvml.available,
            "detail": run.nvml.detail,
            "period_s": run.sampler.period_s,
            "samples": list(run.sampler.samples),
            "sample_errors": run.sampler.errors,
            "xid": {"available": run.xid.available, "detail": run.xid.detail, "events": list(run.xid.events)},
        },
    }


def _as_far_as_run(worker: Worker) -> Worker:
    """A worker as a partial report sees it: the phases not reached yet count as skipped."""
    phases = dict(worker.phases)
    for name in PHASES:
        phases.setdefault(
            name,
            {
                "status": "skipped",
                "reason_code": "NOT_REACHED",
                "reason": f"phase {name} had not run when this report was written (run in progress or killed)",
            },
        )
    return replace(worker, phases=phases)


def _judge(run: NodeRun, ctx: Context, partial: bool = False) -> list[dict[str, Any]]:
    gpus = []
    samples = list(run.sampler.samples)
    expected = ctx.device_type == "cuda" and run.nvml.available
    for worker in run.workers:
        w = _as_far_as_run(worker) if partial else worker
        judged = judge_gpu(w, ctx, samples, telemetry_expected=expected and w.handle is not None, xids=run.xid.events)
        ident = w.nvml.get("identity") or {}
        gpus.append(
            {
                "slot": w.slot,
                "index": w.index,
                "name": w.identity.get("name") or ident.get("name"),
                "uuid": ident.get("uuid") or w.identity.get("uuid"),
                "serial": ident.get("serial"),
                "pci_bus_id": ident.get("pci_bus_id"),
                "identity": {k: v for k, v in w.identity.items() if k != "ok"},
                "nvml_index": w.nvml.get("nvml_index"),
                "load_temp_c": load_temperature(samples, w.slot),
                "derived": derived_metrics(w, samples),
                "phases": judged["phases"],
                "telemetry_reasons": judged["telemetry_reasons"],
            }
        )
    extra = peer_reasons(gpus, ctx)
    for g in gpus:
        finish(g, extra[g["slot"]] + g.pop("telemetry_reasons"))
    return gpus


def _node_reasons(
    run: NodeRun, ctx: Context, opts: SuiteOptions, duration: float, partial: bool = False
) -> list[Reason]:
    out = []
    if partial:
        out.append(
            reason(
                "REPORT_PARTIAL",
                "fail",
                "node",
                f"partial report: phases done so far {run.done or 'none'}; a complete run replaces this file",
            )
        )
    if run.node.get("nvml_hung"):
        out.append(reason("NVML_HUNG", "fail", "telemetry", f"NVML stopped answering: {run.nvml.detail}"))
    for slot in run.node.get("unmapped", []):
        ident = run.workers[slot].identity
        out.append(
            reason(
                "NVML_UNMAPPED",
                "fail",
                "telemetry",
                f"worker {slot} (CUDA device {run.workers[slot].index}, UUID {ident.get('uuid')}) matches no "
                "NVML device by UUID or PCI address: its telemetry and counters cannot be attributed",
            )
        )
    if ctx.device_type == "cuda" and run.nvml.available and not run.xid.available:
        out.append(reason("XID_UNWATCHED", "warn", "telemetry", f"XID events were not watched: {run.xid.detail}"))
    if run.node.get("deadline_hit"):
        out.append(
            reason(
                "NODE_DEADLINE",
                "fail",
                "node",
                f"the node budget of {run.profile.node_budget_s:.0f} s ran out; not run: {run.node['deadline_hit']}",
            )
        )
    if ctx.device_type == "cpu":
        out.append(
            reason(
                "CPU_MODE",
                "info",
                "node",
                "CPU mode: logic exercised on CPU tensors; the figures say nothing about GPU hardware",
            )
        )
        if opts.gpu_id and opts.gpu_id != "cpu":
            out.append(
                reason(
                    "GPU_EXPECTED",
                    "fail",
                    "node",
                    f"the blueprint expects {opts.gpu_id} GPUs but none is usable here",
                )
            )
    if not run.nvml.available:
        severity = "fail" if ctx.device_type == "cuda" else "warn"
        out.append(
            reason(
                "NVML_UNAVAILABLE",
                severity,
                "telemetry",
                f"no NVML telemetry ({run.nvml.detail}): power, temperature, throttle and ECC checks were not made",
            )
        )
    if ctx.device_type == "cuda" and ctx.reference is None:
        # Peers alone cannot catch a node whose GPUs are all slow: without a floor there is no acceptance.
        floor = opts.thresholds.bf16_tflops_min
        out.append(
            reason(
                "NO_REFERENCE",
                "warn" if floor else "fail",
                "node",
                "GPU model not in the burn-in references: "
                + (
                    f"only the blueprint's absolute floors apply (bf16 >= {floor} TFLOPS)"
                    if floor
                    else "no floor to hold it against; add it to aifactory/burnin/data/gpu_references.json, "
                    "pass --gpu, or set bf16_tflops_min in the thresholds"
                ),
                ",".join(sorted({w.identity.get("name") or "?" for w in run.workers})),
            )
        )
    stacks = {
        (w.identity.get("torch"), w.identity.get("cuda"), w.nvml.get("identity", {}).get("driver"))
        for w in run.workers
        if w.alive or w.identity.get("ok")
    }
    if len(stacks) > 1:
        out.append(
            reason(
                "STACK_MISMATCH",
                "fail",
                "preflight",
                f"GPUs report different software stacks: {sorted(map(str, stacks))}",
            )
        )
    budget = ctx.thresholds.time_budget_min * 60
    if duration > budget:
        out.append(
            reason(
                "TIME_BUDGET_EXCEEDED",
                "warn",
                "node",
                f"the run took {duration:.0f} s, over the {budget:.0f} s budget",
                round(duration, 1),
                budget,
            )
        )
    return out


def _node_phases(run: NodeRun, gpus: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "pcie_all" in run.node:
        out["pcie_all"] = {str(k): v.get("metrics") for k, v in sorted(run.node["pcie_all"].items())}
    coll = [
        g["phases"]["collectives"]["metrics"] for g in gpus if (g["phases"].get("collectives") or {}).get("metrics")
    ]
    if coll:
        out["collectives"] = {
            op: {
                "plateau_bytes": coll[0]["plateau"][op]["bytes"],
                "busbw_gbps_min": min(c["plateau"][op]["busbw_gbps"] for c in coll),
            }
            for op in ("all_reduce", "all_gather")
        }
    p2p = {
        str(g["index"]): g["phases"]["p2p"]["metrics"]["to"]
        for g in gpus
        if (g["phases"].get("p2p") or {}).get("metrics")
    }
    if p2p:
        out["p2p_matrix_gbps"] = {src: {dst: row["gbps"] for dst, row in rows.items()} for src, rows in p2p.items()}
    return out


def _environment(run: NodeRun) -> dict[str, Any]:
    import torch

    idents = [w.nvml["identity"] for w in run.workers if w.nvml.get("identity")]
    first: dict[str, Any] = idents[0] if idents else {}
    return {
        "hostname": socket.gethostname(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "nccl": _nccl_version(torch),
        "driver": first.get("driver"),
        "nvml": {"available": run.nvml.available, "detail": run.nvml.detail},
    }


def _nccl_version(torch: Any) -> str | None:
    try:
        v = torch.cuda.nccl.version()
        return ".".join(map(str, v)) if isinstance(v, tuple) else str(v)
    except Exception:  # CPU builds have no NCCL
        return None


def _reference(ref: GpuReference | None) -> dict[str, Any] | None:
    return {"gpu_id": ref.gpu_id, "name": ref.name, "figures": dict(sorted(ref.figures.items()))} if ref else None
