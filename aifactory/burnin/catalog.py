"""Reference figures per GPU model, from the suite's own JSON file (no PyYAML, no pydantic on GPU nodes).

`aifactory/burnin/data/gpu_references.json` mirrors the figures of the project's catalogue
(`aifactory/catalog/data/gpus.yaml`, which needs pydantic to load as a model) and adds the models the suite
must know before the catalogue does (H100 NVL, H200 NVL); a test keeps the shared entries equal. A GPU is
identified by the name NVML reports. Where a model has no measured figure, the floors derive from its
datasheet peak (`derived_reference`), so no known model runs without a floor.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aifactory import resources
from aifactory.burnin import BurninInputError

CATALOG_PATH = resources.package_file("burnin", "data", "gpu_references.json")
YAML_CATALOG_PATH = resources.package_file("catalog", "data", "gpus.yaml")
# What a healthy part sustains as a fraction of the datasheet's dense peak, where no measured figure exists:
# 8192^3 bf16 on Hopper reaches 0.78-0.81 of peak (mamf-finder, REFERENCE-DATA.md s1); the lower end.
SPEC_TO_ACHIEVED_BF16 = 0.78
SPEC_TO_ACHIEVED_HBM = 0.88  # triad against the HBM datasheet figure (H200: 4.43 of 4.8 measured is 0.92)

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
    """All GPU entries by id; an absent file gives an empty mapping (floors then come only from the
    thresholds, and the report says no reference was found)."""
    path = path or CATALOG_PATH
    if not path.exists():
        return {}
    if path.suffix in (".yaml", ".yml"):
        return _load_yaml(path)
    import json

    try:
        doc = json.loads(path.read_text(encoding="utf-8")) or {}
    except ValueError as err:
        raise BurninInputError(f"cannot parse GPU references: {err}", file=str(path)) from err
    gpus = doc.get("gpus", {}) if isinstance(doc, dict) else {}
    out = {}
    for gid, raw in sorted(gpus.items()):
        if isinstance(raw, dict):
            figures: dict[str, Any] = raw["figures"] if isinstance(raw.get("figures"), dict) else {}
            out[gid] = _entry(gid, {**figures, "name": raw.get("name", gid), "nvml_names": raw.get("nvml_names")})
    return out


def _load_yaml(path: Path) -> dict[str, GpuReference]:
    """A catalogue in the project's YAML layout (`gpus: {id: {field: value}}`); needs PyYAML."""
    try:
        import yaml
    except ImportError:
        raise BurninInputError(
            "PyYAML is not installed, so a YAML GPU catalogue cannot be read", hint="use the JSON references",
            file=str(path),
        ) from None
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise BurninInputError(f"cannot parse GPU catalogue: {err}", file=str(path)) from err
    gpus = doc.get("gpus", {}) if isinstance(doc, dict) else {}
    return {gid: _entry(gid, raw) for gid, raw in sorted(gpus.items()) if isinstance(raw, dict)}


def derived_reference(ref: GpuReference | None, measured: str, spec: str, fraction: float) -> float | None:
    """The measured figure where the entry has one, else the datasheet figure times `fraction`."""
    if ref is None:
        return None
    value = ref.figure(measured)
    if value:
        return value
    peak = ref.figure(spec)
    return peak * fraction if peak else None


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
