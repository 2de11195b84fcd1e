"""SARIF 2.1.0 for GitHub code scanning: stable rule ids, help text with the doc link, partialFingerprints,
security-severity only on security/sovereignty rules; waived and baselined results are left out (uploaded
suppressions reappear as open alerts)."""

from __future__ import annotations

from typing import Any

from aifactory import __version__
from aifactory.io import dumps_json
from aifactory.policy.model import SECURITY_SEVERITY, Finding, Rule
from aifactory.policy.registry import all_rules
from aifactory.policy.report import Report

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
AUTOMATION_ID = "aifactory-policy/"
FINGERPRINT_KEY = "aifactoryFinding/v1"


def _level(f: Finding) -> str:
    if f.severity == "info":
        return "note"
    return "error" if f.level == "mandatory" else "warning"


def rule_descriptor(rule: Rule) -> dict[str, Any]:
    help_text = f"{rule.rationale}\n\nFix: {rule.remediation}\n\nDocumentation: {rule.doc_url}"
    props: dict[str, Any] = {
        "tags": list(rule.tags),
        "precision": "very-high",
        "problem.severity": "error" if rule.level == "mandatory" else "warning",
    }
    if {"security", "sovereignty"} & set(rule.tags):
        props["security-severity"] = SECURITY_SEVERITY[rule.severity]
    return {
        "id": rule.id,
        "name": "".join(w.capitalize() for w in rule.title.replace("-", " ").split() if w.isalnum()),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.rationale},
        "help": {
            "text": help_text,
            "markdown": f"{rule.rationale}\n\n**Fix:** {rule.remediation}\n\n[Documentation]({rule.doc_url})",
        },
        "helpUri": rule.doc_url,
        "defaultConfiguration": {"level": "error" if rule.level == "mandatory" else "warning"},
        "properties": props,
    }


def _physical(file: str, line: int, column: int, fallback: str) -> dict[str, Any]:
    if file.startswith("--set"):
        file, line, column = fallback, 0, 0
    loc: dict[str, Any] = {"artifactLocation": {"uri": file.replace("\\", "/")}}
    if line > 0:
        region: dict[str, Any] = {"startLine": line, "endLine": line}
        if column > 0:
            region["startColumn"] = column
        loc["region"] = region
    return {"physicalLocation": loc}


def _result(f: Finding, index: int, fallback: str) -> dict[str, Any]:
    loc = f.location
    result: dict[str, Any] = {
        "ruleId": f.rule,
        "ruleIndex": index,
        "level": _level(f),
        "message": {"text": f"{f.message} (at {f.pointer})"},
        "locations": [_physical(loc.file, loc.line, loc.column, fallback)],
        "partialFingerprints": {FINGERPRINT_KEY: f.fingerprint},
        "properties": {"pointer": f.pointer, "severity": f.severity, "level": f.level},
    }
    if f.related is not None:
        rel = _physical(f.related.file, f.related.line, f.related.column, fallback)
        rel.update({"id": 1, "message": {"text": "the limit this finding is measured against"}})
        result["relatedLocations"] = [rel]
    return result


def render(report: Report) -> str:
    rules = all_rules()
    index = {r.id: i for i, r in enumerate(rules)}
    fallback = report.files[0] if report.files else "."
    results = [_result(f, index[f.rule], fallback) for f in report.active]
    return dumps_json(
        {
            "$schema": SCHEMA,
            "version": "2.1.0",
            "runs": [
                {
                    "tool": {
                        "driver": {
                            "name": "aifactory-policy",
                            "semanticVersion": __version__,
                            "informationUri": "https://github.com/aifactory/aifactory/blob/main/docs/policy/README.md",
                            "rules": [rule_descriptor(r) for r in rules],
                        }
                    },
                    "automationDetails": {"id": AUTOMATION_ID},
                    "columnKind": "utf16CodeUnits",
                    "results": results,
                }
            ],
        }
    )
