"""Sovereignty rules (REFERENCE-DATA.md s7): data, replicas, backups, logs and telemetry stay in the
jurisdiction; keys are held there; software comes from in-jurisdiction mirrors; no phone-home; a local
operator.

Mandatory where `site.sovereignty.enforced` is true, advisory elsewhere. Residency rules cannot be waived.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlparse

from aifactory.policy.context import Context
from aifactory.policy.model import Hit
from aifactory.policy.registry import rule

_SOV = ("sovereignty",)
_RES = ("site", "sovereignty", "residency")


def outside(ctx: Context, path: tuple[str | int, ...], code: str | None, what: str) -> Iterator[Hit]:
    if code is not None and not ctx.inside(code):
        yield Hit(
            path,
            f"{what} is in {code}, outside the site's jurisdiction {ctx.jurisdiction}",
            related=("site", "jurisdiction"),
        )


@rule(
    "SOV-001",
    "Data stays in the jurisdiction",
    severity="critical",
    tags=_SOV,
    sovereign=True,
    waivable=False,
    rationale="Training data and model weights are the assets sovereignty protects; the file system and "
    "object store must sit inside the site's jurisdiction.",
    remediation="Set `site.sovereignty.residency.data`, `storage.filesystem.location` and "
    "`storage.object_store.location` to the site's jurisdiction (or a member state of it).",
)
def data_residency(ctx: Context) -> Iterator[Hit]:
    s = ctx.bp.storage
    yield from outside(ctx, (*_RES, "data"), ctx.bp.site.sovereignty.residency.data, "data residency")
    yield from outside(ctx, ("storage", "filesystem", "location"), s.filesystem.location, "the file system")
    if s.object_store is not None:
        yield from outside(
            ctx, ("storage", "object_store", "location"), s.object_store.location, "the object store"
        )


@rule(
    "SOV-002",
    "Replicas stay in the jurisdiction",
    severity="critical",
    tags=_SOV,
    sovereign=True,
    waivable=False,
    rationale="A replica is a full copy of the data; one abroad defeats residency.",
    remediation="Set `site.sovereignty.residency.replicas` and every `storage.object_store."
    "replication_targets` entry to the site's jurisdiction.",
)
def replica_residency(ctx: Context) -> Iterator[Hit]:
    yield from outside(
        ctx, (*_RES, "replicas"), ctx.bp.site.sovereignty.residency.replicas, "replica residency"
    )
    store = ctx.bp.storage.object_store
    for i, target in enumerate(store.replication_targets if store else []):
        yield from outside(
            ctx,
            ("storage", "object_store", "replication_targets", i),
            target,
            "an object store replication target",
        )


@rule(
    "SOV-003",
    "Backups stay in the jurisdiction",
    severity="critical",
    tags=_SOV,
    sovereign=True,
    waivable=False,
    rationale="Backups are copies of the data kept for years; they fall under the same residency law.",
    remediation="Set `site.sovereignty.residency.backups` and `storage.backups.location` to the site's "
    "jurisdiction.",
)
def backup_residency(ctx: Context) -> Iterator[Hit]:
    yield from outside(
        ctx, (*_RES, "backups"), ctx.bp.site.sovereignty.residency.backups, "backup residency"
    )
    backups = ctx.bp.storage.backups
    if backups is not None:
        yield from outside(ctx, ("storage", "backups", "location"), backups.location, "the backup target")


@rule(
    "SOV-004",
    "Logs stay in the jurisdiction",
    severity="high",
    tags=_SOV,
    sovereign=True,
    waivable=False,
    rationale="Logs carry user names, job names, paths and prompts; they are personal data in most regimes.",
    remediation="Set `site.sovereignty.residency.logs` to the site's jurisdiction and ship logs to an "
    "in-jurisdiction store.",
)
def log_residency(ctx: Context) -> Iterator[Hit]:
    yield from outside(ctx, (*_RES, "logs"), ctx.bp.site.sovereignty.residency.logs, "log residency")


@rule(
    "SOV-005",
    "Telemetry stays in the jurisdiction",
    severity="high",
    tags=_SOV,
    sovereign=True,
    waivable=False,
    rationale="Metrics and traces reveal workload, tenants and utilisation; they stay with the data.",
    remediation="Set `site.sovereignty.residency.telemetry` to the site's jurisdiction.",
)
def telemetry_residency(ctx: Context) -> Iterator[Hit]:
    yield from outside(
        ctx, (*_RES, "telemetry"), ctx.bp.site.sovereignty.residency.telemetry, "telemetry residency"
    )


@rule(
    "SOV-006",
    "Encryption keys held in the jurisdiction",
    severity="critical",
    tags=_SOV,
    sovereign=True,
    rationale="Whoever holds the keys holds the data: keys belong in a customer-held HSM/KMS inside the "
    "jurisdiction, not with a vendor.",
    remediation="Use `key_custody.provider: hsm`, `kms` or `vault` with `location` in the jurisdiction.",
)
def key_custody(ctx: Context) -> Iterator[Hit]:
    kc = ctx.bp.site.sovereignty.key_custody
    path = ("site", "sovereignty", "key_custody")
    yield from outside(ctx, (*path, "location"), kc.location, "key custody")
    if kc.provider == "vendor-managed":
        yield Hit((*path, "provider"), "keys are vendor-managed; the operator does not hold them")


def _host(url: str) -> str:
    return urlparse(url).hostname or url.split("/")[0]


def served(ctx: Context, host: str, kinds: tuple[str, ...]) -> bool:
    """Is `host` an allowed registry, an in-jurisdiction mirror, or an upstream such a mirror serves?"""
    sov = ctx.bp.site.sovereignty
    if host in sov.allowed_registries:
        return True
    for m in sov.mirrors:
        if m.kind in kinds and ctx.inside(m.location) and (host == _host(m.url) or host in m.mirrors):
            return True
    return False


@rule(
    "SOV-007",
    "Mirrors are inside the jurisdiction",
    severity="high",
    tags=_SOV,
    sovereign=True,
    rationale="A mirror abroad is a dependency abroad: pulls leak what runs where; it can be cut.",
    remediation="Move the mirror into the jurisdiction and set its `location`.",
)
def mirror_location(ctx: Context) -> Iterator[Hit]:
    for i, m in enumerate(ctx.bp.site.sovereignty.mirrors):
        yield from outside(
            ctx, ("site", "sovereignty", "mirrors", i, "location"), m.location, f"mirror {m.name!r}"
        )


@rule(
    "SOV-008",
    "Charts come from in-jurisdiction mirrors",
    severity="high",
    tags=_SOV,
    sovereign=True,
    rationale="Every Helm chart and its images must be pullable without leaving the jurisdiction "
    "(air-gappable, signed mirrors).",
    remediation="Add the chart repository's host to an in-jurisdiction `helm`/`oci` mirror's `mirrors:` "
    "list, point `repository` at the mirror, or list the mirror in `allowed_registries`.",
)
def chart_sources(ctx: Context) -> Iterator[Hit]:
    for name, chart in sorted(ctx.bp.software.charts.items()):
        if not chart.repository:
            continue
        host = _host(chart.repository)
        kinds = ("oci",) if chart.repository.startswith("oci://") else ("helm",)
        if not served(ctx, host, kinds):
            yield Hit(
                ("software", "charts", name, "repository"),
                f"chart {name!r} comes from {host}, which no in-jurisdiction {kinds[0]} mirror serves",
            )


@rule(
    "SOV-009",
    "Images and packages come from in-jurisdiction mirrors",
    severity="high",
    tags=_SOV,
    sovereign=True,
    rationale="Nodes install OS and Python packages and pull container images; each source needs an "
    "in-jurisdiction mirror so the factory runs cut off from abroad.",
    remediation="Add mirrors of kind `oci`, `apt` and `pypi` with `location` in the jurisdiction under "
    "`site.sovereignty.mirrors`.",
)
def package_mirrors(ctx: Context) -> Iterator[Hit]:
    sov = ctx.bp.site.sovereignty
    have = {m.kind for m in sov.mirrors if ctx.inside(m.location)}
    for kind in ("oci", "apt", "pypi"):
        if kind not in have:
            yield Hit(
                ("site", "sovereignty", "mirrors"),
                f"no in-jurisdiction {kind} mirror: {kind} content would come from abroad",
                value=kind,
            )


@rule(
    "SOV-010",
    "Vendor telemetry is off",
    severity="high",
    tags=_SOV,
    sovereign=True,
    rationale="Phone-home telemetry sends fleet data to a vendor abroad.",
    remediation="Set `site.sovereignty.vendor_telemetry: false`.",
)
def vendor_telemetry(ctx: Context) -> Iterator[Hit]:
    if ctx.bp.site.sovereignty.vendor_telemetry:
        yield Hit(("site", "sovereignty", "vendor_telemetry"), "vendor telemetry is on", value=True)


@rule(
    "SOV-011",
    "Operated from inside the jurisdiction",
    severity="high",
    tags=_SOV,
    sovereign=True,
    rationale="Operators with root access can read everything; sovereign factories are run by an "
    "in-jurisdiction operator.",
    remediation="Set `site.sovereignty.operator_location` to the jurisdiction.",
)
def operator_location(ctx: Context) -> Iterator[Hit]:
    yield from outside(
        ctx,
        ("site", "sovereignty", "operator_location"),
        ctx.bp.site.sovereignty.operator_location,
        "the operator",
    )


@rule(
    "SOV-012",
    "No cross-border replication",
    severity="critical",
    tags=_SOV,
    sovereign=True,
    waivable=False,
    rationale="Replication across a border moves data abroad continuously.",
    remediation="Set `cross_border_replication: false` and keep `replication_targets` in the jurisdiction.",
)
def cross_border(ctx: Context) -> Iterator[Hit]:
    sov = ctx.bp.site.sovereignty
    if sov.cross_border_replication:
        yield Hit(
            ("site", "sovereignty", "cross_border_replication"),
            "cross-border replication is enabled",
            value=True,
        )
    for i, target in enumerate(sov.replication_targets):
        yield from outside(
            ctx, ("site", "sovereignty", "replication_targets", i), target, "a replication target"
        )
