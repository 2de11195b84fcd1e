"""The evidence report as one JSON document (schema `aifactory/evidence/v1`, docs/evidence.md); the text,
Markdown and HTML renderings are views of it."""

from __future__ import annotations

import hashlib
from collections import Counter
from typing import Any

from aifactory.evidence import framework as fw
from aifactory.evidence.facts import Facts
from aifactory.evidence.objectives import GAIA_X, LADDERS, Criterion, met, seal

SCHEMA = "aifactory/evidence/v1"


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the report document (shipped as aifactory/evidence/schema/report.schema.json)."""
    import json

    from aifactory import resources

    data: dict[str, Any] = json.loads(
        resources.package_file("evidence", "schema", "report.schema.json").read_text(encoding="utf-8")
    )
    return data


_SOV = ("site", "sovereignty")
BLUEPRINT_FACTS: dict[str, tuple[tuple[str | int, ...], ...]] = {
    "SOV-1": (
        ("site", "jurisdiction"),
        (*_SOV, "operator_location"),
        (*_SOV, "privileged_access"),
        (*_SOV, "key_custody", "operator"),
    ),
    "SOV-2": (
        ("site", "jurisdiction"),
        (*_SOV, "residency"),
        (*_SOV, "cross_border_replication"),
        (*_SOV, "replication_targets"),
    ),
    "SOV-3": (
        (*_SOV, "key_custody"),
        ("storage", "filesystem", "location"),
        ("storage", "filesystem", "encryption"),
        ("storage", "object_store", "location"),
    ),
    "SOV-4": ((*_SOV, "operator_location"), (*_SOV, "mirrors"), (*_SOV, "vendor_telemetry")),
    "SOV-5": (("compute", "node_sku"), (*_SOV, "provenance"), (*_SOV, "bundle_verification")),
    "SOV-6": (("mlops", "orchestrator", "type"), (*_SOV, "allowed_registries"), (*_SOV, "telemetry_endpoints")),
    "SOV-7": ((*_SOV, "enforced"), (*_SOV, "residency", "logs"), (*_SOV, "residency", "telemetry")),
    "SOV-8": (("cooling", "pue_target"), ("cooling", "facility_power")),
}


def _plan_facts(f: Facts, objective: str) -> list[dict[str, Any]]:
    if f.plan is None:
        return []
    data = f.plan.to_json()
    rows: list[tuple[str, Any, tuple[str, ...]]]
    power = data["power"]
    if objective == "SOV-8":
        rows = [
            ("power.it_kw", power["it_kw"], ("compute", "node_sku")),
            ("power.pue", power["pue"], ("cooling", "pue_target")),
            ("power.facility_kw", power["facility_kw"], ("cooling", "pue_target")),
            ("power.facility_budget_kw", power["facility_budget_kw"], ("cooling", "facility_power")),
        ]
    elif objective == "SOV-4":
        rows = [("nodes", data["nodes"], ("compute",)), ("gpus", data["gpus"], ("compute",))]
    else:
        return []
    return [{"source": "plan", "name": n, "value": v, "at": f.at(*at)} for n, v, at in rows]


def _catalogue_facts(f: Facts) -> list[dict[str, Any]]:
    from aifactory.catalog import get_catalog

    cat = get_catalog()
    node = cat.nodes[f.loaded.model.compute.node_sku]
    gpu = cat.gpus[node.gpu]
    at = f.catalogue_at
    return [
        {"source": "catalogue", "name": "node", "value": node.name, "at": at["node"]},
        {"source": "catalogue", "name": "gpu", "value": f"{gpu.name} ({gpu.vendor})", "at": at["gpu"]},
    ]


def _bundle_facts(f: Facts) -> list[dict[str, Any]]:
    b = f.bundle
    if b is None:
        return [{"source": "bundle", "name": "bundle", "value": None, "at": None}]
    kinds = Counter(a.kind for a in b.artifacts)
    undigested = [i for i, a in enumerate(b.artifacts) if not a.digest]
    rows: list[dict[str, Any]] = [
        {"source": "bundle", "name": "manifest.sha256", "value": b.manifest_sha256, "at": b.shown},
        {"source": "bundle", "name": "signature.sha256", "value": b.signature_sha256, "at": f"{b.shown}.asc"},
        {"source": "bundle", "name": "artifacts", "value": dict(sorted(kinds.items())), "at": f"{b.shown}#/artifacts"},
    ]
    rows += [
        {
            "source": "bundle",
            "name": "artifact without digest",
            "value": f"{b.artifacts[i].kind} {b.artifacts[i].name} {b.artifacts[i].version or ''}".rstrip(),
            "at": f"{b.shown}#/artifacts/{i}",
        }
        for i in undigested
    ]
    return rows


def _burnin_facts(f: Facts) -> list[dict[str, Any]]:
    if f.burnin is None:
        return [{"source": "burnin", "name": "burn-in", "value": None, "at": None}]
    return [{"source": "burnin", "name": b.hostname, "value": b.verdict, "at": b.shown} for b in f.burnin]


def _facts(f: Facts, objective: str) -> list[dict[str, Any]]:
    rows = [f.blueprint(*p) for p in BLUEPRINT_FACTS[objective]] + _plan_facts(f, objective)
    if objective == "SOV-5":
        rows += _catalogue_facts(f) + _bundle_facts(f)
    if objective == "SOV-4":
        rows += _burnin_facts(f)
    return rows


def _gap(f: Facts, c: Criterion) -> str:
    """What keeps an unmet criterion from being met: its own account, else the rules that report findings."""
    if c.detail is not None:
        return c.detail(f)
    found = [(r, len(f.findings(r))) for r in c.rules if f.findings(r)]
    return ", ".join(f"{r}: {n} finding{'s' if n > 1 else ''}" for r, n in found)


def _objective(f: Facts, obj: fw.Objective) -> dict[str, Any]:
    ladder = LADDERS[obj.id]
    level = seal(f, ladder)
    rules = sorted({r for c in ladder for r in c.rules})
    criteria: list[dict[str, Any]] = []
    missing: list[str] = []
    for c in ladder:
        ok = met(f, c)
        detail = "" if ok else _gap(f, c)
        criteria.append({"level": c.level, "text": c.text, "rules": list(c.rules), "met": ok,
                         "declaration": c.declaration, "detail": detail})  # fmt: skip
        if c.level == level + 1 and not ok:
            missing.append(c.text + (f" ({detail})" if detail else ""))
    return {
        "id": obj.id,
        "name": obj.name,
        "weight": obj.weight,
        "focus": obj.focus,
        "seal": level,
        "seal_name": fw.SEAL_NAMES[level],
        "next": None if level == 4 else {"seal": level + 1, "missing": missing},
        "criteria": criteria,
        "rules": [f.rule(r) for r in rules],
        "facts": _facts(f, obj.id),
    }


def _gaia_x(f: Facts) -> list[dict[str, Any]]:
    return [
        {"id": i, "criterion": text, "label_level": lvl, "met": f.passes(*rules), "rules": [f.rule(r) for r in rules]}
        for i, text, lvl, rules in GAIA_X
    ]


def _policy(f: Facts) -> dict[str, Any]:
    r = f.policy
    return {
        "result": "FAIL" if r.failing else "PASS",
        "counts": r.counts(),
        "findings": [
            {
                "rule": x.rule,
                "level": x.level,
                "severity": x.severity,
                "message": x.message,
                "at": str(x.location),
                "waived": x.waived,
            }
            for x in r.findings
        ],
    }


def _burnin(f: Facts) -> dict[str, Any]:
    hosts = f.compute_hosts
    if f.burnin is None:
        return {"given": False, "planned_nodes": len(hosts), "nodes": [], "without_result": len(hosts)}
    seen = {b.hostname for b in f.burnin}
    return {
        "given": True,
        "planned_nodes": len(hosts),
        "nodes": [
            {
                "hostname": b.hostname,
                "verdict": b.verdict,
                "started_at": b.started_at,
                "profile": b.profile,
                "at": b.shown,
            }
            for b in f.burnin
        ],
        "without_result": len([h for h in hosts if h not in seen]),
        "not_in_plan": sorted(seen - set(hosts)),
    }


def _provenance(f: Facts) -> dict[str, Any]:
    prov = f.loaded.model.site.sovereignty.provenance
    firmware = (
        []
        if prov is None
        else [
            {**p.model_dump(mode="json"), "at": f.at(*_SOV, "provenance", "firmware", i)}
            for i, p in enumerate(prov.firmware)
        ]
    )
    b = f.bundle
    return {
        "hardware": _catalogue_facts(f),
        "hardware_origin": f.blueprint(*_SOV, "provenance", "hardware_origin"),
        "firmware": firmware,
        "bundle": None
        if b is None
        else {
            "manifest": b.shown,
            "blueprint": b.blueprint,
            "stack": b.stack,
            "manifest_sha256": b.manifest_sha256,
            "signature_sha256": b.signature_sha256,
            "artifacts": len(b.artifacts),
            "without_digest": sum(1 for a in b.artifacts if not a.digest),
        },
    }


def _energy(f: Facts) -> dict[str, Any] | None:
    if f.plan is None:
        return None
    return {fact["name"].removeprefix("power."): fact for fact in _plan_facts(f, "SOV-8")}


def build(f: Facts) -> dict[str, Any]:
    """The report (without its digest; `with_digest` adds it)."""
    bp = f.loaded.model
    objectives = [_objective(f, o) for o in fw.OBJECTIVES]
    seals = {o["id"]: o["seal"] for o in objectives}
    return {
        "schema": SCHEMA,
        "as_of": f.as_of.isoformat(),
        "design": {
            "blueprint": bp.name,
            "file": f.target.shown,
            "site": bp.site.name,
            "region": bp.site.region,
            "jurisdiction": bp.site.jurisdiction,
            "city": bp.site.city,
            "enforced": bp.site.sovereignty.enforced,
        },
        "framework": {
            "name": fw.CSF,
            "version": fw.CSF_VERSION,
            "published": fw.CSF_PUBLISHED,
            "seal_levels": {str(k): v for k, v in fw.SEAL_NAMES.items()},
            "sources": list(fw.CSF_SOURCES),
            "gaia_x_sources": list(fw.GAIA_X_SOURCES),
        },
        "summary": {
            "seal": min(seals.values()),
            "weighted_seal": round(sum(o["weight"] * o["seal"] for o in objectives) / 100, 2),
            "objectives": seals,
            "policy": "FAIL" if f.policy.failing else "PASS",
            "burnin": _burnin_summary(f),
        },
        "objectives": objectives,
        "gaia_x": _gaia_x(f),
        "policy": _policy(f),
        "burnin": _burnin(f),
        "provenance": _provenance(f),
        "energy": _energy(f),
    }


def _burnin_summary(f: Facts) -> str:
    if f.burnin is None:
        return "no results given"
    verdicts = Counter(b.verdict for b in f.burnin)
    counted = ", ".join(f"{n} {v}" for v, n in sorted(verdicts.items()))
    return f"{counted} of {len(f.compute_hosts)} planned compute nodes"


def digest(doc: dict[str, Any]) -> str:
    """SHA-256 of the report's canonical JSON without its `digest` key."""
    from aifactory.io import dumps_json

    body = {k: v for k, v in doc.items() if k != "digest"}
    return "sha256:" + hashlib.sha256(dumps_json(body).encode()).hexdigest()


def with_digest(doc: dict[str, Any]) -> dict[str, Any]:
    return {**doc, "digest": digest(doc)}


def summary(doc: dict[str, Any]) -> dict[str, Any]:
    """The short form a stack exports as its `evidence` output."""
    return {
        "schema": doc["schema"],
        "as_of": doc["as_of"],
        "seal": doc["summary"]["seal"],
        "objectives": doc["summary"]["objectives"],
        "policy": doc["summary"]["policy"],
        "digest": doc["digest"],
    }
