"""`render --kubernetes`: schema-valid for the pinned Kubernetes version, deterministic, atomic."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from schemas import validate
from typer.testing import CliRunner

from aifactory.blueprint import load_blueprint
from aifactory.blueprint.sources import catalogue_names
from aifactory.blueprint.stackfile import load_stack, read_stack
from aifactory.cli.main import app
from aifactory.render.k8s.gitops import gitops_files, gitops_objects
from aifactory.render.kubernetes import build

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("blueprint", catalogue_names())
def test_every_object_passes_its_schema(blueprint: str) -> None:
    loaded = load_blueprint(blueprint)
    version = loaded.model.software.kubernetes or "1.34"
    objects = gitops_objects(build(loaded, "test"))
    for obj in objects:
        validate(obj, version)


@pytest.mark.parametrize("stack", sorted(p.name.split(".")[1] for p in (REPO / "stacks").glob("Pulumi.*.yaml")))
def test_every_stack_object_passes_its_schema(stack: str) -> None:
    """Each region's stack (its blueprint with the stack's overrides, rendered for its region), as `pulumi up`
    and `render --stack` build it."""
    stack_file = read_stack(stack, REPO / "stacks")
    loaded = load_stack(stack_file)
    version = loaded.model.software.kubernetes or "1.34"
    objects = gitops_objects(build(loaded, stack_file.region))
    assert objects
    for obj in objects:
        validate(obj, version)


def test_schema_check_is_strict() -> None:
    obj = build(load_blueprint("dgx-h100-superpod"), "x").objects
    queue = next(o for o in obj if o["kind"] == "ClusterQueue")
    bad = {**queue, "spec": {**queue["spec"], "cohort": "renamed-in-v1beta2"}}
    with pytest.raises(Exception, match="cohort"):
        validate(bad, "1.34")
    quota = next(o for o in obj if o["kind"] == "ResourceQuota")
    with pytest.raises(Exception, match="hardd"):
        validate({**quota, "spec": {"hardd": {}}}, "1.34")


def test_render_is_deterministic_and_atomic(tmp_path: Path) -> None:
    runner = CliRunner()
    args = ["render", "--kubernetes", "--stack", "de-stuttgart"]
    first = runner.invoke(app, [*args, "--out", str(tmp_path / "a")])
    second = runner.invoke(app, [*args, "--out", str(tmp_path / "b"), "--format", "json"])
    assert 0 == first.exit_code, first.output
    assert 0 == second.exit_code, second.output
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.yaml"))
    files_b = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*.yaml"))
    assert files_a == files_b
    assert [(tmp_path / "a" / f).read_bytes() for f in files_a] == [(tmp_path / "b" / f).read_bytes() for f in files_b]
    # Every file is listed by exactly one kustomization.yaml: the root lists the Flux Kustomizations, each
    # stage's folder its objects.
    root = tmp_path / "a" / "kubernetes"
    listed = []
    for kustomization in sorted(root.rglob("kustomization.yaml")):
        resources = yaml.safe_load(kustomization.read_text())["resources"]
        listed += [str((kustomization.parent / r).relative_to(tmp_path / "a")) for r in resources]
    assert sorted(str(f) for f in files_a if f.name != "kustomization.yaml") == sorted(listed)


def test_helm_releases_render_as_flux_objects() -> None:
    files = gitops_files(build(load_blueprint("dgx-h100-superpod"), "us-east"))
    release = yaml.safe_load(files["release-gpu-operator/mlops/helmrelease_gpu-operator_gpu-operator.yaml"])
    assert "v26.7.0" == release["spec"]["chart"]["spec"]["version"]
    assert "us-east" == release["metadata"]["labels"]["aifactory.io/region"]


def test_render_bad_input_exits_2(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "cli.py", "render", "no-such-blueprint", "--kubernetes", "--out", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert 2 == proc.returncode
    assert "no blueprint file or catalogue entry" in proc.stderr
    assert [] == list(tmp_path.iterdir())


def test_render_as_subprocess(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "cli.py",
            "render",
            "mi300x-roce",
            "--kubernetes",
            "--out",
            str(tmp_path),
            "--set",
            "mlops.tenants.0.gpus=500",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert 0 == proc.returncode, proc.stderr
    quota = yaml.safe_load((tmp_path / "kubernetes/base/mlops/resourcequota_training_gpu-quota.yaml").read_text())
    assert "500" == quota["spec"]["hard"]["requests.amd.com/gpu"]


def test_up_without_pulumi_binary_exits_2() -> None:
    import shutil

    if shutil.which("pulumi"):
        pytest.skip("a pulumi binary is installed here; covered by test_automation")
    proc = subprocess.run(
        [sys.executable, "cli.py", "preview", "--stack", "us-east"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert 2 == proc.returncode
    assert "`pulumi` command is not installed" in proc.stderr
