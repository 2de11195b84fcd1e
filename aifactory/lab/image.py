"""The lab hosts' image: a Debian root file system made by debootstrap, imported into podman.

A lab host boots like a production node: systemd is PID 1 (`podman run --systemd=always`), sshd runs as the
package's `ssh.service`, and the packages' own units are enabled as Debian's maintainer scripts leave them,
so they start at boot the way they start at install time on a fresh host; the roles must cope with that.
The packages the roles install are baked in, so converging a lab host installs nothing from the network
(the one lab difference here: a lab host has no route out); the roles' package tasks still run and find
them present. What the packages' scripts leave behind per host is removed so every lab host starts with no
munge key, as the roles must then distribute one (see `_PER_HOST`). The root file system is cached as a
tarball keyed by the suite, package lists and that clean-up, and the podman image is tagged with the same key.
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
# systemd and systemd-sysv make systemd the init, as on the production nodes.
BOOTSTRAP_PACKAGES = (
    "python3",
    "python3-apt",
    "openssh-server",
    "iproute2",
    "procps",
    "ca-certificates",
    "systemd",
    "systemd-sysv",
)
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
# Files the packages' maintainer scripts made once, in the build's chroot, that a real host makes for itself:
# munge's postinst ran `mungekey -c` there, and every lab host would share that key, hiding that production
# hosts each get their own. Without it a lab host starts the way the roles must handle (no shared key yet).
_PER_HOST = ("etc/munge/munge.key",)
# Marks what else the build does in the image key (kept .deb files, no policy-rc.d, empty machine ID).
_BUILD = "debs-kept policy-rc.d-removed machine-id-empty"
IMAGE_REPO = "localhost/aifactory-lab"
# PID 1 of a lab host is systemd; podman's --systemd=always gives it the mounts and stop signal it needs.
_CMD = 'CMD ["/sbin/init"]'
_STOPSIGNAL = "STOPSIGNAL SIGRTMIN+3"


def image_key() -> str:
    """Content key of the image: changes whenever the suite or a package list changes."""
    text = "\n".join([SUITE, *BOOTSTRAP_PACKAGES, "--", *ROLE_PACKAGES, "--", *_PER_HOST, _CMD, _BUILD])
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
        # No daemon may start inside the chroot while packages install: it would run on this machine, not in a
        # lab host. The block is removed again before packing: on a lab host, as in production, the packages'
        # units are enabled and start (at boot here, since the packages are baked in).
        policy = root / "usr/sbin/policy-rc.d"
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
        env = ["env", "DEBIAN_FRONTEND=noninteractive"]
        apt = ["chroot", str(root), *env, "apt-get", "install", "-y", "--no-install-recommends"]
        _run([*apt, *ROLE_PACKAGES], log)
        # The downloaded .deb files stay in apt's archive cache: a scenario can remove a package and have the
        # role install it again without a network, as on a fresh host (slurmd before `slurmd -G` checks).
        policy.unlink()
        for rel in _PER_HOST:
            (root / rel).unlink(missing_ok=True)
        # Each host's systemd makes its own machine ID at first boot (the systemd documentation's image rule).
        (root / "etc/machine-id").write_text("")
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
    _run(["podman", "import", "--change", _CMD, "--change", _STOPSIGNAL, str(tarball), ref], log)
    return ref


def debootstrap_available() -> bool:
    return shutil.which("debootstrap") is not None
