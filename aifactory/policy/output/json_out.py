"""Versioned JSON (schema documented in docs/policy/README.md): sorted keys, deterministic."""

from __future__ import annotations

from aifactory import __version__
from aifactory.io import dumps_json
from aifactory.policy.report import Report

SCHEMA_VERSION = 1


def render(report: Report) -> str:
    return dumps_json(
        {
            "version": SCHEMA_VERSION,
            "tool": {"name": "aifactory-policy", "version": __version__},
            "files": report.files,
            "fail_on": report.fail_on,
            "failed": bool(report.exit_code),
            "summary": report.counts(),
            "findings": [dict(f.as_dict(), fails=report.fails(f)) for f in report.findings],
        }
    )
