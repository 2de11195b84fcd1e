"""The GPU path of nvidia_driver, dcgm and power_caps, with the inventory a reference blueprint renders, on a host
whose GPUs and GPU tools are replaced (tests/roles/gpu_host.py): files written, commands issued, and which NVLink
services each platform gets. The molecule scenarios cover the no-GPU path."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
import yaml

from aifactory.blueprint import load_blueprint
from aifactory.design import plan
from aifactory.render.group_vars import render_blueprint_inventory
from tests.roles.gpu_host import GpuHost, namespaces_work, signing_key

REPO_ROOT = Path(__file__).resolve().parents[2]
BLUEPRINTS = sorted(p.stem for p in (REPO_ROOT / "blueprints").glob("*.yaml"))
# What each reference platform runs besides the driver (catalogue nvlink_software, through the renderer).
NVLINK = {
    "b200-spectrum-x": (True, True, False),  # HGX B200, NVLink5: fabric manager and nvlsm
    "dgx-h100-superpod": (True, False, False),  # HGX H100 NVSwitch: fabric manager
    "dgx-h200-sovereign-eu": (True, False, False),
    "edge-l40s-inference": (False, False, False),  # PCIe cards: neither
    "gb200-nvl72": (False, False, True),  # rack-scale trays: IMEX, no fabric manager
    "lab": (False, False, False),
    "mi300x-roce": (False, False, False),
}
needs_namespaces = pytest.mark.skipif(not namespaces_work(), reason="needs root and mount namespaces (unshare)")


def _inventory(name: str, text: str = "", tmp_path: Path | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(group vars, first compute host's vars) the renderer writes for a reference blueprint, or for a site
    blueprint extending it with `text`."""
    path = REPO_ROOT / "blueprints" / f"{name}.yaml"
    if text and tmp_path is not None:
        path = tmp_path / "site.yaml"
        path.write_text(f"extends: {name}\nname: site\n{text}")
    bp = load_blueprint(str(path)).model
    files = render_blueprint_inventory(bp, plan(bp).hosts)
    hosts = yaml.safe_load(files["hosts.yml"])["all"]["hosts"]
    first = next(v for v in hosts.values() if "compute" in v["aifactory_functions"])
    return yaml.safe_load(files["group_vars/all.yml"]), first


@pytest.mark.parametrize("name", BLUEPRINTS)
def test_every_reference_blueprint_renders_its_platforms_nvlink_services(name: str) -> None:
    group, host = _inventory(name)
    found = (group["nvidia_driver_fabric_manager"], group["nvidia_driver_nvlsm"], group["nvidia_driver_imex"])
    assert NVLINK[name] == found
    assert ("nvidia_driver_imex_peers" in host) == found[2]
    assert host["aifactory_power_cap_w"] == (group["power_caps_max_w"] if host["aifactory_gpus"] else 0)


def test_an_nvl72_tray_lists_its_racks_trays_for_imex() -> None:
    _, host = _inventory("gb200-nvl72")
    assert 18 == len(host["nvidia_driver_imex_peers"])
    assert host["aifactory_inband_ip"] == host["nvidia_driver_imex_peers"][0]


def test_a_site_apt_mirror_of_nvidias_repository_replaces_it(tmp_path: Path) -> None:
    # The list replaces the catalogue's: the site's chart repository stays (the EXAScaler CSI chart lives there).
    mirror = """site:
  sovereignty:
    mirrors:
      - {name: helm-de, kind: helm, url: "https://charts.aifactory.example.de", location: DE}
      - {name: apt-de, kind: apt, url: "https://apt.example.de/nvidia", location: DE,
         mirrors: [developer.download.nvidia.com]}
"""
    group, _ = _inventory("dgx-h200-sovereign-eu", mirror, tmp_path)
    assert "https://apt.example.de/nvidia" == group["nvidia_driver_repository"]


def _play(roles: list[str], variables: dict[str, Any], tasks: list[dict[str, Any]] | None = None) -> list[Any]:
    play: dict[str, Any] = {"name": "GPU node", "hosts": "node01", "connection": "local", "gather_facts": False,
                            "vars": variables, "roles": roles}  # fmt: skip
    if tasks:
        play["tasks"] = tasks
    return [play]


def _site(tmp_path: Path, fingerprint: str | None = None) -> tuple[GpuHost, dict[str, Any]]:
    """A host, NVIDIA's repository as a local directory with its key, and a dcgm-exporter build beside it."""
    keyhome = tmp_path / "keygen"
    keyhome.mkdir(mode=0o700)
    key, fpr = signing_key(keyhome)
    repo = tmp_path / "repo"
    path = "compute/cuda/repos/debian12/x86_64"
    (repo / path).mkdir(parents=True)
    (repo / path / "3bf863cc.pub").write_text(key)
    exporter = repo / "dcgm-exporter"
    exporter.write_bytes(b"#!/bin/sh\nexit 0\n")
    site = {
        "nvidia_driver_repository": f"file://{repo}",
        "nvidia_driver_repository_path": path,
        "nvidia_driver_repository_key_fingerprint": fingerprint or fpr,
        "dcgm_exporter_url": f"file://{exporter}",
        "dcgm_exporter_sha256": hashlib.sha256(exporter.read_bytes()).hexdigest(),
        "dcgm_exporter_version": "4.4.1-4.5.2",
        "base_service_unit": "",
    }
    host = tmp_path / "host"
    host.mkdir()
    return GpuHost(host), site


ROLES = ["nvidia_driver", "dcgm", "power_caps"]


def _converge(
    tmp_path: Path, name: str, text: str = "", roles: tuple[str, ...] = tuple(ROLES), **gpu: Any
) -> tuple[GpuHost, Any]:
    host, site = _site(tmp_path)
    for key, value in gpu.items():
        setattr(host, key, value)
    host.prepare()
    group, first = _inventory(name, text, tmp_path)
    done = host.run(_play(list(roles), {**group, **first, **site}), "--skip-tags", "packages")
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    return host, done


@needs_namespaces
def test_an_hgx_b200_node_gets_repository_pin_fabric_manager_nvlsm_dcgm_and_its_cap(tmp_path: Path) -> None:
    host, _ = _converge(tmp_path, "b200-spectrum-x", "compute:\n  gpu_power_cap: 800W\n", min_w=200, max_w=1000)
    etc = host.etc
    sources = (etc / "apt/sources.list.d/nvidia-cuda.sources").read_text()
    assert f"URIs: file://{tmp_path}/repo/compute/cuda/repos/debian12/x86_64/" in sources
    assert "Signed-By: /etc/apt/keyrings/nvidia-cuda.asc" in sources
    assert (etc / "apt/keyrings/nvidia-cuda.asc").read_text() == (tmp_path / "repo/compute/cuda/repos/debian12"
                                                                  "/x86_64/3bf863cc.pub").read_text()  # fmt: skip
    pin = (etc / "apt/preferences.d/aifactory-nvidia-driver.pref").read_text()
    assert "Pin: version 580.95.05-*\nPin-Priority: 1001" in pin
    dropin = (etc / "systemd/system/nvidia-persistenced.service.d/aifactory.conf").read_text()
    assert "ExecStart=\nExecStart=/usr/bin/nvidia-persistenced --persistence-mode --verbose" in dropin
    assert "nvidia-peermem\n" in (etc / "modules-load.d/nvidia-peermem.conf").read_text()
    assert "blacklist nouveau" in (etc / "modprobe.d/aifactory-blacklist-nouveau.conf").read_text()
    assert not (etc / "nvidia-imex/nodes_config.cfg").exists()
    unit = (etc / "systemd/system/aifactory-gpu-power-cap.service").read_text()
    assert "ExecStart=/usr/bin/nvidia-smi -pm 1\nExecStart=/usr/bin/nvidia-smi -pl 800\n" in unit
    exporter = (etc / "systemd/system/dcgm-exporter.service").read_text()
    assert "ExecStart=/usr/local/bin/dcgm-exporter --address :9400 --remote-hostengine-info localhost:5555" in exporter
    calls = host.calls()
    for name in ("nvidia-persistenced", "nvidia-fabricmanager", "nvidia-dcgm", "dcgm-exporter",
                 "aifactory-gpu-power-cap"):  # fmt: skip
        assert f"systemctl enable {name}" in calls and f"systemctl start {name}" in calls, name
    assert "systemctl enable nvidia-imex" not in calls
    assert "modprobe nvidia-peermem" in calls
    assert [f"nvidia-smi -i {i} -pl 800" for i in range(8)] == [c for c in calls if " -pl " in c]
    facts = yaml.safe_load((etc / "ansible/facts.d/nvidia_driver.fact").read_text())
    assert (facts["state"], facts["fabric_manager"], facts["nvlsm"], facts["imex"]) == ("installed", True, True, False)
    dcgm = yaml.safe_load((etc / "ansible/facts.d/dcgm.fact").read_text())
    assert ["datacenter-gpu-manager-4-core=1:4.4.1*", "datacenter-gpu-manager-4-cuda13=1:4.4.1*"] == dcgm["packages"]


@needs_namespaces
def test_a_gb200_tray_runs_imex_over_its_rack_and_no_fabric_manager(tmp_path: Path) -> None:
    host, _ = _converge(tmp_path, "gb200-nvl72", roles=("nvidia_driver",), min_w=200, max_w=1200)
    _, first = _inventory("gb200-nvl72")
    peers = (host.etc / "nvidia-imex/nodes_config.cfg").read_text().splitlines()
    assert first["nvidia_driver_imex_peers"] == peers and len(peers) == 18
    calls = host.calls()
    assert "systemctl enable nvidia-imex" in calls
    assert not [c for c in calls if "fabricmanager" in c]


@needs_namespaces
def test_a_key_with_another_fingerprint_is_refused(tmp_path: Path) -> None:
    host, site = _site(tmp_path, fingerprint="0" * 40)
    host.prepare()
    group, first = _inventory("dgx-h100-superpod")
    done = host.run(_play(["nvidia_driver"], {**group, **first, **site}), "--skip-tags", "packages")
    assert done.returncode != 0
    assert "is not the one with fingerprint 0000" in done.stdout
    assert not (host.etc / "apt/sources.list.d/nvidia-cuda.sources").exists()


@needs_namespaces
def test_a_cap_outside_the_gpus_own_range_is_refused(tmp_path: Path) -> None:
    host, site = _site(tmp_path)
    host.min_w = 650  # a board whose published floor is above the design's cap
    host.prepare()
    group, first = _inventory("dgx-h100-superpod")
    done = host.run(_play(["power_caps"], {**group, **first, **site, "aifactory_power_cap_w": 600}))
    assert done.returncode != 0
    assert "accepts limits from 650.00 to 700.00 W, not 600 W" in done.stdout
    assert not [c for c in host.calls() if " -pl " in c]


@needs_namespaces
def test_a_cap_outside_the_catalogues_range_is_refused_before_nvidia_smi(tmp_path: Path) -> None:
    host, site = _site(tmp_path)
    host.prepare()
    group, first = _inventory("dgx-h100-superpod")
    done = host.run(_play(["power_caps"], {**group, **first, **site, "aifactory_power_cap_w": 150}))
    assert done.returncode != 0
    assert "outside the GPU's published range of 200 to 700 W" in done.stdout
    assert not [c for c in host.calls() if c.startswith("nvidia-smi")]


@needs_namespaces
def test_check_mode_sees_the_gpus(tmp_path: Path) -> None:
    host, site = _site(tmp_path)
    host.prepare()
    group, first = _inventory("dgx-h100-superpod")
    done = host.run(_play(["power_caps"], {**group, **first, **site, "aifactory_power_cap_w": 600}), "--check")
    assert done.returncode == 0, done.stdout[-4000:]
    assert "has no NVIDIA GPU" not in done.stdout
    assert "nvidia-smi --query-gpu=index,power.limit,power.min_limit,power.max_limit" in "\n".join(host.calls())
    assert not [c for c in host.calls() if " -pl " in c]


def _drain_play(variables: dict[str, Any]) -> list[Any]:
    include = {"ansible.builtin.include_role": {"name": "nvidia_driver", "tasks_from": "slurm_drain"}}
    resume = {"ansible.builtin.include_role": {"name": "nvidia_driver", "tasks_from": "slurm_resume"}}
    return [{"name": "Drain", "hosts": "node01", "connection": "local", "gather_facts": False,
             "vars": {"nvidia_driver_drain_controller": "node01", "nvidia_driver_drain_poll_s": 1, **variables},
             "tasks": [{"name": "Drain", **include}, {"name": "Resume", **resume}]}]  # fmt: skip


def _slurm_node(tmp_path: Path, state: str = "MIXED", jobs: int = 0) -> GpuHost:
    """A prepared host Slurm reports in `state`, running jobs for the first `jobs` looks."""
    host = GpuHost(tmp_path / "host")
    host.root.mkdir()
    host.prepare()
    (host.state / "slurm_state").write_text(f"{state}\n")
    (host.state / "jobs").write_text(f"{jobs}\n")
    return host


@needs_namespaces
def test_a_node_is_drained_waited_for_and_resumed(tmp_path: Path) -> None:
    host = _slurm_node(tmp_path, jobs=2)
    done = host.run(_drain_play({}))
    assert done.returncode == 0, done.stdout[-4000:]
    slurm = [c for c in host.calls() if c.startswith(("scontrol", "squeue"))]
    assert [
        "scontrol --oneliner show node node01",
        "scontrol update NodeName=node01 State=DRAIN Reason=aifactory: GPU software change",
        *["squeue --noheader --nodelist node01 --format %A"] * 3,
        "scontrol update NodeName=node01 State=RESUME",
    ] == slurm


@needs_namespaces
def test_a_node_drained_by_someone_else_stays_drained(tmp_path: Path) -> None:
    host = _slurm_node(tmp_path, state="IDLE+DRAIN")
    done = host.run(_drain_play({}))
    assert done.returncode == 0, done.stdout[-4000:]
    assert ["scontrol --oneliner show node node01"] == [c for c in host.calls() if c.startswith("scontrol")]


@needs_namespaces
def test_jobs_that_outlast_the_drain_timeout_stop_the_change(tmp_path: Path) -> None:
    host = _slurm_node(tmp_path, jobs=100)
    done = host.run(_drain_play({"nvidia_driver_drain_timeout_s": 2}))
    assert done.returncode != 0
    assert 3 == len([c for c in host.calls() if c.startswith("squeue")])
    assert not [c for c in host.calls() if "State=RESUME" in c]
