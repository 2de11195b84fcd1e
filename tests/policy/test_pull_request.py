"""Diff mode, baselines and waivers through real git repositories made in the test, via CliRunner."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aifactory.cli.main import app
from tests.policy.conftest import ROOT

BASE = (ROOT / "blueprints/dgx-h200-sovereign-eu.yaml").read_text()
FACTORY = "extends: ./base.yaml\nsite:\n  sovereignty:\n    vendor_telemetry: true\n"


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        timeout=30,
    )


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "base.yaml").write_text(BASE)
    (tmp_path / "factory.yaml").write_text(FACTORY)
    _git(tmp_path, "init", "-q", "-b", "main")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-qm", "base")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    return tmp_path


def _check(*args: str) -> tuple[int, dict[str, object] | str]:
    result = CliRunner().invoke(app, ["policy", "check", *args])
    if "json" in args and result.exit_code in (0, 1):
        return result.exit_code, json.loads(result.stdout)
    return result.exit_code, result.output


def _rules(data: object) -> list[tuple[str, int]]:
    assert isinstance(data, dict)
    return [(f["rule"], f["line"]) for f in data["findings"] if f["fails"]]


def test_diff_base_reports_only_new_findings(repo: Path) -> None:
    (repo / "factory.yaml").write_text(
        "# moved down\n" + FACTORY + "fabric:\n  compute:\n    oversubscription: 2:1\n"
    )
    code, data = _check("factory.yaml", "--format", "json")
    assert (1, [("SOV-010", 5), ("FAB-001", 8)]) == (code, _rules(data))
    code, data = _check("factory.yaml", "--format", "json", "--diff-base", "main")
    assert (1, [("FAB-001", 8)]) == (code, _rules(data))


def test_diff_base_follows_extends_in_the_base(repo: Path) -> None:
    # The parent had telemetry on already at the base: only the child's new oversubscription is new.
    (repo / "base.yaml").write_text(BASE.replace("vendor_telemetry: false", "vendor_telemetry: true"))
    (repo / "factory.yaml").write_text("extends: ./base.yaml\n")
    _git(repo, "commit", "-qam", "telemetry on in base")
    (repo / "factory.yaml").write_text(
        "extends: ./base.yaml\nfabric:\n  compute:\n    oversubscription: 2:1\n"
    )
    code, data = _check("factory.yaml", "--format", "json")
    assert (1, [("SOV-010", 24), ("FAB-001", 4)]) == (code, _rules(data))
    code, data = _check("factory.yaml", "--format", "json", "--diff-base", "HEAD")
    assert (1, [("FAB-001", 4)]) == (code, _rules(data))


def test_diff_base_new_file_and_bad_ref(repo: Path) -> None:
    (repo / "new.yaml").write_text(FACTORY)
    code, data = _check("new.yaml", "--format", "json", "--diff-base", "main")
    assert (1, [("SOV-010", 4)]) == (code, _rules(data))
    code, out = _check("new.yaml", "--diff-base", "no-such-ref")
    assert 2 == code and "--diff-base" in str(out)


def test_baseline_keys_by_pointer_not_line_and_never_absorbs_other_files(repo: Path) -> None:
    code, _out = _check(
        "factory.yaml", "--baseline", "b.json", "--update-baseline", "--owner", "ops", "--reason", "legacy"
    )
    assert 0 == code
    entries = json.loads((repo / "b.json").read_text())["entries"]
    assert [("SOV-010", "factory.yaml", "/site/sovereignty/vendor_telemetry", True, "ops")] == [
        (e["rule"], e["file"], e["pointer"], e["value"], e["owner"])
        for e in entries
        if e["rule"] == "SOV-010"
    ]
    (repo / "factory.yaml").write_text("\n\n# shifted\n" + FACTORY)
    assert 0 == _check("factory.yaml", "--baseline", "b.json")[0]
    (repo / "other.yaml").write_text(FACTORY)
    code, data = _check("factory.yaml", "other.yaml", "--baseline", "b.json", "--format", "json")
    assert (1, [("SOV-010", 4)]) == (code, _rules(data))
    assert isinstance(data, dict) and "other.yaml" == next(f for f in data["findings"] if f["fails"])["file"]
    # a changed value is a new finding
    (repo / "factory.yaml").write_text(
        FACTORY.replace("true", "yes").replace("yes", "true")
        + "fabric:\n  compute:\n    oversubscription: 2:1\n"
    )
    assert 1 == _check("factory.yaml", "--baseline", "b.json")[0]


def test_baseline_without_owner_is_unusable(repo: Path) -> None:
    (repo / "b.json").write_text('{"version": 1, "entries": [{"fingerprint": "x"}]}')
    code, out = _check("factory.yaml", "--baseline", "b.json")
    assert 2 == code and "owner" in str(out)


def _waive(line: str) -> None:
    Path("factory.yaml").write_text(FACTORY.replace("    vendor_telemetry: true\n", line))


def test_waiver_hides_until_expiry_then_returns_with_note(repo: Path) -> None:
    _waive(
        '    vendor_telemetry: true  # aifactory:waive SOV-010 reason="support case" expires=2099-01-31\n'
    )
    _git(repo, "commit", "-qam", "waiver")
    code, data = _check("factory.yaml", "--format", "json")
    assert (0, []) == (code, _rules(data))
    assert 1 == _check("factory.yaml", "--no-waivers")[0]
    _waive(
        '    # aifactory:waive SOV-010 reason="NVIDIA support case" expires=2020-01-31\n'
        "    vendor_telemetry: true\n"
    )
    code, out = _check("factory.yaml")
    assert 1 == code and "expired on 2020-01-31" in str(out)


@pytest.mark.parametrize(
    ("comment", "needle"),
    [
        ("# aifactory:waive SOV-010 expires=2099-01-01", "no reason"),
        ('# aifactory:waive SOV-010 reason="x" expires=2099-13-01', "not a date"),
        ('# aifactory:waive SOV-010 reason="x"', "not a date"),
        ('# aifactory:waive SOV-01O reason="x" expires=2099-01-01', "unknown rule id"),
        ('# aifactory:waive SOV-001 reason="x" expires=2099-01-01', "cannot be waived"),
    ],
)
def test_bad_waivers_are_usage_errors(repo: Path, comment: str, needle: str) -> None:
    _waive(f"    vendor_telemetry: true  {comment}\n")
    code, out = _check("factory.yaml")
    assert 2 == code and needle in str(out) and "factory.yaml:4" in str(out)


def test_config_levels_and_unknown_ids(repo: Path) -> None:
    Path(".aifactory-policy.yaml").write_text("version: 1\nrules:\n  SOV-010: advisory\n")
    assert 0 == _check("factory.yaml")[0]
    assert 1 == _check("factory.yaml", "--fail-on", "high")[0]
    Path(".aifactory-policy.yaml").write_text("rules:\n  SOV-01O: disabled\n")
    code, out = _check("factory.yaml")
    assert 2 == code and "did you mean SOV-010" in str(out) and ".aifactory-policy.yaml:2" in str(out)
