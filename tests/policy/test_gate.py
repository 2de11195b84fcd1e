"""One policy gate: `policy check`, the `up`/`preview` gate (the Pulumi program's `prepare`) and the CrossGuard
pack decide alike: waivers, levels and `fail_on` from the policy config, and the baseline."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from aifactory.blueprint.stackfile import load_stack, read_stack
from aifactory.cli.main import app
from aifactory.deploy.pulumi import PolicyGateError, default_gate, prepare
from aifactory.policy import crossguard
from aifactory.policy.crossguard import policies

REPO = Path(__file__).resolve().parents[2]
BLUEPRINTS = sorted(p.stem for p in (REPO / "blueprints").glob("*.yaml"))
STACK_FILES = sorted((REPO / "stacks").glob("Pulumi.*.yaml"))
runner = CliRunner()

TELEMETRY = """\
config:
  aifactory:blueprint: dgx-h200-sovereign-eu
  aifactory:region: de-stuttgart
  aifactory:overrides:
    site:
      sovereignty:
        vendor_telemetry: true{waiver}
"""
WAIVER = '  # aifactory:waive SOV-010 reason="support case 1234, off after the upgrade" expires=2099-12-31'


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    (tmp_path / ".git").mkdir()
    (tmp_path / "stacks").mkdir()
    monkeypatch.chdir(tmp_path)
    crossguard.findings_for.cache_clear()
    yield tmp_path
    crossguard.findings_for.cache_clear()


def _check(stack: str, *flags: str) -> tuple[int, set[tuple[str, int]]]:
    done = runner.invoke(app, ["policy", "check", "--format", "json", stack, *flags])
    assert done.exit_code in (0, 1), done.output
    return done.exit_code, {(f["rule"], f["line"]) for f in json.loads(done.stdout)["findings"] if f["fails"]}


def _up_gate(name: str, folder: Path) -> set[tuple[str, int]]:
    """What stops the Pulumi program before it creates anything (empty: it would go on)."""
    try:
        prepare(name, folder)
    except PolicyGateError as err:
        return {(p.message[1:].split("]")[0], p.location.line) for p in err.problems if p.location}
    return set()


class _Args:
    def __init__(self, props: dict[str, Any], config: dict[str, Any]) -> None:
        self.props, self._config = props, config

    def get_config(self) -> dict[str, Any]:
        return self._config


def _pack_reports(rule: str, target: str, pointer: str) -> dict[str, list[str]]:
    """The messages each CrossGuard policy of `rule` reports for a resource rendered from `pointer`."""
    props = {"metadata": {"annotations": {"aifactory.io/source": f"{target}#{pointer}"}}}
    seen: dict[str, list[str]] = {}
    for spec in policies():
        if spec.name.startswith(rule.lower()) and spec.kind == "resource":
            found = seen.setdefault(spec.enforcement, [])
            spec.validate(_Args(props, {"target": target}), lambda msg, urn=None, into=found: into.append(msg))
    return seen


def test_a_waived_finding_passes_policy_check_the_up_gate_and_the_pack(scratch: Path) -> None:
    stack = scratch / "stacks" / "Pulumi.w.yaml"
    stack.write_text(TELEMETRY.format(waiver=""), encoding="utf-8")
    assert (1, {("SOV-010", 7)}) == _check("stacks/Pulumi.w.yaml")
    assert {("SOV-010", 7)} == _up_gate("w", stack.parent)
    assert 1 == len(_pack_reports("SOV-010", "stacks/Pulumi.w.yaml", "/site/sovereignty")["mandatory"])
    stack.write_text(TELEMETRY.format(waiver=WAIVER), encoding="utf-8")
    crossguard.findings_for.cache_clear()
    assert (0, set()) == _check("stacks/Pulumi.w.yaml")
    assert set() == _up_gate("w", stack.parent)
    assert {"mandatory": [], "advisory": []} == _pack_reports("SOV-010", "stacks/Pulumi.w.yaml", "/site/sovereignty")


def test_a_level_raised_by_the_config_fails_both_and_a_config_baseline_accepts_it(scratch: Path) -> None:
    stack = scratch / "stacks" / "Pulumi.lab.yaml"
    stack.write_text("config:\n  aifactory:blueprint: lab\n  aifactory:region: local\n", encoding="utf-8")
    assert (0, set()) == _check("stacks/Pulumi.lab.yaml")
    assert set() == _up_gate("lab", stack.parent)
    (scratch / ".aifactory-policy.yaml").write_text("version: 1\nrules:\n  STO-004: mandatory\n", encoding="utf-8")
    code, failing = _check("stacks/Pulumi.lab.yaml")
    assert 1 == code and {"STO-004"} == {rule for rule, _ in failing}
    assert failing == _up_gate("lab", stack.parent)
    done = runner.invoke(app, ["policy", "check", "stacks/Pulumi.lab.yaml", "--baseline", "accepted.json",
                               "--update-baseline", "--owner", "ops", "--reason", "sized later"])
    assert 0 == done.exit_code, done.output
    (scratch / ".aifactory-policy.yaml").write_text(
        "version: 1\nbaseline: accepted.json\nrules:\n  STO-004: mandatory\n", encoding="utf-8"
    )
    assert (0, set()) == _check("stacks/Pulumi.lab.yaml")
    assert set() == _up_gate("lab", stack.parent)


CONFIGS = {
    "defaults": None,
    "fail-on-medium": "version: 1\nfail_on: medium\n",
    "raised": "version: 1\nrules:\n  SEC-010: mandatory\n  SOV-009: mandatory\n  PWR-005: disabled\n",
}


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_every_reference_blueprint_in_every_stack_gets_one_decision(config: str, scratch: Path) -> None:
    if CONFIGS[config] is not None:
        (scratch / ".aifactory-policy.yaml").write_text(CONFIGS[config], encoding="utf-8")
    decided = 0
    for stack_file in STACK_FILES:
        for blueprint in BLUEPRINTS:
            crossguard.findings_for.cache_clear()
            text = stack_file.read_text(encoding="utf-8")
            lines = [f"  aifactory:blueprint: {blueprint}" if ln.startswith("  aifactory:blueprint:") else ln
                     for ln in text.splitlines()]
            target = scratch / "stacks" / stack_file.name
            target.write_text("\n".join(lines) + "\n", encoding="utf-8")
            shown = f"stacks/{stack_file.name}"
            code, failing = _check(shown)
            loaded = load_stack(read_stack(stack_file.name[len("Pulumi.") : -len(".yaml")], target.parent))
            gate = {(f.rule, f.location.line if f.location else 0) for f in default_gate(loaded, None)}
            pack = {(f.rule, f.location.line) for f, taken in crossguard.findings_for(shown) if taken == "mandatory"}
            assert failing == gate == pack, (shown, blueprint)
            assert (code == 1) == bool(failing)
            decided += bool(failing)
    if config != "defaults":
        assert decided > 0  # the configuration changes decisions, so equality is not vacuous
