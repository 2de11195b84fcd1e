"""Ansible inventory from a plan: hosts grouped by function, scalable unit, rack and rail.

Input is the design engine's `Plan` (its `hosts`, each a `Host` record) and the blueprint it came from.
Output is a small tree of YAML files, sorted and deterministic: `hosts.yml` (groups and host variables)
and `group_vars/all.yml` (the role variables the blueprint decides). Roles read host facts through the
`aifactory_*` host variables, so the inventory is the only place the design reaches the roles.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

import yaml

from aifactory.render.hostlist import compress

# Host functions (from the design engine) and the inventory groups the site playbook targets.
FUNCTION_GROUPS = {
    "compute": "compute",
    "login": "login",
    "slurm-controller": "slurm_controller",
    "k8s-control-plane": "k8s_control_plane",
    "storage-client": "storage_client",
}


class HostLike(Protocol):
    """The `Host` fields the inventory reads; read-only, so frozen records fit."""

    @property
    def hostname(self) -> str: ...

    @property
    def functions(self) -> Sequence[str]: ...

    @property
    def su(self) -> int: ...

    @property
    def rack(self) -> str: ...

    @property
    def rack_unit(self) -> int: ...

    @property
    def oob_ip(self) -> str | None: ...

    @property
    def inband_ip(self) -> str | None: ...

    @property
    def storage_ip(self) -> str | None: ...

    @property
    def rail_ips(self) -> Sequence[str]: ...

    @property
    def gpu_model(self) -> str | None: ...

    @property
    def gpus(self) -> int: ...

    @property
    def power_cap_w(self) -> float | None: ...


def group_name(text: str) -> str:
    """An Ansible-safe group name: lowercase letters, digits and underscores."""
    return re.sub(r"[^a-z0-9_]", "_", text.lower())


def host_vars(host: HostLike) -> dict[str, Any]:
    """Per-host variables: addresses on each network, GPU model and count, power cap, placement."""
    address = host.inband_ip or host.oob_ip or host.hostname
    return {
        "ansible_host": str(address),
        "aifactory_functions": sorted(host.functions),
        "aifactory_gpu_model": host.gpu_model or "",
        "aifactory_gpus": int(host.gpus),
        "aifactory_inband_ip": str(host.inband_ip or ""),
        "aifactory_oob_ip": str(host.oob_ip or ""),
        "aifactory_power_cap_w": int(host.power_cap_w) if host.power_cap_w else 0,
        "aifactory_rack": str(host.rack),
        "aifactory_rack_unit": int(host.rack_unit),
        "aifactory_rail_ips": [str(ip) for ip in host.rail_ips],
        "aifactory_storage_ip": str(host.storage_ip or ""),
        "aifactory_su": int(host.su),
    }


def host_groups(host: HostLike) -> list[str]:
    """Every group a host belongs to: its functions, its scalable unit, rack, and each rail it has."""
    groups = [FUNCTION_GROUPS[f] for f in host.functions if f in FUNCTION_GROUPS]
    groups.append(f"su_{int(host.su)}")
    groups.append(f"rack_{group_name(str(host.rack))}")
    groups += [f"rail_{i}" for i in range(len(host.rail_ips))]
    return groups


def service_host(hosts: Sequence[HostLike]) -> HostLike | None:
    """Where the factory's own services (Prometheus, MLflow) run: the first Slurm controller, else the first
    Kubernetes control-plane node (its services then come from the Pulumi layer), else none."""
    for function in ("slurm-controller", "k8s-control-plane"):
        for host in hosts:
            if function in host.functions:
                return host
    return None


def inventory_tree(
    hosts: Sequence[HostLike],
    group_vars: Mapping[str, Any],
    orchestrator: str = "slurm",
    extra_host_vars: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """The inventory as one YAML-ready mapping. `orchestrator` (slurm, kubernetes or both) decides whether
    compute hosts join the `slurm` group, the `k8s_worker` group, or both; `extra_host_vars` adds variables
    per host name (the Kubernetes node labels)."""
    extra = extra_host_vars or {}
    groups: dict[str, list[str]] = {}
    for host in hosts:
        for group in host_groups(host):
            groups.setdefault(group, []).append(host.hostname)
    computes = [h.hostname for h in compute_hosts(hosts)]
    if orchestrator in ("slurm", "both") and computes:
        groups["slurm"] = computes
    if orchestrator in ("kubernetes", "both") and computes:
        groups["k8s_worker"] = computes
    services = service_host(hosts)
    if services is not None and "slurm-controller" in services.functions:
        groups["monitoring"] = [services.hostname]
        groups["mlflow_server"] = [services.hostname]
    children = {name: {"hosts": {h: None for h in sorted(members)}} for name, members in groups.items()}
    return {
        "all": {
            "hosts": {
                h.hostname: {**host_vars(h), **extra.get(h.hostname, {})}
                for h in sorted(hosts, key=lambda h: h.hostname)
            },
            "children": children,
            **({"vars": dict(group_vars)} if group_vars else {}),
        }
    }


def dump_yaml(data: Any) -> str:
    """Sorted, block-style YAML: the same data always gives the same bytes."""
    return "---\n" + yaml.safe_dump(data, sort_keys=True, default_flow_style=False, width=1000)


def render_inventory(
    hosts: Sequence[HostLike],
    group_vars: Mapping[str, Any],
    orchestrator: str = "slurm",
    extra_host_vars: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, str]:
    """The inventory files, keyed by relative path: `hosts.yml` (groups and host variables) and
    `group_vars/all.yml` (the variables the blueprint decides)."""
    tree = inventory_tree(hosts, {}, orchestrator, extra_host_vars)
    return {"hosts.yml": dump_yaml(tree), "group_vars/all.yml": dump_yaml(dict(group_vars))}


def compute_hosts(hosts: Iterable[HostLike]) -> list[HostLike]:
    return sorted((h for h in hosts if "compute" in h.functions), key=lambda h: h.hostname)


def topology_switches(hosts: Sequence[HostLike]) -> list[dict[str, str]]:
    """Slurm's tree topology from the fabric design: a leaf per rack, a switch per scalable unit over its
    leaves, and a spine over the scalable units (one level fewer when there is only one unit)."""
    computes = compute_hosts(hosts)
    racks: dict[tuple[int, str], list[str]] = {}
    for host in computes:
        racks.setdefault((int(host.su), group_name(str(host.rack))), []).append(host.hostname)
    leaves = [
        {"name": f"leaf_{rack}", "nodes": compress(names)} for (_, rack), names in sorted(racks.items())
    ]
    units: dict[int, list[str]] = {}
    for su, rack in sorted(racks):
        units.setdefault(su, []).append(f"leaf_{rack}")
    if len(units) <= 1:
        return leaves
    spines = [{"name": f"su_{su}", "switches": compress(ls)} for su, ls in sorted(units.items())]
    top = {"name": "spine", "switches": compress(s["name"] for s in spines)}
    return [*leaves, *spines, top]
