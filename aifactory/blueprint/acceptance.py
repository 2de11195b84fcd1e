"""Acceptance: the burn-in thresholds a node must meet before it joins the factory (see shared BURNIN method)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from aifactory.blueprint.base import StrictModel

Positive = Annotated[float, Field(gt=0, le=1e6)]


class Acceptance(StrictModel):
    """Burn-in thresholds a node must meet before it joins the factory (`aifactory burnin`)."""

    profile: Literal["quick", "acceptance", "soak"] = Field(
        "acceptance", description="Burn-in profile: 'quick' (between jobs), 'acceptance' (to join, about 15 "
        "minutes) or 'soak' (long)."
    )
    # Fractions of the catalogue reference: FAIL below fail_below, WARN below warn_below (BURNIN.md verdicts).
    fail_below: Annotated[float, Field(gt=0, le=1)] = Field(
        0.85, description="A result below this fraction of the catalogue reference fails the node."
    )
    warn_below: Annotated[float, Field(gt=0, le=1)] = Field(
        0.92, description="A result below this fraction of the catalogue reference warns; at least fail_below."
    )
    bf16_tflops_min: Positive | None = Field(
        None, description="Lowest acceptable dense BF16 matrix-multiply throughput per GPU, in TFLOPS; default: "
        "the catalogue figure for the GPU."
    )
    hbm_fraction_min: Annotated[float, Field(gt=0, le=1)] = Field(
        0.80, description="Lowest acceptable HBM bandwidth as a fraction of the GPU's specified TB/s."
    )
    pcie_gbps_min: Positive | None = Field(
        None, description="Lowest acceptable host-to-GPU PCIe copy bandwidth in GB/s; default: by PCIe generation."
    )
    p2p_gbps_min: Positive | None = Field(
        None, description="Lowest acceptable GPU-to-GPU copy bandwidth in GB/s; default: the GPU's figure."
    )
    allreduce_busbw_gbps_min: Positive | None = Field(
        None, description="Lowest acceptable NCCL all-reduce bus bandwidth at the largest size, in GB/s."
    )
    max_gpu_temp_c: Annotated[float, Field(ge=30, le=110)] | None = Field(
        None, description="A GPU hotter than this, in degrees C, during burn-in fails the node; it is also the "
        "threshold of the GPU temperature alert rule."
    )
    max_throttle_fraction: Annotated[float, Field(ge=0, le=1)] = Field(
        0.01, description="Largest share of telemetry samples (0 to 1) that may show hardware, thermal or power "
        "throttling."
    )
    time_budget_min: Annotated[float, Field(gt=0, le=10_080)] = Field(
        15, description="Longest a burn-in run may take, in minutes."
    )

    @model_validator(mode="after")
    def _ordered(self) -> Acceptance:
        if self.fail_below > self.warn_below:
            raise ValueError(
                f"fail_below ({self.fail_below}) is above warn_below ({self.warn_below}); "
                "the fail floor must be at or below the warn floor"
            )
        return self
