"""The hardware catalogue: loads strictly, cross-references resolve, ids are canonical, sources name fields."""

from __future__ import annotations

import re
import typing

import pytest

from aifactory.blueprint.cooling import RackGroup
from aifactory.catalog import KINDS, get_catalog, raw, suggest


def test_every_kind_loads_and_is_not_empty() -> None:
    cat = get_catalog()
    assert all(getattr(cat, kind) for kind in KINDS)


@pytest.mark.parametrize("kind", KINDS)
def test_ids_are_canonical_lowercase(kind: str) -> None:
    bad = [i for i in raw(kind) if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", i)]
    assert bad == []


@pytest.mark.parametrize("kind", KINDS)
def test_every_source_names_a_field_of_its_entry(kind: str) -> None:
    for ident, entry in getattr(get_catalog(), kind).items():
        fields = set(type(entry).model_fields) - {"sources", "name"}
        assert set() == set(entry.sources) - fields, ident


def test_every_node_sku_names_a_catalogue_gpu() -> None:
    cat = get_catalog()
    assert {i: n.gpu for i, n in cat.nodes.items() if n.gpu not in cat.gpus} == {}
    assert cat.gpus["h100-sxm"] == cat.gpu_of("dgx-h100")


def test_cooling_entries_cover_the_blueprint_cooling_types() -> None:
    members = typing.get_args(typing.get_args(RackGroup)[0])
    types = {typing.get_args(m.model_fields["type"].annotation)[0] for m in members}
    assert types == set(get_catalog().cooling)


def test_every_liquid_cooling_method_names_a_catalogue_cdu() -> None:
    """Direct-liquid and immersion groups fall back to their method's CDU; it must exist and be sourced."""
    cat = get_catalog()
    defaults = {t: m.cdu for t, m in cat.cooling.items()}
    assert defaults["direct-liquid"] in cat.cdus and defaults["immersion"] in cat.cdus
    assert defaults["air"] is None and defaults["rear-door"] is None
    assert all("capacity_kw" in c.sources for c in cat.cdus.values())


def test_suggest_offers_the_nearest_id_and_lists_all() -> None:
    assert suggest("DGX-H1000", ["dgx-h100", "a"]) == "did you mean 'dgx-h100'? valid ids: a, dgx-h100"
    assert suggest("zzzzzz", ["b", "a"]) == "valid ids: a, b"
