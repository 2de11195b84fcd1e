"""`run_suite`: the one entry point both command lines call. Options in, versioned report dict out."""

from __future__ import annotations

import datetime as _dt
import os
import platform
import socket
import time
from dataclasses import dataclass, field
from typing import Any

from aifactory import __version__
from aifactory.burnin import REPORT_SCHEMA_VERSION, BurninInputError, inject
from aifactory.burnin.catalog import GpuReference, load_catalog, resolve
from aifactory.burnin.checks import Context, Reason, reason
from aifactory.burnin.profiles import PHASES, get_profile
from aifactory.burnin.runner import NodeRun
from aifactory.burnin.thresholds import Thresholds
from aifactory.burnin.verdict import finish, judge_gpu, load_temperature, peer_reasons, severity_verdict

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


def run_suite(opts: SuiteOptions) -> dict[str, Any]:
    """Run the burn-in on this node and return the report (see `schema/report.schema.json`)."""
    injections = inject.from_environment()
    profile_name = opts.profile or opts.thresholds.profile
    catalog = load_catalog()
    kind, indices = _device_plan(opts)
    profile = get_profile(profile_name, kind).with_timeout(opts.phase_timeout_s)
    started, t0 = _dt.datetime.now(_dt.UTC), time.monotonic()
    run = NodeRun(profile, indices, injections, opts.phases, opts.progress).run()
    duration = time.monotonic() - t0
    names = [w.identity.get("name") or "" for w in run.workers]
    names += [w.nvml.get("identity", {}).get("name") or "" for w in run.workers]
    # On a CPU run a GPU id from the blueprint must not lend GPU floors to CPU figures.
    reference = resolve(opts.gpu_id, names, catalog) if kind == "cuda" else catalog.get("cpu")
    ctx = Context(opts.thresholds, reference, kind, len(run.workers))
    gpus = _judge(run, ctx)
    node_reasons = _node_reasons(run, ctx, opts, duration)
    all_reasons = node_reasons + [{**r, "gpu": g["slot"]} for g in gpus for r in g["reasons"]]
    verdict = severity_verdict(all_reasons)
    return {
        "schema_version": REPORT_SCHEMA_VERSION,
        "kind": "aifactory.burnin.report",
        "tool": {"name": "aifactory-burnin", "version": __version__},
        "run": {
            "profile": profile_name,
            "device_type": kind,
            "devices": indices,
            "phases": list(opts.phases),
            "injected": [f"{i.kind}:{i.worker}" for i in injections],
            "started_at": started.isoformat(timespec="seconds"),
            "duration_s": round(duration, 3),
            "budget_s": {k: v.budget_s for k, v in profile.phases.items()},
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
            "samples": run.sampler.samples,
        },
    }


def _judge(run: NodeRun, ctx: Context) -> list[dict[str, Any]]:
    gpus = []
    for w in run.workers:
        judged = judge_gpu(w, ctx, run.sampler.samples)
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
                "load_temp_c": load_temperature(run.sampler.samples, w.index),
                "phases": judged["phases"],
                "telemetry_reasons": judged["telemetry_reasons"],
            }
        )
    extra = peer_reasons(gpus, ctx)
    for g in gpus:
        finish(g, extra[g["slot"]] + g.pop("telemetry_reasons"))
    return gpus


def _node_reasons(run: NodeRun, ctx: Context, opts: SuiteOptions, duration: float) -> list[Reason]:
    out = []
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
        out.append(
            reason(
                "NO_REFERENCE",
                "warn",
                "node",
                "GPU model not in the catalogue: no absolute floors, peers only",
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
