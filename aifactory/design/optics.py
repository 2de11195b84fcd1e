"""Which transceiver sits at each end of a link, from the catalogue, by speed and media.

Links at 100G and below are copper (DAC or Cat6): no optics to power. Node-to-leaf links are short
(multimode); switch-to-switch links cross the hall (single-mode), as the SuperPOD cabling guides describe.
"""

from __future__ import annotations

from aifactory.catalog import Catalog, Transceiver

OPTICAL_FROM_GBPS = 200


def nic_optic(cat: Catalog, speed: int) -> tuple[str, Transceiver] | None:
    if speed < OPTICAL_FROM_GBPS:
        return None
    found = sorted(
        (tid, t) for tid, t in cat.transceivers.items() if t.end == "nic" and t.speed_gbps == speed
    )
    return found[0] if found else None


def switch_optic(cat: Catalog, speed: int, media: str) -> tuple[str, Transceiver] | None:
    """A switch-side transceiver for `speed`; twin-port parts serve two ports."""
    if speed < OPTICAL_FROM_GBPS:
        return None
    found = sorted(
        (t.media != media, tid, t)
        for tid, t in cat.transceivers.items()
        if t.end == "switch" and t.speed_gbps == speed
    )
    if found:
        return found[0][1], found[0][2]
    return nic_optic(cat, speed)  # single-port parts (e.g. QSFP112) also sit in switches


def cable_type(speed: int, media: str) -> str:
    if speed < OPTICAL_FROM_GBPS:
        return "copper-rj45" if speed <= 10 else "copper-dac"
    return f"fiber-{media}"


def modules_for(ports: int, optic: tuple[str, Transceiver] | None) -> int:
    """Transceivers needed for `ports` switch ports (twin-port parts take two)."""
    if optic is None:
        return 0
    per = optic[1].ports
    return -(-ports // per)
