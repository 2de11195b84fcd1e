"""`compare RESULTS...`: fleet-wide outliers and baselines recalibrated from the accepted nodes.

Reads burn-in reports (files, or folders searched for burnin-report.json), keeps the latest report per
host for outliers, and uses every accepted report (PASS or WARN) for baselines, so a history of runs makes
the baseline steadier. Exit code 1 when a fleet outlier or a failed node is found, else 0.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aifactory.burnin import REPORT_SCHEMA_VERSION, BurninInputError
from aifactory.burnin.report import FILES, read_report
from aifactory.burnin.stats import low_outliers
from aifactory.burnin.thresholds import Thresholds
from aifactory.files import check_name
from aifactory.io import atomic_write_tree, dumps_json

FLEET_SHORTFALL = 0.05  # shared/BURNIN.md: across the fleet, flag outliers more than 5 % short
METRICS: dict[str, Callable[[dict[str, Any]], float | None]] = {
    "tflops_sustained": lambda g: _m(g, "compute", "tflops_sustained"),
    "triad_gbps": lambda g: (_m(g, "memory", "triad") or {}).get("gbps"),
    "h2d_gbps": lambda g: _m(g, "pcie", "h2d_gbps"),
    "d2h_gbps": lambda g: _m(g, "pcie", "d2h_gbps"),
    "stress_tflops": lambda g: _m(g, "stress", "tflops_median"),
}


def _m(gpu: dict[str, Any], phase: str, key: str) -> Any:
    return ((gpu["phases"].get(phase) or {}).get("metrics") or {}).get(key)


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:  # too long a name: the reader says so
        return False


def collect(paths: list[str]) -> list[tuple[str, dict[str, Any]]]:
    """(file, report) for every report named or found under a named folder, in a stable order."""
    found: list[Path] = []
    for raw in paths:
        check_name(raw, raw)
        p = Path(raw)
        if _is_dir(p):
            found += sorted(p.rglob(FILES["json"]))
        else:
            found.append(p)
    if not found:
        raise BurninInputError(f"no {FILES['json']} found in {paths}", hint="pass reports or folders holding them")
    return [(str(f), read_report(f)) for f in found]


def _model(report: dict[str, Any], gpu: dict[str, Any]) -> str:
    return f"{report['run']['device_type']}:{report['node']['gpu_id'] or gpu['name']}"


def analyse(reports: list[tuple[str, dict[str, Any]]], thresholds: Thresholds | None = None) -> dict[str, Any]:
    t = thresholds or Thresholds()
    latest: dict[str, tuple[str, dict[str, Any]]] = {}
    for f, r in sorted(reports, key=lambda fr: (fr[1]["node"]["hostname"], fr[1]["run"]["started_at"], fr[0])):
        latest[r["node"]["hostname"]] = (f, r)
    nodes = [
        {"hostname": h, "file": f, "verdict": r["node"]["verdict"], "started_at": r["run"]["started_at"]}
        for h, (f, r) in sorted(latest.items())
    ]
    return {
        "kind": "aifactory.burnin.fleet",
        "schema_version": REPORT_SCHEMA_VERSION,
        "reports": len(reports),
        "nodes": nodes,
        "failed_nodes": [n["hostname"] for n in nodes if n["verdict"] == "FAIL"],
        "outliers": _outliers([r for _, r in latest.values()]),
        "baselines": _baselines([r for _, r in reports if r["node"]["verdict"] != "FAIL"], t),
    }


def _rows(
    reports: list[dict[str, Any]],
) -> dict[tuple[str, str], list[tuple[dict[str, Any], dict[str, Any], float]]]:
    """(model, metric) -> [(report, gpu, value)]."""
    rows: dict[tuple[str, str], list[tuple[dict[str, Any], dict[str, Any], float]]] = {}
    for r in reports:
        for g in r["gpus"]:
            for metric, get in METRICS.items():
                value = get(g)
                if isinstance(value, int | float):
                    rows.setdefault((_model(r, g), metric), []).append((r, g, float(value)))
    return rows


def _outliers(reports: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for (model, metric), rows in sorted(_rows(reports).items(), key=lambda kv: kv[0]):
        values = [v for _, _, v in rows]
        for i, (z, shortfall) in sorted(low_outliers(values, FLEET_SHORTFALL).items()):
            r, g, v = rows[i]
            out.append(
                {
                    "hostname": r["node"]["hostname"],
                    "gpu": g["index"],
                    "uuid": g.get("uuid"),
                    "model": model,
                    "metric": metric,
                    "value": v,
                    "fleet_median": statistics.median(values),
                    "shortfall": round(shortfall, 4),
                    "robust_z": round(z, 2),
                }
            )
    return out


def _baselines(reports: list[dict[str, Any]], t: Thresholds) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for (model, metric), rows in sorted(_rows(reports).items(), key=lambda kv: kv[0]):
        values = sorted(v for _, _, v in rows)
        med = statistics.median(values)
        out.setdefault(model, {})[metric] = {
            "samples": len(values),
            "median": med,
            "p10": values[int(0.1 * (len(values) - 1))],
            "min": values[0],
            "max": values[-1],
            "fail_below": med * t.fail_below,
            "warn_below": med * t.warn_below,
        }
    return out


def to_text(fleet: dict[str, Any]) -> str:
    lines = [f"Fleet: {len(fleet['nodes'])} node(s) from {fleet['reports']} report(s)"]
    lines += [f"  {n['hostname']}: {n['verdict']}" for n in fleet["nodes"]]
    lines.append("Outliers:" if fleet["outliers"] else "Outliers: none")
    for o in fleet["outliers"]:
        lines.append(
            f"  {o['hostname']} gpu {o['gpu']} {o['metric']} {o['value']:.4g} is "
            f"{100 * o['shortfall']:.1f} % below the fleet median {o['fleet_median']:.4g} (z {o['robust_z']})"
        )
    lines.append("Recalibrated baselines (median of accepted runs; floors at fail_below / warn_below):")
    for model, metrics in fleet["baselines"].items():
        for metric, b in metrics.items():
            lines.append(
                f"  {model} {metric}: median {b['median']:.4g} (n={b['samples']}), fail < "
                f"{b['fail_below']:.4g}, warn < {b['warn_below']:.4g}"
            )
    return "\n".join(lines) + "\n"


def cmd_compare(results: list[str], fmt: str, out: str | None, echo: Callable[[str], Any]) -> int:
    fleet = analyse(collect(results))
    if out:
        atomic_write_tree(out, {"burnin-fleet.json": dumps_json(fleet), "burnin-fleet.txt": to_text(fleet)})
    echo((dumps_json(fleet) if fmt == "json" else to_text(fleet)).rstrip("\n"))
    return 1 if fleet["outliers"] or fleet["failed_nodes"] else 0
