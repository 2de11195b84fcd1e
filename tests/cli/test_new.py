"""`aifactory new`: the scaffolded repository works as written, with the commands and with its own Pulumi
program; bad targets and names are refused with exit 2 and leave nothing behind."""

from __future__ import annotations

import configparser
import json
import os
import re
import runpy
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from aifactory import scaffold
from aifactory.blueprint.stackfile import read_stack_file
from aifactory.cli.main import app
from aifactory.errors import UserError
from tests.conftest import REPO, run_cli

BP, REGION = "dgx-h200-sovereign-eu", "de-stuttgart"
SITE = f"blueprints/{REGION}.yaml"
STACK = f"stacks/Pulumi.{REGION}.yaml"
FILES = sorted([".github/workflows/aifactory.yml", ".gitignore", ".pre-commit-config.yaml", "README.md",
                "ansible.cfg", SITE, STACK, "schema/blueprint.schema.json", "stacks/Pulumi.yaml", "stacks/__main__.py"])


def _new(target: Path, *extra: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return run_cli("new", str(target), "--blueprint", BP, "--region", REGION, *extra, cwd=cwd or target.parent)


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("new") / "infra"
    done = _new(root, "--format", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report == {"blueprint": BP, "directory": str(root), "files": FILES, "region": REGION, "site": REGION}
    return root


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_it_writes_exactly_the_reported_files_deterministically(made: Path, tmp_path: Path) -> None:
    assert sorted(_tree(made)) == FILES
    again = tmp_path / "elsewhere" / "other"
    again.parent.mkdir()
    assert _new(again).returncode == 0
    assert _tree(again) == _tree(made)  # byte for byte, wherever it is written
    mode = (made / SITE).stat().st_mode & 0o777
    assert mode == 0o666 & ~_umask()  # repository files, not 0600 temporaries


def _umask() -> int:
    old = os.umask(0)
    os.umask(old)
    return old


def test_every_yaml_file_parses_and_the_site_blueprint_extends_the_catalogue_one(made: Path) -> None:
    for name in FILES:
        if name.endswith((".yaml", ".yml")):
            assert yaml.safe_load((made / name).read_text(encoding="utf-8")) is not None, name
    site = yaml.safe_load((made / SITE).read_text(encoding="utf-8"))
    assert site["extends"] == BP
    assert site["site"]["region"] == REGION and site["site"]["jurisdiction"] == "DE"
    stack = yaml.safe_load((made / STACK).read_text(encoding="utf-8"))["config"]
    assert stack == {"aifactory:blueprint": SITE, "aifactory:region": REGION}


@pytest.mark.parametrize("where", ["inside", "elsewhere"])
def test_validate_and_policy_check_pass_as_written(made: Path, tmp_path: Path, where: str) -> None:
    cwd, prefix = (made, "") if where == "inside" else (tmp_path, f"{made}/")
    files = [f"{prefix}{SITE}", f"{prefix}{STACK}"]
    validated = run_cli("validate", *files, cwd=cwd)
    assert validated.returncode == 0, validated.stdout + validated.stderr
    assert validated.stdout.count("ok ") == 2
    checked = run_cli("policy", "check", *files, cwd=cwd)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "PASS" in checked.stdout


def test_plan_and_render_of_its_stack(made: Path, tmp_path: Path) -> None:
    planned = run_cli("plan", STACK, "--format", "json", cwd=made)
    assert planned.returncode == 0, planned.stderr
    assert json.loads(planned.stdout)  # a plan document
    out = tmp_path / "k8s"
    rendered = run_cli("render", STACK, "--out", str(out), "--kubernetes", cwd=made)
    assert rendered.returncode == 0, rendered.stderr
    assert (out / "kubernetes" / "kustomization.yaml").is_file()
    objects = [yaml.safe_load(p.read_text()) for p in (out / "kubernetes").rglob("*.yaml")
               if p.name != "kustomization.yaml"]
    assert objects and {o["metadata"]["labels"]["aifactory.io/blueprint"] for o in objects} == {REGION}
    assert REGION in {o["metadata"]["labels"].get("aifactory.io/region") for o in objects}


def test_the_stack_resolves_its_blueprint_inside_the_scaffold(made: Path) -> None:
    stack = read_stack_file(made / STACK)
    assert stack.blueprint_path() == (made / SITE).resolve()


def test_a_scaffold_inside_a_larger_git_repository_still_resolves_its_own_blueprint(tmp_path: Path) -> None:
    mono = tmp_path / "mono"
    (mono / ".git").mkdir(parents=True)
    target = mono / "infra" / "ai"
    target.parent.mkdir()
    assert _new(target).returncode == 0
    assert read_stack_file(target / STACK).blueprint_path() == (target / SITE).resolve()
    assert run_cli("validate", f"infra/ai/{STACK}", cwd=mono).returncode == 0


def test_ansible_cfg_names_the_installed_collection(made: Path) -> None:
    cfg = configparser.ConfigParser()
    cfg.read_string((made / "ansible.cfg").read_text(encoding="utf-8"))
    path = Path(cfg["defaults"]["collections_path"])
    assert path == scaffold.ansible_collections_path() and path.is_absolute()
    assert (path / "ansible_collections" / "aifactory" / "factory" / "roles").is_dir()


def test_pre_commit_uses_this_projects_hook_on_the_scaffolds_files(made: Path) -> None:
    config = yaml.safe_load((made / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    (repo,) = config["repos"]
    hooks = {h["id"]: h for h in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))}
    assert [h["id"] for h in repo["hooks"]] == ["aifactory-policy"]
    assert set(repo["hooks"][0]) <= {"id"} and "aifactory-policy" in hooks
    pattern = re.compile(hooks["aifactory-policy"]["files"])
    assert pattern.search(SITE) and pattern.search(STACK) and not pattern.search("stacks/Pulumi.yaml")


def test_its_pulumi_program_is_the_packaged_one_and_runs_under_mocks(made: Path) -> None:
    """stacks/__main__.py as Pulumi starts it (in stacks/), under the SDK's mocks: it creates the stack's
    resources from the scaffold's own site blueprint."""
    import pulumi

    from tests.pulumi.mocks import CLUSTER, TEST_SECRETS, Recorder, engine_config

    rec = Recorder()
    pulumi.runtime.set_mocks(rec, project=REGION, stack=REGION, preview=False)
    # The stack's config secrets and cluster, in the scaffold's project namespace (`pulumi config set --secret
    # NAME`), and the stack file's settings as the engine hands them to the program.
    config = {f"{REGION}:{k}": v for k, v in {**TEST_SECRETS, **CLUSTER}.items()}
    plain = engine_config(made / "stacks" / f"Pulumi.{REGION}.yaml")
    pulumi.runtime.set_all_config({**plain, **config}, secret_keys=sorted(config))
    cwd = Path.cwd()
    os.chdir(made / "stacks")
    try:
        @pulumi.runtime.test  # type: ignore[misc]
        def program() -> None:
            runpy.run_path(str(made / "stacks" / "__main__.py"), run_name="__main__")

        program()
        ran_in = Path.cwd()
    finally:
        os.chdir(cwd)
    assert ran_in == made  # the program runs at the repository root, as the commands do
    types = rec.types()
    assert types.get("aifactory:compute:NodeGroups") == 1
    k8s = [r for r in rec.resources if r.typ.startswith("kubernetes:") and r.inputs.get("metadata")]
    assert k8s and {r.inputs["metadata"]["labels"]["aifactory.io/blueprint"] for r in k8s} == {REGION}
    # The blueprint name is the site blueprint's own (`name: de-stuttgart`): the one in the scaffold was loaded.
    assert REGION in {r.inputs["metadata"]["labels"].get("aifactory.io/region") for r in k8s}


def test_an_empty_existing_folder_is_used(tmp_path: Path) -> None:
    target = tmp_path / "empty"
    target.mkdir()
    assert _new(target).returncode == 0
    assert sorted(_tree(target)) == FILES


def _refused(result: Any, *words: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for word in words:
        assert word in result.output


def _invoke(*args: str) -> Any:
    return CliRunner().invoke(app, ["new", *args])


def _nothing_left(parent: Path, keep: set[str]) -> None:
    assert {p.name for p in parent.iterdir()} == keep  # no half-written repository, no temporary folder


def test_a_folder_with_files_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "busy"
    target.mkdir()
    (target / "keep.txt").write_text("mine\n")
    _refused(_invoke(str(target), "-b", BP, "-r", REGION), "not empty")
    assert sorted(p.name for p in target.iterdir()) == ["keep.txt"]
    _nothing_left(tmp_path, {"busy"})


def test_a_file_or_a_path_under_a_file_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "file"
    file.write_text("x\n")
    _refused(_invoke(str(file), "-b", BP, "-r", REGION), "is a file")
    _refused(_invoke(str(file / "repo"), "-b", BP, "-r", REGION), "under a file")
    _refused(_invoke(str(tmp_path / "no" / "such" / "repo"), "-b", BP, "-r", REGION), "does not exist")
    _nothing_left(tmp_path, {"file"})


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into any folder")
def test_an_unwritable_folder_is_refused(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        _refused(_invoke(str(locked / "repo"), "-b", BP, "-r", REGION), "not writable")
    finally:
        locked.chmod(0o700)
    assert list(locked.iterdir()) == []


def test_unknown_blueprint_region_site_and_format_are_refused_with_suggestions(tmp_path: Path) -> None:
    target = str(tmp_path / "repo")
    _refused(_invoke(target, "-b", "dgx-h200-sovereign", "-r", REGION), "no catalogue blueprint",
             "did you mean 'dgx-h200-sovereign-eu'")
    _refused(_invoke(target, "-b", BP, "-r", "de-stutgart"), "unknown region", "did you mean 'de-stuttgart'")
    _refused(_invoke(target, "-b", "blueprints/lab.yaml", "-r", REGION), "no catalogue blueprint")
    _refused(_invoke(target, "-b", BP, "-r", REGION, "--site", "Not A Label"), "DNS label")
    _refused(_invoke(target, "-b", BP, "-r", REGION, "--format", "yaml"), "--format")
    _nothing_left(tmp_path, set())


def test_a_failure_after_writing_began_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(built: scaffold.Scaffold, root: Path) -> None:
        assert (root / SITE).is_file()  # written, in the temporary folder
        raise UserError.at(None, "the check failed")

    monkeypatch.setattr(scaffold, "check", broken)
    _refused(_invoke(str(tmp_path / "repo"), "-b", BP, "-r", REGION), "the check failed")
    _nothing_left(tmp_path, set())


def test_a_folder_the_system_will_not_let_it_write_in_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As root every folder passes the access check; the write itself can still be refused (read-only mounts)."""
    def refuse(*args: Any, **kwargs: Any) -> str:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(scaffold.tempfile, "mkdtemp", refuse)
    _refused(_invoke(str(tmp_path / "repo"), "-b", BP, "-r", REGION), "cannot write in", "Permission denied")
    _nothing_left(tmp_path, set())


def test_diff_base_in_a_scaffold_keeps_the_installed_catalogue(tmp_path: Path) -> None:
    """`--diff-base` reads the base tree from git; in a user's repository (no catalogue of its own) a
    catalogue name in `extends:` must still mean the installed catalogue, not the base tree's blueprints/."""
    repo = tmp_path / "infra"
    assert _new(repo).returncode == 0
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    for args in (["init", "-q"], ["add", "."], ["commit", "-qm", "base"]):
        subprocess.run([*git, *args], cwd=repo, check=True, capture_output=True, timeout=60)
    done = run_cli("policy", "check", "--diff-base", "HEAD", SITE, STACK, cwd=repo)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 finding(s)" in done.stdout  # nothing is new against the base
