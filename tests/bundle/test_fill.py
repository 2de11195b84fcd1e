"""`bundle fill` from `oci:` layouts, and what it refuses: a source file whose hash is not the manifest's is
listed as not fetchable, never copied into the mirror."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aifactory.bundle.fill import copy_image
from aifactory.bundle.layout import image_digest
from aifactory.bundle.manifest import MANIFEST, SCHEMA
from aifactory.io import dumps_json
from tests.bundle.conftest import build_deb, dir_image
from tests.conftest import run_cli


def _bundle(folder: Path, artifacts: list[dict[str, Any]]) -> Path:
    folder.mkdir()
    doc = {"schema": SCHEMA, "blueprint": "test", "artifacts": artifacts}
    (folder / MANIFEST).write_text(dumps_json(doc))
    return folder


def test_fill_from_oci_layouts_and_refuse_other_hashes(tmp_path: Path) -> None:
    src = tmp_path / "src"
    dir_image(tmp_path / "plain", "from an oci layout")
    assert "" == copy_image(f"dir:{tmp_path / 'plain'}", src / "oci" / "quay.io" / "demo" / "app", "v1")
    deb = build_deb(src / "debs", "aifactory-demo", "1.0-1")
    image = {"kind": "image", "name": "quay.io/demo/app", "version": "v1", "source": "quay.io/demo/app:v1",
             "mirror": None, "digest": None}  # fmt: skip
    other = {"kind": "deb", "name": "aifactory-demo", "version": "1.0-1", "source": "file:", "mirror": None,
             "file": f"pool/main/{deb.name}", "sha256": "0" * 64}  # fmt: skip
    bundle = _bundle(tmp_path / "bundle", [other, image])
    done = run_cli("bundle", "fill", str(bundle), "--mirror", str(tmp_path / "mirror"), "--from", str(src),
                   "--format", "json", timeout=300)  # fmt: skip
    assert 0 == done.returncode, done.stderr
    report = json.loads(done.stdout)
    assert ["image quay.io/demo/app v1"] == report["filled"]
    assert [("deb aifactory-demo 1.0-1", "the source's file has another SHA-256")] == [
        (u["artifact"], u["reason"]) for u in report["not_fetchable"]]  # fmt: skip
    assert not (tmp_path / "mirror" / "apt").exists()
    copied = image_digest(tmp_path / "mirror" / "oci" / "quay.io" / "demo" / "app", "v1")
    assert copied is not None and copied == image_digest(src / "oci" / "quay.io" / "demo" / "app", "v1")


def test_fill_refuses_a_folder_it_did_not_write(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path / "bundle", [])
    (tmp_path / "mirror").mkdir()
    (tmp_path / "mirror" / "keep.txt").write_text("someone's file\n")
    done = run_cli("bundle", "fill", str(bundle), "--mirror", str(tmp_path / "mirror"))
    assert 2 == done.returncode and "did not write" in done.stderr, done.stderr
    assert "someone's file\n" == (tmp_path / "mirror" / "keep.txt").read_text()


def test_a_name_that_leaves_the_mirror_is_bad_input(tmp_path: Path) -> None:
    image = {"kind": "image", "name": "../../outside", "version": "v1", "source": "x", "mirror": None,
             "digest": None}  # fmt: skip
    bundle = _bundle(tmp_path / "bundle", [image])
    done = run_cli("bundle", "fill", str(bundle), "--mirror", str(tmp_path / "mirror"))
    assert 2 == done.returncode and "/artifacts/0/name" in done.stderr, done.stderr
    assert not (tmp_path / "mirror").exists()
