"""Rendered Slurm configurations are accepted by the real Slurm tools (`slurmd -G` parses slurm.conf and
gres.conf exactly as the daemons do)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from aifactory.blueprint import load_blueprint
from aifactory.design import plan
from aifactory.lab.config import lab_design
from aifactory.render.group_vars import slurm_group_vars
from aifactory.render.slurm import Partition, slurm_vars
from tests.lab.test_render import REFERENCE_BLUEPRINTS, fleet
from tests.roles.slurm_files import write_config

pytestmark = pytest.mark.skipif(shutil.which("slurmd") is None, reason="slurmd (Debian slurmd) not installed")


def _check(tmp_path: Path, variables: dict[str, object], node: str) -> subprocess.CompletedProcess[str]:
    # slurmd -G opens each gres device file: write_config makes stand-ins for /dev/nvidiaN.
    write_config(tmp_path, variables)
    return subprocess.run(
        ["slurmd", "-G", "-f", str(tmp_path / "slurm.conf"), "-N", node],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip


SLURM_BLUEPRINTS = [
    name for name in REFERENCE_BLUEPRINTS
    if load_blueprint(name).model.mlops.orchestrator.type in ("slurm", "both")
]  # fmt: skip


def test_reference_set_has_slurm_blueprints() -> None:
    assert ["b200-spectrum-x", "dgx-h100-superpod", "dgx-h200-sovereign-eu", "gb200-nvl72", "lab"] == sorted(
        SLURM_BLUEPRINTS
    )


@pytest.mark.parametrize("name", SLURM_BLUEPRINTS)
def test_slurmd_accepts_every_reference_blueprints_config(tmp_path: Path, name: str) -> None:
    bp = load_blueprint(name).model
    hosts = plan(bp).hosts
    variables = slurm_group_vars(bp, hosts)
    node = next(h.hostname for h in hosts if "compute" in h.functions)
    done = _check(tmp_path, variables, node)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("name", ["lab", "fleet"])
def test_slurmd_accepts_rendered_config(tmp_path: Path, name: str) -> None:
    hosts = list(lab_design(3).hosts) if name == "lab" else fleet()
    variables = slurm_vars(
        hosts, cluster_name=name, partitions=[Partition("batch", default=True), Partition("debug", 1)]
    )
    node = next(h.hostname for h in hosts if "compute" in h.functions)
    done = _check(tmp_path, variables, node)
    assert done.returncode == 0, done.stderr
    assert "Name=gpu" in done.stdout + done.stderr


def test_slurmd_rejects_a_broken_config(tmp_path: Path) -> None:
    hosts = list(lab_design(1).hosts)
    variables = slurm_vars(hosts, cluster_name="lab", partitions=[Partition("batch", nodes="all")])
    variables["slurm_common_task_plugin"] = "task/none\nBogusKey=1"
    assert _check(tmp_path, variables, "lab001").returncode != 0
