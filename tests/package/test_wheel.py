"""The product as `pip install` gives it: the wheel carries every file the product needs (blueprints, the Ansible
collection, modules, the Pulumi program, the schema, the lab lock, the docs) and nothing else, the sdist
builds the same wheel, and from a clean virtual environment, outside any checkout, the README's tour and a
user's first commands work as they do from the checkout."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.package.conftest import REPO, WheelVenv, build, copy_checkout
from tests.readme import COLUMNS, DEPLOY_EXTRA, INPUTS, Step, check_step, readme_steps

pytestmark = pytest.mark.slow

SHARE = "aifactory/share"
SITE = """\
extends: dgx-h200-sovereign-eu
site:
  sovereignty:
    replication_targets: [DE]
"""


def _git_files(*paths: str) -> list[str]:
    done = subprocess.run(["git", "ls-files", "-z", "--", *paths], cwd=REPO, capture_output=True, check=True)
    return [p for p in done.stdout.decode().split("\0") if p]


def _shipped() -> dict[str, str]:
    """What the wheel must hold under aifactory/share: each tracked entry there, with a link replaced by the
    tracked files it points at. {wheel path: checkout path}."""
    expected: dict[str, str] = {}
    for entry in _git_files(SHARE):
        path = REPO / entry
        if not path.is_symlink():
            expected[entry] = entry
            continue
        target = path.resolve().relative_to(REPO).as_posix()
        for tracked in _git_files(target):
            expected[entry + tracked[len(target):]] = tracked
    return expected


def _checkout_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": COLUMNS, "NO_COLOR": "1", "TERM": "dumb"}
    return subprocess.run([sys.executable, str(REPO / "cli.py"), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=180, check=False)


def test_the_wheel_ships_every_product_file_and_no_junk(wheel_venv: WheelVenv) -> None:
    expected = _shipped()
    # Every part of the product is there, whatever its file type (templates, scripts, module code, the lock).
    for part in ("blueprints/", "ansible_collections/aifactory/factory/roles/", "ansible_collections/aifactory/"
                 "factory/playbooks/site.yml", "ansible_collections/aifactory/factory/meta/runtime.yml",
                 "ansible_collections/aifactory/factory/galaxy.yml", "modules/", "stacks/__main__.py",
                 "stacks/Pulumi.yaml", "schema/blueprint.schema.json", "requirements/lab.txt", "docs/", "ansible.cfg",
                 "policypack/PulumiPolicy.yaml", "policypack/__main__.py"):
        assert any(name.startswith(f"{SHARE}/{part}") for name in expected), part
    with zipfile.ZipFile(wheel_venv.wheel) as whl:
        names = whl.namelist()
        shipped = {n for n in names if n.startswith(SHARE + "/") and not n.endswith("/")}
        assert set(expected) == shipped, "missing or extra files under aifactory/share"
        for name, source in expected.items():
            assert whl.read(name) == (REPO / source).read_bytes(), name
    junk = [n for n in names if "__pycache__" in n or n.endswith(".pyc") or "/." in n or ".venv" in n]
    assert [] == junk


def test_the_sdist_builds_the_same_wheel(wheel_venv: WheelVenv, tmp_path: Path) -> None:
    source = copy_checkout(tmp_path / "src")
    (sdist,) = build(source, tmp_path / "sdist", "--sdist")
    with tarfile.open(sdist) as tar:
        members = tar.getmembers()
    assert not [m.name for m in members if m.issym() or m.islnk()], "links in the sdist"
    unpacked = tmp_path / "unpacked"
    with tarfile.open(sdist) as tar:
        tar.extractall(unpacked, filter="data")
    (root,) = unpacked.iterdir()
    (wheel,) = build(root, tmp_path / "wheel", "--wheel")
    with zipfile.ZipFile(wheel) as a, zipfile.ZipFile(wheel_venv.wheel) as b:
        assert sorted(a.namelist()) == sorted(b.namelist())
        assert {n: a.read(n) for n in a.namelist()} == {n: b.read(n) for n in b.namelist()}


def test_resources_are_the_installed_package_files(wheel_venv: WheelVenv, tmp_path: Path) -> None:
    code = """
import json
from aifactory import resources as r
from aifactory.modules import discover
names = ["package_dir", "share_dir", "blueprints_dir", "roles_dir", "site_playbook", "modules_dir", "stacks_dir",
         "stack_program", "schema_file", "lab_lock", "collection_dir", "collections_path", "ansible_cfg", "docs_dir",
         "policy_pack_dir"]
print(json.dumps({**{n: str(getattr(r, n)()) for n in names}, "source_root": str(r.source_root()),
                  "modules": discover().names()}))
"""
    done = wheel_venv.python_run(code, tmp_path)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    package = Path(found.pop("package_dir"))
    assert package.parent.name == "site-packages" and package.is_relative_to(wheel_venv.root)
    assert "None" == found.pop("source_root")
    from aifactory import resources
    from aifactory.modules import discover

    assert discover().names() == found.pop("modules")
    for name, value in found.items():
        path = Path(value)
        assert path.is_relative_to(package / "share"), (name, value)
        assert path.exists(), (name, value)
    assert Path(found["schema_file"]).read_bytes() == resources.schema_file().read_bytes()
    assert Path(found["lab_lock"]).read_bytes() == (REPO / "requirements" / "lab.txt").read_bytes()
    assert (Path(found["collections_path"]) / "ansible_collections" / "aifactory" / "factory").is_dir()


def test_the_layer_modules_are_importable_from_the_wheel(wheel_venv: WheelVenv, tmp_path: Path) -> None:
    # The modules import pulumi (the deploy extra); the core set lacks it, so this finds each module's code
    # the way ModuleSpec._load imports it without running it.
    code = """
import importlib.util, sys
from aifactory.modules import discover
for spec in discover().ordered():
    root = spec.folder.parents[1]
    sys.path.insert(0, str(root.parent))
    for ref in (spec.entry, spec.args):
        name = f"{root.name}.{spec.layer}.{spec.folder.name}.{ref.partition(':')[0]}"
        found = importlib.util.find_spec(name)
        assert found is not None and found.origin.startswith(str(root)), name
        print(name)
"""
    done = wheel_venv.python_run(code, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "modules.mlops.platform.component" in done.stdout.split()


def test_the_installed_collection_runs_the_site_playbook(wheel_venv: WheelVenv, tmp_path: Path) -> None:
    done = wheel_venv.python_run(
        "import json; from aifactory.deploy.ansible import ansible_env, SITE_PLAYBOOK;"
        "print(json.dumps({'env': ansible_env(), 'playbook': str(SITE_PLAYBOOK)}))", tmp_path)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    ansible = {k: v for k, v in found["env"].items() if k.startswith("ANSIBLE_")}
    for key in ("ANSIBLE_CONFIG", "ANSIBLE_ROLES_PATH", "ANSIBLE_COLLECTIONS_PATH"):
        assert Path(ansible[key]).is_relative_to(wheel_venv.root), key
    # The core set has no Ansible (the deploy extra brings it): this environment's ansible-playbook runs the
    # installed package's playbook with the package's settings, in a folder outside any checkout.
    playbook = str(Path(sys.executable).parent / "ansible-playbook")
    base = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8"}
    check = [playbook, "--syntax-check", "-i", "localhost,", found["playbook"]]
    for env in (ansible, {"ANSIBLE_CONFIG": ansible["ANSIBLE_CONFIG"]}):
        done = subprocess.run(check, cwd=tmp_path, env={**base, **env}, capture_output=True, text=True, timeout=300,
                              check=False)
        assert done.returncode == 0, done.stdout + done.stderr
    # Without the package's settings no role of the collection resolves: the check above is not vacuous.
    done = subprocess.run(check, cwd=tmp_path, env=base, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode != 0 and "aifactory.factory.base" in done.stdout + done.stderr


@pytest.fixture(scope="module")
def tour_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A user's repository holding what the README's tour assumes (its blueprints/ and stacks/), not a
    checkout of this one: no aifactory sources, no pyproject, an empty .git marking its root."""
    root = tmp_path_factory.mktemp("user-repo")
    (root / ".git").mkdir()
    for name in INPUTS:
        shutil.copytree(REPO / name, root / name)
    return root


@pytest.mark.parametrize("step", readme_steps(), ids=lambda s: s.command[:60])
def test_the_readme_tour_from_the_wheel(step: Step, wheel_venv: WheelVenv, tour_repo: Path) -> None:
    if DEPLOY_EXTRA in step.comment:  # the core install names the extra instead (the test below)
        pytest.skip("needs the deploy extra, which the core install leaves out")
    done = wheel_venv.run(*step.args, cwd=tour_repo)
    check_step(step, done.returncode, done.stdout, done.stderr)


def test_first_commands_in_an_empty_folder(wheel_venv: WheelVenv, tmp_path: Path) -> None:
    """A user's first steps with nothing but the wheel: the catalogue, a site blueprint that `extends:` a
    reference one, its policy check and plan, and a catalogue blueprint rendered; each prints what the checkout
    prints for the same files (the catalogue's own path aside: it is where the package is installed)."""
    wheel_dir, checkout_dir = tmp_path / "wheel", tmp_path / "checkout"
    for folder in (wheel_dir, checkout_dir):
        folder.mkdir()
        (folder / "site.yaml").write_text(SITE)
    from aifactory import resources

    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    shown = {wheel_dir: str(wheel_venv.root / "lib" / version / "site-packages" / SHARE / "blueprints"),
             checkout_dir: str(resources.blueprints_dir())}
    commands = [
        (["blueprints", "list"], 0),
        (["blueprints", "list", "--format", "json"], 0),
        (["validate", "site.yaml"], 0),
        (["policy", "check", "site.yaml"], 0),
        (["policy", "check", "site.yaml", "--set", "site.sovereignty.vendor_telemetry=true"], 1),
        (["plan", "site.yaml"], 0),
        (["plan", "site.yaml", "--format", "json"], 0),
        (["plan", "mi300x-roce", "--format", "json"], 0),
        (["render", "edge-l40s-inference", "--kubernetes", "--out", "out"], 0),
    ]
    for args, code in commands:
        ran = {wheel_dir: wheel_venv.run(*args, cwd=wheel_dir), checkout_dir: _checkout_cli(*args, cwd=checkout_dir)}
        printed = {}
        for folder, done in ran.items():
            assert done.returncode == code, (args, folder, done.stdout[-2000:], done.stderr[-2000:])
            printed[folder] = (done.stdout + done.stderr).replace(shown[folder], "<catalogue>")
        assert printed[wheel_dir] == printed[checkout_dir], args
    wheel_out, checkout_out = wheel_dir / "out" / "kubernetes", checkout_dir / "out" / "kubernetes"
    files = sorted(p.relative_to(wheel_out) for p in wheel_out.rglob("*") if p.is_file())
    assert files and files == sorted(p.relative_to(checkout_out) for p in checkout_out.rglob("*") if p.is_file())
    for name in files:
        assert (wheel_out / name).read_bytes() == (checkout_out / name).read_bytes(), name


def test_a_command_that_needs_an_extra_says_which(wheel_venv: WheelVenv, tmp_path: Path) -> None:
    # The core set has no Ansible: `manifest` (which reads the roles with Ansible's filters) names the extra.
    done = wheel_venv.run("manifest", "lab", "--no-resolve", cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "sovereign-aifactory[deploy]" in done.stderr and "Traceback" not in done.stderr
    # So does `bundle create`, for the packages in its manifest (before it looks for a key).
    done = wheel_venv.run("bundle", "create", "lab", "--key", str(tmp_path / "key"), "--out", str(tmp_path / "b"),
                          cwd=tmp_path)  # fmt: skip
    assert done.returncode == 2 and "sovereign-aifactory[deploy]" in done.stderr, done.stdout + done.stderr
