"""Bundle facts for the evidence report: what `DIR/manifest.json` (schema aifactory/bundle/v1, written by
`aifactory bundle`) lists, and whether its detached signature `DIR/manifest.json.asc` is there.

The manifest is read defensively: anything that is not the documented shape is unusable input (exit 2) naming
the file and the entry. Checking the signature and the mirror's content is `aifactory bundle verify`'s job; the
report records the manifest's and the signature's SHA-256 so a reviewer can tie the two together.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aifactory.errors import Location, UserError

SCHEMA = "aifactory/bundle/v1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.json.asc"
KINDS = ("deb", "wheel", "image", "chart", "model")
MAX_BYTES = 64 << 20
_FIX = "write the bundle again with `aifactory bundle create BLUEPRINT --key KEYDIR --out DIR`"


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


def _bad(shown: str, what: str, fix: str = _FIX) -> UserError:
    return UserError.at(Location(shown), f"the bundle manifest {what}", fix)


def _str(entry: dict[str, Any], key: str, shown: str, where: str, optional: bool = False) -> Any:
    value = entry.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value:
        raise _bad(shown, f"has no text `{key}` at {where}")
    return value


def _artifact(entry: Any, shown: str, i: int) -> Artifact:
    where = f"/artifacts/{i}"
    if not isinstance(entry, dict):
        raise _bad(shown, f"has an artifact that is not an object at {where}")
    kind = _str(entry, "kind", shown, where)
    if kind not in KINDS:
        raise _bad(shown, f"has the unknown artifact kind {kind!r} at {where}", f"use one of {', '.join(KINDS)}")
    digest = entry.get("sha256", entry.get("digest"))
    if isinstance(digest, list) and all(isinstance(h, str) and h for h in digest):
        # A locked wheel: every file hash the lock allows (one per platform), any of which the mirror may hold.
        digest = " ".join(h if ":" in h else f"sha256:{h}" for h in digest) or None
    elif digest is not None and not isinstance(digest, str):
        raise _bad(shown, f"has a `sha256`/`digest` that is neither text nor null at {where}")
    if isinstance(digest, str) and entry.get("sha256") is not None and ":" not in digest:
        digest = f"sha256:{digest}"
    name, source = _str(entry, "name", shown, where), _str(entry, "source", shown, where)
    version, mirror = (_str(entry, k, shown, where, optional=True) for k in ("version", "mirror"))
    return Artifact(kind, name, version, source, mirror, digest or None)


def load_bundle(folder: Path, shown: str) -> Bundle:
    """The bundle in `folder` (its manifest shown as `shown`), or a UserError naming what is wrong."""
    from aifactory.files import is_file, load_json, present, read_bytes

    path = folder / MANIFEST
    if not present(path, shown):
        raise UserError.at(Location(shown), "no bundle manifest here", "pass the folder `aifactory bundle` wrote")
    raw = read_bytes(path, shown, MAX_BYTES, "bundle manifest")
    doc = load_json(path, shown, MAX_BYTES, "bundle manifest")
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        raise _bad(shown, f"is not an {SCHEMA} document (its `schema` must be {SCHEMA!r})")
    entries = doc.get("artifacts")
    if not isinstance(entries, list):
        raise _bad(shown, "has no `artifacts` list")
    blueprint = _str(doc, "blueprint", shown, "/blueprint")
    stack = _str(doc, "stack", shown, "/stack", optional=True)
    artifacts = tuple(_artifact(e, shown, i) for i, e in enumerate(entries))
    sig_path = folder / SIGNATURE
    sig = read_bytes(sig_path, f"{shown}.asc", MAX_BYTES, "signature") if is_file(sig_path) else None
    return Bundle(
        shown,
        blueprint,
        stack,
        artifacts,
        hashlib.sha256(raw).hexdigest(),
        hashlib.sha256(sig).hexdigest() if sig is not None else None,
    )
