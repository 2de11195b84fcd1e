"""Small shorthand types: they parse a compact string, hold a plain number, and print canonically.

`41kW` -> 41000.0 W, `400G` -> 400 Gb/s, `2PB` -> bytes, `125GB/s` -> 125.0 GB/s, `H100-SXM:8` -> GpuSpec.
A bare number means the base unit. Errors quote the raw input and say what form is expected.
"""

from __future__ import annotations

import ipaddress
import re
from decimal import Decimal
from fractions import Fraction
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    PlainSerializer,
    WithJsonSchema,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError

_NUM = r"(?P<num>[0-9]+(?:\.[0-9]+)?)"


def _bad(kind: str, raw: object, example: str) -> PydanticCustomError:
    return PydanticCustomError(
        "shorthand", "{kind} {raw} is not valid; write it like {example}",
        {"kind": kind, "raw": repr(raw), "example": example},
    )


def _parse_scaled(raw: object, kind: str, units: dict[str, float], example: str, maximum: float) -> float:
    if isinstance(raw, bool):
        raise _bad(kind, raw, example)
    if isinstance(raw, int | float):
        value = float(raw)
    elif isinstance(raw, str):
        m = re.fullmatch(_NUM + r"\s*(?P<unit>[A-Za-z/]*)", raw.strip())
        if not m or m.group("unit") not in units:
            raise _bad(kind, raw, example)
        # Decimal arithmetic: '1.001kW' must be exactly 1001 W (float gives 1000.9999999999999)
        value = float(Decimal(m.group("num")) * Decimal(repr(units[m.group("unit")])))
    else:
        raise _bad(kind, raw, example)
    if not 0 <= value <= maximum:
        raise PydanticCustomError(
            "shorthand_range", "{kind} {raw} is out of range (0 to {maximum})",
            {"kind": kind, "raw": repr(raw), "maximum": f"{maximum:g}"},
        )
    return value


def _num(value: float) -> str:
    """A plain decimal (never an exponent, which the parsers refuse) that reads back as the same float."""
    text = format(Decimal(repr(float(value))), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _fmt(value: float, units: list[tuple[str, float]]) -> str:
    """Largest unit that divides the value to at most 3 decimals; else the exact value in the base unit
    (`units` lists suffixes from largest to smallest, the base unit's scale being 1)."""
    for suffix, scale in units:
        if value >= scale and abs(round(value / scale, 3) - value / scale) < 1e-9:
            return f"{_num(round(value / scale, 3))}{suffix}"
    base = next(suffix for suffix, scale in units if scale == 1.0)
    return f"{_num(value)}{base}"


def _schema(pattern: str, description: str) -> WithJsonSchema:
    return WithJsonSchema(
        {"anyOf": [{"type": "string", "pattern": pattern}, {"type": "number", "minimum": 0}],
         "description": description}
    )


_POWER_UNITS = {"": 1.0, "W": 1.0, "kW": 1e3, "MW": 1e6}
_SPEED_UNITS = {"": 1.0, "G": 1.0, "Gb": 1.0, "Gbps": 1.0, "T": 1000.0}
_SIZE_UNITS = {"": 1.0, "B": 1.0, "GB": 1e9, "TB": 1e12, "PB": 1e15, "EB": 1e18, "GiB": 2.0**30, "TiB": 2.0**40}
_RATE_UNITS = {"": 1.0, "GB/s": 1.0, "TB/s": 1000.0, "MB/s": 1e-3}


def parse_power(raw: object) -> float:
    return _parse_scaled(raw, "power", _POWER_UNITS, "'41kW', '700W' or '2MW'", 1e10)


def format_power(watts: float) -> str:
    return _fmt(watts, [("MW", 1e6), ("kW", 1e3), ("W", 1.0)])


def parse_speed(raw: object) -> int:
    value = _parse_scaled(raw, "link speed", _SPEED_UNITS, "'400G', '100G' or '1.6T'", 1e5)
    if value != int(value) or value < 1:
        raise _bad("link speed", raw, "'400G' (a whole, positive number of Gb/s)")
    return int(value)


def format_speed(gbps: int) -> str:
    return f"{gbps}G"


def parse_size(raw: object) -> int:
    return int(_parse_scaled(raw, "size", _SIZE_UNITS, "'2PB', '30TB' or '80GB'", 1e21))


def format_size(nbytes: int) -> str:
    return _fmt(float(nbytes), [("EB", 1e18), ("PB", 1e15), ("TB", 1e12), ("GB", 1e9), ("B", 1.0)])


def parse_rate(raw: object) -> float:
    return _parse_scaled(raw, "throughput", _RATE_UNITS, "'125GB/s' or '1.2TB/s'", 1e7)


def format_rate(gbs: float) -> str:
    return _fmt(gbs, [("TB/s", 1000.0), ("GB/s", 1.0), ("MB/s", 1e-3)])


def parse_cidr(raw: object) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    if not isinstance(raw, str):
        raise _bad("CIDR", raw, "'10.0.0.0/16'")
    try:
        return ipaddress.ip_network(raw.strip(), strict=True)
    except ValueError as err:
        raise PydanticCustomError(
            "cidr", "CIDR {raw} is not valid ({reason}); write a network address such as '10.0.0.0/16'",
            {"raw": repr(raw), "reason": str(err)},
        ) from None


def special_range(net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> str:
    """What makes `net` unusable as a supernet to carve node addresses from ("" where nothing does)."""
    if net.prefixlen == 0:
        return "the whole address"
    for kind, test in (("loopback", net.is_loopback), ("multicast", net.is_multicast),
                       ("link-local", net.is_link_local), ("unspecified", net.is_unspecified),
                       ("reserved", net.is_reserved)):
        if test:
            return kind
    return ""


def parse_ratio(raw: object) -> float:
    """Oversubscription such as '1:1' or '4:3' (downlinks:uplinks) -> 1.0, 1.333."""
    if isinstance(raw, int | float) and not isinstance(raw, bool) and raw >= 1:
        return float(raw)
    if isinstance(raw, str):
        m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*:\s*([0-9]+(?:\.[0-9]+)?)\s*", raw)
        if m and float(m.group(2)) > 0 and float(m.group(1)) >= float(m.group(2)):
            return float(m.group(1)) / float(m.group(2))
    raise _bad("oversubscription", raw, "'1:1' or '4:3' (downlinks:uplinks, at least 1:1)")


def format_ratio(value: float) -> str:
    """'4:3' for 1.333...; a ratio of whole numbers is recovered exactly, anything else prints as 'x:1'."""
    frac = Fraction(value).limit_denominator(10_000)
    if frac.numerator / frac.denominator == value:
        return f"{frac.numerator}:{frac.denominator}"
    return f"{_num(value)}:1"


Power = Annotated[float, BeforeValidator(parse_power), PlainSerializer(format_power, return_type=str),
                  _schema(r"^[0-9.]+\s*(W|kW|MW)?$", "Power, e.g. '41kW' (bare number: watts)")]
LinkSpeed = Annotated[int, BeforeValidator(parse_speed), PlainSerializer(format_speed, return_type=str),
                      _schema(r"^[0-9.]+\s*(G|Gb|Gbps|T)?$", "Link speed per port, e.g. '400G'")]
DataSize = Annotated[int, BeforeValidator(parse_size), PlainSerializer(format_size, return_type=str),
                     _schema(r"^[0-9.]+\s*(B|GB|TB|PB|EB|GiB|TiB)?$", "Capacity, e.g. '2PB'")]
Throughput = Annotated[float, BeforeValidator(parse_rate), PlainSerializer(format_rate, return_type=str),
                       _schema(r"^[0-9.]+\s*(MB/s|GB/s|TB/s)?$", "Throughput, e.g. '125GB/s'")]
Ratio = Annotated[float, BeforeValidator(parse_ratio), PlainSerializer(format_ratio, return_type=str),
                  _schema(r"^[0-9.]+\s*:\s*[0-9.]+$", "Oversubscription downlinks:uplinks, e.g. '1:1'")]
Cidr = Annotated[
    ipaddress.IPv4Network | ipaddress.IPv6Network,
    BeforeValidator(parse_cidr),
    PlainSerializer(str, return_type=str),
    WithJsonSchema({"type": "string", "description": "Network in CIDR form, e.g. '10.0.0.0/16'"}),
]


_GPU_SPEC = r"^\s*([A-Za-z0-9][A-Za-z0-9.-]*)\s*(?::\s*([0-9]+))?\s*$"


class GpuSpec(BaseModel):
    """`H100-SXM:8`: a GPU catalogue id (case-insensitive) and a count per node."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    model: str = Field(description="GPU catalogue id, lowercase, e.g. 'h100-sxm'.")
    count: int = Field(description="GPUs per node.")

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, raw: Any) -> Any:
        if isinstance(raw, str):
            m = re.fullmatch(_GPU_SPEC, raw)
            if not m:
                raise _bad("GPU spec", raw, "'H100-SXM:8' (catalogue id, colon, GPUs per node)")
            return {"model": m.group(1).lower(), "count": int(m.group(2) or 1)}
        return raw

    @model_validator(mode="after")
    def _range(self) -> GpuSpec:
        if not 0 <= self.count <= 1024:
            raise _bad("GPU count", self.count, "'H100-SXM:8' (0 to 1024 GPUs per node)")
        return self

    def __str__(self) -> str:
        return f"{self.model.upper()}:{self.count}"

    @classmethod
    def __get_pydantic_json_schema__(cls, core: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        # Blueprints write the shorthand string; without this the schema allowed only the mapping form.
        return {"anyOf": [{"type": "string", "pattern": _GPU_SPEC}, handler(core)],
                "description": "GPU catalogue id and GPUs per node, e.g. 'H100-SXM:8'"}
