"""Renderers: golden SARIF valid against the official 2.1.0 schema, JSON, JUnit and GitHub annotations."""

from __future__ import annotations

import datetime as dt
import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from aifactory.errors import Location
from aifactory.policy.check import CheckOptions, run_check
from aifactory.policy.config import PolicyConfig
from aifactory.policy.model import Finding
from aifactory.policy.output import renderer
from aifactory.policy.output.github_out import escape_data, summary_markdown
from aifactory.policy.report import Report
from tests.policy.conftest import ROOT

GOLDEN = Path(__file__).parent / "golden"
INPUT = "tests/policy/golden/pr-change.yaml"
TODAY = dt.date(2026, 9, 1)


def _report() -> Report:
    return run_check([INPUT], CheckOptions(config=PolicyConfig({"SEC-010": "disabled"}), today=TODAY))


def _golden(name: str, text: str) -> str:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text)
    return path.read_text()


def test_sarif_matches_golden_and_schema(in_root: Path) -> None:
    text = renderer("sarif")(_report())
    assert _golden("pr-change.sarif", text) == text
    schema = json.loads((ROOT / "tests/data/sarif-schema-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema).validate(json.loads(text))


def test_sarif_content(in_root: Path) -> None:
    run = json.loads(renderer("sarif")(_report()))["runs"][0]
    results = run["results"]
    assert {"FAB-001", "SOV-010"} == {r["ruleId"] for r in results}  # PWR-004 is waived: left out
    assert "aifactory-policy/" == run["automationDetails"]["id"]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert "security-severity" in rules["SOV-010"]["properties"]
    assert "security-severity" not in rules["FAB-001"]["properties"]
    assert "docs/policy/SOV-010.md" in rules["SOV-010"]["help"]["text"]
    for r in results:
        assert r["partialFingerprints"]["aifactoryFinding/v1"]
        assert INPUT == r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    lines = {r["ruleId"]: r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in results}
    assert {"SOV-010": 5, "FAB-001": 8} == lines


def test_json_is_versioned_and_stable(in_root: Path) -> None:
    text = renderer("json")(_report())
    data = json.loads(text)
    assert 1 == data["version"]
    assert text == renderer("json")(_report())
    waived = [f for f in data["findings"] if f["waiver"]]
    assert [("PWR-004", 11, False)] == [(f["rule"], f["line"], f["fails"]) for f in waived]


def test_junit_parses_and_counts(in_root: Path) -> None:
    root = ET.fromstring(renderer("junit")(_report()))
    assert "testsuites" == root.tag
    assert ("3", "2", None) == (root.get("tests"), root.get("failures"), root.get("skipped"))  # xsd: no skipped
    assert "1" == root.find("testsuite").get("skipped")  # type: ignore[union-attr]


def _finding(i: int, level: str) -> Finding:
    return Finding(
        rule="SEC-007",
        severity="critical",
        level=level,
        title="t",
        message=f"m{i}%\r\nx",  # type: ignore[arg-type]
        path=("a", i),
        location=Location("f.yaml", i + 1, 1),
        value=i,
        remediation="r",
    )


def test_github_escapes_and_caps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    findings = [_finding(i, "mandatory") for i in range(12)] + [
        _finding(i, "advisory") for i in range(20, 33)
    ]
    report = Report(findings, ["f.yaml"])
    out = renderer("github")(report).splitlines()
    assert 10 == sum(line.startswith("::error ") for line in out)
    assert 10 == sum(line.startswith("::warning ") for line in out)
    assert out[-1].startswith("::notice::5 more")
    assert "m0%25%0D%0Ax" in out[0]
    assert "m0%\r\nx" == "m0%\r\nx" and escape_data("50%") == "50%25"
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    from aifactory.policy.output.github_out import write_summary

    write_summary(report)
    assert summary_markdown(report) == summary.read_text()
    assert 25 == summary.read_text().count("| SEC-007 |")
