"""The bundle manifest: every artifact a factory needs from outside the site, with its source upstream, its
in-jurisdiction mirror and its hash or digest.

One entry per artifact, `kind` one of deb, wheel, image, chart, model. The Debian packages and wheels come from
the mirror manifest (`aifactory.render.manifest`, the one the lab mirror is filled from); images and charts from
the Kubernetes render (`aifactory.render.kubernetes.build`) and the charts' own image defaults
(`aifactory.bundle.images`). What cannot be resolved here (an image digest without registry access, a chart's
archive digest, a .deb before apt has answered) keeps its hash null and is listed under `unresolved`.

The JSON form is the contract (docs/bundle.md): canonical JSON (sorted keys, sorted lists), the same bytes for
the same design from any folder, so the detached signature of one build verifies every rebuild.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from aifactory.blueprint.loader import LoadedBlueprint
from aifactory.bundle.images import object_images, release_images, split
from aifactory.errors import Location, UserError
from aifactory.render.k8s.context import _host

SCHEMA = "aifactory/bundle/v1"
KINDS = ("deb", "wheel", "image", "chart", "model")
MANIFEST = "manifest.json"
SIGNATURE = "manifest.json.asc"


class Mirrors:
    """The blueprint's in-jurisdiction mirrors, by kind and by the upstreams each one serves."""

    def __init__(self, loaded: LoadedBlueprint) -> None:
        self.entries = list(loaded.model.site.sovereignty.mirrors)

    def of(self, kind: str, upstream: str = "") -> Any:
        matching = [m for m in self.entries if m.kind == kind]
        served = [m for m in matching if upstream and upstream in m.mirrors]
        if served or kind in ("apt", "pypi", "models"):
            return (served or matching)[0] if served or matching else None
        return None

    def unmirror(self, ref: str) -> str:
        """A reference as rendered on a sovereign stack (`mirror-host/upstream/...`) -> the upstream one."""
        for mirror in self.entries:
            prefix = _host(mirror.url) + "/"
            if mirror.kind == "oci" and ref.startswith(prefix):
                return ref[len(prefix) :]
        return ref


def _image_entry(ref: str, used_by: set[str], mirrors: Mirrors) -> dict[str, Any]:
    registry, path, tag = split(ref)
    mirror = mirrors.of("oci", registry)
    digest = tag if tag.startswith("@") else None
    return {
        "kind": "image", "name": f"{registry}/{path}", "version": tag.lstrip("@") if digest else tag,
        "source": ref, "mirror": f"{_host(mirror.url)}/{ref}" if mirror else None,
        "mirror_name": mirror.name if mirror else None, "digest": digest[1:] if digest else None,
        "used_by": sorted(used_by),
    }  # fmt: skip


def image_artifacts(loaded: LoadedBlueprint, region: str, mirrors: Mirrors) -> tuple[list[dict[str, Any]], list[str]]:
    """Every image the design pulls, once each, with the objects and releases that pull it."""
    from aifactory.render.kubernetes import build

    rendered = build(loaded, region)
    found: dict[str, set[str]] = {}
    notes: list[str] = []
    for obj in rendered.objects:
        label = f"{obj['kind']}/{obj['metadata']['name']}"
        for path, ref in object_images(obj.get("spec", {}), "spec"):
            found.setdefault(mirrors.unmirror(ref), set()).add(f"{label} {path}")
    for release in rendered.releases:
        pulled = release_images(release.chart, release.version, release.values, mirrors.unmirror)
        if pulled is None:
            notes.append(f"chart {release.chart} {release.version}: its images are not catalogued at this version")
            continue
        for path, ref in pulled:
            found.setdefault(ref, set()).add(f"chart/{release.chart} {path}")
    return [_image_entry(ref, used, mirrors) for ref, used in found.items()], notes


def chart_artifacts(loaded: LoadedBlueprint, region: str, mirrors: Mirrors) -> list[dict[str, Any]]:
    """Each pinned chart the design installs, from its upstream repository, at its pinned version."""
    from aifactory.render.k8s.charts import enabled_charts
    from aifactory.render.k8s.context import Ctx
    from aifactory.render.kubernetes import has_kubernetes

    if not has_kubernetes(loaded.model):
        return []
    ctx = Ctx(loaded, region)
    out = []
    for spec in enabled_charts(ctx):
        pin = loaded.model.software.charts[spec.pin]
        for chart in spec.charts:
            upstream = _host(pin.repository).split("/", 1)[0]
            mirror = mirrors.of("oci" if pin.repository.startswith("oci://") else "helm", upstream)
            # A chart no public repository publishes is served by the site already: its source is the mirror.
            served = pin.repository if spec.site_served else None
            if mirror is not None and not spec.site_served:
                served = ctx.chart_repository(chart, pin.repository)
            out.append({"kind": "chart", "name": chart, "version": pin.version, "source": pin.repository,
                        "mirror": served, "mirror_name": mirror.name if served and mirror else None, "sha256": None,
                        "file": f"{chart}-{pin.version}.tgz"})  # fmt: skip
    return out


def package_artifacts(doc: Mapping[str, Any], mirrors: Mirrors) -> list[dict[str, Any]]:
    """The mirror manifest's .debs (resolved: every file with its hash; else the roles' requests) and wheels."""
    apt, pypi = mirrors.of("apt"), mirrors.of("pypi")
    apt_url, pypi_url = (apt.url if apt else None), (pypi.url if pypi else None)
    out: list[dict[str, Any]] = []
    if "packages" in doc["apt"]:
        for deb in doc["apt"]["packages"]:
            out.append({"kind": "deb", "name": deb["name"], "version": deb["version"], "source": deb["uri"],
                        "mirror": apt_url, "sha256": deb["sha256"], "size": deb["size"], "file": deb["filename"],
                        "architecture": deb["architecture"]})  # fmt: skip
    else:
        for spec in doc["apt"]["requested"]:
            name, _, version = spec.partition("=")
            out.append({"kind": "deb", "name": name, "version": version or None, "mirror": apt_url,
                        "source": f"{doc['apt']['os']} archive", "sha256": None})  # fmt: skip
    for wheel in doc["pypi"]["wheels"]:
        out.append({"kind": "wheel", "name": wheel["name"], "version": wheel["version"], "mirror": pypi_url,
                    "source": "https://pypi.org/simple", "sha256": wheel["sha256"],
                    "lock": doc["pypi"]["lock"]})  # fmt: skip
    return out


def model_artifacts(loaded: LoadedBlueprint, mirrors: Mirrors) -> list[dict[str, Any]]:
    """Models the serving runtimes load. The blueprint schema names no model yet (KServe's runtime serves what
    an InferenceService points it at), so there is none to list; the kind is part of the contract already."""
    del loaded, mirrors
    return []


def _sort_key(artifact: Mapping[str, Any]) -> tuple[int, str, str]:
    return KINDS.index(artifact["kind"]), artifact["name"], str(artifact.get("version") or "")


def _hash(artifact: Mapping[str, Any]) -> Any:
    return artifact.get("digest") if artifact["kind"] == "image" else artifact.get("sha256")


def design_packages(loaded: LoadedBlueprint, resolve: bool = False) -> dict[str, Any]:
    """The design's mirror manifest (`aifactory manifest`'s, one source for the lab's mirror and the bundle),
    its .debs resolved by apt against the blueprint's release where asked."""
    from aifactory.deploy.ansible import ROLES_DIR, SITE_PLAYBOOK
    from aifactory.design import plan
    from aifactory.lab.paths import cache_dir
    from aifactory.render.manifest import (
        apt_root_for,
        debian_suite,
        host_classes,
        manifest,
        require_ansible,
        resolve_apt,
    )

    require_ansible("aifactory bundle create")
    bp = loaded.model
    hosts = plan(bp).hosts
    doc = manifest(bp, hosts, ROLES_DIR, SITE_PLAYBOOK)
    if resolve:
        suite = debian_suite(bp, loaded.locate("software", "os"))
        classes = host_classes(bp, hosts, ROLES_DIR, SITE_PLAYBOOK)
        doc = resolve_apt(doc, classes, apt_root_for(suite, cache_dir() / "apt-index"))
    return doc


def bundle_manifest(loaded: LoadedBlueprint, region: str, packages: Mapping[str, Any],
                    stack: str = "") -> dict[str, Any]:  # fmt: skip
    """The whole manifest for one blueprint in one region; `packages` is the mirror manifest (resolved or not)."""
    mirrors = Mirrors(loaded)
    images, notes = image_artifacts(loaded, region, mirrors)
    artifacts = [*package_artifacts(packages, mirrors), *images, *chart_artifacts(loaded, region, mirrors),
                 *model_artifacts(loaded, mirrors)]  # fmt: skip
    artifacts.sort(key=_sort_key)
    unresolved = [artifact_label(a) for a in artifacts if not _hash(a)]
    bp = loaded.model
    return {
        "schema": SCHEMA,
        "blueprint": bp.name,
        "stack": stack or None,
        "region": region,
        "site": bp.site.name,
        "apt_suite": packages["apt"]["suite"] or None,
        "jurisdiction": bp.site.jurisdiction,
        "mirrors": sorted(
            ({"name": m.name, "kind": m.kind, "url": m.url, "location": m.location} for m in mirrors.entries),
            key=lambda m: m["name"],
        ),
        "artifacts": artifacts,
        "counts": {kind: sum(1 for a in artifacts if a["kind"] == kind) for kind in KINDS},
        "unresolved": sorted(unresolved),
        "notes": sorted(notes),
    }


def pin_from(doc: dict[str, Any], mirror: Path) -> dict[str, Any]:
    """The manifest with the digests and hashes it could not resolve taken from a filled mirror: each image's
    manifest digest in its OCI layout, each chart archive's SHA-256 (trust on first fill: the site pins what
    it pulled once, then every later mirror must match)."""
    from aifactory.bundle import layout

    for artifact in doc["artifacts"]:
        if artifact["kind"] == "image" and not artifact.get("digest"):
            artifact["digest"] = layout.image_digest(layout.image_dir(mirror, artifact), str(artifact["version"]))
        elif artifact["kind"] == "chart" and not artifact.get("sha256"):
            archive = layout.chart_file(mirror, artifact)
            artifact["sha256"] = layout.sha256_file(archive) if archive.is_file() else None
    doc["unresolved"] = sorted(artifact_label(a) for a in doc["artifacts"] if not _hash(a))
    return doc


MAX_BYTES = 64 << 20
_FIX = "write the bundle again with `aifactory bundle create BLUEPRINT --key KEYDIR --out DIR`"


def load_manifest(path: str | Path, shown: str | None = None) -> dict[str, Any]:
    """A bundle manifest (the file, or the bundle folder holding it) read back and checked for shape: the one
    reader for `bundle verify/fill` and the evidence report. Bad input (no file, not a regular file, over
    MAX_BYTES, not strict JSON, not the documented shape, a name or version that would leave a mirror folder) is
    a UserError (exit 2) naming the file (as `shown`, else its path) and the entry."""
    from aifactory.files import load_json, present

    file = Path(path) / MANIFEST if Path(path).is_dir() else Path(path)
    shown = shown or str(file)
    if not present(file, shown):
        raise UserError.at(Location(shown), "no bundle manifest here", "give the folder (or its manifest.json) "
                           "that `aifactory bundle create` wrote")  # fmt: skip
    doc = load_json(file, shown, MAX_BYTES, "bundle manifest")
    problem = _shape_problem(doc)
    if problem:
        raise UserError.at(Location(shown), f"the bundle manifest {problem[0]}", problem[1] or _FIX)
    assert isinstance(doc, dict)
    return doc


def _safe_name(value: Any) -> bool:
    if not isinstance(value, str) or not value or value.startswith("/") or "\\" in value:
        return False
    return not any(part in ("", ".", "..") for part in value.split("/"))


def _safe_version(value: Any) -> bool:
    return value is None or (isinstance(value, str) and "/" not in value and value not in ("", ".", ".."))


def _hash_ok(value: Any) -> bool:
    """A hash is text, null, or (a locked wheel) the list of every file hash its lock allows."""
    return (
        value is None
        or isinstance(value, str)
        or (isinstance(value, list) and all(isinstance(h, str) and h for h in value))
    )


def _text(value: Any, optional: bool = False) -> bool:
    return (optional and value is None) or (isinstance(value, str) and bool(value))


def _shape_problem(doc: Any) -> tuple[str, str] | None:
    """(what is wrong, the fix or "") of a manifest that is not the documented shape, else None."""
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        return f"is not an {SCHEMA} document (its `schema` must be {SCHEMA!r})", ""
    if not isinstance(doc.get("artifacts"), list):
        return "has no `artifacts` list", ""
    if not _text(doc.get("blueprint")):
        return "has no text `blueprint` at /blueprint", ""
    if not _text(doc.get("stack"), optional=True):
        return "has a `stack` that is neither text nor null at /stack", ""
    # Names and versions become paths in a mirror folder (`oci/NAME`, `charts/NAME-VERSION.tgz`): none may leave it.
    for index, artifact in enumerate(doc["artifacts"]):
        where = f"/artifacts/{index}"
        if not isinstance(artifact, dict):
            return f"has an artifact that is not an object at {where}", ""
        kind = artifact.get("kind")
        if kind not in KINDS:
            return f"has the unknown artifact kind {kind!r} at {where}", f"use one of {', '.join(KINDS)}"
        if not _safe_name(artifact.get("name")):
            return (f"has the name {artifact.get('name')!r} at {where}/name, not a relative path inside a mirror",
                    "a name is `host/path` with no empty, `.` or `..` part")  # fmt: skip
        if not _safe_version(artifact.get("version")):
            return f"has the version {artifact.get('version')!r} at {where}/version", "a version has no `/`"
        if not _text(artifact.get("source")):
            return f"has no text `source` at {where}", ""
        for key in ("sha256", "digest"):
            if not _hash_ok(artifact.get(key)):
                return f"has a `{key}` that is neither text nor null at {where}", ""
    return None


def artifact_label(artifact: Mapping[str, Any]) -> str:
    version = artifact.get("version")
    return f"{artifact['kind']} {artifact['name']}" + (f" {version}" if version else "")


def summary(doc: Mapping[str, Any]) -> Sequence[str]:
    counts = doc["counts"]
    return [f"{counts[k]} {k}{'' if counts[k] == 1 else 's'}" for k in KINDS]
