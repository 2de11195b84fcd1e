"""Inventory variables the blueprint decides: software pins, the shared file system mount, the NCCL
environment and the Slurm cluster. Together with `render_inventory` this turns a blueprint and its plan into
the complete inventory the site playbook converges.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from aifactory.blueprint.model import Blueprint
from aifactory.render.fabric_vars import fabric_vars
from aifactory.render.gpu_vars import gpu_vars, imex_peers
from aifactory.render.inventory import HostLike, orchestrator_groups, orchestrator_hosts, render_inventory
from aifactory.render.k8s.ownership import owner
from aifactory.render.quotas import slurm_accounts
from aifactory.render.slurm import DISTRIBUTION_SLURM, FabricShape, NodeShape, Partition, slurm_vars
from aifactory.render.slurm_install import major_minor, slurm_install

if TYPE_CHECKING:
    from aifactory.design.plan import Plan

# Role variables that take a pin from `software` directly (pin name -> role variable).
ROLE_PINS = {
    "driver": "nvidia_driver_version",
    "dcgm": "dcgm_version",
    "kubernetes": "k8s_node_kubernetes_version",
}


def software_vars(bp: Blueprint) -> dict[str, Any]:
    """Every version pin as `aifactory_software`, and the pins roles install by."""
    dumped = bp.software.model_dump(exclude={"charts", "installed_by", "ofed_repository"})
    pins = {k: str(v) for k, v in dumped.items() if v is not None}
    out: dict[str, Any] = {"aifactory_software": pins}
    out.update({var: pins[pin] for pin, var in ROLE_PINS.items() if pin in pins})
    # One owner per node component (`software.installed_by`): where the operator owns it, the host role
    # leaves it alone (no packages, no services).
    out["nvidia_driver_installed_by"] = owner(bp, "driver")
    out["dcgm_installed_by"] = owner(bp, "dcgm")
    return out


def storage_mounts(bp: Blueprint) -> list[dict[str, str]]:
    """The parallel file system as `storage_client_mounts` entries (source, mount point, type, options). The
    blueprint's validation (aifactory.blueprint.hostside) makes sure every server named here is set."""
    fs = bp.storage.filesystem
    if fs.type == "nfs":
        return [{"type": "nfs", "source": f"{fs.server}:{fs.export}", "path": fs.mount,
                 "options": f"vers={fs.version},_netdev"}]  # fmt: skip
    if fs.type == "lustre":
        # Several MGS NIDs are failover partners, ':'-separated: mount.lustre(8) takes them as written.
        return [{"type": "lustre", "source": f"{fs.mgs_nid}:/{fs.fs_name}", "path": fs.mount,
                 "options": "defaults,_netdev,flock"}]  # fmt: skip
    if fs.type == "weka":
        # WEKA's fstab form: any backends ','-joined, then the file system; the agent must be up first.
        return [{"type": "wekafs", "source": f"{','.join(fs.backend_hosts)}/{fs.filesystem_name}",
                 "path": fs.mount,
                 "options": "x-systemd.requires=weka-agent.service,x-systemd.mount-timeout=infinity,_netdev"}]
    if fs.type == "vast":
        # NFSv3 over several TCP connections per mount (nconnect, at most 16 in Linux's NFS client, nfs(5)).
        return [{"type": "nfs", "source": f"{fs.vip_pool}:{fs.export}", "path": fs.mount,
                 "options": "vers=3,proto=tcp,nconnect=16,_netdev"}]  # fmt: skip
    return []  # IBM Storage Scale: its own cluster mounts the file system (mmmount), never fstab


def storage_vars(bp: Blueprint) -> dict[str, Any]:
    """The mounts, and what a Lustre or WEKA client needs besides: LNet's networks, the WEKA backends."""
    fs = bp.storage.filesystem
    out: dict[str, Any] = {"storage_client_mounts": storage_mounts(bp)}
    if fs.type == "lustre":
        # The network LNet needs is the MGS NIDs' ('10.2.0.5@o2ib' -> o2ib), on the listed interfaces.
        nets = sorted({nid.rsplit("@", 1)[1] for nid in fs.mgs_nid.replace(":", ",").split(",")})
        out["storage_client_lnet_networks"] = ",".join(f"{n}({','.join(fs.lnet_interfaces)})" for n in nets)
    if fs.type == "weka":
        out["storage_client_weka_backends"] = list(fs.backend_hosts)
    return out


def mirror_vars(bp: Blueprint) -> dict[str, str]:
    """The site's apt and PyPI mirrors (`site.sovereignty.mirrors`) as the base role's sources; the first of
    each kind wins."""
    names = {"apt": "base_apt_mirror", "pypi": "base_pypi_mirror"}
    out: dict[str, str] = {}
    for mirror in bp.site.sovereignty.mirrors:
        if mirror.kind in names:
            out.setdefault(names[mirror.kind], mirror.url)
    return out


def slurm_group_vars(
    bp: Blueprint, hosts: Sequence[HostLike], cpus: int = 0, memory_mb: int = 0
) -> dict[str, Any]:
    """`slurm_common_*` from `mlops.orchestrator.slurm` (cluster name, partitions); empty without Slurm."""
    slurm = getattr(bp.mlops.orchestrator, "slurm", None)
    has_roles = any("slurm-controller" in h.functions for h in hosts)
    if slurm is None or not has_roles:
        return {}
    partitions = [
        Partition(p.name, nodes=p.nodes, default=p.default, max_time=p.max_time) for p in slurm.partitions
    ]
    shape, fabric = design_shapes(bp)
    hosts = orchestrator_hosts(hosts, "slurm", orchestrator_of(bp), kubernetes_share(bp))
    installed = slurm_install(bp)
    out = slurm_vars(
        hosts, cluster_name=slurm.cluster_name, partitions=partitions, cpus=cpus, memory_mb=memory_mb,
        shape=shape, fabric=fabric, slurm_version=major_minor(installed.version) or DISTRIBUTION_SLURM,
    )  # fmt: skip
    out["slurm_common_install_method"] = installed.method
    out["slurm_common_version"] = installed.version
    out.update(accounting_vars(bp, str(out["slurm_common_controller"])))
    return out


def accounting_vars(bp: Blueprint, controller: str) -> dict[str, Any]:
    """Slurm accounting (`mlops.orchestrator.slurm.accounting`): slurmdbd on the controller (its inventory name
    is slurm.conf's AccountingStorageHost and slurmdbd.conf's DbdHost), one account per tenant limited to the
    tenant's GPU quota, the same quota its Kubernetes namespace gets. Off: only the switch, which the roles read."""
    slurm = getattr(bp.mlops.orchestrator, "slurm", None)
    if slurm is None or not slurm.accounting:
        return {"slurm_common_accounting": False}
    out: dict[str, Any] = {
        "slurm_common_accounting": True,
        "slurm_common_accounting_host": controller,
        "slurm_dbd_accounts": slurm_accounts(bp.mlops.tenants),
    }
    return out


def design_plan(bp: Blueprint) -> Plan:
    from aifactory.design import plan

    return plan(bp)


def design_shapes(bp: Blueprint) -> tuple[NodeShape | None, FabricShape | None]:
    """The node SKU's host shape (None where the catalogue has no published figure) and the compute fabric's
    (None where the design does not fit its tiers) for Slurm's node lines and topology."""
    p = design_plan(bp)
    sku = p.sku
    shape = None
    if sku.cpu is not None and sku.memory_gib is not None:
        shape = NodeShape(sku.cpu.sockets, sku.cpu.cores_per_socket, sku.cpu.threads_per_core, sku.memory_gib)
    clos = p.compute.clos
    fabric = None
    if clos is not None:
        su_leaves = p.layout.rails * p.compute.leaves_per_rail
        per_pod = clos.pod_leaves // su_leaves if clos.tiers >= 3 and su_leaves else 1
        fabric = FabricShape(clos.tiers, p.layout.slots_per_su, clos.leaf_down, p.layout.rails,
                             sku.nvlink_domain_nodes, per_pod, clos.pods_per_block)  # fmt: skip
    return shape, fabric


def blueprint_group_vars(
    bp: Blueprint, hosts: Sequence[HostLike], cpus: int = 0, memory_mb: int = 0
) -> dict[str, Any]:
    """All blueprint-derived variables for `group_vars/all.yml`; `cpus` and `memory_mb` size Slurm's
    nodes where known (0: slurmd reports them)."""
    out: dict[str, Any] = {
        "aifactory_blueprint": bp.name,
        "aifactory_site": bp.site.name,
        "fabric_type": str(bp.fabric.compute.type),
        "fabric_nccl_env": {str(k): str(v) for k, v in sorted(bp.fabric.nccl.items())},
    }
    out.update(storage_vars(bp))
    out.update(fabric_vars(bp, design_plan(bp)))
    out.update(software_vars(bp))
    out.update(mirror_vars(bp))
    out.update(gpu_vars(bp))
    out.update(slurm_group_vars(bp, hosts, cpus, memory_mb))
    out.update(secret_vars(bp))
    return out


def secret_vars(bp: Blueprint) -> dict[str, str]:
    """The names of the Ansible Vault variables the roles read credentials from (never their values: those
    live in the operator's ansible-vault encrypted vars file)."""
    slurm = getattr(bp.mlops.orchestrator, "slurm", None)
    out: dict[str, str] = {}
    if slurm is not None and slurm.munge_key is not None:
        out["munge_key_secret"] = slurm.munge_key.secret
    if slurm is not None and slurm.accounting and slurm.accounting_db_password is not None:
        out["slurm_dbd_password_secret"] = slurm.accounting_db_password.secret
    return out


def orchestrator_of(bp: Blueprint) -> str:
    return str(bp.mlops.orchestrator.type)


def kubernetes_share(bp: Blueprint) -> float:
    """The share of the compute nodes that runs Kubernetes when both orchestrators share the fleet."""
    return float(getattr(bp.mlops.orchestrator, "kubernetes_share", 1.0))


def host_owned_vars(bp: Blueprint) -> dict[str, str]:
    """What a Slurm node needs where the blueprint gives the driver or DCGM to the GPU operator: the operator
    runs only on Kubernetes nodes, so on a node Slurm alone schedules the host roles install them."""
    out = {}
    if owner(bp, "driver") != "host":
        out["nvidia_driver_installed_by"] = "host"
    if owner(bp, "dcgm") != "host":
        out["dcgm_installed_by"] = "host"
    return out


def render_blueprint_inventory(bp: Blueprint, hosts: Sequence[HostLike]) -> dict[str, str]:
    """The inventory files for a blueprint and its plan's hosts (deterministic bytes). Kubernetes workers carry
    their fabric placement as `k8s_node_labels` (`aifactory.render.k8s.topology`), which kubelet registers;
    Slurm nodes carry `host_owned_vars` where the operator owns the driver or DCGM on Kubernetes nodes, and
    GB200 trays their NVLink domain's IMEX peers."""
    orchestrator, share = orchestrator_of(bp), kubernetes_share(bp)
    groups = orchestrator_groups(hosts, orchestrator, share)
    extra: dict[str, dict[str, Any]] = imex_peers(bp, hosts)
    for name in groups.get("slurm", []):
        extra.setdefault(name, {}).update(host_owned_vars(bp))
    if orchestrator in ("kubernetes", "both"):
        from aifactory.design.placement import compute_group
        from aifactory.render.k8s.topology import node_labels

        _, fabric = design_shapes(bp)
        # Labels say where a node sits in the whole fabric (its slot among all of its unit's nodes).
        labels = node_labels(hosts, fabric, compute_group(bp).name)
        for name in groups.get("k8s_worker", []):
            extra.setdefault(name, {})["k8s_node_labels"] = labels[name]
    extra = {name: found for name, found in extra.items() if found}
    return render_inventory(hosts, blueprint_group_vars(bp, hosts), orchestrator, extra, share)
