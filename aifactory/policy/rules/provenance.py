"""Supply-chain and access rules: what the sovereignty evidence report (`aifactory evidence`) shows missing.

Firmware and software provenance recorded (EU Cloud Sovereignty Framework SOV-5), keys in an HSM of the
jurisdiction, nobody abroad with privileged access, no telemetry endpoint abroad, and a signed bundle that
installs verify. Mandatory where `site.sovereignty.enforced` is true, advisory elsewhere (like the SOV rules
in `sovereignty.py`).
"""

from __future__ import annotations

from collections.abc import Iterator

from aifactory.policy.context import Context
from aifactory.policy.model import Hit
from aifactory.policy.registry import rule
from aifactory.policy.rules.sovereignty import outside

_SOV = ("sovereignty",)
_AT = ("site", "sovereignty")
# The firmware every GPU node runs and a vendor signs: BIOS/UEFI, BMC and GPU (VBIOS). NIC, DPU and switch
# firmware are recorded for the next SEAL level (aifactory/evidence/objectives.py), not required here.
NODE_FIRMWARE = ("bios", "bmc", "gpu")


@rule(
    "SOV-013",
    "Firmware and software provenance recorded",
    severity="high",
    tags=_SOV,
    sovereign=True,
    rationale="Supply chain is the heaviest-weighted objective of the EU Cloud Sovereignty Framework (SOV-5, "
    "20 %): a reviewer needs each firmware image the nodes run and the manifest of every package, image, chart "
    "and model installed, with where each came from.",
    remediation="Add `site.sovereignty.provenance` with a `firmware` entry (component, version, source) for "
    "`bios`, `bmc` and `gpu`, and `software_manifest` naming the signed manifest `aifactory bundle` writes.",
)
def provenance_recorded(ctx: Context) -> Iterator[Hit]:
    prov = ctx.bp.site.sovereignty.provenance
    if prov is None:
        yield Hit(_AT, "no firmware or software provenance is recorded", value="provenance")
        return
    have = {f.component for f in prov.firmware}
    firmware = (*_AT, "provenance", "firmware")
    for component in NODE_FIRMWARE:
        if component not in have:
            yield Hit(
                firmware if ctx.has(firmware) else (*_AT, "provenance"),
                f"no {component} firmware is recorded (component, version, source)",
                value=component,
            )
    manifest = (*_AT, "provenance", "software_manifest")
    if not prov.software_manifest:
        yield Hit(manifest if ctx.has(manifest) else (*_AT, "provenance"), "no software manifest is recorded")


@rule(
    "SOV-014",
    "Keys in an HSM of the jurisdiction",
    severity="high",
    tags=_SOV,
    sovereign=True,
    rationale="Keys held in software (a KMS or Vault without an HSM behind it) can be copied; keys that the "
    "storage layer names outside the site's key store are held by someone else.",
    remediation="Use `key_custody.provider: hsm`, name the store (`key_custody.store`), and point every "
    "storage `encryption.key_ref` at it as `STORE/KEY`.",
)
def keys_in_hsm(ctx: Context) -> Iterator[Hit]:
    kc = ctx.bp.site.sovereignty.key_custody
    at = (*_AT, "key_custody")
    if kc.provider != "hsm":
        yield Hit((*at, "provider"), f"keys are held by {kc.provider!r}, not a hardware security module")
    storage = ctx.bp.storage
    refs = [(("storage", "filesystem", "encryption", "key_ref"), storage.filesystem.encryption.key_ref)]
    if storage.object_store is not None:
        refs.append((("storage", "object_store", "encryption", "key_ref"), storage.object_store.encryption.key_ref))
    for path, ref in refs:
        if not ref:
            continue
        if kc.store is None:
            yield Hit(path, f"key {ref!r} names no known key store: `key_custody.store` is not set", related=at)
        elif not ref.startswith(f"{kc.store}/"):
            yield Hit(path, f"key {ref!r} is not in the site's key store {kc.store!r}", related=(*at, "store"))


@rule(
    "SOV-015",
    "No privileged access from outside the jurisdiction",
    severity="high",
    tags=_SOV,
    sovereign=True,
    rationale="Root, BMC or cluster-admin access from abroad (vendor support, a managed service) reaches every "
    "byte however local the operator is; foreign law can compel whoever holds it.",
    remediation="Remove the entry from `site.sovereignty.privileged_access`, or give the access to someone "
    "working from inside the jurisdiction.",
)
def privileged_access(ctx: Context) -> Iterator[Hit]:
    for i, acc in enumerate(ctx.bp.site.sovereignty.privileged_access):
        if not ctx.inside(acc.location):
            yield Hit(
                (*_AT, "privileged_access", i, "location"),
                f"{acc.name!r} holds {acc.scope} access from {acc.location}, outside the site's jurisdiction "
                f"{ctx.jurisdiction}",
                related=("site", "jurisdiction"),
            )


@rule(
    "SOV-016",
    "No telemetry endpoint outside the jurisdiction",
    severity="high",
    tags=_SOV,
    sovereign=True,
    rationale="An endpoint abroad that metrics, logs or traces are sent to is a phone-home, whatever "
    "`vendor_telemetry` says.",
    remediation="Send telemetry to an endpoint inside the jurisdiction, or remove the entry from "
    "`site.sovereignty.telemetry_endpoints`.",
)
def telemetry_endpoints(ctx: Context) -> Iterator[Hit]:
    for i, end in enumerate(ctx.bp.site.sovereignty.telemetry_endpoints):
        where = (*_AT, "telemetry_endpoints", i, "location")
        yield from outside(ctx, where, end.location, f"telemetry endpoint {end.name!r} ({end.url})")


@rule(
    "SOV-017",
    "Bundle verified before install",
    severity="high",
    tags=_SOV,
    sovereign=True,
    rationale="Mirrors inside the jurisdiction prove where content is served from, not what it is: installs "
    "check the signed bundle manifest and every digest, so a swapped artifact is refused.",
    remediation="Set `site.sovereignty.bundle_verification: {required: true, signing_key: FINGERPRINT}` and "
    "run `aifactory bundle verify` against the mirrors before installing.",
)
def bundle_verified(ctx: Context) -> Iterator[Hit]:
    bv = ctx.bp.site.sovereignty.bundle_verification
    at = (*_AT, "bundle_verification")
    if bv is None:
        yield Hit(_AT, "no bundle verification is declared: nothing checks what the mirrors serve", value="bundle")
        return
    if not bv.required:
        yield Hit((*at, "required"), "installs do not require a verified bundle", value=False)
    if not bv.signing_key:
        yield Hit(at, "no signing key is named for the bundle manifest", value="signing_key")
