"""The lab's OCI registry: Debian's `docker-registry` (the distribution registry) run as a child of `lab up`.

`start` renders the registry's config.yml (filesystem storage under the given folder, `http.addr` one address,
no auth: only the lab network and this machine reach it), starts `docker-registry serve` in its own session,
records its PID, and returns once `/v2/` answers. `push` copies an image into it with skopeo and returns the
reference by digest; `pull` has podman fetch that reference, and the lab's hosts are created from it, so the
image a host runs is the one the registry served. `stop` ends the recorded PID only.

The registry speaks plain HTTP (`--tls-verify=false` on both sides): it listens on the lab bridge's address,
which only this machine and the lab's hosts reach; a site's registry would sit behind its own TLS.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from aifactory.lab import mirror
from aifactory.lab.podman import podman
from aifactory.lab.state import LabState

BINARY = "docker-registry"
CONFIG = "config.yml"
PID_FILE = "registry.pid"
LOG = "registry.log"
# The lab host image's name in the registry (its tag: the image's content key).
LAB_REPOSITORY = "aifactory/lab"
# The line the registry logs once its listener is bound, with the port it got (`http.addr` port 0: a free one).
_LISTENING = re.compile(r'msg="listening on \S+:(\d+)"')


@dataclass(frozen=True)
class Registry:
    """A running registry: its PID and the address it answers on."""

    pid: int
    address: str
    port: int

    @property
    def host(self) -> str:
        """`ADDRESS:PORT` as image references name a registry."""
        return f"[{self.address}]:{self.port}" if ":" in self.address else f"{self.address}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"


def config_text(storage: Path, address: str, port: int) -> str:
    """The registry's config.yml: filesystem storage at `storage`, listening on `address:port` only."""
    bind = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
    doc: dict[str, Any] = {
        "version": 0.1,
        "log": {"level": "info", "formatter": "text", "accesslog": {"disabled": False}},
        "storage": {"filesystem": {"rootdirectory": str(storage)}, "delete": {"enabled": False}},
        # The secret signs upload state between requests; one registry instance, so a fresh one per start.
        "http": {"addr": bind, "secret": secrets.token_hex(16)},
    }
    return yaml.safe_dump(doc, sort_keys=False)


def start(directory: Path, address: str, port: int = 0, timeout: float = 20) -> Registry:
    """Run the registry with its config, storage (`data/`), log and PID file in `directory`."""
    binary = shutil.which(BINARY)
    if binary is None:
        raise RuntimeError(f"{BINARY} is not installed (apt-get install -y {BINARY})")
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / CONFIG
    config.write_text(config_text(directory / "data", address, port))
    config.chmod(0o600)
    pid, bound = mirror.spawn([binary, "serve", str(config)], directory / LOG, _LISTENING, timeout)
    registry = Registry(pid, address, bound)
    (directory / PID_FILE).write_text(f"{pid} {address} {bound}\n")
    try:
        _wait_api(registry, timeout)
    except RuntimeError:
        stop(pid)
        raise
    return registry


def _wait_api(registry: Registry, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(registry.url + "/v2/", timeout=5) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"the registry at {registry.url} did not answer /v2/ within {timeout:.0f}s")
        time.sleep(0.1)


def alive(pid: int) -> bool:
    """Whether `pid` is still a registry (not another process that got its number)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return bool(cmdline) and Path(cmdline[0].decode(errors="replace")).name == BINARY


def stop(pid: int) -> bool:
    """End the registry with this PID; True when none is left running under it."""
    if pid and alive(pid):
        mirror.stop(pid)
    return not (pid and alive(pid))


def push(source: str, host: str, name: str, tag: str, tls_verify: bool = False) -> str:
    """`skopeo copy SOURCE docker://HOST/NAME:TAG` (HOST: `ADDRESS:PORT`, plain HTTP unless `tls_verify`);
    returns the pushed image's reference by digest."""
    with tempfile.TemporaryDirectory(prefix="registry-push-") as tmp:
        digest_file = Path(tmp) / "digest"
        done = subprocess.run(
            ["skopeo", "copy", "--quiet", f"--dest-tls-verify={str(tls_verify).lower()}", "--digestfile",
             str(digest_file), source, f"docker://{host}/{name}:{tag}"],
            capture_output=True, text=True, check=False, timeout=1800,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"skopeo copy {source} to {host} failed: {done.stderr.strip()[-1500:]}")
        digest = digest_file.read_text().strip()
    return f"{host}/{name}@{digest}"


def pull(ref: str) -> str:
    """`podman pull` a reference from the lab registry (plain HTTP); returns the local image's ID."""
    podman("pull", "--quiet", "--tls-verify=false", ref, timeout=1800)
    return podman("image", "inspect", "--format", "{{.Id}}", ref).stdout.strip()


def catalog(registry_url: str) -> list[str]:
    """The repositories the registry holds (`GET /v2/_catalog`)."""
    with urllib.request.urlopen(registry_url + "/v2/_catalog", timeout=10) as resp:
        repositories: list[str] = json.load(resp)["repositories"]
    return repositories


# -- the lab's registry: on the lab bridge, state under the lab's state directory, stopped by `lab down` --


def publish_lab_image(state: LabState, directory: Path, local_ref: str) -> str:
    """Start the lab's registry on the bridge address (a running one of this lab is kept), push the lab host
    image there, pull it back by digest; returns the reference the hosts are created from. A running registry
    of this lab is kept, and so is the image it holds when it is the same local image."""
    running = state.registry
    if running.get("pid") and alive(int(running["pid"])):
        if running.get("image") and running.get("pushed_from") == local_ref:
            return str(running["image"])
        registry = Registry(int(running["pid"]), str(running["address"]), int(running["port"]))
    else:
        registry = start(directory, state.gateway)
        state.registry = {"pid": registry.pid, "address": registry.address, "port": registry.port,
                          "url": registry.url, "dir": str(directory)}  # fmt: skip
        state.save()
    tag = local_ref.rsplit(":", 1)[1]
    ref = push(f"containers-storage:{local_ref}", registry.host, LAB_REPOSITORY, tag)
    state.registry.update(image=ref, image_id=pull(ref), pushed_from=local_ref)
    state.save()
    return ref


def stop_lab(state: LabState) -> bool:
    """Stop the lab's recorded registry by its PID and drop the name its pull gave the host image (the image
    stays under its local name, in the cache); False when the registry could not be stopped."""
    gone = stop(int(state.registry.get("pid", 0)))
    if gone and state.registry.get("dir"):
        (Path(state.registry["dir"]) / PID_FILE).unlink(missing_ok=True)
    if state.registry.get("image"):
        podman("rmi", str(state.registry["image"]), check=False)
    return gone
