"""The region stack's `evidence` output under the SDK's mocks: the SEAL level per objective and the digest of
the report `aifactory evidence` writes for the same stack."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pytest
from mocks import run_stack
from typer.testing import CliRunner

from aifactory.blueprint.stackfile import STACKS
from aifactory.cli.main import app


def test_stack_exports_the_evidence_summary_of_its_report(monkeypatch: pytest.MonkeyPatch) -> None:
    outputs: dict[str, Any] = {}
    # The mocks see resources, not stack outputs: record what the program exports as it calls the SDK.
    monkeypatch.setattr(pulumi, "export", lambda name, value: outputs.__setitem__(name, value))
    run_stack("de-stuttgart", STACKS)
    exported = outputs["evidence"]
    result = CliRunner().invoke(app, ["evidence", str(STACKS / "Pulumi.de-stuttgart.yaml"), "--format", "json"])
    assert 0 == result.exit_code, result.output
    report = json.loads(result.output)
    assert report["digest"] == exported["digest"]
    assert report["summary"]["objectives"] == exported["objectives"]
    assert {f"SOV-{i}" for i in range(1, 9)} == set(exported["objectives"])
    assert min(exported["objectives"].values()) == exported["seal"]
    assert "PASS" == exported["policy"]
