"""On a CUDA machine: the quick profile measures every phase for real (skipped where there is no GPU)."""

from __future__ import annotations

import pytest
from conftest import run_cli, validate


def _has_cuda() -> bool:
    import torch

    return bool(torch.cuda.is_available())


@pytest.mark.gpu
@pytest.mark.skipif(not _has_cuda(), reason="needs an NVIDIA GPU with CUDA")
def test_quick_profile_on_gpu(tmp_path):
    import json

    proc = run_cli(["run", "--device-type", "cuda", "--profile", "quick", "--out", str(tmp_path)], timeout=900)
    report = json.loads((tmp_path / "burnin-report.json").read_text())
    validate(report)
    assert "cuda" == report["run"]["device_type"]
    assert report["telemetry"]["available"] is True
    for gpu in report["gpus"]:
        assert gpu["uuid"] and gpu["pci_bus_id"]
        assert gpu["phases"]["compute"]["metrics"]["tflops_sustained"] > 0
        assert "SKIPPED" not in {p["status"] for p in gpu["phases"].values()}
    assert proc.returncode == report["node"]["exit_code"]
