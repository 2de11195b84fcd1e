"""A bundle that verifies, then fails after one artifact is removed, after one is changed, and after its
signature is tampered with; bad input is exit 2.

The mirror is filled by the real `aifactory bundle fill` (skopeo copies each image from a local `dir:` layout
into the mirror's `oci:` layouts; the lab's apt and PyPI builders index the .deb and the wheel; the chart
repository's index.yaml is generated), and checked by the real `aifactory bundle verify`. The artifacts are built
here (no registry, chart repository or Debian archive is reachable from the tests): the images, charts and
packages of the edge-l40s-inference design with local content, a .deb built with dpkg-deb and a wheel zipped
here, both pinned in the manifest by their real hashes.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from aifactory.blueprint import load_blueprint
from aifactory.bundle.layout import sha256_file
from aifactory.bundle.manifest import MANIFEST, SIGNATURE, bundle_manifest, pin_from
from aifactory.bundle.sign import PUBLIC_KEY, SiteKey
from aifactory.deploy.ansible import ROLES_DIR, SITE_PLAYBOOK
from aifactory.design import plan
from aifactory.io import dumps_json
from aifactory.render.manifest import manifest
from tests.bundle.conftest import build_deb, build_wheel, chart_archive, dir_image
from tests.conftest import run_cli

BLUEPRINT = "edge-l40s-inference"


def _packages(tmp: Path) -> dict[str, Any]:
    """The design's mirror manifest, its apt part answered with one local .deb (in the shape `resolve_apt`
    gives) and its PyPI part read from a lock of one local wheel."""
    wheel = build_wheel(tmp / "src" / "wheels", "demo_pkg", "1.0")
    lock = tmp / "lock.txt"
    lock.write_text(f"demo-pkg==1.0 \\\n    --hash=sha256:{sha256_file(wheel)}\n")
    loaded = load_blueprint(BLUEPRINT)
    doc = manifest(loaded.model, plan(loaded.model).hosts, ROLES_DIR, SITE_PLAYBOOK, lock=lock)
    deb = build_deb(tmp / "src" / "debs", "aifactory-demo", "1.0-1")
    doc["apt"]["packages"] = [{"name": "aifactory-demo", "version": "1.0-1", "architecture": "amd64",
                               "filename": f"pool/main/{deb.name}", "size": deb.stat().st_size,
                               "sha256": sha256_file(deb), "uri": f"file://{deb}"}]  # fmt: skip
    return doc


def _sources(tmp: Path, doc: dict[str, Any]) -> Path:
    src = tmp / "src"
    for artifact in doc["artifacts"]:
        if artifact["kind"] == "image":
            dir_image(src / "dir" / artifact["name"] / artifact["version"], artifact["source"])
        elif artifact["kind"] == "chart":
            chart_archive(src / "charts" / f"{artifact['name']}-{artifact['version']}.tgz", artifact["name"],
                          artifact["version"])  # fmt: skip
    return src


def _write_bundle(folder: Path, doc: dict[str, Any], key: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    data = dumps_json(doc).encode()
    (folder / MANIFEST).write_bytes(data)
    (folder / SIGNATURE).write_bytes(SiteKey(key).sign(data))


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory, site_key: Path) -> tuple[Path, Path]:
    """(bundle folder, mirror folder): filled from the unpinned manifest, then pinned to what was filled."""
    tmp = tmp_path_factory.mktemp("roundtrip")
    loaded = load_blueprint(BLUEPRINT)
    doc = bundle_manifest(loaded, loaded.model.site.region, _packages(tmp))
    src = _sources(tmp, doc)
    _write_bundle(tmp / "unpinned", doc, site_key)
    done = run_cli("bundle", "fill", str(tmp / "unpinned"), "--mirror", str(tmp / "mirror"), "--from", str(src),
                   "--format", "json", timeout=600)  # fmt: skip
    assert 0 == done.returncode, done.stderr
    report = json.loads(done.stdout)
    assert [] == report["not_fetchable"]
    assert len(doc["artifacts"]) == len(report["filled"])
    _write_bundle(tmp / "bundle", pin_from(doc, tmp / "mirror"), site_key)
    return tmp / "bundle", tmp / "mirror"


def _verify(bundle: Path, mirror: Path, key: Path) -> tuple[int, dict[str, Any]]:
    done = run_cli("bundle", "verify", str(bundle), "--mirror", str(mirror), "--key", str(key / PUBLIC_KEY),
                   "--format", "json", timeout=300)  # fmt: skip
    return done.returncode, json.loads(done.stdout) if done.stdout else {"stderr": done.stderr}


def _copy(filled: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    bundle, mirror = filled
    shutil.copytree(bundle, tmp_path / "bundle")
    shutil.copytree(mirror, tmp_path / "mirror", symlinks=True)
    return tmp_path / "bundle", tmp_path / "mirror"


def test_filled_mirror_verifies(filled: tuple[Path, Path], site_key: Path) -> None:
    bundle, mirror = filled
    doc = json.loads((bundle / MANIFEST).read_text())
    assert [] == doc["unresolved"]  # every image digest and chart hash pinned from the fill
    code, report = _verify(bundle, mirror, site_key)
    assert (0, True, []) == (code, report["signature"]["valid"], report["failures"])
    assert {"ok": len(doc["artifacts"])} == report["counts"]
    assert {"deb", "wheel", "image", "chart"} == {a["kind"] for a in doc["artifacts"]}


def test_removed_artifact_fails(filled: tuple[Path, Path], site_key: Path, tmp_path: Path) -> None:
    bundle, mirror = _copy(filled, tmp_path)
    (mirror / "charts" / "kserve-crd-v0.20.0.tgz").unlink()
    code, report = _verify(bundle, mirror, site_key)
    assert 1 == code
    assert [{"artifact": "chart kserve-crd v0.20.0", "kind": "chart", "status": "missing"}] == report["failures"]


def test_removed_image_fails(filled: tuple[Path, Path], site_key: Path, tmp_path: Path) -> None:
    bundle, mirror = _copy(filled, tmp_path)
    shutil.rmtree(mirror / "oci" / "docker.io" / "vllm" / "vllm-openai")
    code, report = _verify(bundle, mirror, site_key)
    assert (1, ["image docker.io/vllm/vllm-openai v0.11.0"]) == (code, [f["artifact"] for f in report["failures"]])


def test_changed_artifact_fails(filled: tuple[Path, Path], site_key: Path, tmp_path: Path) -> None:
    bundle, mirror = _copy(filled, tmp_path)
    deb = next((mirror / "apt" / "pool" / "main").glob("*.deb"))
    deb.write_bytes(deb.read_bytes() + b"\0")
    code, report = _verify(bundle, mirror, site_key)
    assert (1, [("deb aifactory-demo 1.0-1", "changed")]) == (
        code, [(f["artifact"], f["status"]) for f in report["failures"]])  # fmt: skip


def test_changed_image_fails(filled: tuple[Path, Path], site_key: Path, tmp_path: Path) -> None:
    """Another image under the same tag: skopeo copies it in, the layout's digest for the tag changes."""
    bundle, mirror = _copy(filled, tmp_path)
    doc = json.loads((bundle / MANIFEST).read_text())
    image = next(a for a in doc["artifacts"] if a["kind"] == "image")
    dir_image(tmp_path / "other", "something else")
    from aifactory.bundle.fill import copy_image

    assert "" == copy_image(f"dir:{tmp_path / 'other'}", mirror / "oci" / image["name"], image["version"])
    code, report = _verify(bundle, mirror, site_key)
    assert (1, [(f"image {image['name']} {image['version']}", "changed")]) == (
        code, [(f["artifact"], f["status"]) for f in report["failures"]])  # fmt: skip


def test_tampered_signature_fails(filled: tuple[Path, Path], site_key: Path, tmp_path: Path) -> None:
    bundle, mirror = _copy(filled, tmp_path)
    sig = (bundle / SIGNATURE).read_text().splitlines()
    line = next(i for i, text in enumerate(sig) if len(text) > 40)  # a line of the signature's base64
    sig[line] = ("B" if sig[line][0] != "B" else "C") + sig[line][1:]
    (bundle / SIGNATURE).write_text("\n".join(sig) + "\n")
    code, report = _verify(bundle, mirror, site_key)
    assert (1, False, []) == (code, report["signature"]["valid"], report["failures"])


def test_edited_manifest_fails_its_signature(filled: tuple[Path, Path], site_key: Path, tmp_path: Path) -> None:
    bundle, mirror = _copy(filled, tmp_path)
    doc = json.loads((bundle / MANIFEST).read_text())
    doc["artifacts"] = doc["artifacts"][1:]  # drop an artifact from the list instead of from the mirror
    (bundle / MANIFEST).write_text(dumps_json(doc))
    code, report = _verify(bundle, mirror, site_key)
    assert (1, False) == (code, report["signature"]["valid"])


def test_other_key_fails(filled: tuple[Path, Path], tmp_path: Path) -> None:
    other = tmp_path / "other-key"
    assert 0 == run_cli("bundle", "key", "--out", str(other)).returncode
    code, report = _verify(*filled, other)
    assert (1, False) == (code, report["signature"]["valid"])


def test_chart_index_is_deterministic(filled: tuple[Path, Path]) -> None:
    from aifactory.bundle.fill import chart_index

    _, mirror = filled
    index = (mirror / "charts" / "index.yaml").read_text()
    assert chart_index(sorted((mirror / "charts").glob("*.tgz"), reverse=True)) == index
    assert f"digest: {sha256_file(mirror / 'charts' / 'kserve-crd-v0.20.0.tgz')}" in index


@pytest.mark.parametrize("case", ["not-json", "wrong-schema", "no-mirror", "no-key"])
def test_bad_input_is_exit_2(case: str, filled: tuple[Path, Path], site_key: Path, tmp_path: Path) -> None:
    bundle, mirror = _copy(filled, tmp_path)
    key = site_key / PUBLIC_KEY
    if case == "not-json":
        (bundle / MANIFEST).write_text("{ not json\n")
    elif case == "wrong-schema":
        (bundle / MANIFEST).write_text('{"schema": "aifactory/manifest/v1", "artifacts": []}\n')
    elif case == "no-mirror":
        mirror = tmp_path / "absent"
    else:
        key = tmp_path / "absent.asc"
    done = run_cli("bundle", "verify", str(bundle), "--mirror", str(mirror), "--key", str(key))
    assert 2 == done.returncode, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and done.stderr.startswith("error: "), done.stderr
