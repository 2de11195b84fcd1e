"""The CLI as a real subprocess, reference blueprints, stack files and the CrossGuard validate functions."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from aifactory.policy.crossguard import policies
from tests.policy.conftest import ROOT

BLUEPRINTS = sorted((ROOT / "blueprints").glob("*.yaml"))


def _cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "policy", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("path", BLUEPRINTS, ids=lambda p: p.stem)
def test_reference_blueprints_have_no_mandatory_finding(path: Path) -> None:
    done = _cli("check", str(path.relative_to(ROOT)), "--format", "json")
    data = json.loads(done.stdout)
    assert [] == [(f["rule"], f["file"], f["line"]) for f in data["findings"] if f["level"] == "mandatory"]
    assert 0 == done.returncode


def test_subprocess_exit_codes(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("extends: dgx-h200-sovereign-eu\nsite:\n  sovereignty:\n    operator_location: US\n")
    done = _cli("check", str(bad))
    assert 1 == done.returncode and "SOV-011" in done.stdout
    broken = tmp_path / "broken.yaml"
    broken.write_text("site: [\n")
    done = _cli("check", str(broken))
    assert 2 == done.returncode and "Traceback" not in done.stderr
    assert 2 == _cli("check", str(bad), "--format", "xml").returncode


def test_list_and_explain() -> None:
    rules = json.loads(_cli("list", "--format", "json").stdout)["rules"]
    assert len(rules) >= 30
    assert {"id", "title", "severity", "level", "tags"} <= set(rules[0])
    done = _cli("explain", "SOV-001")
    assert 0 == done.returncode and "cannot be waived" in done.stdout
    assert (ROOT / "docs/policy/SOV-001.md").read_text() == done.stdout
    done = _cli("explain", "SOV-01O")
    assert 2 == done.returncode and "did you mean SOV-010" in done.stderr


def test_stack_file_findings_point_at_the_stack(tmp_path: Path) -> None:
    stack = tmp_path / "Pulumi.eu-test.yaml"
    stack.write_text(
        "config:\n  aifactory:blueprint: dgx-h200-sovereign-eu\n  aifactory:overrides:\n"
        "    site:\n      sovereignty:\n        vendor_telemetry: true\n"
    )
    done = _cli("check", str(stack), "--format", "json", cwd=tmp_path)  # no git work tree: relative to the cwd
    found = [(f["rule"], f["file"], f["line"]) for f in json.loads(done.stdout)["findings"] if f["fails"]]
    assert [("SOV-010", "Pulumi.eu-test.yaml", 6)] == found
    assert 1 == done.returncode


class _Args:
    def __init__(self, props: dict[str, Any], config: dict[str, Any] | None = None) -> None:
        self.props, self._config = props, config or {}

    def get_config(self) -> dict[str, Any]:
        return self._config


def _resource(pointer: str, image: str = "") -> dict[str, Any]:
    return {
        "metadata": {
            "labels": {"aifactory.io/blueprint": "dgx-h200-sovereign-eu", "aifactory.io/region": "eu"},
            "annotations": {"aifactory.io/source": f"blueprints/dgx-h200-sovereign-eu.yaml#{pointer}"},
        },
        "spec": {"containers": [{"image": image}] if image else []},
    }


def test_crossguard_resource_and_stack_policies(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(ROOT)
    specs = {s.name: s for s in policies()}
    assert {"resource", "stack"} == {s.kind for s in specs.values()}
    assert "mandatory" == specs["sov-010"].enforcement and "advisory" == specs["sov-010-advisory"].enforcement
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "extends: dgx-h200-sovereign-eu\nsite:\n  sovereignty:\n    vendor_telemetry: true\n"
        "cooling:\n  rack_groups:\n    - {name: compute, type: air, capacity: 41kW}\n"
    )
    seen: list[str] = []
    args = _Args(_resource("/site/sovereignty"), {"target": str(bad)})
    specs["sov-010"].validate(args, lambda msg, urn=None: seen.append(msg))
    specs["sov-010-advisory"].validate(args, lambda msg, urn=None: seen.append(msg))
    assert 1 == len(seen) and seen[0].startswith("SOV-010")
    seen.clear()
    specs["sov-009"].validate(_Args(_resource("/software", "evil.example.com/x:1")), seen.append)
    assert ["SOV-009 image 'evil.example.com/x:1'"] == [m.split(" does")[0] for m in seen]
    seen.clear()
    stack_args = type(
        "S",
        (),
        {"resources": [_Args(_resource("/compute"), {})], "get_config": lambda self: {"target": str(bad)}},
    )()
    specs["clg-001"].validate(stack_args, lambda msg, urn=None: seen.append(msg))
    assert 1 == len(seen) and "CLG-001" in seen[0] and "bad.yaml:7" in seen[0]


STACKS = sorted((ROOT / "stacks").glob("**/Pulumi.*.yaml")) if (ROOT / "stacks").is_dir() else []


@pytest.mark.parametrize("path", BLUEPRINTS, ids=lambda p: p.stem)
def test_reference_blueprints_run_the_design_rules(path: Path) -> None:
    # The design rules skip silently where the engine cannot plan; here it must plan, and find nothing.
    from aifactory.policy.check import load_target
    from aifactory.policy.context import Context
    from aifactory.policy.engine import evaluate
    from aifactory.policy.registry import all_rules

    loaded = load_target(str(path)).loaded
    ctx = Context(loaded)
    assert ctx.plan is not None, ctx.plan_error
    design = {r.id for r in all_rules() if r.needs_design}
    assert [] == [(f.rule, f.message) for f in evaluate(loaded, only=design)]


def test_stack_file_budget_finding_lands_on_the_override(tmp_path: Path) -> None:
    stack = tmp_path / "Pulumi.eu-dense.yaml"
    stack.write_text(
        "config:\n  aifactory:blueprint: dgx-h200-sovereign-eu\n  aifactory:overrides:\n"
        "    compute:\n      nodes_per_rack: 6\n"
    )
    done = _cli("check", str(stack), "--format", "json", cwd=tmp_path)
    found = {
        (f["rule"], f["file"], f["line"], f["related"]["file"], f["related"]["base"])
        for f in json.loads(done.stdout)["findings"]
        if f["rule"] in ("PWR-001", "PWR-002")
    }
    # the limit is the catalogue blueprint's: relative to the catalogue, never an absolute path
    assert {
        ("PWR-001", "Pulumi.eu-dense.yaml", 5, "dgx-h200-sovereign-eu.yaml", "catalogue"),
        ("PWR-002", "Pulumi.eu-dense.yaml", 5, "dgx-h200-sovereign-eu.yaml", "catalogue"),
    } == found
    assert 1 == done.returncode


@pytest.mark.skipif(not STACKS, reason="no stack files under stacks/ yet (they come with the Pulumi branch)")
@pytest.mark.parametrize("path", STACKS, ids=lambda p: p.name)
def test_repository_stack_files_check_clean(path: Path) -> None:
    done = _cli("check", str(path.relative_to(ROOT)), "--format", "json")
    assert "Traceback" not in done.stderr
    data = json.loads(done.stdout)
    assert [] == [(f["rule"], f["file"], f["line"]) for f in data["findings"] if f["level"] == "mandatory"]
    assert 0 == done.returncode


def test_pulumi_project_file_is_refused_with_a_pointer_to_the_stacks(tmp_path: Path) -> None:
    project = tmp_path / "Pulumi.yaml"
    project.write_text("name: aifactory\nruntime: python\n")
    done = _cli("check", str(project))
    assert 2 == done.returncode
    assert f"{project}:1" in done.stderr and "Pulumi.<stack>.yaml" in done.stderr
