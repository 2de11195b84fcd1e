"""Shared pieces of the bundle tests: a site key made by the real `aifactory bundle key`, and local artifacts
(OCI images in skopeo's `dir:` format, chart archives, a .deb, a wheel) built here, never pulled."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.conftest import run_cli


@pytest.fixture(scope="session")
def site_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("key") / "site-key"
    done = run_cli("bundle", "key", "--out", str(folder))
    assert 0 == done.returncode, done.stderr
    return folder


def _blob(folder: Path, data: bytes) -> dict[str, object]:
    digest = hashlib.sha256(data).hexdigest()
    (folder / digest).write_bytes(data)
    return {"digest": f"sha256:{digest}", "size": len(data)}


def dir_image(folder: Path, content: str) -> None:
    """An image in skopeo's `dir:` layout (manifest.json, blobs named by digest, `version`): one gzip layer
    holding `/content`, and an OCI config naming it."""
    folder.mkdir(parents=True)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo("content")
        data = content.encode()
        info.size, info.mtime = len(data), 0
        tar.addfile(info, io.BytesIO(data))
    layer = _blob(folder, gzip.compress(raw.getvalue(), mtime=0))
    diff = "sha256:" + hashlib.sha256(raw.getvalue()).hexdigest()
    config = {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": [diff]}, "config": {}}
    cfg = _blob(folder, json.dumps(config, sort_keys=True).encode())
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **cfg},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **layer}]}  # fmt: skip
    (folder / "manifest.json").write_text(json.dumps(manifest, sort_keys=True))
    (folder / "version").write_text("Directory Transport Version: 1.1\n")


def chart_archive(path: Path, name: str, version: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    chart = f"apiVersion: v2\nname: {name}\nversion: {version}\ndescription: test chart {name}\n".encode()
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo(f"{name}/Chart.yaml")
        info.size, info.mtime = len(chart), 0
        tar.addfile(info, io.BytesIO(chart))


def build_deb(folder: Path, name: str, version: str) -> Path:
    root = folder / f"{name}-root"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(f"Package: {name}\nVersion: {version}\nArchitecture: amd64\n"
                                             "Maintainer: test <t@aifactory.invalid>\nDescription: test\n")  # fmt: skip
    out = folder / f"{name}_{version}_amd64.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "-Zgzip", "--build", str(root), str(out)], check=True,
                   capture_output=True)  # fmt: skip
    return out


def build_wheel(folder: Path, name: str, version: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as whl:
        whl.writestr(
            f"{name}-{version}.dist-info/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        )
    return path
