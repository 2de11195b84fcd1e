"""JUnit XML as common CI readers (GitHub test reporters, GitLab, Jenkins) expect: one testsuite per file, one
testcase per finding (failure when it fails the check, skipped when waived or baselined)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from aifactory.policy.report import Report


def render(report: Report) -> str:
    root = ET.Element("testsuites", name="aifactory-policy")
    by_file: dict[str, list[int]] = {file: [] for file in report.files}
    for i, f in enumerate(report.findings):
        by_file.setdefault(f.location.file, []).append(i)
    totals = {"tests": 0, "failures": 0, "skipped": 0}
    for file, indexes in sorted(by_file.items()):
        suite = ET.SubElement(root, "testsuite", name=file)
        counts = {"tests": 0, "failures": 0, "skipped": 0}
        for i in indexes:
            f = report.findings[i]
            case = ET.SubElement(
                suite,
                "testcase",
                classname=file,
                name=f"{f.rule} {f.pointer}",
                file=f.location.file,
                line=str(f.location.line),
            )
            counts["tests"] += 1
            if f.waived or f.baselined:
                ET.SubElement(case, "skipped", message=f.note)
                counts["skipped"] += 1
            elif report.fails(f):
                failure = ET.SubElement(case, "failure", message=f"{f.rule}: {f.message}", type=f.severity)
                failure.text = f"{f.location}: {f.title}\n{f.message}\nfix: {f.remediation}"
                counts["failures"] += 1
            else:
                ET.SubElement(case, "system-out").text = f"advisory: {f.message}"
        if not indexes:
            ET.SubElement(suite, "testcase", classname=file, name="all policy rules pass")
            counts["tests"] += 1
        for key, n in counts.items():
            suite.set(key, str(n))
            totals[key] += n
        suite.set("errors", "0")
    for key, n in totals.items():
        root.set(key, str(n))
    root.set("errors", "0")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
