"""The lab's two images, each a Debian root file system made by debootstrap and imported into podman.

- `lab` (the lab's hosts): debootstrap's minbase plus only what Ansible and systemd need to manage a host
  (`BOOTSTRAP_PACKAGES`), with no package index and no downloaded .deb left: nothing the roles install is
  there, so a converge installs every role package from the lab's own apt mirror, on a network with no
  route out, the way a sovereign site's fresh host does.
- `molecule` (the roles' scenarios, which run with no network at all): `lab` plus the packages the roles
  install (`ROLE_PACKAGES`), their .deb files kept in apt's cache with the package index, so a scenario can
  remove a package and have the role install it again as on a fresh host.

A host boots like a production node: systemd is PID 1 (`podman run --systemd=always`), sshd runs as the
package's `ssh.service`, and the packages' own units are enabled as Debian's maintainer scripts leave them.
What the packages' scripts leave behind per host is removed (`_PER_HOST`). Each root file system is cached as
a tarball keyed by its content (suite, package lists, clean-up), and each podman image is tagged with the
same key; the molecule tarball is made from the lab one.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Literal

from aifactory.lab.paths import cache_dir

Kind = Literal["lab", "molecule"]
LAB: Kind = "lab"
MOLECULE: Kind = "molecule"
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
# What the roles install on lab hosts (Debian 12 names): baked into the molecule image only, since a scenario
# has no network to install them from.
ROLE_PACKAGES = (
    "munge",
    "slurmd",
    "slurmctld",
    "slurm-client",
    "slurmdbd",
    "mariadb-server",
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
# munge's postinst ran `mungekey -c` there, and every instance would share that key, hiding that production
# hosts each get their own. Without it an instance starts the way the roles must handle (no shared key yet).
_PER_HOST = ("etc/munge/munge.key",)
# Marks what each build does, in the image key.
_BUILD = {
    LAB: "apt-lists-removed debs-removed machine-id-empty",
    MOLECULE: "apt-lists-kept debs-kept policy-rc.d-removed machine-id-empty",
}
IMAGE_REPOS = {LAB: "localhost/aifactory-lab", MOLECULE: "localhost/aifactory-molecule"}
# PID 1 of a lab host is systemd; podman's --systemd=always gives it the mounts and stop signal it needs.
_CMD = 'CMD ["/sbin/init"]'
_STOPSIGNAL = "STOPSIGNAL SIGRTMIN+3"


def image_key(kind: Kind) -> str:
    """Content key of an image: changes whenever the suite, a package list or the build changes."""
    parts = [SUITE, *BOOTSTRAP_PACKAGES, "--", _CMD, _BUILD[LAB]]
    if kind == MOLECULE:
        parts += ["--", *ROLE_PACKAGES, "--", *_PER_HOST, _BUILD[MOLECULE]]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:12]


def image_ref(kind: Kind) -> str:
    return f"{IMAGE_REPOS[kind]}:{image_key(kind)}"


def rootfs_tarball(kind: Kind) -> Path:
    return cache_dir() / f"rootfs-{kind}-{SUITE}-{image_key(kind)}.tar"


def _run(cmd: list[str], log: Path) -> None:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as fh:
        fh.write(("$ " + " ".join(cmd) + "\n").encode())
        fh.flush()
        done = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, check=False, timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed (exit {done.returncode}); see {log}")


def _pack(root: Path, tarball: Path, log: Path) -> None:
    # Each host's systemd makes its own machine ID at first boot (the systemd documentation's image rule).
    (root / "etc/machine-id").write_text("")
    partial = tarball.with_suffix(".partial")
    _run(["tar", "-C", str(root), "--numeric-owner", "-cf", str(partial), "."], log)
    partial.rename(tarball)


def _bootstrap(root: Path, log: Path) -> None:
    """The lab hosts' root: minbase and the bootstrap packages, then apt's index and fetched .debs dropped,
    so the host knows no package source but what the roles give it."""
    include = ",".join(BOOTSTRAP_PACKAGES)
    _run(["debootstrap", "--variant=minbase", f"--include={include}", SUITE, str(root), MIRROR], log)
    for sub in ("var/lib/apt/lists", "var/cache/apt/archives"):
        for item in (root / sub).glob("*"):
            if item.is_file() and item.name != "lock":
                item.unlink()


def _add_role_packages(root: Path, log: Path) -> None:
    """The molecule root: the lab root with the roles' packages installed and their .debs kept."""
    shutil.copy2("/etc/resolv.conf", root / "etc/resolv.conf")
    # No daemon may start inside the chroot while packages install: it would run on this machine, not in an
    # instance. The block is removed again before packing: in an instance, as in production, the packages'
    # units are enabled and start at boot.
    policy = root / "usr/sbin/policy-rc.d"
    policy.write_text("#!/bin/sh\nexit 101\n")
    policy.chmod(0o755)
    env = ["env", "DEBIAN_FRONTEND=noninteractive"]
    _run(["chroot", str(root), *env, "apt-get", "update", "-q"], log)
    _run(["chroot", str(root), *env, "apt-get", "install", "-y", "--no-install-recommends", *ROLE_PACKAGES], log)
    policy.unlink()
    for rel in _PER_HOST:
        (root / rel).unlink(missing_ok=True)


def build_rootfs(kind: Kind, log: Path) -> Path:
    """Build the kind's root file system into the cache (skipped when its tarball exists)."""
    tarball = rootfs_tarball(kind)
    if tarball.exists():
        return tarball
    base = build_rootfs(LAB, log) if kind == MOLECULE else None
    tarball.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="rootfs-", dir=tarball.parent) as tmp:
        root = Path(tmp) / "root"
        if base is None:
            _bootstrap(root, log)
        else:
            root.mkdir()
            _run(["tar", "-C", str(root), "--numeric-owner", "-xf", str(base)], log)
            _add_role_packages(root, log)
        _pack(root, tarball, log)
    return tarball


def ensure_image(log: Path, kind: Kind) -> str:
    """Make sure the kind's podman image exists; returns its reference."""
    ref = image_ref(kind)
    if subprocess.run(["podman", "image", "exists", ref], check=False).returncode == 0:
        return ref
    tarball = build_rootfs(kind, log)
    _run(["podman", "import", "--change", _CMD, "--change", _STOPSIGNAL, str(tarball), ref], log)
    return ref


def debootstrap_available() -> bool:
    return shutil.which("debootstrap") is not None
