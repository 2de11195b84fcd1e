"""`aifactory init --blueprint PATH` writes a stack that validate, plan, policy check and render --stack load
the same way (through the CLI), from whichever folder it was run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from aifactory.cli.main import app

REPO = Path(__file__).resolve().parents[2]
LAB = (REPO / "blueprints" / "lab.yaml").read_text(encoding="utf-8")
runner = CliRunner()


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "designs").mkdir()
    (repo / "designs" / "mine.yaml").write_text(LAB.replace("\nname: lab\n", "\nname: mine\n"), encoding="utf-8")
    (repo / "ops").mkdir()
    # Where the old readers would have looked for `designs/mine.yaml` (the stacks folder): a broken decoy.
    (repo / "stacks" / "designs").mkdir(parents=True)
    (repo / "stacks" / "designs" / "mine.yaml").write_text("decoy: [\n", encoding="utf-8")
    monkeypatch.chdir(repo)
    return repo


def _loaded_by_every_command(stack: str, blueprint_file: str = "designs/mine.yaml") -> set[str]:
    validate = runner.invoke(app, ["validate", "--format", "json", stack])
    plan = runner.invoke(app, ["plan", "--format", "json", stack])
    policy = runner.invoke(app, ["policy", "check", "--format", "json", stack])
    render = runner.invoke(app, ["render", "--kubernetes", "--stack", "de-julich", "--stacks-dir", "stacks",
                                 "--out", "out", "--format", "json"])
    for done in (validate, plan, policy, render):
        assert done.exit_code in (0, 1), done.output
    assert 0 == validate.exit_code and 0 == render.exit_code
    files = {f["file"] for f in json.loads(policy.stdout)["findings"]}
    assert files and files <= {stack, blueprint_file}, files
    return {
        json.loads(validate.stdout)["results"][0]["name"],
        json.loads(plan.stdout)["blueprint"],
        json.loads(render.stdout)["blueprint"],
    }


def test_init_from_the_root_with_a_path(scratch: Path) -> None:
    done = runner.invoke(app, ["init", "--blueprint", "designs/mine.yaml", "--region", "de-julich"])
    assert 0 == done.exit_code, done.output
    written = yaml.safe_load((scratch / "stacks" / "Pulumi.de-julich.yaml").read_text(encoding="utf-8"))
    assert "designs/mine.yaml" == written["config"]["aifactory:blueprint"]
    assert {"mine"} == _loaded_by_every_command("stacks/Pulumi.de-julich.yaml")


def test_init_from_a_subfolder_writes_the_same_root_relative_path(scratch: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(scratch / "ops")
    done = runner.invoke(app, ["init", "--blueprint", "../designs/mine.yaml", "--region", "de-julich",
                               "--stacks-dir", "../stacks"])
    assert 0 == done.exit_code, done.output
    written = yaml.safe_load((scratch / "stacks" / "Pulumi.de-julich.yaml").read_text(encoding="utf-8"))
    assert "designs/mine.yaml" == written["config"]["aifactory:blueprint"]
    monkeypatch.chdir(scratch)
    assert {"mine"} == _loaded_by_every_command("stacks/Pulumi.de-julich.yaml")


def test_init_refuses_a_blueprint_outside_the_repository(scratch: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.yaml"
    outside.write_text(LAB, encoding="utf-8")
    done = runner.invoke(app, ["init", "--blueprint", str(outside), "--region", "de-julich"])
    assert 2 == done.exit_code
    assert done.stderr.startswith(f"error: --blueprint {outside}: the blueprint is outside the repository")
    assert "\n  fix: " in done.stderr
    assert not (scratch / "stacks" / "Pulumi.de-julich.yaml").exists()


def test_init_keeps_a_catalogue_name(scratch: Path) -> None:
    done = runner.invoke(app, ["init", "--blueprint", "lab", "--region", "de-julich"])
    assert 0 == done.exit_code, done.output
    written = yaml.safe_load((scratch / "stacks" / "Pulumi.de-julich.yaml").read_text(encoding="utf-8"))
    assert "lab" == written["config"]["aifactory:blueprint"]
    # A catalogue file is shown by its catalogue path, wherever the package is installed.
    assert {"lab"} == _loaded_by_every_command("stacks/Pulumi.de-julich.yaml", "blueprints/lab.yaml")
