"""Cooling and power layer: rack groups (cooling method chosen by `type`) within a facility power budget."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from aifactory.blueprint.base import StrictModel
from aifactory.blueprint.site import Name
from aifactory.blueprint.types import Power

Holds = Literal["compute", "fabric", "storage", "management"]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]


def _compute_only() -> list[Holds]:
    return ["compute"]


class _RackGroup(StrictModel):
    name: Name
    capacity: Power = Field(description="Heat the method removes per rack, e.g. '40kW'.")
    power_limit: Power | None = Field(default=None, description="Electrical feed per rack; default: capacity.")
    holds: list[Holds] = Field(default_factory=_compute_only)
    redundancy: Literal["N", "N+1", "2N"] = "N+1"


class AirCooled(_RackGroup):
    type: Literal["air"]
    inlet_max_c: Annotated[float, Field(ge=10, le=45)] = 27.0


class RearDoor(_RackGroup):
    type: Literal["rear-door"]
    active: bool = True
    water_supply_c: Annotated[float, Field(ge=5, le=45)] = 18.0


class DirectLiquid(_RackGroup):
    type: Literal["direct-liquid"]
    liquid_fraction: Fraction = 0.75
    water_class: Literal["W17", "W27", "W32", "W40", "W45", "W+"] = "W32"
    supply_c: Annotated[float, Field(ge=5, le=60)] = 25.0
    return_c: Annotated[float, Field(ge=5, le=70)] = 45.0


class Immersion(_RackGroup):
    type: Literal["immersion"]
    fluid: Literal["single-phase", "two-phase"] = "single-phase"


RackGroup = Annotated[AirCooled | RearDoor | DirectLiquid | Immersion, Field(discriminator="type")]


class Cooling(StrictModel):
    facility_power: Power = Field(description="Facility power budget incl. cooling overhead, e.g. '2MW'.")
    pue_target: Annotated[float, Field(ge=1.0, le=3.0)] = 1.3
    redundancy: Literal["N", "N+1", "2N"] = "N+1"
    rack_groups: Annotated[list[RackGroup], Field(min_length=1, max_length=256)]
