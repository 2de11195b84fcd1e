"""Shorthand types: parse(format(x)) gives x back, printing is canonical, garbage is refused with the input quoted."""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError
from pydantic_core import PydanticCustomError

from aifactory.blueprint import types as t

SCALED: dict[str, tuple[Callable[[object], Any], Callable[[Any], str], float, list[str]]] = {
    # kind: (parse, format, maximum, units a user may write)
    "power": (t.parse_power, t.format_power, 1e10, ["W", "kW", "MW", ""]),
    "size": (t.parse_size, t.format_size, 1e21, ["B", "GB", "TB", "PB", "EB", "GiB", "TiB", ""]),
    "rate": (t.parse_rate, t.format_rate, 1e7, ["GB/s", "TB/s", "MB/s", ""]),
}


def _shorthand(units: list[str]) -> st.SearchStrategy[str]:
    """What people write: a whole or decimal number and a unit, e.g. '41kW', '1.5TB/s'."""
    number = st.one_of(st.integers(0, 99_999).map(str),
                       st.tuples(st.integers(0, 9_999), st.integers(0, 999)).map(lambda p: f"{p[0]}.{p[1]}"))
    return st.tuples(number, st.sampled_from(units)).map("".join)


@pytest.mark.parametrize("kind", sorted(SCALED))
@given(data=st.data())
def test_written_values_round_trip_through_the_canonical_form(kind: str, data: st.DataObject) -> None:
    parse, fmt, _, units = SCALED[kind]
    raw = data.draw(_shorthand(units))
    try:
        value = parse(raw)
    except PydanticCustomError as err:  # '99999EB' is beyond the type's range: a refusal, not a round trip
        assume(err.type != "shorthand_range")
        raise
    canonical = fmt(value)
    assert value == parse(canonical)
    assert canonical == fmt(parse(canonical))  # canonical printing is a fixed point


@pytest.mark.parametrize("kind", ["power", "rate"])
@given(data=st.data())
def test_any_float_in_range_prints_as_something_that_parses_back(kind: str, data: st.DataObject) -> None:
    parse, fmt, maximum, _ = SCALED[kind]
    value = data.draw(st.floats(0, maximum, allow_nan=False))
    assert math.isclose(value, parse(fmt(value)), rel_tol=1e-9, abs_tol=1e-12)


@given(st.integers(0, 10**21))
def test_any_byte_count_prints_as_something_that_parses_back(nbytes: int) -> None:
    assert math.isclose(nbytes, t.parse_size(t.format_size(nbytes)), rel_tol=1e-9)


@pytest.mark.parametrize(("raw", "canonical"), [
    ("41kW", "41kW"), ("41000", "41kW"), ("700 W", "700W"), ("2MW", "2MW"), ("1500kW", "1.5MW"), (0, "0W"),
])
def test_power_prints_in_the_largest_whole_unit(raw: object, canonical: str) -> None:
    assert canonical == t.format_power(t.parse_power(raw))


@pytest.mark.parametrize(("raw", "canonical"), [
    ("2PB", "2PB"), ("2000TB", "2PB"), ("80GB", "80GB"), ("1TiB", "1099511627776B"), ("30TB", "30TB"),
])
def test_size_prints_in_the_largest_whole_unit(raw: str, canonical: str) -> None:
    assert canonical == t.format_size(t.parse_size(raw))


@given(st.integers(1, 100_000))
def test_link_speed_round_trips(gbps: int) -> None:
    assert gbps == t.parse_speed(t.format_speed(gbps))
    assert f"{gbps}G" == t.format_speed(t.parse_speed(f"{gbps}Gbps"))


def test_link_speed_in_terabits() -> None:
    assert t.format_speed(t.parse_speed("1.6T")) == "1600G"


@given(st.integers(1, 500), st.integers(1, 500))
def test_ratio_of_whole_numbers_round_trips_exactly(a: int, b: int) -> None:
    down, up = max(a, b), min(a, b)
    value = t.parse_ratio(f"{down}:{up}")
    assert value == t.parse_ratio(t.format_ratio(value))
    assert t.format_ratio(value) == t.format_ratio(t.parse_ratio(t.format_ratio(value)))


def test_ratio_prints_reduced() -> None:
    assert [t.format_ratio(t.parse_ratio(r)) for r in ("8:8", "8:6", "64:32")] == ["1:1", "4:3", "2:1"]


@given(st.ip_addresses(v=4), st.integers(8, 32))
def test_cidr_round_trips(addr: ipaddress.IPv4Address, prefix: int) -> None:
    net = ipaddress.ip_network(f"{addr}/{prefix}", strict=False)
    assert net == t.parse_cidr(str(t.parse_cidr(str(net))))


@given(st.sampled_from(["H100-SXM", "h200-sxm", "B200", "mi300x", "L40S"]), st.integers(0, 1024))
def test_gpu_spec_round_trips_case_insensitively(model: str, count: int) -> None:
    spec = t.GpuSpec.model_validate(f"{model}:{count}")
    assert (model.lower(), count) == (spec.model, spec.count)
    assert spec == t.GpuSpec.model_validate(str(spec))
    assert f"{model.upper()}:{count}" == str(spec)


GARBAGE = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1).filter(
        lambda s: not any(ch.isdigit() for ch in s)),
    st.sampled_from(["-5kW", "41 kilowatts", "1e3W", "400Q", "1,5TB", "nan", "inf", "12..5GB", "kW"]),
    st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.just(True), st.just(None),
)


@pytest.mark.parametrize("parse", [t.parse_power, t.parse_size, t.parse_rate, t.parse_speed, t.parse_ratio],
                         ids=["power", "size", "rate", "speed", "ratio"])
@given(raw=GARBAGE)
def test_garbage_is_refused_with_the_raw_input_quoted(parse: Callable[[object], Any], raw: object) -> None:
    with pytest.raises(PydanticCustomError) as err:
        parse(raw)
    assert repr(raw) in str(err.value)
    assert "write it like" in str(err.value)


@pytest.mark.parametrize(("parse", "raw"), [
    (t.parse_power, 2e10), (t.parse_power, -1), (t.parse_size, "2000EB"), (t.parse_rate, "1e8"),
])
def test_out_of_range_names_the_range_and_the_input(parse: Callable[[object], Any], raw: object) -> None:
    with pytest.raises(PydanticCustomError) as err:
        parse(raw)
    assert repr(raw) in str(err.value)


@given(GARBAGE)
def test_garbage_gpu_spec_and_cidr_are_refused(raw: object) -> None:
    with pytest.raises(ValidationError) as err:
        TypeAdapter(t.GpuSpec).validate_python(raw if not isinstance(raw, str) else f"{raw}:x")
    assert err.value.errors()
    if isinstance(raw, str):
        with pytest.raises(PydanticCustomError) as cidr_err:
            t.parse_cidr(f"{raw}/99")
        assert repr(f"{raw}/99") in str(cidr_err.value)
