"""The lab's OCI registry for real: Debian's `docker-registry` started on loopback with the config the lab
renders, a small image built here pushed with skopeo and pulled back by digest (skopeo, and podman as `lab up`
does), then stopped by its PID with nothing left listening."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest
import yaml

from aifactory.lab import registry
from aifactory.lab.paths import STATE_ENV
from aifactory.lab.state import LabState
from tests.bundle.conftest import dir_image

pytestmark = pytest.mark.skipif(
    shutil.which("docker-registry") is None or shutil.which("skopeo") is None,
    reason="needs Debian's docker-registry and skopeo (scripts/debian-packages.txt)",
)


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError:
        return False
    return True


def _blob(folder: Path, digest: str) -> bytes:
    return (folder / digest.removeprefix("sha256:")).read_bytes()


def test_push_pull_by_digest_then_stop(tmp_path: Path) -> None:
    image = tmp_path / "image"
    dir_image(image, "served by the lab's registry")
    sent = json.loads((image / "manifest.json").read_text())
    digest = "sha256:" + hashlib.sha256((image / "manifest.json").read_bytes()).hexdigest()
    home = tmp_path / "registry"
    reg = registry.start(home, "127.0.0.1")
    try:
        assert registry.alive(reg.pid)
        assert f"{reg.pid} 127.0.0.1 {reg.port}\n" == (home / registry.PID_FILE).read_text()
        config = yaml.safe_load((home / registry.CONFIG).read_text())
        assert "127.0.0.1:0" == config["http"]["addr"]
        assert str(home / "data") == config["storage"]["filesystem"]["rootdirectory"]
        ref = registry.push(f"dir:{image}", reg.host, "test/tiny", "v1")
        # The registry holds the manifest as sent: its reference by digest is the manifest's own SHA-256.
        assert f"127.0.0.1:{reg.port}/test/tiny@{digest}" == ref
        assert ["test/tiny"] == registry.catalog(reg.url)
        back = tmp_path / "back"
        done = subprocess.run(["skopeo", "copy", "--quiet", "--src-tls-verify=false", f"docker://{ref}", f"dir:{back}"],
                              capture_output=True, text=True, check=False, timeout=120)  # fmt: skip
        assert 0 == done.returncode, done.stderr
        assert (image / "manifest.json").read_bytes() == (back / "manifest.json").read_bytes()
        for blob in [sent["config"], *sent["layers"]]:
            assert _blob(image, blob["digest"]) == _blob(back, blob["digest"])
        stored = home / "data/docker/registry/v2/blobs/sha256" / digest[7:9] / digest[7:] / "data"
        assert (image / "manifest.json").read_bytes() == stored.read_bytes()
        assert f"GET /v2/test/tiny/manifests/{digest}" in (home / registry.LOG).read_text()
    finally:
        assert registry.stop(reg.pid)
    assert not registry.alive(reg.pid)
    assert not _listening(reg.port)


def _podman(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["podman", *args], capture_output=True, text=True, check=False, timeout=300)


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("podman") is None, reason="podman as root, as the lab runs")
def test_lab_image_goes_through_the_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What `lab up` does with its host image: registry on the lab's address, the image pushed from podman's
    storage, pulled back by digest; `lab down`'s stop leaves no registry and drops the pulled name only."""
    monkeypatch.setenv(STATE_ENV, str(tmp_path / "state"))
    image = tmp_path / "image"
    dir_image(image, "the lab host image, in small")
    local = "localhost/aifactory-registry-test:v1"
    copied = subprocess.run(["skopeo", "copy", "--quiet", f"dir:{image}", f"containers-storage:{local}"],
                            capture_output=True, text=True, check=False, timeout=120)  # fmt: skip
    assert 0 == copied.returncode, copied.stderr
    state = LabState(gateway="127.0.0.1")
    try:
        ref = registry.publish_lab_image(state, tmp_path / "state" / "registry", local)
        info = state.registry
        assert ref.startswith(f"127.0.0.1:{info['port']}/{registry.LAB_REPOSITORY}@sha256:")
        assert (ref, local) == (info["image"], info["pushed_from"])
        assert _podman("image", "inspect", "--format", "{{.Id}}", local).stdout.strip() == info["image_id"]
        assert info == (LabState.load() or LabState()).registry
        assert [registry.LAB_REPOSITORY] == registry.catalog(info["url"])
        log = (tmp_path / "state" / "registry" / registry.LOG).read_text()
        assert f"GET /v2/{registry.LAB_REPOSITORY}/manifests/{ref.split('@')[1]}" in log
        # A running registry of this lab is kept: the same reference, no second process.
        assert ref == registry.publish_lab_image(state, tmp_path / "state" / "registry", local)
        assert info["pid"] == state.registry["pid"]
        assert registry.stop_lab(state)
        assert not registry.alive(int(info["pid"]))
        assert not _listening(int(info["port"]))
        # The name the pull gave is dropped (podman keeps the image under its local name, as the cache does).
        names = _podman("image", "inspect", "--format", "{{.RepoDigests}}", local)
        assert 0 == names.returncode, names.stderr
        assert f"127.0.0.1:{info['port']}/" not in names.stdout
    finally:
        if state.registry.get("pid"):
            registry.stop(int(state.registry["pid"]))
        _podman("rmi", "-f", local)


def test_bundle_fill_pushes_its_images_to_a_running_registry(tmp_path: Path) -> None:
    """`bundle fill --push-to` pushes every image it filled into the registry under the manifest's name and tag;
    a registry that does not answer is exit 1 with the image named, a HOST:PORT that is not one is exit 2."""
    from aifactory.bundle.fill import copy_image
    from aifactory.bundle.manifest import MANIFEST, SCHEMA
    from aifactory.io import dumps_json
    from tests.conftest import run_cli

    dir_image(tmp_path / "plain", "pushed by bundle fill")
    assert "" == copy_image(f"dir:{tmp_path / 'plain'}", tmp_path / "src" / "oci" / "quay.io" / "demo" / "app", "v1")
    image = {"kind": "image", "name": "quay.io/demo/app", "version": "v1", "source": "quay.io/demo/app:v1",
             "mirror": None, "digest": None}  # fmt: skip
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / MANIFEST).write_text(dumps_json({"schema": SCHEMA, "blueprint": "test", "artifacts": [image]}))
    args = ["bundle", "fill", str(bundle), "--mirror", str(tmp_path / "mirror"), "--from", str(tmp_path / "src")]
    reg = registry.start(tmp_path / "registry", "127.0.0.1")
    try:
        done = run_cli(*args, "--push-to", reg.host, "--plain-http", "--format", "json", timeout=300)
        assert 0 == done.returncode, done.stderr
        push = json.loads(done.stdout)["push"]
        digest = "sha256:" + hashlib.sha256((tmp_path / "plain" / "manifest.json").read_bytes()).hexdigest()
        assert {"image quay.io/demo/app v1": f"{reg.host}/quay.io/demo/app@{digest}"} == push["pushed"]
        assert [] == push["not_pushed"]
        assert ["quay.io/demo/app"] == registry.catalog(reg.url)
    finally:
        assert registry.stop(reg.pid)
    gone = run_cli(*args, "--push-to", reg.host, "--plain-http", "--format", "json", timeout=300)
    assert 1 == gone.returncode, gone.stdout
    assert ["image quay.io/demo/app v1"] == [f["artifact"] for f in json.loads(gone.stdout)["push"]["not_pushed"]]
    bad = run_cli(*args, "--push-to", "http://127.0.0.1:5000/x")
    assert 2 == bad.returncode and "HOST:PORT" in bad.stderr, bad.stderr
