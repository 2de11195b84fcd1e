"""A GPU node for the GPU roles' tests, on this machine without a GPU: ansible-playbook runs (connection local)
in a private mount namespace where /etc is a copy (every file the roles write lands there), a directory of
NVIDIA PCI functions (vendor 0x10de) is mounted over /sys/bus/pci/devices for the roles' real probe, and
`nvidia-smi`, `systemctl`, `modprobe`, `scontrol` and `squeue` are scripts first on PATH that print the real
tools' output formats, keep their state in files and log every call. Package installs (tag `packages`) are
skipped: NVIDIA's repository cannot be reached from here.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from aifactory.deploy.ansible import ansible_env

# nvidia-smi as the driver prints it: one CSV line per GPU; `-pl` changes a GPU's limit within its range.
NVIDIA_SMI = r"""#!/bin/bash
echo "nvidia-smi $*" >> "$FAKE_LOG"
gpus=$(cat "$FAKE_STATE/gpus"); min=$(cat "$FAKE_STATE/min_w"); max=$(cat "$FAKE_STATE/max_w")
limit() { cat "$FAKE_STATE/limit.$1" 2>/dev/null || echo "$max"; }
case "$*" in
  "--query-gpu=driver_version --format=csv,noheader")
    for ((i = 0; i < gpus; i++)); do cat "$FAKE_STATE/driver"; done ;;
  "--query-gpu=index,power.limit,power.min_limit,power.max_limit --format=csv,noheader,nounits")
    for ((i = 0; i < gpus; i++)); do printf '%d, %s.00, %s.00, %s.00\n' "$i" "$(limit $i)" "$min" "$max"; done ;;
  "-pm 1")
    for ((i = 0; i < gpus; i++)); do
      printf 'Enabled persistence mode for GPU 00000000:%02X:00.0.\n' $((i + 24)); done ;;
  -i\ *\ -pl\ *)
    set -- $*; echo "$4" > "$FAKE_STATE/limit.$2"
    printf 'Power limit for GPU 00000000:%02X:00.0 was set to %s.00 W from %s.00 W.\n' $(($2 + 24)) "$4" "$max" ;;
  -pl\ *)
    for ((i = 0; i < gpus; i++)); do echo "$2" > "$FAKE_STATE/limit.$i"; done ;;
  *) echo "fake nvidia-smi: unexpected arguments: $*" >&2; exit 2 ;;
esac
"""

# systemctl as ansible.builtin.systemd_service and the base role's checks query it.
SYSTEMCTL = r"""#!/bin/bash
echo "systemctl $*" >> "$FAKE_LOG"
units="$FAKE_STATE/units"; mkdir -p "$units"
unit=${2//\'/}; unit=${unit%.service}
case "$1" in
  show) printf 'Id=%s.service\nLoadState=loaded\nActiveState=%s\n' "$unit" \
          "$(test -e "$units/$unit.active" && echo active || echo inactive)" ;;
  is-enabled) test -e "$units/$unit.enabled" && echo enabled || { echo disabled; exit 1; } ;;
  enable) touch "$units/$unit.enabled" ;;
  start|restart) touch "$units/$unit.active" ;;
  is-active) shift; test "$1" = --quiet && shift; test -e "$units/${1%.service}.active" ;;
  daemon-reload) ;;
  *) echo "fake systemctl: unexpected arguments: $*" >&2; exit 1 ;;
esac
"""

MODPROBE = """#!/bin/bash
echo "modprobe $*" >> "$FAKE_LOG"
"""

# Slurm's controller tools: the node runs jobs for the first `squeue` calls in $FAKE_STATE/jobs.
SCONTROL = r"""#!/bin/bash
echo "scontrol $*" >> "$FAKE_LOG"
case "$*" in
  "--oneliner show node "*)
    echo "NodeName=$4 Arch=x86_64 CoresPerSocket=56 State=$(cat "$FAKE_STATE/slurm_state") Gres=gpu:8" ;;
  "update "*) ;;
  *) exit 1 ;;
esac
"""
SQUEUE = r"""#!/bin/bash
echo "squeue $*" >> "$FAKE_LOG"
left=$(cat "$FAKE_STATE/jobs"); if [ "$left" -gt 0 ]; then echo 4711; echo $((left - 1)) > "$FAKE_STATE/jobs"; fi
"""

TOOLS = {"nvidia-smi": NVIDIA_SMI, "systemctl": SYSTEMCTL, "modprobe": MODPROBE, "scontrol": SCONTROL,
         "squeue": SQUEUE}  # fmt: skip


@dataclass
class GpuHost:
    """One prepared host: `etc` is what the roles saw as /etc, `log` the replaced tools' calls."""

    root: Path
    gpus: int = 8
    min_w: int = 200
    max_w: int = 700
    driver: str = "580.95.05"

    @property
    def etc(self) -> Path:
        return self.root / "etc"

    @property
    def state(self) -> Path:
        return self.root / "state"

    def prepare(self) -> GpuHost:
        shutil.copytree("/etc", self.etc, symlinks=True)
        shutil.rmtree(self.etc / "ansible" / "facts.d", ignore_errors=True)
        pci = self.root / "pci"
        for i in range(self.gpus):
            (pci / f"0000:{i + 24:02x}:00.0").mkdir(parents=True)
            (pci / f"0000:{i + 24:02x}:00.0" / "vendor").write_text("0x10de\n")
        (pci / "0000:00:00.0").mkdir(parents=True)
        (pci / "0000:00:00.0" / "vendor").write_text("0x8086\n")
        self.state.mkdir()
        for name, value in {"gpus": self.gpus, "min_w": self.min_w, "max_w": self.max_w, "driver": self.driver,
                            "slurm_state": "MIXED", "jobs": 0}.items():  # fmt: skip
            (self.state / name).write_text(f"{value}\n")
        bin_dir = self.root / "bin"
        bin_dir.mkdir()
        for name, text in TOOLS.items():
            (bin_dir / name).write_text(text)
            (bin_dir / name).chmod(0o755)
        (self.root / "gnupg").mkdir(mode=0o700)
        (self.root / "log").write_text("")
        return self

    def calls(self) -> list[str]:
        return (self.root / "log").read_text().splitlines()

    def run(self, play: list[dict[str, Any]], *args: str) -> subprocess.CompletedProcess[str]:
        """ansible-playbook `play` against node01 (local) inside the namespace; `args` go to ansible-playbook."""
        (self.root / "play.yml").write_text(yaml.safe_dump(play))
        (self.root / "hosts.yml").write_text("all:\n  hosts:\n    node01: {ansible_host: 127.0.0.1}\n")
        playbook = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "hosts.yml", "play.yml", *args]
        script = (
            f"mount --bind {self.etc} /etc && mount --bind {self.root / 'pci'} /sys/bus/pci/devices && exec "
            + shlex.join(playbook)
        )
        env = ansible_env({
            "PATH": f"{self.root / 'bin'}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            "FAKE_LOG": str(self.root / "log"), "FAKE_STATE": str(self.state), "GNUPGHOME": str(self.root / "gnupg"),
            "ANSIBLE_CACHE_PLUGIN": "ansible.builtin.memory",
        })  # fmt: skip
        return subprocess.run(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
            cwd=self.root, capture_output=True, text=True, env=env, timeout=300, check=False,
        )  # fmt: skip


def namespaces_work() -> bool:
    """Root with mount namespaces: what the harness needs (CI and this machine run as root)."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    done = subprocess.run(["unshare", "--mount", "true"], capture_output=True, check=False)
    return done.returncode == 0


def signing_key(home: Path, name: str = "repository test key") -> tuple[str, str]:
    """(ASCII-armoured public key, fingerprint) of a fresh signing key in GnuPG home `home`."""
    gpg = ["gpg", "--homedir", str(home), "--batch", "--pinentry-mode", "loopback", "--passphrase", ""]
    subprocess.run([*gpg, "--quick-gen-key", f"{name} <key@example.invalid>", "ed25519", "sign", "never"],
                   check=True, capture_output=True, timeout=60)  # fmt: skip
    listing = subprocess.run([*gpg, "--with-colons", "--list-keys"], check=True, capture_output=True, text=True)
    fingerprint = next(line.split(":")[9] for line in listing.stdout.splitlines() if line.startswith("fpr:"))
    armoured = subprocess.run([*gpg, "--armor", "--export", fingerprint], check=True, capture_output=True, text=True)
    return armoured.stdout, fingerprint
