"""The CLI through Typer's runner and as a real `python cli.py` process."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from aifactory.blueprint import load_tree
from aifactory.blueprint.stackfile import load_source
from aifactory.blueprint.yamlsrc import to_plain
from aifactory.cli.main import app
from tests.conftest import REPO, run_cli

NAMES = sorted(p.stem for p in (REPO / "blueprints").glob("*.yaml"))
runner = CliRunner()


@pytest.fixture(scope="module")
def schema() -> dict[str, object]:
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0, result.output
    doc: dict[str, object] = json.loads(result.stdout)
    return doc


def test_schema_is_valid_json_schema(schema: dict[str, object]) -> None:
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


@pytest.mark.parametrize("name", NAMES)
def test_every_reference_blueprint_validates_against_the_schema(name: str, schema: dict[str, object]) -> None:
    data = to_plain(load_tree(name))
    errors = [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(data)]
    assert errors == []


def test_schema_accepts_an_unresolved_file_with_extends(schema: dict[str, object]) -> None:
    """An editor sees the file itself: with `extends:` nothing is required, the base supplies what is missing."""
    raw = yaml.safe_load((REPO / "tests/hostile/bases/chain-1.yaml").read_text(encoding="utf-8"))
    errors = [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(raw)]
    assert [] == errors


def test_schema_rejects_a_typo(schema: dict[str, object]) -> None:
    data = to_plain(load_tree("lab"))
    data["compute"]["scalable_unit"] = 2
    assert not jsonschema.Draft202012Validator(schema).is_valid(data)


def test_schema_out_writes_the_same_bytes(tmp_path: Path, schema: dict[str, object]) -> None:
    out = tmp_path / "schema" / "blueprint.schema.json"
    result = run_cli("schema", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert schema == json.loads(out.read_text(encoding="utf-8"))
    assert [out.name] == [p.name for p in out.parent.iterdir()]  # no temporary file left behind


def test_validate_every_reference_blueprint_as_a_process() -> None:
    result = run_cli("validate", "--format", "json", *(f"blueprints/{n}.yaml" for n in NAMES))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["valid"], [r["name"] for r in report["results"]]) == (True, NAMES)


def test_validate_text_names_each_file_ok() -> None:
    result = runner.invoke(app, ["validate", "lab", "blueprints/mi300x-roce.yaml"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["ok    lab (lab)", "ok    blueprints/mi300x-roce.yaml (mi300x-roce)"]


def test_validate_json_with_a_bad_file_reports_both_and_exits_2() -> None:
    result = runner.invoke(app, ["validate", "-f", "json", "lab", "tests/hostile/cases/dup-key.yaml"])
    assert result.exit_code == 2
    report = json.loads(result.stdout)
    assert [r["valid"] for r in report["results"]] == [True, False]
    assert [p["line"] for p in report["results"][1]["problems"]] == [4]


def test_validate_set_applies_to_the_file() -> None:
    ok = runner.invoke(app, ["validate", "lab", "--set", "compute.nodes=3"])
    bad = runner.invoke(app, ["validate", "lab", "--set", "compute.nodes=0"])
    assert (ok.exit_code, bad.exit_code) == (0, 2)
    assert "--set compute.nodes=0: compute.nodes:" in bad.stderr


def test_blueprints_list_json_is_stable_and_sorted() -> None:
    first = run_cli("blueprints", "list", "--format", "json")
    second = runner.invoke(app, ["blueprints", "list", "--format", "json"])
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    rows = json.loads(first.stdout)["blueprints"]
    assert [r["name"] for r in rows] == NAMES
    assert first.stdout == json.dumps(json.loads(first.stdout), indent=2, sort_keys=True) + "\n"
    assert {"name": "lab", "gpu": "cpu", "fabric": "ethernet", "storage": "nfs", "orchestrator": "slurm"}.items() \
        <= next(r for r in rows if r["name"] == "lab").items()


def test_blueprints_list_table_names_every_blueprint() -> None:
    result = runner.invoke(app, ["blueprints", "list"])
    assert result.exit_code == 0, result.output
    assert all(name in result.stdout for name in NAMES)


def test_blueprints_show_prints_the_file() -> None:
    result = runner.invoke(app, ["blueprints", "show", "lab"])
    assert result.exit_code == 0, result.output
    assert (REPO / "blueprints" / "lab.yaml").read_text(encoding="utf-8") == result.stdout


def test_blueprints_show_unknown_name_suggests() -> None:
    result = runner.invoke(app, ["blueprints", "show", "dgx-h100-superpd"])
    assert result.exit_code == 2
    assert "did you mean 'dgx-h100-superpod'?" in result.stderr


def test_catalog_list_json_has_every_kind() -> None:
    result = runner.invoke(app, ["catalog", "list", "--format", "json"])
    assert result.exit_code == 0, result.output
    kinds = ["cdus", "cooling", "gpus", "nodes", "regions", "switches", "transceivers"]
    assert sorted(json.loads(result.stdout)) == kinds


def test_catalog_list_one_kind_shows_sources() -> None:
    result = runner.invoke(app, ["catalog", "list", "gpus"])
    assert result.exit_code == 0, result.output
    assert "bf16_tflops: 989.0  [NVIDIA H100 datasheet (dense), REFERENCE-DATA.md s1]" in result.stdout


def test_init_writes_a_stack_that_validates_and_refuses_to_overwrite(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["init", "--blueprint", "dgx-h200-sovereign-eu", "--region", "fi-kajaani"])
    assert result.exit_code == 0, result.output
    stack = tmp_path / "stacks" / "Pulumi.fi-kajaani.yaml"
    loaded, config = load_source("stacks/Pulumi.fi-kajaani.yaml")
    assert config is not None
    assert (loaded.model.site.region, loaded.model.site.jurisdiction,
                                          loaded.model.site.sovereignty.residency.data) == ("fi-kajaani", "FI", "FI")
    written = stack.read_bytes()
    again = runner.invoke(app, ["init", "--blueprint", "lab", "--region", "fi-kajaani"])
    assert again.exit_code == 2
    assert "already exists" in again.stderr
    assert written == stack.read_bytes()
    forced = runner.invoke(app, ["init", "--blueprint", "dgx-h200-sovereign-eu", "--region", "fi-kajaani",
                                 "--force"])
    assert forced.exit_code == 0, forced.output
    assert written == stack.read_bytes()  # same input, same bytes
    assert sorted(p.name for p in stack.parent.iterdir()) == ["Pulumi.fi-kajaani.yaml"]


def test_init_as_a_process_then_validate_the_stack(tmp_path: Path) -> None:
    made = run_cli("init", "-b", "lab", "-r", "de-julich", "--stacks-dir", str(tmp_path / "stacks"))
    assert made.returncode == 0, made.stderr
    checked = run_cli("validate", "--format", "json", str(tmp_path / "stacks" / "Pulumi.de-julich.yaml"))
    assert checked.returncode == 0, checked.stderr
    assert json.loads(checked.stdout)["results"][0]["stack"] == "de-julich"


def test_version_and_help() -> None:
    assert "aifactory 0.1.0" in runner.invoke(app, ["--version"]).stdout
    helped = run_cli("--help")
    assert helped.returncode == 0
    assert all(cmd in helped.stdout for cmd in ("validate", "schema", "init", "blueprints", "catalog"))


def test_missing_file_is_a_user_error_not_a_crash() -> None:
    result = run_cli("validate", "no/such/file.yaml")
    assert result.returncode == 2
    assert result.stderr.startswith("error: no/such/file.yaml: no such file")
    assert "Traceback" not in result.stderr
