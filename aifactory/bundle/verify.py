"""Check a mirror folder against a signed bundle manifest: the signature, then every artifact.

Each artifact gets one status: `ok` (present, hash or digest equal), `missing`, `changed` (present, another
hash), or `present` (there, but the manifest pins no hash for it: a digest this machine could not resolve).
The bundle fails on a bad signature, a missing or a changed artifact.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aifactory.bundle import layout
from aifactory.bundle.manifest import MANIFEST, SIGNATURE, artifact_label, load_manifest
from aifactory.bundle.sign import verify as verify_signature
from aifactory.errors import Location, UserError

FAILING = ("missing", "changed")
SHOWN = 10  # failures the text report names; the JSON report has them all


def _file_status(path: Path | None, sha256: Any) -> str:
    if path is None or not path.is_file():
        return "missing"
    if not sha256:
        return "present"
    return "ok" if layout.sha256_file(path) == sha256 else "changed"


def check_artifact(root: Path, artifact: Mapping[str, Any]) -> str:
    kind = artifact["kind"]
    if kind == "deb":
        return _file_status(layout.deb_file(root, artifact), artifact.get("sha256"))
    if kind == "wheel":
        files = layout.wheel_files(root / "pypi" / "files", artifact)
        if not files:
            return "missing"
        allowed = set(artifact.get("sha256") or [])
        return "ok" if all(layout.sha256_file(f) in allowed for f in files) else "changed"
    if kind == "chart":
        return _file_status(layout.chart_file(root, artifact), artifact.get("sha256"))
    if kind == "image":
        digest = layout.image_digest(layout.image_dir(root, artifact), str(artifact.get("version") or ""))
        if digest is None:
            return "missing"
        if not artifact.get("digest"):
            return "present"
        return "ok" if digest == artifact["digest"] else "changed"
    folder = root / "models" / artifact["name"]
    return "present" if folder.is_dir() else "missing"


def verify_bundle(bundle: Path, mirror: Path, public_key: Path) -> dict[str, Any]:
    """The verdict on one bundle and mirror, as the JSON report of `bundle verify` (docs/bundle.md)."""
    manifest_file = bundle / MANIFEST if bundle.is_dir() else bundle
    signature = manifest_file.parent / SIGNATURE
    doc = load_manifest(manifest_file)
    for path, what in ((mirror, "mirror folder"), (public_key, "public key")):
        if not path.exists():
            raise UserError.at(Location(str(path)), f"no such {what}", "check the path")
    if signature.is_file():
        good, detail = verify_signature(manifest_file, signature, public_key)
    else:
        good, detail = False, f"no signature {signature.name} beside the manifest"
    results = [{"artifact": artifact_label(a), "kind": a["kind"], "status": check_artifact(mirror, a)}
               for a in doc["artifacts"]]  # fmt: skip
    counts: dict[str, int] = {}
    for result in results:
        counts[result["status"]] = counts.get(result["status"], 0) + 1
    failed = [r for r in results if r["status"] in FAILING]
    return {
        "manifest": str(manifest_file),
        "mirror": str(mirror),
        "blueprint": doc["blueprint"],
        "signature": {"valid": good, "detail": detail},
        "counts": dict(sorted(counts.items())),
        "failures": failed,
        "not_pinned": [r["artifact"] for r in results if r["status"] == "present"],
        "passed": good and not failed,
    }


def text_report(report: Mapping[str, Any]) -> str:
    sig = report["signature"]
    lines = [f"bundle {report['blueprint']} against {report['mirror']}",
             f"  signature: {'valid' if sig['valid'] else 'INVALID'} ({sig['detail']})"]  # fmt: skip
    lines.append("  artifacts: " + ", ".join(f"{n} {s}" for s, n in report["counts"].items()))
    failures = report["failures"]
    lines += [f"  {f['status']}: {f['artifact']}" for f in failures[:SHOWN]]
    if len(failures) > SHOWN:
        lines.append(f"  ... and {len(failures) - SHOWN} more (--format json lists all)")
    if report["not_pinned"]:
        lines.append(f"  {len(report['not_pinned'])} present without a pinned hash or digest (unresolved here)")
    lines.append("verified" if report["passed"] else "FAILED")
    return "\n".join(lines)
