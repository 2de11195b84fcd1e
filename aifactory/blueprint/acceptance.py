"""Acceptance: the burn-in thresholds a node must meet before it joins the factory (see shared BURNIN method)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from aifactory.blueprint.base import StrictModel

Positive = Annotated[float, Field(gt=0, le=1e6)]


class Acceptance(StrictModel):
    profile: Literal["quick", "acceptance", "soak"] = "acceptance"
    # Fractions of the catalogue reference: FAIL below fail_below, WARN below warn_below (BURNIN.md verdicts).
    fail_below: Annotated[float, Field(gt=0, le=1)] = 0.85
    warn_below: Annotated[float, Field(gt=0, le=1)] = 0.92
    bf16_tflops_min: Positive | None = None
    hbm_fraction_min: Annotated[float, Field(gt=0, le=1)] = 0.80
    pcie_gbps_min: Positive | None = None
    p2p_gbps_min: Positive | None = None
    allreduce_busbw_gbps_min: Positive | None = None
    max_gpu_temp_c: Annotated[float, Field(ge=30, le=110)] | None = None
    max_throttle_fraction: Annotated[float, Field(ge=0, le=1)] = 0.01
    time_budget_min: Annotated[float, Field(gt=0, le=10_080)] = 15

    @model_validator(mode="after")
    def _ordered(self) -> Acceptance:
        if self.fail_below > self.warn_below:
            raise ValueError(
                f"fail_below ({self.fail_below}) is above warn_below ({self.warn_below}); "
                "the fail floor must be at or below the warn floor"
            )
        return self
