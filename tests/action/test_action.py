"""The composite action (action.yml) and the workflows that use it: parsed, and the action's shell steps run as
GitHub runs them on a real git repository with a base commit and a pull-request-like commit."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from aifactory import __version__
from aifactory.scaffold import CHECK_GLOBS, SETTINGS_GLOBS
from tests.action.runner import ActionRun, Context, base_env, run_action
from tests.conftest import CLI, REPO

ACTION = REPO / "action.yml"
WORKFLOW = REPO / ".github" / "workflows" / "policy.yml"
BIN = Path(sys.executable).parent
SARIF_SCHEMA = json.loads((REPO / "tests" / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
ANNOTATION = re.compile(r"^::(error|warning|notice) (?:[^:]*?)::", re.M)


def _yaml(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return doc


def _lines(block: str) -> list[str]:
    return [line.strip() for line in block.splitlines() if line.strip()]


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args], cwd=repo,
                          capture_output=True, text=True, check=True, timeout=60)
    return done.stdout


def _stand_in_install(ctx: Context) -> dict[str, str]:
    """The install step's outputs: this test environment's aifactory (the real install is a slow test)."""
    return {"aifactory": str(BIN / "aifactory")}


# --- the files ---------------------------------------------------------------------------------------------


def test_action_metadata_is_complete_and_scripts_take_inputs_only_through_env() -> None:
    doc = _yaml(ACTION)
    assert doc["runs"]["using"] == "composite"
    assert {"files", "base", "fail-on", "baseline", "version", "also-on", "upload-sarif"} <= set(doc["inputs"])
    assert all(spec.get("description") for spec in doc["inputs"].values())
    steps = doc["runs"]["steps"]
    ids = {s["id"] for s in steps if "id" in s}
    for step in steps:
        if "run" in step:
            assert step["shell"] == "bash"
            # An expression inside the script is pasted into it before bash parses it (word splitting,
            # injection): every value reaches the script as a quoted environment variable instead.
            assert "${{" not in step["run"], step["name"]
        for expr in [*re.findall(r"\$\{\{\s*(.*?)\s*\}\}", json.dumps(step)), step.get("if", "")]:
            for ref in re.findall(r"steps\.([\w-]+)\.outputs", expr):
                assert ref in ids, f"{step['name']} reads the outputs of unknown step {ref}"
            for ref in re.findall(r"inputs\.([\w-]+)", expr):
                assert ref in doc["inputs"], f"{step['name']} reads undeclared input {ref}"
    uses = [s["uses"] for s in steps if "uses" in s]
    assert "github/codeql-action/upload-sarif@v3" in uses
    for out in doc["outputs"].values():
        for ref in re.findall(r"steps\.([\w-]+)\.outputs", out["value"]):
            assert ref in ids


def _action_step(workflow: dict[str, Any], uses: str) -> dict[str, Any]:
    found = [s for job in workflow["jobs"].values() for s in job["steps"] if s.get("uses") == uses]
    assert found, f"no step uses {uses}"
    return found[0]


def _check_workflow(workflow: dict[str, Any], uses: str) -> None:
    on = workflow[True] if True in workflow else workflow["on"]  # YAML 1.1 reads a bare `on` as true
    paths = on["pull_request"]["paths"]
    step = _action_step(workflow, uses)
    inputs = yaml.safe_load(ACTION.read_text(encoding="utf-8"))["inputs"]
    files = _lines(step["with"].get("files", inputs["files"]["default"]))
    also = _lines(step["with"].get("also-on", inputs["also-on"]["default"]))
    # The changed-files step looks at exactly what triggers the workflow: no trigger goes unchecked.
    assert sorted(paths) == sorted(files + also)
    assert len(set(paths)) == len(paths)
    checkout = _action_step(workflow, "actions/checkout@v4")
    assert checkout["with"]["fetch-depth"] == 0
    for job in workflow["jobs"].values():
        for s in job["steps"]:
            assert "${{" not in s.get("run", ""), s


def test_this_repositorys_workflow_runs_the_action_on_its_triggers() -> None:
    workflow = _yaml(WORKFLOW)
    _check_workflow(workflow, "./")
    assert workflow["permissions"]["security-events"] == "write"


def test_the_scaffolds_workflow_runs_the_released_action(tmp_path: Path) -> None:
    from aifactory.scaffold import workflow

    doc = yaml.safe_load(workflow())
    _check_workflow(doc, f"aifactory/aifactory@v{__version__}")
    assert _lines(_action_step(doc, f"aifactory/aifactory@v{__version__}")["with"]["files"]) == list(CHECK_GLOBS)
    assert list(SETTINGS_GLOBS) == _lines(_action_step(doc, f"aifactory/aifactory@v{__version__}")["with"]["also-on"])


def test_workflow_globs_select_the_same_files_in_git_as_on_github(tmp_path: Path) -> None:
    """The changed-files step gives the globs to git as `:(glob)` pathspecs; GitHub's `paths:` filter reads the
    same text with its own rules (`*` stays in a folder, `**/` spans zero or more). Both pick the same files."""
    repo = tmp_path / "r"
    names = ["blueprints/a.yaml", "blueprints/site/b.yaml", "blueprints/c.yml", "blueprints/d.yaml.bak",
             "stacks/Pulumi.de.yaml", "stacks/Pulumi.yaml", "stacks/x/Pulumi.de.yaml", "other/blueprints/e.yaml",
             ".aifactory-policy.yaml", "docs/.aifactory-policy.yaml", "my site/blueprints/f.yaml"]
    for name in names:
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text("x: 1\n")
    _git(repo.parent, "init", "-q", str(repo))
    _git(repo, "add", ".")
    globs = [*CHECK_GLOBS, *SETTINGS_GLOBS]
    by_git = set(_git(repo, "ls-files", "--", *[f":(glob){g}" for g in globs]).splitlines())

    def github(glob: str, path: str) -> bool:  # GitHub's filter pattern rules, as documented
        rx = re.escape(glob).replace(r"\*\*/", "(?:.*/)?").replace(r"\*\*", ".*").replace(r"\*", "[^/]*")
        return re.fullmatch(rx, path) is not None

    by_github = {n for n in names if any(github(g, n) for g in globs)}
    assert by_git == by_github == {"blueprints/a.yaml", "blueprints/site/b.yaml", "stacks/Pulumi.de.yaml",
                                   ".aifactory-policy.yaml"}


# --- the action, run ---------------------------------------------------------------------------------------


@pytest.fixture()
def pr_repo(tmp_path: Path) -> Path:
    """A scaffolded repository with a base commit on main (also as origin/main) and a branch `pr` on it."""
    repo = tmp_path / "infra"
    done = subprocess.run([sys.executable, str(CLI), "new", str(repo), "--blueprint", "dgx-h200-sovereign-eu",
                           "--region", "de-stuttgart"], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "base")
    _git(repo, "update-ref", "refs/remotes/origin/main", "HEAD")
    _git(repo, "checkout", "-qb", "pr")
    return repo


def _commit(repo: Path, edits: dict[str, str | None], message: str = "pr") -> None:
    for name, text in edits.items():
        if text is None:
            (repo / name).unlink()
        else:
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            (repo / name).write_text(text, encoding="utf-8")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", message)


def _run(repo: Path, tmp_path: Path, stand_ins: dict[str, Any] | None = None, base_ref: str = "main",
         **inputs: str) -> ActionRun:
    """The action on `repo`, in a pull request against `base_ref` (empty: a push, no pull request)."""
    return run_action(ACTION, repo, tmp_path / "runner-files", inputs, {"base_ref": base_ref}, base_env([BIN]),
                      {"install": _stand_in_install} if stand_ins is None else stand_ins)


SITE = "blueprints/de-stuttgart.yaml"


def _with_telemetry(repo: Path) -> tuple[str, int]:
    """The site blueprint with vendor telemetry switched on (a mandatory sovereignty finding), and its line."""
    text = (repo / SITE).read_text(encoding="utf-8")
    new = text.replace("    operator_location: DE\n", "    operator_location: DE\n    vendor_telemetry: true\n")
    assert new != text
    line = new.splitlines().index("    vendor_telemetry: true") + 1
    return new, line


def _annotations(log: str) -> list[tuple[str, str, int]]:
    out = []
    for m in re.finditer(r"^::(error|warning) file=([^,]*),line=(\d+)", log, re.M):
        out.append((m.group(1), m.group(2), int(m.group(3))))
    return out


def test_findings_on_the_changed_line_fail_the_job(pr_repo: Path, tmp_path: Path) -> None:
    text, line = _with_telemetry(pr_repo)
    _commit(pr_repo, {SITE: text})
    run = _run(pr_repo, tmp_path)
    assert run.step("changed").outputs["count"] == "1"
    check = run.step("check")
    assert check.outputs["exit-code"] == "1" and check.code == 0
    # Only what the pull request introduces is annotated, on the line it changed.
    assert _annotations(check.stdout) == [("error", SITE, line)]
    assert "SOV-010" in check.stdout
    assert "### aifactory policy: FAIL" in run.summary
    assert "| Rule | Severity | Level | Location | Message | State |" in run.summary
    assert re.search(rf"\| SOV-010 \| \w+ \| mandatory \| `{re.escape(SITE)}:{line}:\d+` \|", run.summary)
    sarif_step = run.step("sarif")
    sarif = json.loads(Path(sarif_step.outputs["file"]).read_text(encoding="utf-8"))
    jsonschema.validate(sarif, SARIF_SCHEMA)
    assert "SOV-010" in {r["ruleId"] for r in sarif["runs"][0]["results"]}
    upload = next(s for s in run.steps if s.uses.startswith("github/codeql-action/upload-sarif"))
    assert upload.ran and upload.with_["sarif_file"] == sarif_step.outputs["file"]
    verdict = run.steps[-1]
    assert verdict.ran and verdict.code == 1 and run.failed is verdict
    assert "::error::aifactory policy check: findings at the fail level" in verdict.stdout
    assert run.outputs["exit-code"] == "1"


def test_a_clean_change_passes(pr_repo: Path, tmp_path: Path) -> None:
    text = (pr_repo / SITE).read_text(encoding="utf-8") + "# reviewed\n"
    _commit(pr_repo, {SITE: text})
    run = _run(pr_repo, tmp_path)
    assert run.failed is None
    assert run.step("changed").outputs["count"] == "1"
    assert run.step("check").outputs["exit-code"] == "0"
    assert _annotations(run.step("check").stdout) == []  # the inherited advisories are not new
    assert "### aifactory policy: PASS" in run.summary
    assert run.steps[-1].ran and run.steps[-1].code == 0


def test_the_fail_level_input_fails_on_advisories(pr_repo: Path, tmp_path: Path) -> None:
    run = _run(pr_repo, tmp_path, base_ref="")
    assert run.failed is None and run.step("changed").outputs["count"] == "2"  # no pull request: every file
    assert len(_annotations(run.step("check").stdout)) > 0  # every finding is reported, none is new-only
    strict = _run(pr_repo, tmp_path / "strict", base_ref="", **{"fail-on": "low"})
    assert strict.step("check").outputs["exit-code"] == "1"
    assert strict.failed is strict.steps[-1]


def test_a_broken_file_fails_the_step_that_checks_it_and_nothing_is_uploaded(pr_repo: Path, tmp_path: Path) -> None:
    _commit(pr_repo, {SITE: "extends: dgx-h200-sovereign-eu\nname: [unclosed\n"})
    run = _run(pr_repo, tmp_path)
    check = run.step("check")
    assert check.code == 2 and check.outputs["exit-code"] == "2"
    assert "could not check the files (exit 2)" in check.stdout
    assert "de-stuttgart.yaml" in check.stderr  # the tool's own message, with the file
    assert run.failed is check
    assert not run.step("sarif").ran and not any(s.ran for s in run.steps if s.uses.startswith("github/"))


def test_a_crash_of_the_tool_is_not_taken_for_findings(pr_repo: Path, tmp_path: Path) -> None:
    text, _ = _with_telemetry(pr_repo)
    _commit(pr_repo, {SITE: text})
    fake = tmp_path / "bin" / "aifactory"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'internal error: boom' >&2\nexit 3\n")
    fake.chmod(0o755)
    run = _run(pr_repo, tmp_path, {"install": lambda ctx: {"aifactory": str(fake)}})
    assert run.step("check").code == 3 and run.failed is run.step("check")
    assert "internal error: boom" in run.step("check").stderr


def test_a_settings_change_rechecks_every_file_and_odd_names_survive(pr_repo: Path, tmp_path: Path) -> None:
    site = (pr_repo / SITE).read_text(encoding="utf-8").replace("name: de-stuttgart\n", "name: second-site\n", 1)
    _commit(pr_repo, {".aifactory-policy.yaml": "version: 1\n", "blueprints/second site.yaml": site})
    run = _run(pr_repo, tmp_path)
    changed = run.step("changed")
    assert "policy settings changed" in changed.stdout
    assert changed.outputs["count"] == "3", changed.stdout  # both blueprints and the stack file
    assert run.step("check").code == 0, run.log
    assert "blueprints/second site.yaml" in changed.stdout


def test_nothing_to_check_passes_without_sarif(pr_repo: Path, tmp_path: Path) -> None:
    _commit(pr_repo, {"README.md": "# changed\n"})
    run = _run(pr_repo, tmp_path)
    assert run.failed is None
    assert run.step("changed").outputs["count"] == "0"
    assert not run.step("sarif").ran
    assert "No blueprint or stack file changed." in run.summary


def test_a_missing_base_commit_is_a_clear_error(pr_repo: Path, tmp_path: Path) -> None:
    run = _run(pr_repo, tmp_path, base="origin/no-such-branch")
    assert run.failed is run.step("changed") and run.step("changed").code == 2
    assert "fetch-depth: 0" in run.step("changed").stdout


@pytest.mark.slow
def test_the_install_step_installs_the_actions_own_checkout(tmp_path: Path) -> None:
    """The install step for real (pip, the locked base requirements, this checkout), then the whole action on a
    repository whose blueprint needs no catalogue entry."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "infra"
    (repo / "blueprints").mkdir(parents=True)
    shutil.copy(REPO / "blueprints" / "lab.yaml", repo / "blueprints" / "lab.yaml")
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "base")
    env = base_env([Path("/usr/bin")])  # no test venv on PATH: the step makes its own
    run = run_action(ACTION, repo, tmp_path / "runner-files", {"base": ""}, {"base_ref": ""}, env)
    install = run.step("install")
    assert install.code == 0, install.stderr[-3000:]
    assert install.stdout.strip().endswith(f"aifactory {__version__}")
    assert install.outputs["aifactory"].startswith(str(tmp_path))
    assert run.step("changed").outputs["count"] == "1"
    assert run.failed is None, run.log[-3000:]
