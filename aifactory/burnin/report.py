"""Report renderings: the JSON record, a readable summary, JUnit XML, and the set written to `--out`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from aifactory import resources
from aifactory.burnin import BurninInputError
from aifactory.io import atomic_write_tree, dumps_json

SCHEMA_PATH = resources.package_file("burnin", "schema", "report.schema.json")
FILES = {"json": "burnin-report.json", "text": "burnin-summary.txt", "junit": "burnin-junit.xml"}

# Headline figure per phase for the summary table: (column, phase, getter, format).
HEADLINES: tuple[tuple[str, str, Any, str], ...] = (
    ("TFLOPS", "compute", lambda m: m["tflops_sustained"], "{:.3g}"),
    ("triad GB/s", "memory", lambda m: m["triad"]["gbps"], "{:.4g}"),
    ("H2D GB/s", "pcie", lambda m: m["h2d_gbps"], "{:.3g}"),
    ("stress TFLOPS", "stress", lambda m: m["tflops_median"], "{:.3g}"),
)


def load_schema() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return data


def to_json(report: dict[str, Any]) -> str:
    return dumps_json(report)


def to_text(report: dict[str, Any]) -> str:
    node, run = report["node"], report["run"]
    lines = [
        f"aifactory burn-in on {node['hostname']}: {node['verdict']}",
        f"  profile {run['profile']}, {run['device_type']} mode, {len(report['gpus'])} worker(s), "
        f"{run['duration_s']:.1f} s, reference {node['gpu_id'] or 'none'}",
        f"  telemetry: {report['telemetry']['detail']}",
    ]
    if run["injected"]:
        lines.append(f"  FAULTS INJECTED (test hook): {', '.join(run['injected'])}")
    if run.get("partial"):
        lines.append(f"  PARTIAL REPORT: phases done {', '.join(run.get('completed_phases') or []) or 'none'}")
    lines += ["", _table(report), ""]
    reasons = [r for r in node["reasons"] if r["severity"] != "info"]
    infos = [r for r in node["reasons"] if r["severity"] == "info"]
    lines.append("Why:" if reasons else "Why: every phase measured and within its limits.")
    for r in sorted(reasons, key=lambda r: (r["severity"] != "fail", r.get("gpu", -1), r["phase"], r["code"])):
        where = f"gpu {r['gpu']}" if "gpu" in r else "node"
        lines.append(f"  {r['severity'].upper():4} {where:6} {r['phase']:<11} {r['code']}: {r['message']}")
    lines += [f"  note   {r['code']}: {r['message']}" for r in infos]
    lines.append(f"Exit code {node['exit_code']} (0 pass or warn, 1 fail, 2 unusable input).")
    return "\n".join(lines) + "\n"


def _table(report: dict[str, Any]) -> str:
    phases = list(report["run"]["budget_s"])
    head = ["gpu", "name", "verdict", *[h[0] for h in HEADLINES], *phases]
    rows = [head]
    for g in report["gpus"]:
        figures = []
        for _, phase, get, fmt in HEADLINES:
            m = g["phases"].get(phase, {}).get("metrics")
            figures.append(fmt.format(get(m)) if m else "-")
        status = [g["phases"].get(p, {}).get("status", "-") for p in phases]
        rows.append([str(g["index"]), (g["name"] or "?")[:24], g["verdict"], *figures, *status])
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)


def to_junit(report: dict[str, Any]) -> str:
    """One testsuite per GPU (a testcase per phase) plus the node verdict, valid against the Jenkins xunit schema
    (junit-10.xsd); a WARN verdict is spelled out in the node case's system-out and the suite's `verdict`
    property."""
    root = ET.Element("testsuites", name="aifactory-burnin")
    for g in report["gpus"]:
        suite = ET.SubElement(root, "testsuite", name=f"gpu{g['index']}-{g['name'] or 'unknown'}")
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        for phase, ph in g["phases"].items():
            case = ET.SubElement(
                suite,
                "testcase",
                classname=f"burnin.gpu{g['index']}",
                name=phase,
                time=f"{ph['duration_s']:.3f}",
            )
            counts["tests"] += 1
            text = "\n".join(f"{r['code']}: {r['message']}" for r in ph["reasons"])
            codes = ",".join(r["code"] for r in ph["reasons"])
            if ph["status"] == "FAIL":
                ET.SubElement(case, "failure", message=codes, type="FAIL").text = text
                counts["failures"] += 1
            elif ph["status"] == "ERROR":
                ET.SubElement(case, "error", message=ph.get("error", codes), type="ERROR").text = text
                counts["errors"] += 1
            elif ph["status"] in ("SKIPPED", "NOT_APPLICABLE"):
                ET.SubElement(case, "skipped", message=text or ph.get("note", ""))
                counts["skipped"] += 1
            elif text:
                ET.SubElement(case, "system-out").text = f"{ph['status']}: {text}" if ph["status"] == "WARN" else text
        suite.attrib.update({k: str(v) for k, v in counts.items()})
    node = report["node"]
    suite = ET.SubElement(
        root,
        "testsuite",
        name="node",
        tests="1",
        failures=str(int(node["verdict"] == "FAIL")),
        errors="0",
        skipped="0",
    )
    # A WARN node passes (exit 0), so JUnit readers show a plain pass; the verdict and its reasons go where
    # Jenkins, GitLab and GitHub reporters show them: the suite's properties and the case's standard output.
    ET.SubElement(ET.SubElement(suite, "properties"), "property", name="verdict", value=node["verdict"])
    case = ET.SubElement(suite, "testcase", classname="burnin.node", name="verdict")
    if node["verdict"] == "FAIL":
        fails = [r for r in node["reasons"] if r["severity"] == "fail"]
        ET.SubElement(
            case, "failure", message=",".join(sorted({r["code"] for r in fails})), type="FAIL"
        ).text = "\n".join(f"{r['code']}: {r['message']}" for r in fails)
    elif node["verdict"] == "WARN":
        warns = [r for r in node["reasons"] if r["severity"] == "warn"]
        lines = [f"WARN: node {node['hostname']} passes with {len(warns)} warning(s)"]
        lines += [f"WARN {r['code']}: {r['message']}" for r in warns]
        ET.SubElement(case, "system-out").text = "\n".join(lines)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


RENDERERS = {"json": to_json, "text": to_text, "junit": to_junit}


def write_artifacts(report: dict[str, Any], out_dir: Path, plots: bool = True) -> list[Path]:
    """Write the JSON, the summary, the JUnit XML and (if matplotlib is importable) the plots."""
    files: dict[str, bytes | str] = {FILES[k]: fn(report) for k, fn in RENDERERS.items()}
    if plots:
        from aifactory.burnin.plots import render_plots

        files.update(render_plots(report))
    return atomic_write_tree(out_dir, files)


def write_partial(report: dict[str, Any], out_dir: Path) -> list[Path]:
    """After each phase: the JSON and the summary as they stand, each replaced atomically (no plots, no
    JUnit: a CI system must not read a run in progress as finished)."""
    return atomic_write_tree(out_dir, {FILES["json"]: to_json(report), FILES["text"]: to_text(report)})


MAX_REPORT_BYTES = 32 << 20  # 32 MiB: a report of a few hundred GPUs with telemetry is a few MiB


def read_report(path: Path) -> dict[str, Any]:
    """Load a report written by this suite; anything else is unusable input."""
    from aifactory.files import load_json, present

    if not present(path, str(path)):
        raise BurninInputError(
            "results file not found", hint="pass burnin-report.json files or their folders", file=str(path)
        )
    data = load_json(path, str(path), MAX_REPORT_BYTES, "burn-in report")
    if not isinstance(data, dict) or data.get("kind") != "aifactory.burnin.report":
        raise BurninInputError(
            "not an aifactory burn-in report (no kind: aifactory.burnin.report)",
            hint="pass a burnin-report.json written by `aifactory burnin run`",
            file=str(path),
        )
    return data
