"""Reference figures per GPU model, read from the project's catalogue with plain PyYAML.

The catalogue package itself (`aifactory.catalog`) uses pydantic, which the GPU machines lack, so the
suite reads `aifactory/catalog/data/gpus.yaml` directly and identifies a GPU by the name NVML reports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aifactory import resources
from aifactory.burnin import BurninInputError

CATALOG_PATH = resources.package_file("catalog", "data", "gpus.yaml")

REFERENCE_FIELDS = (
    "bf16_tflops",
    "tf32_tflops",
    "fp16_tflops",
    "fp8_tflops",
    "fp64_tflops",
    "hbm_tbps",
    "tdp_w",
    "pcie_gen",
    "achieved_bf16_tflops",
    "achieved_hbm_tbps",
)


@dataclass(frozen=True, slots=True)
class GpuReference:
    """One catalogue entry, reduced to what the verdicts need. A figure of 0 or absent means unknown."""

    gpu_id: str
    name: str = ""
    nvml_names: tuple[str, ...] = ()
    figures: dict[str, float] = field(default_factory=dict)

    def figure(self, key: str) -> float | None:
        value = self.figures.get(key)
        return value if value else None


def load_catalog(path: Path | None = None) -> dict[str, GpuReference]:
    """All GPU entries by id; an absent catalogue file gives an empty mapping (floors then come only
    from the thresholds, and the report says no reference was found)."""
    import yaml

    path = path or CATALOG_PATH
    if not path.exists():
        return {}
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise BurninInputError(f"cannot parse GPU catalogue: {err}", file=str(path)) from err
    gpus = doc.get("gpus", {}) if isinstance(doc, dict) else {}
    return {gid: _entry(gid, raw) for gid, raw in sorted(gpus.items()) if isinstance(raw, dict)}


def _entry(gpu_id: str, raw: dict[str, Any]) -> GpuReference:
    figures = {
        k: float(raw[k])
        for k in REFERENCE_FIELDS
        if isinstance(raw.get(k), int | float) and not isinstance(raw.get(k), bool)
    }
    names = tuple(str(n) for n in raw.get("nvml_names") or ())
    return GpuReference(gpu_id=gpu_id, name=str(raw.get("name", gpu_id)), nvml_names=names, figures=figures)


def identify(device_name: str, catalog: dict[str, GpuReference]) -> GpuReference | None:
    """The catalogue entry whose `nvml_names` contains the device's name (case-insensitive, exact)."""
    wanted = device_name.strip().lower()
    for ref in catalog.values():
        if any(n.lower() == wanted for n in ref.nvml_names):
            return ref
    return None


def resolve(gpu_id: str | None, device_names: list[str], catalog: dict[str, GpuReference]) -> GpuReference | None:
    """The reference for this node: an explicit id (from the blueprint or `--gpu`) wins; otherwise the
    GPU is identified from NVML names. An explicit id missing from the catalogue is a user error."""
    if gpu_id:
        if gpu_id not in catalog:
            raise BurninInputError(
                f"GPU id {gpu_id!r} is not in the catalogue",
                hint=f"use one of: {', '.join(sorted(catalog)) or '(catalogue missing)'}",
                file=str(CATALOG_PATH),
            )
        return catalog[gpu_id]
    for name in device_names:
        ref = identify(name, catalog)
        if ref is not None:
            return ref
    return None
