"""The lab's own mirrors: filled from the lab's manifest, served on this machine's address on the lab network.

This is the code path of a sovereign site: `aifactory manifest lab` (resolved by apt for the blueprint's
release) lists every .deb and wheel the design needs, `aifactory.lab.mirror.fill` fetches them into a signed
apt repository and a PEP 503 index (cached by content), and the hosts, which have no route out, install from
there through the base role's `base_apt_mirror`, `base_apt_mirror_key` and `base_pypi_mirror`.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from aifactory.io import atomic_write, dumps_json
from aifactory.lab import mirror
from aifactory.lab.config import LabDesign
from aifactory.lab.paths import cache_dir, state_dir
from aifactory.lab.state import LabState

# The server's one child, recorded so `lab down` stops exactly it.
PID_FILE = "mirror.pid"


def lab_manifest(design: LabDesign) -> dict[str, Any]:
    """The lab design's resolved manifest (what `aifactory manifest lab --set compute.nodes=N` prints). The
    resolved document is kept in the cache keyed by the design's part of it (what the roles ask for and the
    lock), so a warm `lab up` asks no archive again and fills the same mirror."""
    from aifactory.deploy.ansible import ROLES_DIR, SITE_PLAYBOOK
    from aifactory.design import plan
    from aifactory.render.manifest import apt_root_for, debian_suite, host_classes, manifest, resolve_apt

    bp = design.blueprint
    hosts = plan(bp).hosts
    doc = manifest(bp, hosts, ROLES_DIR, SITE_PLAYBOOK)
    key = hashlib.sha256(dumps_json(doc).encode()).hexdigest()[:16]
    cached = cache_dir() / f"manifest-{bp.name}-{key}.json"
    if cached.exists():
        resolved: dict[str, Any] = json.loads(cached.read_text())
        return resolved
    classes = host_classes(bp, hosts, ROLES_DIR, SITE_PLAYBOOK)
    doc = resolve_apt(doc, classes, apt_root_for(debian_suite(bp), cache_dir() / "apt-index"))
    atomic_write(cached, dumps_json(doc))
    return doc


def server_alive(pid: int) -> bool:
    """Whether `pid` is still the mirrors' http.server (not another process that got its number)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"http.server" in cmdline


def start(state: LabState, design: LabDesign) -> dict[str, Any]:
    """Fill the mirrors (cached) and serve them on the lab bridge's address; the server is recorded in the
    state (and its PID file) before this returns. A server of this lab still running is kept."""
    from aifactory.render.manifest import LAB_LOCK

    running = state.mirror
    if running.get("pid") and server_alive(int(running["pid"])):
        return running
    doc = lab_manifest(design)
    atomic_write(state_dir() / "manifest.json", dumps_json(doc))
    root = mirror.fill(doc, LAB_LOCK)
    server = mirror.serve(root, state.gateway, 0, pid_file=state_dir() / PID_FILE)
    state.mirror = {"pid": server.pid, "address": server.address, "port": server.port, "url": server.url,
                    "dir": str(root)}  # fmt: skip
    state.save()
    return state.mirror


def signing_key(info: dict[str, Any]) -> str:
    """The public key the mirror's Release is signed with (the hosts' `Signed-By`)."""
    return (Path(info["dir"]) / mirror.KEY_NAME).read_text()


def stop(state: LabState) -> bool:
    """Stop the recorded server by its PID; False when it could not be stopped."""
    pid = int(state.mirror.get("pid", 0))
    if pid and server_alive(pid):
        mirror.stop(pid)
    (state_dir() / PID_FILE).unlink(missing_ok=True)
    return not (pid and server_alive(pid))


def apt_url(info: dict[str, Any]) -> str:
    return f"{info['url']}/apt"


def pypi_url(info: dict[str, Any]) -> str:
    return f"{info['url']}/pypi/simple"
