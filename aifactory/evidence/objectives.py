"""What the design evidences per sovereignty objective: a ladder of criteria per SEAL level.

The framework rates a provider through a questionnaire; this ladder is the part a design can show. An objective
reaches SEAL-N when every criterion of levels 1..N is met; the criteria of level N+1 that are not met are what is
missing for the next level. A criterion is met when the policy rules it names report nothing on the design
(a waived finding is not evidence) and its check, if any, holds. A criterion marked `declaration` is outside
what a design can show (ownership, audits, energy contracts): it stays unmet, and the report says which document
a reviewer needs instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aifactory.evidence.facts import Facts
from aifactory.policy.jurisdiction import EU_MEMBERS

Check = Callable[[Facts], bool]


@dataclass(frozen=True, slots=True)
class Criterion:
    level: int
    text: str
    rules: tuple[str, ...] = ()
    check: Check | None = None
    declaration: bool = False  # outside the design: never met by the design alone
    detail: Callable[[Facts], str] | None = None  # what exactly is short, said where the criterion is not met


def _eu(f: Facts) -> bool:
    j = f.loaded.model.site.jurisdiction
    return j == "EU" or j in EU_MEMBERS


def _encrypted(f: Facts, *, transit: bool) -> bool:
    enc = f.loaded.model.storage.filesystem.encryption
    return enc.in_transit if transit else enc.at_rest


def _models_mirrored(f: Facts) -> bool:
    bp = f.loaded.model
    serving = bp.mlops.components.kserve or bp.mlops.components.nim
    mirrors = bp.site.sovereignty.mirrors
    return not serving or any(m.kind == "models" and _in(f, m.location) for m in mirrors)


def _in(f: Facts, code: str) -> bool:
    from aifactory.policy.jurisdiction import inside

    return inside(code, f.loaded.model.site.jurisdiction)


def _hardware_origin(f: Facts) -> bool:
    prov = f.loaded.model.site.sovereignty.provenance
    return prov is not None and bool(prov.hardware_origin)


def _all_firmware(f: Facts) -> bool:
    """NIC and switch firmware recorded too (every node has NICs; a switched fabric has switches), each with its
    SHA-256."""
    prov = f.loaded.model.site.sovereignty.provenance
    if prov is None:
        return False
    have = {p.component for p in prov.firmware}
    return {"bios", "bmc", "gpu", "nic", "switch"} <= have and all(p.sha256 for p in prov.firmware)


def _bundle_signed(f: Facts) -> bool:
    b = f.bundle
    return b is not None and b.signature_sha256 is not None and all(a.digest for a in b.artifacts)


def _bundle_mirrored(f: Facts) -> bool:
    """Every bundle artifact's mirror is one of the site's in-jurisdiction mirrors."""
    from urllib.parse import urlparse

    b = f.bundle
    if b is None:
        return False
    sov = f.loaded.model.site.sovereignty
    hosts = {urlparse(m.url).hostname for m in sov.mirrors if _in(f, m.location)} | set(sov.allowed_registries)
    return all(a.mirror is not None and (urlparse(a.mirror).hostname or a.mirror.split("/")[0]) in hosts
               for a in b.artifacts)  # fmt: skip


def _burnin_accepted(f: Facts) -> bool:
    """Every compute node of the plan has a last burn-in result, and none failed."""
    if f.burnin is None:
        return False
    verdicts = {b.hostname: b.verdict for b in f.burnin}
    return all(verdicts.get(h) in ("PASS", "WARN") for h in f.compute_hosts)


def _burnin_gap(f: Facts) -> str:
    if f.burnin is None:
        return "no burn-in results given (--burnin)"
    verdicts = {b.hostname: b.verdict for b in f.burnin}
    missing = [h for h in f.compute_hosts if h not in verdicts]
    failed = sorted(h for h in f.compute_hosts if verdicts.get(h) == "FAIL")
    parts = [f"{len(missing)} of {len(f.compute_hosts)} compute nodes without a result"] if missing else []
    return "; ".join(parts + ([f"failed: {', '.join(failed)}"] if failed else []))


def _bundle_gap(f: Facts) -> str:
    b = f.bundle
    if b is None:
        return "no bundle given (--bundle)"
    undigested = sum(1 for a in b.artifacts if not a.digest)
    parts = [] if b.signature_sha256 else [f"no {b.shown}.asc"]
    return "; ".join(parts + ([f"{undigested} of {len(b.artifacts)} artifacts without a digest"] if undigested else []))


def _policy_passes(f: Facts) -> bool:
    return not f.policy.failing


def _security_rules() -> tuple[str, ...]:
    from aifactory.policy.registry import all_rules

    return tuple(r.id for r in all_rules() if "security" in r.tags)


def _planned(f: Facts) -> bool:
    return f.plan is not None


LADDERS: dict[str, tuple[Criterion, ...]] = {
    "SOV-1": (
        Criterion(1, "the site is under EU law (site.jurisdiction is the EU or a member state)", check=_eu),
        Criterion(2, "the operator works from inside the jurisdiction", ("SOV-011",)),
        Criterion(3, "nobody outside the jurisdiction holds privileged access", ("SOV-015",)),
        Criterion(
            4,
            "EU ownership and control of the operating organisation: attach its ownership and governance declaration",
            declaration=True,
        ),
    ),
    "SOV-2": (
        Criterion(1, "the site is under EU law", check=_eu),
        Criterion(
            2,
            "data and replicas stay in the jurisdiction, no cross-border replication",
            ("SOV-001", "SOV-002", "SOV-012"),
        ),
        Criterion(3, "backups, logs and telemetry stay in the jurisdiction", ("SOV-003", "SOV-004", "SOV-005")),
        Criterion(
            4,
            "no compelled access from abroad: keys in an HSM of the jurisdiction, no privileged access from abroad",
            ("SOV-006", "SOV-014", "SOV-015"),
        ),
    ),
    "SOV-3": (
        Criterion(1, "data stays in the jurisdiction", ("SOV-001",)),
        Criterion(
            2,
            "customer-held keys in the jurisdiction, data encrypted at rest",
            ("SOV-006", "SEC-001"),
            check=lambda f: _encrypted(f, transit=False),
        ),
        Criterion(
            3,
            "keys in an HSM of the jurisdiction, data encrypted in transit",
            ("SOV-014", "SEC-002"),
            check=lambda f: _encrypted(f, transit=True),
        ),
        Criterion(
            4, "models for the serving runtimes come from an in-jurisdiction models mirror", check=_models_mirrored
        ),
    ),
    "SOV-4": (
        Criterion(1, "the operator works from inside the jurisdiction", ("SOV-011",)),
        Criterion(
            2,
            "images, charts and packages come from mirrors inside the jurisdiction",
            ("SOV-007", "SOV-008", "SOV-009"),
        ),
        Criterion(3, "no privileged access from abroad, vendor telemetry off", ("SOV-015", "SOV-010")),
        Criterion(
            4, "every compute node of the plan accepted by its last burn-in", check=_burnin_accepted, detail=_burnin_gap
        ),
    ),
    "SOV-5": (
        Criterion(
            1, "the hardware's origin is recorded (site.sovereignty.provenance.hardware_origin)", check=_hardware_origin
        ),
        Criterion(2, "firmware and software provenance recorded", ("SOV-013",)),
        Criterion(
            3,
            "a bundle manifest with its detached signature, which installs verify, every artifact with its digest",
            ("SOV-017",),
            check=_bundle_signed,
            detail=_bundle_gap,
        ),
        Criterion(
            4,
            "NIC and switch firmware recorded too, every firmware image with its SHA-256, every bundle "
            "artifact served by an in-jurisdiction mirror",
            check=lambda f: _all_firmware(f) and _bundle_mirrored(f),
        ),
    ),
    "SOV-6": (
        Criterion(1, "charts come from in-jurisdiction mirrors", ("SOV-008",)),
        Criterion(2, "images and packages come from in-jurisdiction mirrors", ("SOV-009",)),
        Criterion(3, "no phone-home: vendor telemetry off, no telemetry endpoint abroad", ("SOV-010", "SOV-016")),
        Criterion(
            4,
            "source access to every component: attach the list of proprietary parts and their open "
            "alternatives (the GPU driver, CUDA and the DGX firmware are vendor-proprietary)",
            declaration=True,
        ),
    ),
    "SOV-7": (
        Criterion(1, "`policy check` passes (no mandatory finding)", check=_policy_passes),
        Criterion(2, "logs and telemetry stay in the jurisdiction", ("SOV-004", "SOV-005")),
        Criterion(3, "no security finding, no telemetry endpoint abroad", ("SOV-016", *_security_rules())),
        Criterion(
            4, "independent audit or certification (e.g. EUCS, ISO/IEC 27001): attach the certificate", declaration=True
        ),
    ),
    "SOV-8": (
        Criterion(1, "a PUE target and a facility power budget the plan is computed against", check=_planned),
        Criterion(2, "the plan fits the facility power budget and the rack feeds", ("PWR-002", "PWR-003")),
        Criterion(3, "PUE target at the new-build level (1.3 or better)", ("PWR-004",)),
        Criterion(4, "energy source and carbon intensity of the supply: attach the energy contract", declaration=True),
    ),
}

# Gaia-X label criteria a design can show something for (label level 3: EU location, immunity from non-EU law).
GAIA_X: tuple[tuple[str, str, int, tuple[str, ...]], ...] = (
    (
        "GX-LOCATION",
        "data, replicas, backups and processing located in the EU",
        3,
        ("SOV-001", "SOV-002", "SOV-003", "SOV-012"),
    ),
    (
        "GX-IMMUNITY",
        "immunity from non-EU law: operator, keys and privileged access inside the jurisdiction",
        3,
        ("SOV-006", "SOV-011", "SOV-014", "SOV-015"),
    ),
)


def met(f: Facts, c: Criterion) -> bool:
    if c.declaration:
        return False
    return f.passes(*c.rules) and (c.check is None or c.check(f))


def seal(f: Facts, ladder: tuple[Criterion, ...]) -> int:
    """The highest level whose criteria, and those of every level below, are all met."""
    reached = 0
    for level in range(1, 5):
        if not all(met(f, c) for c in ladder if c.level == level):
            break
        reached = level
    return reached
