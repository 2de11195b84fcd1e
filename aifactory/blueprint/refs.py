"""Catalogue references: a string id checked against one section of the hardware catalogue."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from aifactory.catalog import get_catalog, suggest


def _checker(kind: str) -> AfterValidator:
    def check(value: str) -> str:
        valid = list(getattr(get_catalog(), kind))
        if value not in valid:
            raise PydanticCustomError(
                "catalog_id", "unknown {kind} id {value}: {hint}",
                {"kind": kind.rstrip("s") if kind != "switches" else "switch", "value": repr(value),
                 "hint": suggest(value, valid)},
            )
        return value

    return AfterValidator(check)


NodeSkuId = Annotated[str, _checker("nodes")]
SwitchId = Annotated[str, _checker("switches")]
TransceiverId = Annotated[str, _checker("transceivers")]
CduId = Annotated[str, _checker("cdus")]
