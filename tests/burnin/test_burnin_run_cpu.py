"""A healthy CPU-mode run: every phase runs or says why not, and the reports hold together."""

from __future__ import annotations

import json
from xml.etree import ElementTree as ET

from tests.burnin.helpers import validate

MEASURED = ("preflight", "compute", "sdc", "memory", "collectives", "stress")


def test_cpu_phases_run_for_real(baseline_run):
    _code, report, _, _ = baseline_run
    for gpu in report["gpus"]:
        assert {p: "PASS" for p in MEASURED} == {p: gpu["phases"][p]["status"] for p in MEASURED}
        assert gpu["phases"]["collectives"]["metrics"]["backend"] == "gloo"
        assert gpu["phases"]["collectives"]["metrics"]["exact"] is True
        assert gpu["phases"]["memory"]["metrics"]["integrity"]["mismatched_words"] == 0
        assert gpu["phases"]["compute"]["metrics"]["tflops_sustained"] > 0
    assert (
        report["gpus"][0]["phases"]["sdc"]["metrics"]["hash"] == report["gpus"][1]["phases"]["sdc"]["metrics"]["hash"]
    )


def test_cuda_phases_are_skipped_and_never_pass(baseline_run):
    code, report, _, text = baseline_run
    for gpu in report["gpus"]:
        assert ("SKIPPED", "SKIPPED") == (gpu["phases"]["pcie"]["status"], gpu["phases"]["p2p"]["status"])
        assert {"SKIPPED_CUDA_REQUIRED"} <= {r["code"] for r in gpu["reasons"]}
        assert "WARN" == gpu["verdict"]
    assert ("WARN", 0) == (report["node"]["verdict"], code)
    assert "SKIPPED: phase pcie needs CUDA" in text
    assert "cpu" == report["run"]["device_type"]


def test_report_matches_schema(baseline_run):
    validate(baseline_run[1])


def test_nvml_absence_is_reported(baseline_run):
    report = baseline_run[1]
    assert report["telemetry"]["available"] is False
    assert "NVML_UNAVAILABLE" in {r["code"] for r in report["node"]["reasons"]}


def test_artifacts_written(baseline_run):
    _, report, out, _ = baseline_run
    names = sorted(p.name for p in out.iterdir())
    assert [
        "burnin-junit.xml",
        "burnin-power.png",
        "burnin-report.json",
        "burnin-summary.txt",
        "burnin-temperature.png",
        "burnin-throughput.png",
    ] == names
    assert (out / "burnin-throughput.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert report == json.loads((out / "burnin-report.json").read_text())
    summary = (out / "burnin-summary.txt").read_text()
    assert summary.splitlines()[0].endswith(": WARN")


def test_junit_lists_every_phase(baseline_run):
    _, _report, out, _ = baseline_run
    root = ET.parse(out / "burnin-junit.xml").getroot()
    suites = root.findall("testsuite")
    assert 3 == len(suites)  # two workers and the node
    first = suites[0]
    assert 8 == len(first.findall("testcase"))
    skipped = [c.get("name") for c in first.findall("testcase") if c.find("skipped") is not None]
    assert ["pcie", "p2p"] == skipped
    assert "2" == first.get("skipped")


def test_blueprint_sets_the_limits(baseline_run):
    report = baseline_run[1]
    assert ("quick", 5.0, "cpu") == (
        report["run"]["profile"],
        report["run"]["thresholds"]["time_budget_min"],
        report["node"]["gpu_id"],
    )


def test_junit_is_valid_for_jenkins_and_shows_the_warn_verdict(baseline_run):
    import xmlschema

    from tests.policy.conftest import ROOT

    _, report, out, _ = baseline_run
    text = (out / "burnin-junit.xml").read_text()
    xmlschema.XMLSchema(str(ROOT / "tests/data/junit-10.xsd")).validate(text)
    assert "WARN" == report["node"]["verdict"]
    node = next(s for s in ET.fromstring(text).findall("testsuite") if s.get("name") == "node")
    assert {"verdict": "WARN"} == {p.get("name"): p.get("value") for p in node.iter("property")}
    case = node.find("testcase")
    assert case is not None and case.find("failure") is None  # a WARN node passes (exit 0)
    out_text = case.findtext("system-out") or ""
    assert out_text.startswith("WARN: node ") and "WARN SKIPPED_CUDA_REQUIRED" in out_text
