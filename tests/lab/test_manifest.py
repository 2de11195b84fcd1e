"""`aifactory manifest`: golden design manifests, the roles as the one source of package lists, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from aifactory.cli.main import app
from aifactory.render.manifest import locked_wheels
from aifactory.render.rolepackages import RoleReader, host_pattern
from tests.conftest import REFERENCE_BLUEPRINTS, REPO, golden_file

GOLDEN = REPO / "tests" / "golden" / "manifest"
ROOT = REPO
BLUEPRINTS = REFERENCE_BLUEPRINTS


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("name", ["lab", "dgx-h200-sovereign-eu"])
def test_design_manifest_matches_golden(name: str) -> None:
    code, out, _ = run("manifest", name, "--no-resolve", "--format", "json")
    assert 0 == code
    assert golden_file(GOLDEN / f"{name}.json", out) == out


@pytest.mark.parametrize("name", BLUEPRINTS)
def test_every_blueprint_gives_a_manifest(name: str) -> None:
    """Contract with the roles: every condition on an apt task is one the design can decide."""
    code, out, err = run("manifest", name, "--no-resolve", "--format", "json")
    assert 0 == code, err
    doc = json.loads(out)
    assert doc["apt"]["requested"] == sorted(doc["apt"]["requested"])
    assert all(not spec.startswith("=") and "--" not in spec for spec in doc["apt"]["requested"])


def test_the_roles_defaults_are_the_package_lists(tmp_path: Path) -> None:
    """A package added to a role's defaults shows up in the manifest: no second list to keep in step."""
    import shutil

    roles = tmp_path / "roles"
    shutil.copytree(ROOT / "roles", roles)
    defaults = roles / "prometheus" / "defaults" / "main.yml"
    data = yaml.safe_load(defaults.read_text())
    data["prometheus_packages"] = ["prometheus", "prometheus-alertmanager"]
    defaults.write_text(yaml.safe_dump(data))
    specs = [p.spec for p in RoleReader(roles).packages("prometheus", {})]
    assert ["prometheus", "prometheus-alertmanager"] == specs
    assert ["prometheus"] == [p.spec for p in RoleReader(ROOT / "roles").packages("prometheus", {})]


def test_gpu_packages_follow_the_designed_gpu_count() -> None:
    reader = RoleReader(ROOT / "roles")
    pins = {"nvidia_driver_version": "580.95.05", "aifactory_gpu_model": "h200-sxm"}
    assert [] == reader.packages("nvidia_driver", {**pins, "aifactory_gpus": 0})
    amd = {**pins, "aifactory_gpu_model": "mi300x", "aifactory_gpus": 8}
    assert [] == reader.packages("nvidia_driver", amd) == reader.packages("dcgm", amd)
    with_gpus = [p.spec for p in reader.packages("nvidia_driver", {**pins, "aifactory_gpus": 8})]
    assert ["gpg", "nvidia-open=580.95.05-*"] == with_gpus  # a PCIe node: the role's defaults run no NVLink service
    hgx = {**pins, "aifactory_gpus": 8, "nvidia_driver_fabric_manager": True, "nvidia_driver_nvlsm": True}
    assert ["gpg", "nvidia-open", "nvidia-fabricmanager-580", "nvlsm"] == [p.name for p in reader.packages(
        "nvidia_driver", hgx)]  # fmt: skip
    nvl72 = {**pins, "aifactory_gpus": 4, "nvidia_driver_imex": True, "nvidia_driver_imex_peers": ["10.0.0.1"]}
    assert "nvidia-imex-580=580.95.05-*" in [p.spec for p in reader.packages("nvidia_driver", nvl72)]


def test_storage_packages_follow_the_mount_types() -> None:
    reader = RoleReader(ROOT / "roles")
    mounts = [{"type": "nfs"}, {"type": "lustre"}, {"type": "nfs"}]
    assert ["nfs-common", "lustre-client-modules-dkms", "lustre-client-utils"] == [
        p.name for p in reader.packages("storage_client", {"storage_client_mounts": mounts})
    ]
    assert [] == reader.packages("storage_client", {"storage_client_mounts": []})


def test_host_patterns_as_ansible_reads_them() -> None:
    groups = {"compute": ["a", "b"], "login": ["c"], "slurm": ["a"]}
    hosts = ["a", "b", "c", "d"]
    assert {"a", "b", "c"} == host_pattern("compute:login:&aifactory_stale", groups, hosts)
    assert {"a"} == host_pattern("compute:&slurm:&aifactory_stale", groups, hosts)
    assert {"b"} == host_pattern("compute:!slurm", groups, hosts)
    assert set() == host_pattern("compute:&aifactory_current", groups, hosts)


def test_wheels_are_the_lab_lock_exactly() -> None:
    wheels = {w["name"]: w for w in locked_wheels()}
    lock = (ROOT / "requirements" / "lab.txt").read_text()
    pins = [line.split("==")[0].split("[")[0].lower() for line in lock.splitlines()
            if "==" in line and not line.startswith(" ")]  # fmt: skip
    assert sorted(p.replace("_", "-").replace(".", "-") for p in pins) == sorted(wheels)
    assert "3.17.2" == wheels["mlflow"]["version"]
    assert all(len(h) == 64 for w in wheels.values() for h in w["sha256"])


def test_a_pin_without_a_hash_is_an_error_at_its_line(tmp_path: Path) -> None:
    from aifactory.errors import UserError

    lock = tmp_path / "lab.txt"
    lock.write_text("a==1 \\\n    --hash=sha256:" + "1" * 64 + "\nb==2\n")
    with pytest.raises(UserError, match=r"lab.txt:3.*b==2 has no hash"):
        locked_wheels(lock)


def test_bad_input_exits_2_with_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: aifactory/v1\nkind: Blueprint\nname: [oops\n")
    code, _, err = run("manifest", str(bad))
    assert 2 == code
    assert f"{bad}:4:1: malformed YAML" in err
    code, _, err = run("manifest", "dgx-h200-sovereign-eu")
    assert 2 == code
    assert "dgx-h100-superpod.yaml:120" in err and "resolves Debian packages only" in err


def test_out_writes_the_json_and_text_summarises(tmp_path: Path) -> None:
    code, out, _ = run("manifest", "lab", "--no-resolve", "--out", str(tmp_path / "m.json"))
    assert 0 == code
    assert (GOLDEN / "lab.json").read_text() == (tmp_path / "m.json").read_text()
    assert "mlflow_server+monitoring+slurm_controller: slurmctl01 (1 hosts)" in out
    assert "pypi: 122 locked wheels from requirements/lab.txt" in out


@pytest.mark.slow
def test_resolved_lab_manifest_against_bookworm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """apt's own answer for the lab: every requested package in the closure, every .deb with its hash."""
    monkeypatch.setenv("AIFACTORY_LAB_CACHE", str(tmp_path))
    code, out, err = run("manifest", "lab", "--format", "json")
    assert 0 == code, err
    apt = json.loads(out)["apt"]
    names = {p["name"] for p in apt["packages"]}
    assert set(apt["requested"]) <= names
    assert {"libmunge2", "slurm-wlm-basic-plugins"} <= names  # dependencies, not asked for by any role
    assert [] == apt["unresolved"]
    assert {"bookworm", "bookworm-security", "bookworm-updates"} == {i["codename"] for i in apt["index"]}
    assert all(len(p["sha256"]) == 64 and p["size"] > 0 for p in apt["packages"])
    code, again, _ = run("manifest", "lab", "--format", "json")
    assert out == again  # same index, same bytes
