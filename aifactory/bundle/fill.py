"""Fill a mirror folder from a bundle manifest, from what this machine holds (`--from SRC`), in the layout of
`aifactory.bundle.layout`:

- .debs and wheels become the same apt repository and PEP 503 index the lab serves (`build_apt_repo`,
  `build_pypi_index` in aifactory/lab/mirror.py), each file checked against the manifest's hash first;
- images are copied with `skopeo copy` from local layouts (`SRC/oci/NAME` as `oci:`, or `SRC/dir/NAME/TAG` as
  `dir:`) into `MIRROR/oci/NAME` (`oci:`), so the tag and digest survive;
- charts (`SRC/charts/NAME-VERSION.tgz`) become a chart repository served from a directory, with an
  `index.yaml` generated from the archives' own Chart.yaml and their SHA-256 (no timestamps: same bytes each run).

What SRC does not hold is listed as not fetchable on this machine: pulling from the upstream registries and
chart repositories (`skopeo copy docker://...`, `helm pull`) needs a network this machine does not have. The
mirror is built beside MIRROR and swapped in whole.
"""

from __future__ import annotations

import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from aifactory.bundle import layout
from aifactory.bundle.manifest import artifact_label
from aifactory.errors import Location, UserError

MARKER = ".aifactory-mirror"
# A fixed Release date: the repository's bytes then depend on the manifest only (the lab does the same from
# the apt index's own date, which a bundle does not carry).
RELEASE_DATE = "Thu, 01 Jan 1970 00:00:00 UTC"


def _skopeo(args: Sequence[str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(["skopeo", *args], capture_output=True, text=True, check=False, timeout=1800)
    except FileNotFoundError:
        raise UserError.at(None, "skopeo is not installed", "apt-get install -y skopeo") from None


def copy_image(source: str, layout_dir: Path, tag: str) -> str:
    """`skopeo copy SOURCE oci:LAYOUT:TAG`; returns "" or skopeo's error."""
    layout_dir.mkdir(parents=True, exist_ok=True)
    done = _skopeo(["copy", "--quiet", source, f"oci:{layout_dir}:{tag}"])
    return "" if done.returncode == 0 else (done.stderr.strip().splitlines() or ["failed"])[-1]


def _image_source(src: Path, artifact: Mapping[str, Any]) -> str | None:
    tag = str(artifact["version"])
    oci = src / "oci" / artifact["name"]
    if layout.image_digest(oci, tag):
        return f"oci:{oci}:{tag}"
    plain = src / "dir" / artifact["name"] / tag
    return f"dir:{plain}" if (plain / "manifest.json").is_file() else None


def chart_index(charts: Sequence[Path]) -> str:
    """A Helm repository index.yaml for chart archives: entries from each archive's Chart.yaml."""
    entries: dict[str, list[dict[str, Any]]] = {}
    for archive in sorted(charts):
        meta = _chart_yaml(archive)
        entry: dict[str, Any] = {k: meta[k] for k in ("apiVersion", "appVersion", "description", "type") if k in meta}
        entry.update(name=meta["name"], version=str(meta["version"]), digest=layout.sha256_file(archive),
                     urls=[archive.name])  # fmt: skip
        entries.setdefault(meta["name"], []).append(entry)
    doc: dict[str, Any] = {
        "apiVersion": "v1",
        "entries": {n: sorted(e, key=lambda x: x["version"]) for n, e in entries.items()},
    }
    return yaml.safe_dump(doc, sort_keys=True, default_flow_style=False)


def _chart_yaml(archive: Path) -> dict[str, Any]:
    with tarfile.open(archive, "r:gz") as tar:
        member = next((m for m in tar.getmembers() if m.name.count("/") == 1 and m.name.endswith("/Chart.yaml")),
                      None)  # fmt: skip
        handle = tar.extractfile(member) if member else None
        if handle is None:
            raise UserError.at(Location(str(archive)), "not a Helm chart archive (no CHART/Chart.yaml)",
                               "use the .tgz that `helm package` or `helm pull` writes")  # fmt: skip
        meta = yaml.safe_load(handle.read())
    if not isinstance(meta, dict) or "name" not in meta or "version" not in meta:
        raise UserError.at(Location(str(archive)), "Chart.yaml names no chart name and version", "repackage it")
    return meta


class _Filler:
    def __init__(self, doc: Mapping[str, Any], src: Path | None, out: Path, apt_key_home: Path) -> None:
        # No source folder: look in one that cannot exist (inside the fresh, empty build folder).
        self.src = src if src is not None else out / ".nothing-local"
        self.doc, self.out, self.apt_key_home = doc, out, apt_key_home
        self.filled: list[str] = []
        self.unavailable: list[dict[str, str]] = []

    def _miss(self, artifact: Mapping[str, Any], why: str) -> None:
        self.unavailable.append({"artifact": artifact_label(artifact), "kind": artifact["kind"], "reason": why})

    def _of(self, kind: str) -> list[Mapping[str, Any]]:
        return [a for a in self.doc["artifacts"] if a["kind"] == kind]

    def packages(self) -> None:
        from aifactory.lab.mirror import SigningKey, build_apt_repo, build_pypi_index

        debs = []
        for deb in self._of("deb"):
            found = self.src / "debs" / Path(str(deb.get("file") or "")).name if deb.get("file") else None
            if found is None or not found.is_file():
                self._miss(deb, "not resolved by apt" if not deb.get("file") else "not on this machine")
            elif layout.sha256_file(found) != deb["sha256"]:
                self._miss(deb, "the source's file has another SHA-256")
            else:
                debs.append(found)
                self.filled.append(artifact_label(deb))
        if debs:
            suite = str(self.doc.get("apt_suite") or "bookworm")
            build_apt_repo(debs, self.out / "apt", suite, SigningKey(self.apt_key_home), RELEASE_DATE)
        wheels = []
        for wheel in self._of("wheel"):
            allowed = set(wheel["sha256"])
            found_wheels = [
                p for p in layout.wheel_files(self.src / "wheels", wheel) if layout.sha256_file(p) in allowed
            ]
            if found_wheels:
                wheels += found_wheels
                self.filled.append(artifact_label(wheel))
            else:
                self._miss(wheel, "not on this machine")
        if wheels:
            build_pypi_index(wheels, self.out / "pypi")

    def images(self) -> None:
        for image in self._of("image"):
            source = _image_source(self.src, image)
            if source is None:
                self._miss(image, f"not on this machine; from upstream: skopeo copy docker://{image['source']}")
                continue
            error = copy_image(source, layout.image_dir(self.out, image), str(image["version"]))
            if error:
                self._miss(image, f"skopeo: {error}")
            else:
                self.filled.append(artifact_label(image))

    def charts(self) -> None:
        archives = []
        for chart in self._of("chart"):
            found = self.src / "charts" / layout.chart_file(self.out, chart).name
            if not found.is_file():
                self._miss(chart, f"not on this machine; from upstream: helm pull {chart['source']}")
            elif chart.get("sha256") and layout.sha256_file(found) != chart["sha256"]:
                self._miss(chart, "the source's archive has another SHA-256")
            else:
                dest = layout.chart_file(self.out, chart)
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(found, dest)
                archives.append(dest)
                self.filled.append(artifact_label(chart))
        if archives:
            (self.out / "charts" / "index.yaml").write_text(chart_index(archives), encoding="utf-8")

    def models(self) -> None:
        for model in self._of("model"):
            self._miss(model, "models are not fetched by this version")


def fill(doc: Mapping[str, Any], src: Path | None, out: Path, apt_key_home: Path) -> dict[str, Any]:
    """Build the mirror folder `out` from `src` (None: nothing is local); returns the report of `bundle fill
    --format json`."""
    if src is not None and not src.is_dir():
        raise UserError.at(Location(str(src)), "no such source folder", "give the folder that holds debs/, "
                           "wheels/, oci/, dir/ and charts/ to copy from")  # fmt: skip
    if out.exists() and not (out / MARKER).is_file() and any(out.iterdir()):
        raise UserError.at(Location(str(out)), "the mirror folder holds files aifactory did not write",
                           "choose a new or empty folder (aifactory replaces the whole mirror it writes)")  # fmt: skip
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        filler = _Filler(doc, src, tmp, apt_key_home)
        filler.packages()
        filler.images()
        filler.charts()
        filler.models()
        (tmp / MARKER).write_text(f"{doc['blueprint']}\n", encoding="utf-8")
        if out.exists():
            old = out.with_name(f".{out.name}.old")
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old)
        else:
            tmp.rename(out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return {"blueprint": doc["blueprint"], "mirror": str(out), "filled": sorted(filler.filled),
            "not_fetchable": sorted(filler.unavailable, key=lambda u: u["artifact"])}  # fmt: skip


def push_images(doc: Mapping[str, Any], mirror: Path, host: str, tls_verify: bool) -> dict[str, Any]:
    """Push every image the filled mirror holds to the registry at `host` (`ADDRESS:PORT`, e.g. the lab's) under
    its manifest name and tag; returns `pushed` (label -> reference by digest) and `not_pushed` (with why)."""
    from aifactory.lab.registry import push

    pushed: dict[str, str] = {}
    failed: list[dict[str, str]] = []
    for image in (a for a in doc["artifacts"] if a["kind"] == "image"):
        folder, tag = layout.image_dir(mirror, image), str(image["version"])
        if not layout.image_digest(folder, tag):
            continue  # not filled: already listed as not fetchable
        try:
            pushed[artifact_label(image)] = push(f"oci:{folder}:{tag}", host, str(image["name"]), tag, tls_verify)
        except RuntimeError as err:
            failed.append({"artifact": artifact_label(image), "reason": str(err)})
    return {"registry": host, "pushed": pushed, "not_pushed": failed}
