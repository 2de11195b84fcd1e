"""SARIF 2.1.0 for GitHub code scanning: stable rule ids, help text with the doc link, partialFingerprints,
security-severity only on security/sovereignty rules; waived and baselined results are left out (uploaded
suppressions reappear as open alerts). URIs are repository-relative and percent-encoded; a value inherited from
the catalogue is a related location under the `AIFACTORY_CATALOGUE` base, never an absolute path; every location
has a region. Microsoft SARIF Multitool `validate` reports nothing on it (tests/policy/test_clients.py)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from aifactory import __version__
from aifactory.errors import Location
from aifactory.io import dumps_json
from aifactory.policy.locations import CATALOGUE, is_set
from aifactory.policy.model import SECURITY_SEVERITY, Finding, Rule
from aifactory.policy.registry import all_rules
from aifactory.policy.report import Report

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
AUTOMATION_ID = "aifactory-policy/"
FINGERPRINT_KEY = "aifactoryFinding/v1"
CATALOGUE_BASE_ID = "AIFACTORY_CATALOGUE"


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


def artifact_uri(file: str) -> str:
    """A relative path as a URI reference: `/` separators, every byte outside the unreserved set and `/`
    percent-encoded (so `%`, space, `#`, `?`, `:` and non-ASCII names survive every SARIF reader)."""
    return quote(file.replace("\\", "/"), safe="/")


def _physical(loc: Location) -> dict[str, Any]:
    artifact: dict[str, Any] = {"uri": artifact_uri(loc.file)}
    if loc.base == CATALOGUE:
        artifact["uriBaseId"] = CATALOGUE_BASE_ID
    # Every result has a region: a location without a line (a whole-file finding) points at line 1.
    line = max(loc.line, 1)
    region: dict[str, Any] = {"startLine": line, "endLine": line}
    if loc.column > 0:
        region["startColumn"] = loc.column
    return {"physicalLocation": {"artifactLocation": artifact, "region": region}}


def _message(f: Finding) -> str:
    text = f"{f.message} (at {f.pointer})"
    origin = f.inherited
    if origin is None:
        return text
    if is_set(origin):
        return f"{text}; the value comes from `{origin.file}`"
    return f"{text}; the value is inherited from the catalogue blueprint [{origin.file}](1)"


def _result(f: Finding, index: int) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": f.rule,
        "ruleIndex": index,
        "level": _level(f),
        "message": {"text": _message(f)},
        "locations": [_physical(f.location)],
        "partialFingerprints": {FINGERPRINT_KEY: f.fingerprint},
        "properties": {"pointer": f.pointer, "severity": f.severity, "level": f.level},
    }
    related: list[dict[str, Any]] = []
    if f.inherited is not None and not is_set(f.inherited):
        rel = _physical(f.inherited)
        rel.update({"id": 1, "message": {"text": f"the inherited value, in catalogue blueprint {f.inherited.file}"}})
        related.append(rel)
    elif f.inherited is not None:
        result["properties"]["setBy"] = f.inherited.file
    if f.related is not None and not is_set(f.related):
        rel = _physical(f.related)
        rel.update({"id": len(related) + 1, "message": {"text": "the limit this finding is measured against"}})
        related.append(rel)
    if related:
        result["relatedLocations"] = related
    return result


def render(report: Report) -> str:
    rules = all_rules()
    index = {r.id: i for i, r in enumerate(rules)}
    results = [_result(f, index[f.rule]) for f in report.active]
    run: dict[str, Any] = {}
    if any(loc.get("physicalLocation", {}).get("artifactLocation", {}).get("uriBaseId") for r in results
           for loc in (*r["locations"], *r.get("relatedLocations", []))):
        run["originalUriBaseIds"] = {
            CATALOGUE_BASE_ID: {
                "description": {
                    "text": "The blueprint catalogue shipped with aifactory (`aifactory catalog` lists it); "
                    "paths under it are relative to the installed package's catalogue folder."
                }
            }
        }
    return dumps_json(
        {
            "$schema": SCHEMA,
            "version": "2.1.0",
            "runs": [
                {
                    **run,
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
