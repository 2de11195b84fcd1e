"""Cooling and power layer: rack groups (cooling method chosen by `type`) within a facility power budget."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from aifactory.blueprint.base import StrictModel
from aifactory.blueprint.grammar import RelativeFile
from aifactory.blueprint.refs import CduId
from aifactory.blueprint.site import Name
from aifactory.blueprint.types import Power

Holds = Literal["compute", "fabric", "storage", "management"]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]


def _compute_only() -> list[Holds]:
    return ["compute"]


class _RackGroup(StrictModel):
    name: Name = Field(description="Name of the rack group (a DNS-1123 label).")
    capacity: Power = Field(
        description="Heat the method removes per rack in W, e.g. '40kW'; the design engine fits nodes per rack "
        "to it."
    )
    power_limit: Power | None = Field(
        default=None, description="Electrical feed per rack in W, e.g. '40kW'; default: capacity."
    )
    holds: list[Holds] = Field(
        default_factory=_compute_only, description="What the group's racks hold: compute nodes, fabric "
        "switches, storage, management hosts. Compute goes to the first group holding it, switches to the first "
        "holding fabric."
    )
    redundancy: Literal["N", "N+1", "2N"] = Field(
        "N+1", description="Redundancy of the group's cooling and power units (CRAH, CDU, UPS): none (N), one "
        "spare (N+1) or doubled (2N)."
    )


class AirCooled(_RackGroup):
    type: Literal["air"] = Field(description="Cooling method: room air.")
    inlet_max_c: Annotated[float, Field(ge=10, le=45)] = Field(
        27.0, description="Highest allowed air inlet temperature in degrees C (recorded; not checked by the "
        "design engine)."
    )


class RearDoor(_RackGroup):
    type: Literal["rear-door"] = Field(description="Cooling method: rear-door heat exchangers.")
    active: bool = Field(
        True, description="Active (fan-assisted) doors; passive doors remove much less heat per rack (about "
        "35 kW)."
    )
    water_supply_c: Annotated[float, Field(ge=5, le=45)] = Field(
        18.0, description="Water supply temperature to the doors in degrees C (recorded; not checked by the "
        "design engine)."
    )


class DirectLiquid(_RackGroup):
    type: Literal["direct-liquid"] = Field(description="Cooling method: direct-to-chip liquid cooling.")
    liquid_fraction: Fraction = Field(
        0.75, description="Share of a rack's heat (0 to 1) the liquid loop carries; the rest goes to room air and "
        "must stay within what air cooling removes."
    )
    water_class: Literal["W17", "W27", "W32", "W40", "W45", "W+"] = Field(
        "W32", description="ASHRAE facility water class; it bounds the supply temperature (e.g. W32: 32 C)."
    )
    supply_c: Annotated[float, Field(ge=5, le=60)] = Field(
        25.0, description="Coolant supply temperature in degrees C; at most the water class's maximum."
    )
    cdu: CduId | None = Field(
        None, description="Coolant distribution unit model (catalogue id, e.g. 'vertiv-coolchip-cdu-600') that "
        "moves the group's liquid heat to facility water; default: the cooling method's catalogue CDU. The plan "
        "counts liquid heat / CDU capacity, rounded up, plus the group's redundancy spares."
    )
    return_c: Annotated[float, Field(ge=5, le=70)] = Field(
        45.0, description="Coolant return temperature in degrees C; must be above supply_c."
    )


class Immersion(_RackGroup):
    type: Literal["immersion"] = Field(description="Cooling method: immersion tanks.")
    fluid: Literal["single-phase", "two-phase"] = Field(
        "single-phase", description="Immersion fluid type (recorded; not checked by the design engine)."
    )
    cdu: CduId | None = Field(
        None, description="Coolant distribution unit model (catalogue id, e.g. 'vertiv-coolchip-cdu-600') that "
        "moves the group's liquid heat to facility water; default: the cooling method's catalogue CDU. The plan "
        "counts liquid heat / CDU capacity, rounded up, plus the group's redundancy spares."
    )


RackGroup = Annotated[AirCooled | RearDoor | DirectLiquid | Immersion, Field(discriminator="type")]


class EnergySignal(StrictModel):
    """An hourly price or carbon-intensity signal (a day-ahead market's prices, a grid's forecast) the renderer
    turns into Slurm reservations for flexible training in the cheap hours and lower GPU caps in the dear ones."""

    file: RelativeFile = Field(
        description="CSV file, relative to the blueprint's folder: `#` comment lines, a header `hour,value`, then "
        "one row per hour ('2026-12-04T00:00Z,81.5'), consecutive hours in UTC."
    )
    kind: Literal["price", "carbon"] = Field(
        "price", description="What the values are: 'price' (e.g. EUR/MWh) or 'carbon' (gCO2/kWh)."
    )
    cheap_hours: Annotated[int, Field(ge=1, le=24)] = Field(
        6, description="The cheapest hours of each day that become training windows (Slurm reservations)."
    )
    expensive_hours: Annotated[int, Field(ge=0, le=24)] = Field(
        4, description="The dearest hours of each day in which the GPUs run at the lower cap."
    )
    expensive_cap: Annotated[float, Field(ge=0.3, le=1.0)] = Field(
        0.75, description="The lower cap as a fraction of the plan's per-GPU cap (never below the GPU's minimum)."
    )
    reservation_users: Annotated[
        list[Annotated[str, StringConstraints(pattern=r"^[a-z_][a-z0-9_-]{0,31}$")]], Field(min_length=1, max_length=64)
    ] = Field(
        default_factory=lambda: ["root"], description="Users who may run in the training reservations (Slurm "
        "`Users=`; the factory keeps no Slurm accounting to name accounts)."
    )


class Cooling(StrictModel):
    """Facility power and the rack groups that hold the equipment."""

    facility_power: Power = Field(description="Facility power budget in W incl. cooling overhead, e.g. '2MW'.")
    pue_target: Annotated[float, Field(ge=1.0, le=3.0)] = Field(
        1.3, description="Power usage effectiveness (facility power / IT power) the design is sized with."
    )
    redundancy: Literal["N", "N+1", "2N"] = Field(
        "N+1", description="Facility cooling and power redundancy: N (none), N+1 or 2N; it also sets the PDUs "
        "per rack (one feed for N, an A and a B feed otherwise)."
    )
    rack_groups: Annotated[list[RackGroup], Field(min_length=1, max_length=256)] = Field(
        description="Kinds of rack, each with its cooling method (`type`) and per-rack capacity."
    )
    energy_signal: EnergySignal | None = Field(
        None, description="Optional hourly price or carbon signal for energy-aware scheduling (`render --workloads`)."
    )
