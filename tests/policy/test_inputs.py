"""`policy check` takes folders and globs as Checkov and conftest do: which files, in which order, and refusals."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aifactory.cli.main import app
from aifactory.errors import UserError
from aifactory.policy.inputs import expand, kind_of

runner = CliRunner()
SITE = "extends: dgx-h200-sovereign-eu\nsite:\n  sovereignty:\n    vendor_telemetry: true\n"
STACK = "config:\n  aifactory:blueprint: dgx-h200-sovereign-eu\n"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / ".git").mkdir()
    files = {
        "blueprints/site.yaml": SITE,
        "blueprints/b/nested.yml": "# the lab, deeper\napiVersion: aifactory/v1\nkind: Blueprint\nextends: lab\n",
        "blueprints/a-quoted.yaml": '"extends": dgx-h100-superpod\n"name": "a"\n',
        "stacks/Pulumi.yaml": "name: infra\nruntime: python\n",
        "stacks/Pulumi.eu.yaml": STACK,
        "stacks/Pulumi.other.yaml": "config:\n  aws:region: eu-west-1\n",  # another Pulumi project's stack
        ".github/workflows/ci.yaml": "on: push\njobs: {}\n",
        "deploy/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n",
        ".yamllint.yaml": "extends: default\nrules: {}\n",
        "yamllint.yaml": "extends: default\nrules: {}\n",
        "node_modules/pkg/x.yaml": SITE,
        "docs/notes.txt": SITE,
    }
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_folder_is_walked_for_blueprints_and_stack_files_in_sorted_order(repo: Path) -> None:
    assert [
        "blueprints/a-quoted.yaml",
        "blueprints/site.yaml",
        "blueprints/b/nested.yml",
        "stacks/Pulumi.eu.yaml",
    ] == expand(["."])
    assert ["stacks/Pulumi.eu.yaml"] == expand(["stacks"])


def test_a_quoted_glob_is_expanded_by_the_tool(repo: Path) -> None:
    assert ["blueprints/a-quoted.yaml", "blueprints/site.yaml"] == expand(["blueprints/*.yaml"])
    assert ["blueprints/a-quoted.yaml", "blueprints/b/nested.yml", "blueprints/site.yaml"] == expand(
        ["blueprints/**/*.y*ml"]
    )
    assert ["stacks/Pulumi.eu.yaml"] == expand(["stacks/Pulumi.*.yaml"])  # Pulumi.other names no blueprint


def test_files_are_checked_once_in_argument_order(repo: Path) -> None:
    assert ["stacks/Pulumi.eu.yaml", "blueprints/site.yaml", "blueprints/a-quoted.yaml"] == expand(
        ["stacks/Pulumi.eu.yaml", "blueprints/site.yaml", "blueprints/*.yaml", "./blueprints/site.yaml"]
    )
    # a named file is checked as named, a catalogue name passes through
    assert ["yamllint.yaml", "lab"] == expand(["yamllint.yaml", "lab"])


def test_no_match_is_exit_2_naming_the_pattern(repo: Path) -> None:
    for arg in ("blueprints/*.json", "missing/**/*.yaml", "docs", "deploy"):
        done = runner.invoke(app, ["policy", "check", arg])
        assert 2 == done.exit_code, done.output
        assert arg in done.output and "matches no blueprint or stack file" in done.output
        assert "Traceback" not in done.output


def test_cli_checks_a_folder_and_a_glob(repo: Path) -> None:
    done = runner.invoke(app, ["policy", "check", "blueprints", "--format", "json"])
    assert 1 == done.exit_code, done.output  # site.yaml turns vendor telemetry on
    data = json.loads(done.stdout)
    assert ["blueprints/a-quoted.yaml", "blueprints/site.yaml", "blueprints/b/nested.yml"] == data["files"][:3]
    done = runner.invoke(app, ["policy", "check", "stacks/*.yaml", "--format", "json"])
    assert ["stacks/Pulumi.eu.yaml"] == json.loads(done.stdout)["files"]


def test_a_broken_blueprint_in_a_folder_is_not_skipped(repo: Path) -> None:
    (repo / "blueprints" / "broken.yaml").write_text("apiVersion: aifactory/v1\nsite: [\n", encoding="utf-8")
    done = runner.invoke(app, ["policy", "check", "blueprints"])
    assert 2 == done.exit_code and "blueprints/broken.yaml:" in done.output


def test_a_fifo_among_the_yaml_files_is_refused(repo: Path) -> None:
    os.mkfifo(repo / "blueprints" / "pipe.yaml")
    with pytest.raises(UserError, match="FIFO"):
        expand(["blueprints"])
    done = runner.invoke(app, ["policy", "check", "blueprints/*.yaml"])
    assert 2 == done.exit_code and "pipe.yaml" in done.output


def test_symlinked_folders_are_not_followed_and_links_count_once(repo: Path) -> None:
    (repo / "loop").mkdir()
    (repo / "loop" / "back").symlink_to(repo)  # a walk that followed it would never end
    (repo / "blueprints" / "z-link.yaml").symlink_to(repo / "blueprints" / "site.yaml")
    found = expand(["."])
    assert "blueprints/z-link.yaml" not in found and "blueprints/site.yaml" in found
    (repo / "blueprints" / "dangling.yaml").symlink_to(repo / "nowhere.yaml")
    with pytest.raises(UserError, match=r"dangling\.yaml"):
        expand(["blueprints"])


def test_what_counts_as_a_blueprint(tmp_path: Path) -> None:
    cases = {
        "kind.yaml": ("kind: Blueprint\n", "blueprint"),
        "api.yaml": ("apiVersion: 'aifactory/v1'\n", "blueprint"),
        "extends.yaml": ("extends: lab\ncompute:\n  nodes: 2\n", "blueprint"),
        "lint.yaml": ("extends: default\nrules: {}\n", ""),
        "nested-kind.yaml": ("spec:\n  kind: Blueprint\n", ""),
        "k8s.yaml": ("apiVersion: v1\nkind: ConfigMap\n", ""),
        "Pulumi.dev.yaml": ("config:\n  'aifactory:blueprint': lab\n", "stack"),
        "Pulumi.prod.yaml": ("kind: Blueprint\n", ""),  # a stack file's name: a stack or nothing
    }
    for name, (text, kind) in cases.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        assert kind == kind_of(tmp_path / name, name), name
