"""What `lab up` needs on this machine: root, and a few Debian packages it installs itself."""

from __future__ import annotations

import os
import subprocess

from aifactory.errors import UserError

# podman and runc run the hosts (crun fails on these machines), debootstrap builds their root file system,
# openssh-client is how Ansible reaches them. docker-registry serves the host image the hosts are made from,
# skopeo pushes it there (the lab runs its own registry process; the package's own service is not used).
HOST_PACKAGES = ("podman", "runc", "catatonit", "debootstrap", "openssh-client", "iptables", "uidmap",
                 "docker-registry", "skopeo")  # fmt: skip


def require_root() -> None:
    if os.geteuid() != 0:
        raise UserError.at(
            None,
            "`aifactory lab` needs root: it creates containers, a bridge network and device nodes",
            hint="run it as root, e.g. `sudo aifactory lab up`",
        )


def missing_packages(packages: tuple[str, ...] = HOST_PACKAGES) -> list[str]:
    out = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Package} ${db:Status-Status}\n", *packages],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    installed = {line.split()[0] for line in out.stdout.splitlines() if line.endswith(" installed")}
    return [p for p in packages if p not in installed]


def ensure_packages() -> list[str]:
    """Install the missing Debian packages; returns what was installed."""
    missing = missing_packages()
    if missing:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, timeout=600)
        subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True, env=env, timeout=1200)
    return missing
