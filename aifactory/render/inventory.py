"""Ansible inventory from a plan: hosts grouped by function, scalable unit, rack and rail.

Input is the design engine's `Plan` (its `hosts`, each a `Host` record) and the blueprint it came from.
Output is a small tree of YAML files, sorted and deterministic: `hosts.yml` (groups and host variables)
and `group_vars/all.yml` (the role variables the blueprint decides). Roles read host facts through the
`aifactory_*` host variables, so the inventory is the only place the design reaches the roles.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from itertools import accumulate
from typing import Any, Protocol

import yaml

from aifactory.design.plan import kubernetes_count
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


def kubernetes_nodes(hosts: Sequence[HostLike], share: float) -> list[str]:
    """The compute hosts that run Kubernetes when both orchestrators share the fleet; Slurm keeps the rest.

    The rule (deterministic, rack-aligned): take the compute hosts in name order, the slot order the fabric
    and topology.conf number them in; consecutive hosts of one scalable unit and rack form a rack. Kubernetes
    takes whole racks from the end (the last scalable unit first), as many as bring it nearest to
    `kubernetes_count(nodes, share)` (a tie goes to fewer), never every rack and never none. Whole racks from
    the end add up to whole scalable units, so at most one unit and no rack is split between the two; a
    rack-scale NVLink domain (an NVL72 rack) stays with one of them, and Slurm keeps the first slots of every
    unit, so its nodes keep their leaves. Only where all compute hosts stand in one rack is that rack split (the
    last names go to Kubernetes). A share that asks for no node or every node is flagged on the blueprint's line
    by the design check `orchestrator-share` (`aifactory.design.plan`)."""
    computes = compute_hosts(hosts)
    wanted = kubernetes_count(len(computes), share)
    if wanted <= 0 or wanted >= len(computes):
        return sorted(h.hostname for h in computes) if wanted > 0 else []
    racks: list[list[str]] = []  # from the end of the fleet
    last: tuple[int, str] | None = None
    for host in reversed(computes):
        key = (int(host.su), group_name(str(host.rack)))
        if key != last:
            racks.append([])
            last = key
        racks[-1].append(host.hostname)
    if len(racks) == 1:
        return sorted(racks[0][:wanted])
    ends = list(accumulate(len(r) for r in racks[:-1]))  # nodes in the last n + 1 racks: never all of them
    taken = min(range(len(ends)), key=lambda n: (abs(ends[n] - wanted), ends[n]))
    return sorted(name for rack in racks[: taken + 1] for name in rack)


def orchestrator_groups(
    hosts: Sequence[HostLike], orchestrator: str = "slurm", kubernetes_share: float = 1.0
) -> dict[str, list[str]]:
    """The compute hosts of each orchestrator's group, `slurm` and `k8s_worker` (absent when empty):
    `orchestrator` slurm or kubernetes gives every compute host to that one; both splits them by
    `kubernetes_nodes`, so no node runs two schedulers. Slurm's node lines, partitions and topology, and the
    Kubernetes node labels, are built from these same groups."""
    computes = [h.hostname for h in compute_hosts(hosts)]
    if orchestrator == "both":
        k8s = set(kubernetes_nodes(hosts, kubernetes_share))
    else:
        k8s = set(computes) if orchestrator == "kubernetes" else set()
    out = {"slurm": [n for n in computes if n not in k8s], "k8s_worker": [n for n in computes if n in k8s]}
    return {group: names for group, names in out.items() if names}


def orchestrator_hosts(
    hosts: Sequence[HostLike], group: str, orchestrator: str = "slurm", kubernetes_share: float = 1.0
) -> list[HostLike]:
    """The hosts one orchestrator sees: every host that is not a compute node, and the compute nodes of its
    group (`slurm` or `k8s_worker`, from `orchestrator_groups`), in their order."""
    members = set(orchestrator_groups(hosts, orchestrator, kubernetes_share).get(group, []))
    return [h for h in hosts if "compute" not in h.functions or h.hostname in members]


def inventory_tree(
    hosts: Sequence[HostLike],
    group_vars: Mapping[str, Any],
    orchestrator: str = "slurm",
    extra_host_vars: Mapping[str, Mapping[str, Any]] | None = None,
    kubernetes_share: float = 1.0,
) -> dict[str, Any]:
    """The inventory as one YAML-ready mapping. `orchestrator` (slurm, kubernetes or both) and, for both,
    `kubernetes_share` decide which compute hosts join the `slurm` group and which the `k8s_worker` group
    (`orchestrator_groups`); `extra_host_vars` adds variables per host name (the Kubernetes node labels)."""
    extra = extra_host_vars or {}
    groups: dict[str, list[str]] = {}
    for host in hosts:
        for group in host_groups(host):
            groups.setdefault(group, []).append(host.hostname)
    groups.update(orchestrator_groups(hosts, orchestrator, kubernetes_share))
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
    kubernetes_share: float = 1.0,
) -> dict[str, str]:
    """The inventory files, keyed by relative path: `hosts.yml` (groups and host variables) and
    `group_vars/all.yml` (the variables the blueprint decides)."""
    tree = inventory_tree(hosts, {}, orchestrator, extra_host_vars, kubernetes_share)
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
