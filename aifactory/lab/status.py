"""`aifactory lab status`: hosts, services and jobs of the running lab, checked live."""

from __future__ import annotations

import urllib.request
from typing import Any

from aifactory.lab.podman import exec_in, podman
from aifactory.lab.state import LabState

# The systemd units the roles run on lab hosts.
DAEMONS = ("munge", "slurmctld", "slurmd", "prometheus-node-exporter", "prometheus", "mlflow")


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return bool(resp.status == 200)
    except OSError:
        return False


def _daemons(name: str) -> list[str]:
    script = "; ".join(f"systemctl is-active --quiet {d} && echo {d}" for d in DAEMONS)
    done = exec_in(name, ["sh", "-c", script + "; true"], timeout=30)
    return sorted(done.stdout.split())


def lab_status(state: LabState) -> dict[str, Any]:
    hosts: dict[str, Any] = {}
    for name, cid in sorted(state.containers.items()):
        running = podman("inspect", "-f", "{{.State.Running}}", cid, check=False).stdout.strip() == "true"
        hosts[name] = {
            "address": state.addresses.get(name, ""),
            "running": running,
            "daemons": _daemons(name) if running else [],
        }
    services = {
        "mlflow": {
            "url": state.services.get("mlflow", ""),
            "up": _http_ok(state.services.get("mlflow", "") + "/health"),
        },
        "prometheus": {
            "url": state.services.get("prometheus", ""),
            "up": _http_ok(state.services.get("prometheus", "") + "/-/ready"),
        },
        # The lab's OCI registry, which served the host image (aifactory/lab/registry.py).
        "registry": {
            "url": state.registry.get("url", ""),
            "image": state.registry.get("image", ""),
            "up": _http_ok(state.registry.get("url", "") + "/v2/"),
        },
    }
    sinfo = exec_in(state.controller, ["sinfo", "--noheader", "-N", "-o", "%N %T"], timeout=30)
    squeue = exec_in(state.controller, ["squeue", "--noheader", "-o", "%i %j %T %N"], timeout=30)
    return {
        "hosts": hosts,
        "services": services,
        "slurm_nodes": dict(line.split(maxsplit=1) for line in sinfo.stdout.splitlines() if line.strip()),
        "queue": [line.split() for line in squeue.stdout.splitlines() if line.strip()],
        "jobs": state.jobs,
        "serving": _serving(state),
        "production": state.production,
        "iterations": state.iterations,
        "timings": state.timings,
    }


def _serving(state: LabState) -> dict[str, Any] | None:
    """The serving replica, checked live: ready, and the registry version it serves."""
    from aifactory.lab.produce import served_version

    served = state.production.get("serving") if state.production else None
    if not served:
        return None
    url = served["url"]
    ready = _http_ok(f"{url}/v1/models/{served['model']}")
    try:
        version = served_version(url) if ready else ""
    except OSError:
        version = ""
    return {"url": url, "host": served["host"], "model": served["model"], "ready": ready, "version": version}
