"""The one stack-file reader: every command that reads a stack (validate, plan, policy check, render --stack,
the Pulumi program behind up/preview) resolves `aifactory:blueprint` by one rule, relative to the repository
root, and refuses hostile values with one message at the stack file's line."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aifactory.blueprint.stackfile import load_source, read_stack
from aifactory.cli.main import app
from aifactory.errors import UserError

REPO = Path(__file__).resolve().parents[2]
LAB = (REPO / "blueprints" / "lab.yaml").read_text(encoding="utf-8")
runner = CliRunner()


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _blueprint(name: str) -> str:
    assert "\nname: lab\n" in LAB
    return LAB.replace("\nname: lab\n", f"\nname: {name}\n")


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository (cwd) with blueprints/labcopy.yaml, decoys where the old readers looked, and a valid
    blueprint just outside it."""
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    _write(repo / "blueprints" / "labcopy.yaml", _blueprint("labcopy"))
    # Decoys: relative to the stack's folder (old `policy check`) and to its parent (old `validate`).
    _write(repo / "deploy" / "stacks" / "blueprints" / "labcopy.yaml", _blueprint("decoy-folder"))
    _write(repo / "deploy" / "blueprints" / "labcopy.yaml", _blueprint("decoy-parent"))
    _write(tmp_path / "outside.yaml", _blueprint("outside"))
    monkeypatch.chdir(repo)
    return repo


def _stack(repo: Path, value: str, name: str = "t") -> Path:
    return _write(repo / "deploy" / "stacks" / f"Pulumi.{name}.yaml",
                  f"config:\n  aifactory:blueprint: {value}\n  aifactory:region: de-julich\n")


def _names_seen(stack: str, stacks_dir: str, name: str, out: Path) -> dict[str, object]:
    """The blueprint name each command loaded for the stack file."""
    validate = runner.invoke(app, ["validate", "--format", "json", stack])
    plan = runner.invoke(app, ["plan", "--format", "json", stack])
    render = runner.invoke(app, ["render", "--kubernetes", "--stack", name, "--stacks-dir", stacks_dir,
                                 "--out", str(out), "--format", "json"])
    policy = runner.invoke(app, ["policy", "check", "--format", "json", stack])
    assert 0 == validate.exit_code, validate.output
    assert 0 == render.exit_code, render.output
    assert plan.exit_code in (0, 1), plan.output
    assert policy.exit_code in (0, 1), policy.output
    files = {f["file"] for f in json.loads(policy.stdout)["findings"]}
    return {
        "validate": json.loads(validate.stdout)["results"][0]["name"],
        "plan": json.loads(plan.stdout)["blueprint"],
        "render": json.loads(render.stdout)["blueprint"],
        "policy": "labcopy" if files and files <= {"blueprints/labcopy.yaml", stack} else sorted(files),
    }


def test_a_path_is_relative_to_the_repository_root_in_every_command(scratch: Path, tmp_path: Path) -> None:
    stack = _stack(scratch, "blueprints/labcopy.yaml")
    seen = _names_seen("deploy/stacks/Pulumi.t.yaml", "deploy/stacks", "t", tmp_path / "out")
    assert {"validate": "labcopy", "plan": "labcopy", "render": "labcopy", "policy": "labcopy"} == seen
    from aifactory.deploy.pulumi import prepare

    assert "labcopy" == prepare("t", stack.parent).loaded.model.name
    loaded, found = load_source(str(stack))
    assert found is not None and ("labcopy", "de-julich") == (loaded.model.name, found.region_of(loaded))


def test_the_rule_does_not_depend_on_the_working_directory(scratch: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stack = _stack(scratch, "blueprints/labcopy.yaml")
    _write(scratch / "deploy" / "stacks" / "blueprints" / "labcopy.yaml", "decoy: [\n")  # cwd-relative decoy
    monkeypatch.chdir(stack.parent)
    done = runner.invoke(app, ["validate", "--format", "json", "Pulumi.t.yaml"])
    assert 0 == done.exit_code, done.output
    assert "labcopy" == json.loads(done.stdout)["results"][0]["name"]


def test_a_catalogue_name_and_a_missing_region(scratch: Path) -> None:
    stack = _write(scratch / "stacks" / "Pulumi.lab.yaml", "config:\n  aifactory:blueprint: lab\n")
    loaded, found = load_source(str(stack))
    assert found is not None
    assert ("lab", "local", "lab") == (loaded.model.name, found.region_of(loaded), found.name)
    assert "stacks/Pulumi.lab.yaml" == loaded.source  # the file under review, for every command


HOSTILE = {
    "absolute": ("/etc/passwd", "`aifactory:blueprint: /etc/passwd` is an absolute path"),
    "dotdot": ("../outside.yaml", "`aifactory:blueprint: ../outside.yaml` points outside the repository"),
    "symlink": ("blueprints/link.yaml", "`aifactory:blueprint: blueprints/link.yaml` points outside the repository"),
    "list": ("[lab]", "`aifactory:blueprint` must be a catalogue name or a path"),
    "number": ("42", "`aifactory:blueprint` must be a catalogue name or a path"),
    "empty": ('""', "`aifactory:blueprint` must be a catalogue name or a path"),
    "missing": ("blueprints/nope.yaml", "`aifactory:blueprint: blueprints/nope.yaml` is neither a catalogue"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_stack_values_give_one_message_in_every_command(case: str, scratch: Path, tmp_path: Path) -> None:
    value, message = HOSTILE[case]
    os.symlink(tmp_path / "outside.yaml", scratch / "blueprints" / "link.yaml")
    stack = _stack(scratch, value)
    shown = "deploy/stacks/Pulumi.t.yaml"
    out = tmp_path / "out"
    results = {
        "validate": runner.invoke(app, ["validate", shown]),
        "policy check": runner.invoke(app, ["policy", "check", shown]),
        "plan": runner.invoke(app, ["plan", shown]),
        "render --stack": runner.invoke(app, ["render", "--kubernetes", "--stack", "t",
                                              "--stacks-dir", "deploy/stacks", "--out", str(out)]),
        "render FILE": runner.invoke(app, ["render", shown, "--kubernetes", "--out", str(out)]),
    }
    assert {name: 2 for name in results} == {name: r.exit_code for name, r in results.items()}
    messages = {r.stderr for r in results.values()}
    assert 1 == len(messages), messages
    text = messages.pop()
    assert text.startswith(f"error: {shown}:2:"), text
    assert message in text and "\n  fix: " in text
    assert "" == "".join(r.stdout for r in results.values())
    assert not out.exists()
    from aifactory.deploy.pulumi import prepare

    with pytest.raises(UserError) as err:  # the Pulumi program behind `up`/`preview`
        prepare("t", stack.parent)
    assert f"error: {err.value}\n" == text


def test_a_stack_named_by_the_pulumi_convention_must_be_one(scratch: Path) -> None:
    _write(scratch / "stacks" / "Pulumi.bare.yaml", "site: {}\n")
    with pytest.raises(UserError, match=r"stacks/Pulumi\.bare\.yaml:1:1: stack file has no `config: aifactory:"):
        read_stack("bare", scratch / "stacks")
    _write(scratch / "stacks" / "Pulumi.yaml", "name: aifactory\nruntime: python\n")
    done = runner.invoke(app, ["validate", "stacks/Pulumi.yaml"])
    assert 2 == done.exit_code and "Pulumi project file" in done.stderr


@pytest.mark.parametrize("name", ["../Pulumi.t", "", "..", "a/b"])
def test_a_stack_name_is_not_a_path(name: str, scratch: Path) -> None:
    _stack(scratch, "lab")
    with pytest.raises(UserError, match="no stack named"):
        read_stack(name, scratch / "deploy" / "stacks")


def test_a_region_that_is_no_string_is_refused_at_its_line(scratch: Path) -> None:
    stack = _write(scratch / "stacks" / "Pulumi.r.yaml",
                   "config:\n  aifactory:blueprint: lab\n  aifactory:region: [de]\n")
    with pytest.raises(UserError, match=r"Pulumi\.r\.yaml:3:\d+: `aifactory:region` must be a region id"):
        load_source(str(stack))
