"""Security rules: encryption, tenant isolation, isolated management networks, no secrets, pinned software."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from aifactory.blueprint.secretref import SECRET_NAME
from aifactory.policy.context import Context
from aifactory.policy.model import Hit
from aifactory.policy.registry import rule
from aifactory.secrets import kind_of

_SEC = ("security",)


def _stores(ctx: Context) -> Iterator[tuple[tuple[str, ...], Any]]:
    s = ctx.bp.storage
    yield ("storage", "filesystem"), s.filesystem
    if s.object_store is not None:
        yield ("storage", "object_store"), s.object_store


@rule(
    "SEC-001",
    "Encryption at rest",
    severity="high",
    tags=_SEC,
    rationale="Disks leave the building (RMA, decommissioning); data on them must be unreadable.",
    remediation="Set `encryption.at_rest: true` on the file system and object store, and "
    "`storage.backups.encrypted: true`.",
)
def at_rest(ctx: Context) -> Iterator[Hit]:
    for path, store in _stores(ctx):
        if not store.encryption.at_rest:
            yield Hit((*path, "encryption", "at_rest"), f"{path[-1]} stores data unencrypted", value=False)
    backups = ctx.bp.storage.backups
    if backups is not None and not backups.encrypted:
        yield Hit(("storage", "backups", "encrypted"), "backups are written unencrypted", value=False)


@rule(
    "SEC-002",
    "Encryption in transit",
    severity="high",
    tags=_SEC,
    rationale="Storage traffic crosses shared switches; without TLS/IPsec anyone on the path reads it.",
    remediation="Set `encryption.in_transit: true` on the file system and object store.",
)
def in_transit(ctx: Context) -> Iterator[Hit]:
    for path, store in _stores(ctx):
        if not store.encryption.in_transit:
            yield Hit((*path, "encryption", "in_transit"), f"{path[-1]} traffic is unencrypted", value=False)


@rule(
    "SEC-003",
    "Every tenant has its own fabric partition",
    severity="high",
    tags=_SEC,
    rationale="With more than one tenant, the compute fabric must separate them: an InfiniBand partition key "
    "or an Ethernet VLAN per tenant.",
    remediation="Add `fabric.compute.partitions: [{tenant: NAME, pkey: 0x...}]` (InfiniBand) or "
    "`vlan:` (Ethernet) for each tenant.",
)
def tenant_partitions(ctx: Context) -> Iterator[Hit]:
    tenants = ctx.bp.mlops.tenants
    if len(tenants) < 2:
        return
    fabric = ctx.bp.fabric.compute
    key = "pkey" if fabric.type == "infiniband" else "vlan"
    parts = {p.tenant: p for p in fabric.partitions}
    for i, t in enumerate(tenants):
        part = parts.get(t.name)
        if part is None or getattr(part, key) is None:
            yield Hit(
                ("mlops", "tenants", i, "name"),
                f"tenant {t.name!r} has no {key} on the {fabric.type} compute fabric",
                related=("fabric", "compute", "partitions"),
            )


@rule(
    "SEC-004",
    "Partition keys and VLANs are unique",
    severity="high",
    tags=_SEC,
    rationale="Two tenants sharing a P_Key or VLAN share a broadcast and RDMA domain: no isolation.",
    remediation="Give every partition its own `pkey`/`vlan`.",
)
def unique_partitions(ctx: Context) -> Iterator[Hit]:
    seen: dict[tuple[str, int], str] = {}
    for i, p in enumerate(ctx.bp.fabric.compute.partitions):
        for key in ("pkey", "vlan"):
            value = getattr(p, key)
            if value is None:
                continue
            if (key, value) in seen:
                yield Hit(
                    ("fabric", "compute", "partitions", i, key),
                    f"pkey {value:#06x} of tenant {p.tenant!r} is already used by {seen[(key, value)]!r}"
                    if key == "pkey"
                    else f"vlan {value} of tenant {p.tenant!r} is already used by {seen[(key, value)]!r}",
                )
            seen.setdefault((key, value), p.tenant)


@rule(
    "SEC-005",
    "Tenants have their own Kubernetes namespace",
    severity="medium",
    tags=_SEC,
    rationale="Quotas, network policies and RBAC attach to namespaces; shared or missing namespaces mix "
    "tenants on Kubernetes.",
    remediation="Give every tenant a distinct `namespace:` when the orchestrator includes Kubernetes.",
)
def tenant_namespaces(ctx: Context) -> Iterator[Hit]:
    if ctx.bp.mlops.orchestrator.type == "slurm":
        return
    seen: dict[str, str] = {}
    for i, t in enumerate(ctx.bp.mlops.tenants):
        if t.namespace is None:
            yield Hit(("mlops", "tenants", i, "name"), f"tenant {t.name!r} has no namespace")
        elif t.namespace in seen:
            yield Hit(
                ("mlops", "tenants", i, "namespace"),
                f"tenant {t.name!r} shares namespace {t.namespace!r} with tenant {seen[t.namespace]!r}",
            )
        else:
            seen[t.namespace] = t.name


@rule(
    "SEC-006",
    "Management networks are isolated",
    severity="high",
    tags=_SEC,
    rationale="BMCs and in-band management control every node; they must not be reachable from tenant "
    "networks.",
    remediation="Set `isolated: true` on `fabric.oob` and `fabric.inband`.",
)
def mgmt_isolated(ctx: Context) -> Iterator[Hit]:
    for name in ("oob", "inband"):
        if not getattr(ctx.bp.fabric, name).isolated:
            yield Hit(
                ("fabric", name, "isolated"), f"the {name} management network is not isolated", value=False
            )


_SECRET_KEY = re.compile(r"(passw(or)?d|secret|token|api[_-]?key|private[_-]?key|credential)", re.I)
def _walk(node: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _walk(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk(v, (*path, i))
    else:
        yield path, node


@rule(
    "SEC-007",
    "No plaintext secrets in blueprints",
    severity="critical",
    tags=_SEC,
    waivable=False,
    rationale="Blueprints live in git and in pull requests; a secret there is published.",
    remediation="Remove the secret, rotate it, and reference it by name from the key custody system "
    "(e.g. `key_ref:`).",
)
def plaintext_secrets(ctx: Context) -> Iterator[Hit]:
    for path, value in _walk(ctx.loaded.data):
        if not isinstance(value, str) or not value:
            continue
        key = str(path[-1]) if path else ""
        named = key.endswith("_ref") or _is_secret_ref(ctx.loaded.data, path, value)
        if kind_of(value) is not None or (_SECRET_KEY.search(key) and not named):
            # The value itself is never echoed: the message would leak it into logs and SARIF.
            yield Hit(path, f"{key!r} holds what looks like a secret", value="<redacted>")


def _is_secret_ref(data: Any, path: tuple[str | int, ...], value: str) -> bool:
    """`{secret: NAME}` (aifactory.blueprint.secretref): a name in the secret store, not a secret."""
    if not path or path[-1] != "secret" or not _SECRET_NAME.fullmatch(value):
        return False
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    return isinstance(parent, dict) and set(parent) == {"secret"}


_SECRET_NAME = re.compile(SECRET_NAME)
_FULL_VERSION = re.compile(r"^v?[0-9]+\.[0-9]+\.[0-9]+")
_COMPONENT_CHARTS = {
    "gpu_operator": "gpu-operator",
    "network_operator": "network-operator",
    "dcgm_exporter": "dcgm-exporter",
    "prometheus": "kube-prometheus-stack",
    "kueue": "kueue",
    "volcano": "volcano",
    "kubeflow_trainer": "kubeflow-trainer",
    "kuberay": "kuberay-operator",
    "kserve": "kserve",
    "nim": "nim-operator",
    "mlflow": "mlflow",
}


@rule(
    "SEC-008",
    "Chart versions are pinned",
    severity="medium",
    tags=_SEC,
    rationale="An unpinned or partial version (`1.2`) installs whatever is newest on the day of the deploy: "
    "unreviewed code and untested combinations.",
    remediation="Pin every chart under `software.charts` to a full version (MAJOR.MINOR.PATCH).",
)
def pinned_charts(ctx: Context) -> Iterator[Hit]:
    for name, chart in sorted(ctx.bp.software.charts.items()):
        if not _FULL_VERSION.match(chart.version):
            yield Hit(
                ("software", "charts", name, "version"),
                f"chart {name!r} version {chart.version!r} is not a full MAJOR.MINOR.PATCH pin",
            )


@rule(
    "SEC-009",
    "Kubernetes components have a pinned chart",
    severity="medium",
    level="advisory",
    tags=_SEC,
    rationale="A component enabled without a chart entry is installed at whatever version the deployer "
    "defaults to.",
    remediation="Add `software.charts.<chart>: {version: ..., repository: ...}` for every enabled component.",
)
def component_charts(ctx: Context) -> Iterator[Hit]:
    if ctx.bp.mlops.orchestrator.type == "slurm":
        return
    comps = ctx.bp.mlops.components
    for field, chart in _COMPONENT_CHARTS.items():
        if getattr(comps, field) and chart not in ctx.bp.software.charts:
            yield Hit(
                ("mlops", "components", field),
                f"{field} is enabled but chart {chart!r} is not pinned",
                related=("software", "charts"),
                value=True,
            )


@rule(
    "SEC-010",
    "Images pinned by digest",
    severity="low",
    level="advisory",
    tags=_SEC,
    rationale="A tag can be moved to other content; a sha256 digest cannot (supply-chain integrity).",
    remediation="Set `image_digest: sha256:...` on each chart entry.",
)
def image_digests(ctx: Context) -> Iterator[Hit]:
    for name, chart in sorted(ctx.bp.software.charts.items()):
        if chart.image_digest is None:
            yield Hit(
                ("software", "charts", name), f"chart {name!r} images are not pinned by digest", value=name
            )


@rule(
    "SEC-011",
    "Chart repositories use TLS",
    severity="high",
    tags=_SEC,
    rationale="A chart fetched over plain HTTP can be swapped on the way.",
    remediation="Use an `https://` or `oci://` repository.",
)
def chart_tls(ctx: Context) -> Iterator[Hit]:
    for name, chart in sorted(ctx.bp.software.charts.items()):
        if chart.repository.startswith("http://"):
            yield Hit(
                ("software", "charts", name, "repository"), f"chart {name!r} is fetched over plain HTTP"
            )
    for i, m in enumerate(ctx.bp.site.sovereignty.mirrors):
        if m.url.startswith("http://"):
            yield Hit(
                ("site", "sovereignty", "mirrors", i, "url"), f"mirror {m.name!r} is served over plain HTTP"
            )
