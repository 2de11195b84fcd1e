"""JUnit XML valid against the Jenkins xunit schema (`junit-10.xsd`), which GitHub test reporters and GitLab also
read: one testsuite per file, one testcase per finding (failure when it fails the check, skipped when waived or
baselined). The schema has no file or line attribute on a testcase, so `file:line` leads the failure text and
the system-out; testcase names are unique within a suite (a repeated rule and pointer gets ` #2`, ` #3`)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from aifactory.policy.model import Finding
from aifactory.policy.report import Report


def _where(f: Finding) -> str:
    text = str(f.location)
    if f.inherited is not None:
        text += f" (value from {f.inherited})"
    return text


def render(report: Report) -> str:
    root = ET.Element("testsuites", name="aifactory-policy")
    by_file: dict[str, list[int]] = {file: [] for file in report.files}
    for i, f in enumerate(report.findings):
        by_file.setdefault(f.location.file, []).append(i)
    totals = {"tests": 0, "failures": 0}
    for file, indexes in sorted(by_file.items()):
        suite = ET.SubElement(root, "testsuite", name=file)
        counts = {"tests": 0, "failures": 0, "skipped": 0}
        seen: dict[str, int] = {}
        for i in indexes:
            f = report.findings[i]
            name = f"{f.rule} {f.pointer}"
            seen[name] = seen.get(name, 0) + 1
            if seen[name] > 1:
                name = f"{name} #{seen[name]}"
            case = ET.SubElement(suite, "testcase", classname=file, name=name)
            counts["tests"] += 1
            if f.waived or f.baselined:
                ET.SubElement(case, "skipped", message=f.note)
                ET.SubElement(case, "system-out").text = f"{_where(f)}: {f.rule} {f.message}\n{f.note}"
                counts["skipped"] += 1
            elif report.fails(f):
                failure = ET.SubElement(case, "failure", message=f"{f.rule}: {f.message}", type=f.severity)
                failure.text = f"{_where(f)}: {f.title}\n{f.message}\nfix: {f.remediation}"
                counts["failures"] += 1
            else:
                ET.SubElement(case, "system-out").text = f"{_where(f)}: advisory: {f.message}"
        if not indexes:
            ET.SubElement(suite, "testcase", classname=file, name="all policy rules pass")
            counts["tests"] += 1
        for key, n in counts.items():
            suite.set(key, str(n))
        totals["tests"] += counts["tests"]
        totals["failures"] += counts["failures"]
        suite.set("errors", "0")
    for key, n in totals.items():
        root.set(key, str(n))
    root.set("errors", "0")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
