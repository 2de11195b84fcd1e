"""Bundle facts for the evidence report: what `DIR/manifest.json` (schema aifactory/bundle/v1, written by
`aifactory bundle create`) lists, and whether its detached signature `DIR/manifest.json.asc` is there.

The manifest is read by the bundle's own reader (`aifactory.bundle.manifest.load_manifest`, the one `bundle
verify` and `bundle fill` use): anything that is not the documented shape is unusable input (exit 2) naming the
file and the entry. Checking the signature and the mirror's content is `aifactory bundle verify`'s job; the
report records the manifest's and the signature's SHA-256 so a reviewer can tie the two together.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aifactory.bundle.manifest import MANIFEST, MAX_BYTES, SIGNATURE, load_manifest

__all__ = ["MANIFEST", "SIGNATURE", "Artifact", "Bundle", "load_bundle"]


@dataclass(frozen=True, slots=True)
class Artifact:
    kind: str
    name: str
    version: str | None  # None: a .deb the manifest lists unresolved (apt picks the version)
    source: str
    mirror: str | None  # None: the blueprint names no mirror of this kind
    digest: str | None  # "sha256:..." for files, the image digest for images; None where unknown


@dataclass(frozen=True, slots=True)
class Bundle:
    shown: str  # the manifest's path as reported
    blueprint: str
    stack: str | None
    artifacts: tuple[Artifact, ...]
    manifest_sha256: str
    signature_sha256: str | None  # None: no detached signature


def _digest(entry: dict[str, Any]) -> str | None:
    """A file's `sha256` as `sha256:<hex>` (a locked wheel: every hash its lock allows), else the image digest."""
    value = entry.get("sha256") or entry.get("digest")
    if isinstance(value, list):
        return " ".join(h if ":" in h else f"sha256:{h}" for h in value) or None
    if isinstance(value, str) and value:
        return value if ":" in value else f"sha256:{value}"
    return None


def _artifact(entry: dict[str, Any]) -> Artifact:
    mirror = entry.get("mirror")
    return Artifact(entry["kind"], entry["name"], entry.get("version"), entry["source"],
                    mirror if isinstance(mirror, str) and mirror else None, _digest(entry))  # fmt: skip


def load_bundle(folder: Path, shown: str) -> Bundle:
    """The bundle in `folder` (its manifest shown as `shown`), or a UserError naming what is wrong."""
    from aifactory.files import is_file, read_bytes

    doc = load_manifest(folder / MANIFEST, shown)
    raw = read_bytes(folder / MANIFEST, shown, MAX_BYTES, "bundle manifest")
    sig_path = folder / SIGNATURE
    sig = read_bytes(sig_path, f"{shown}.asc", MAX_BYTES, "signature") if is_file(sig_path) else None
    return Bundle(
        shown,
        doc["blueprint"],
        doc.get("stack"),
        tuple(_artifact(e) for e in doc["artifacts"]),
        hashlib.sha256(raw).hexdigest(),
        hashlib.sha256(sig).hexdigest() if sig is not None else None,
    )
