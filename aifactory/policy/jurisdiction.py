"""Jurisdictions: a country code, or "EU", which contains its member states (DE is inside EU, EU is not
inside DE: an EU-wide replica may land outside Germany)."""

from __future__ import annotations

# The 27 EU member states (ISO 3166-1 alpha-2; Greece is "GR" in ISO although the EU itself writes "EL").
EU_MEMBERS = frozenset(
    {
        "AT",
        "BE",
        "BG",
        "HR",
        "CY",
        "CZ",
        "DK",
        "EE",
        "FI",
        "FR",
        "DE",
        "GR",
        "HU",
        "IE",
        "IT",
        "LV",
        "LT",
        "LU",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SK",
        "SI",
        "ES",
        "SE",
    }
)


def inside(code: str, jurisdiction: str) -> bool:
    """True when `code` lies within `jurisdiction`."""
    if code == jurisdiction:
        return True
    return jurisdiction == "EU" and code in EU_MEMBERS
