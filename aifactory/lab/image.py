"""The lab hosts' image: a Debian root file system made by debootstrap, imported into podman.

The packages the roles install are baked in, so converging a lab host installs nothing from the network;
the roles' package tasks still run and find them present. The root file system is cached as a tarball keyed
by the suite and package list, and the podman image is tagged with the same key.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
from pathlib import Path

from aifactory.lab.paths import cache_dir

SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
# debootstrap's minbase plus what Ansible needs to manage the host (python3, python3-apt, ssh).
BOOTSTRAP_PACKAGES = ("python3", "python3-apt", "openssh-server", "iproute2", "procps", "ca-certificates")
# What the roles install on lab hosts (Debian 12 names): baked in so a converge needs no network.
ROLE_PACKAGES = (
    "munge",
    "slurmd",
    "slurmctld",
    "slurm-client",
    "prometheus",
    "prometheus-node-exporter",
    "nfs-common",
    "python3-packaging",
    "python3-venv",
    "chrony",
    "kmod",
    "rdma-core",
    "ibverbs-utils",
    "infiniband-diags",
)
IMAGE_REPO = "localhost/aifactory-lab"
# PID 1 of a lab host is sshd (Ansible's way in); podman's --init reaps the daemons' orphans.
_CMD = 'CMD ["/bin/sh", "-c", "mkdir -p /run/sshd && exec /usr/sbin/sshd -D -e"]'


def image_key() -> str:
    """Content key of the image: changes whenever the suite or a package list changes."""
    text = "\n".join([SUITE, *BOOTSTRAP_PACKAGES, "--", *ROLE_PACKAGES])
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def image_ref() -> str:
    return f"{IMAGE_REPO}:{image_key()}"


def rootfs_tarball() -> Path:
    return cache_dir() / f"rootfs-{SUITE}-{image_key()}.tar"


def _run(cmd: list[str], log: Path) -> None:
    with log.open("ab") as fh:
        fh.write(("$ " + " ".join(cmd) + "\n").encode())
        fh.flush()
        done = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, check=False, timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed (exit {done.returncode}); see {log}")


def build_rootfs(log: Path) -> Path:
    """Debootstrap the root file system and pack it into the cache (skipped when the tarball exists)."""
    tarball = rootfs_tarball()
    if tarball.exists():
        return tarball
    tarball.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="rootfs-", dir=tarball.parent) as tmp:
        root = Path(tmp) / "root"
        include = ",".join(BOOTSTRAP_PACKAGES)
        _run(["debootstrap", "--variant=minbase", f"--include={include}", SUITE, str(root), MIRROR], log)
        # No daemon may start inside the chroot while packages install: it would run on this machine.
        policy = root / "usr/sbin/policy-rc.d"
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
        env = ["env", "DEBIAN_FRONTEND=noninteractive"]
        apt = ["chroot", str(root), *env, "apt-get", "install", "-y", "--no-install-recommends"]
        _run([*apt, *ROLE_PACKAGES], log)
        _run(["chroot", str(root), "apt-get", "clean"], log)
        partial = tarball.with_suffix(".partial")
        _run(["tar", "-C", str(root), "--numeric-owner", "-cf", str(partial), "."], log)
        partial.rename(tarball)
    return tarball


def ensure_image(log: Path) -> str:
    """Make sure the podman image exists; returns its reference."""
    ref = image_ref()
    if subprocess.run(["podman", "image", "exists", ref], check=False).returncode == 0:
        return ref
    tarball = build_rootfs(log)
    _run(["podman", "import", "--change", _CMD, str(tarball), ref], log)
    return ref


def debootstrap_available() -> bool:
    return shutil.which("debootstrap") is not None
