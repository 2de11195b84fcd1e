"""Which transceiver sits at each end of a link, from the catalogue, by speed and media.

Links at 100G and below are copper (DAC or Cat6): no optics to power. Every optical link is multimode, node-leaf
and switch-to-switch alike (RA-11333-001 Table 8: "All networking components are multi-mode fiber"; the
SuperPOD's runs stay within the hall, under the 50 m of 400G SR4/SR8 optics).
"""

from __future__ import annotations

from aifactory.catalog import Catalog, Transceiver

OPTICAL_FROM_GBPS = 200


def nic_optic(cat: Catalog, speed: int, port: str = "compute") -> tuple[str, Transceiver] | None:
    """A single-port node-side transceiver for `speed`: OSFP for compute NICs, QSFP112 (catalogue ids
    starting "qsfp112") for the storage/in-band ports where one exists (DGX: QSFP112 storage ports)."""
    if speed < OPTICAL_FROM_GBPS:
        return None
    found = sorted(
        (tid.startswith("qsfp112") != (port == "storage"), tid, t)
        for tid, t in cat.transceivers.items()
        if t.end == "nic" and t.ports == 1 and t.speed_gbps == speed
    )
    return (found[0][1], found[0][2]) if found else None


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
    """Cat5e/6 up to 10G; active optical cables (AOC) from 25G to 100G, whose runs leave the rack (RA-11333-001
    Table 8: in-band node, management, leaf-core and OOB-uplink cables are 100/200G AOCs); fibre with
    transceivers from 200G. In-rack copper (the in-band leaf pairs' ISLs, storage arrays beside their leaves) is
    "copper-dac", chosen by the caller."""
    if speed < OPTICAL_FROM_GBPS:
        return "copper-rj45" if speed <= 10 else "aoc"
    return f"fiber-{media}"


def modules_for(ports: int, optic: tuple[str, Transceiver] | None) -> int:
    """Transceivers needed for `ports` switch ports (twin-port parts take two)."""
    if optic is None:
        return 0
    per = optic[1].ports
    return -(-ports // per)
