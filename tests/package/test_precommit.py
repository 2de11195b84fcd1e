"""The pre-commit hook this repository publishes (.pre-commit-hooks.yaml), run by pre-commit itself: `pre-commit
try-repo` installs this repository's committed state into its own environment (`pip install .`, dependencies
from the package index) and runs the hook in a user's repository of blueprints and stacks."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
HOOK = "aifactory-policy"
PRE_COMMIT = str(Path(sys.executable).parent / "pre-commit")


def _hook() -> dict[str, object]:
    (hook,) = [h for h in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text()) if h["id"] == HOOK]
    assert isinstance(hook, dict)
    return hook


def test_the_manifest_is_valid_for_pre_commit() -> None:
    done = subprocess.run([PRE_COMMIT, "validate-manifest", str(REPO / ".pre-commit-hooks.yaml")],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(("path", "checked"), [
    ("blueprints/dgx-h200-sovereign-eu.yaml", True),
    ("blueprints/sites/munich.yml", True),
    ("infra/blueprints/site.yaml", True),
    ("stacks/Pulumi.de-stuttgart.yaml", True),
    ("infra/stacks/Pulumi.fi-kajaani.yml", True),
    ("factory.aifactory.yaml", True),
    ("sites/munich.aifactory.yml", True),
    ("stacks/Pulumi.yaml", False),  # the project file names no blueprint
    ("stacks/__main__.py", False),
    ("blueprints/README.md", False),
    ("config/Pulumi.dev.yaml", False),  # a stack file outside stacks/ may belong to another Pulumi project
    (".aifactory-policy.yaml", False),  # the policy configuration, not a blueprint
])
def test_the_hook_files_pattern_covers_what_the_hook_is_for(path: str, checked: bool) -> None:
    # pre-commit selects files with re.search on the path relative to the repository root.
    assert checked == bool(re.search(str(_hook()["files"]), path))


SITE = """\
extends: dgx-h200-sovereign-eu
site:
  name: ai-factory-de-munich
"""
BROKEN = """\
extends: dgx-h200-sovereign-eu
site:
  sovereignty:
    vendor_telemetry: true
"""


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=True, timeout=60,
                   env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
                        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"})


@pytest.fixture(scope="module")
def user_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A user's infrastructure repository: copies of the reference blueprints and stack files, a site
    blueprint that extends one, and a broken one."""
    root = tmp_path_factory.mktemp("infra")
    shutil.copytree(REPO / "blueprints", root / "blueprints")
    (root / "stacks").mkdir()
    for stack in (REPO / "stacks").glob("Pulumi.*.yaml"):
        shutil.copy(stack, root / "stacks" / stack.name)
    (root / "munich.aifactory.yaml").write_text(SITE)
    (root / "broken.aifactory.yaml").write_text(BROKEN)
    _git(root, "init", "-q")
    _git(root, "add", ".")
    _git(root, "commit", "-qm", "infra")
    return root


def _try_repo(user_repo: Path, home: Path, *files: str) -> subprocess.CompletedProcess[str]:
    committed = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--",
                                ".pre-commit-hooks.yaml", "pyproject.toml", "aifactory"],
                               cwd=REPO, capture_output=True, text=True, check=True).stdout
    if committed:  # try-repo installs the committed state: what is tested must be committed
        pytest.fail(f"commit the hook and the package before this test:\n{committed}")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update({"PRE_COMMIT_HOME": str(home), "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
                "COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"})
    return subprocess.run([PRE_COMMIT, "try-repo", str(REPO), HOOK, "--verbose", "--files", *files],
                          cwd=user_repo, env=env, capture_output=True, text=True, timeout=900, check=False)


@pytest.mark.slow
def test_try_repo_passes_on_the_reference_blueprints_and_fails_on_a_broken_one(
    user_repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    home = tmp_path_factory.mktemp("pre-commit-home")
    good = sorted(str(p.relative_to(user_repo)) for p in (user_repo / "blueprints").glob("*.yaml"))
    good += sorted(str(p.relative_to(user_repo)) for p in (user_repo / "stacks").glob("Pulumi.*.yaml"))
    done = _try_repo(user_repo, home, *good, "munich.aifactory.yaml")
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-4000:]
    assert re.search(r"aifactory policy check\.+Passed", out), out[-4000:]
    assert f"in {len(good) + 1} file(s)" in out, out[-4000:]  # every file reached the check

    done = _try_repo(user_repo, home, "blueprints/lab.yaml", "broken.aifactory.yaml")
    out = done.stdout + done.stderr
    assert done.returncode == 1, out[-4000:]
    assert re.search(r"aifactory policy check\.+Failed", out), out[-4000:]
    assert re.search(r"broken\.aifactory\.yaml:4:\d+: SOV-010 \[high, mandatory\]", out), out[-4000:]
    assert "FAIL:" in out
