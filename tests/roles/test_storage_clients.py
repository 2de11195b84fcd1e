"""The storage_client role on this machine (connection local) for Lustre and WEKA mounts: LNet's modprobe
options, the Lustre module load, the WEKA installer fetched from a backend (a loopback HTTP server here) and
run, and the fstab entries; mounting is left out (`storage_client_mount_now: false`)."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.roles.local_play import run_local_play

NO_PACKAGES = {"nfs": [], "lustre": [], "wekafs": [], "bind": []}


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """A WEKA backend's installer endpoint on loopback: the script logs that it ran and makes the CLI file."""
    cli = tmp_path / "weka"
    script = f"#!/bin/sh\necho installed >> {tmp_path / 'installer.log'}\ntouch {cli}\n".encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found = self.path == "/dist/v1/install"
            self.send_response(200 if found else 404)
            self.end_headers()
            self.wfile.write(script if found else b"")

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], cli
    server.shutdown()
    thread.join()


def _run(tmp_path: Path, variables: dict[str, Any]) -> str:
    log = tmp_path / "modprobe.log"
    modprobe = tmp_path / "modprobe"
    modprobe.write_text(f"#!/bin/sh\necho \"modprobe $*\" >> {log}\n")
    modprobe.chmod(0o755)
    (tmp_path / "fstab").write_text("")
    (tmp_path / "modprobe.d").mkdir(exist_ok=True)
    common = {"storage_client_packages": NO_PACKAGES, "storage_client_fstab": str(tmp_path / "fstab"),
              "storage_client_modprobe_dir": str(tmp_path / "modprobe.d"), "storage_client_modprobe": str(modprobe),
              "storage_client_sysfs_module": str(tmp_path / "module"), "storage_client_mount_now": False}  # fmt: skip
    play = [{"name": "Storage", "hosts": "node01", "gather_facts": False, "connection": "local",
             "vars": {**common, **variables}, "roles": ["storage_client"]}]  # fmt: skip
    done = run_local_play(tmp_path, play)
    assert 0 == done.returncode, done.stdout + done.stderr
    return log.read_text() if log.exists() else ""


def test_lustre_gets_lnet_over_o2ib_and_its_modules(tmp_path: Path) -> None:
    mount = {"type": "lustre", "source": "10.2.255.250@o2ib:10.2.255.251@o2ib:/fs1", "path": str(tmp_path / "lustre"),
             "options": "defaults,_netdev,flock"}  # fmt: skip
    log = _run(tmp_path, {"storage_client_mounts": [mount],
                          "storage_client_lnet_networks": "o2ib(ibp41s0f0,ibp170s0f0)"})
    conf = (tmp_path / "modprobe.d" / "lustre.conf").read_text()
    assert 'options lnet networks="o2ib(ibp41s0f0,ibp170s0f0)"\n' in conf
    assert "modprobe lustre\n" == log
    assert [f"10.2.255.250@o2ib:10.2.255.251@o2ib:/fs1 {tmp_path / 'lustre'} lustre defaults,_netdev,flock 0 0"] == (
        tmp_path / "fstab").read_text().splitlines()


def test_weka_client_comes_from_the_backend_and_mounts_as_wekafs(tmp_path: Path, backend: tuple[int, Path]) -> None:
    port, cli = backend
    mount = {"type": "wekafs", "source": "127.0.0.1/default", "path": str(tmp_path / "weka-mnt"),
             "options": "x-systemd.requires=weka-agent.service,_netdev"}
    variables = {"storage_client_mounts": [mount], "storage_client_weka_backends": ["127.0.0.1"],
                 "storage_client_weka_port": port, "storage_client_weka_cli": str(cli),
                 "storage_client_weka_installer": str(tmp_path / "weka-install.sh")}  # fmt: skip
    _run(tmp_path, variables)
    _run(tmp_path, variables)  # the second run finds the client installed and runs nothing
    assert "installed\n" == (tmp_path / "installer.log").read_text()
    line = f"127.0.0.1/default {tmp_path / 'weka-mnt'} wekafs x-systemd.requires=weka-agent.service,_netdev 0 0"
    assert [line] == (tmp_path / "fstab").read_text().splitlines()
