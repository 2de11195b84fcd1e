"""Tenant partitions on Kubernetes: InfiniBand P_Keys as pod networks, the way NVIDIA's Network Operator does it.

Where the network operator runs on an InfiniBand fabric with tenant partitions (`fabric.compute.partitions`),
a tenant's pods join its partition on every rail instead of sharing the host's RDMA device:

- the SR-IOV network operator (the network operator chart's `sriov-network-operator` subchart) carves each rail's
  ConnectX port into virtual functions: one `SriovNetworkNodePolicy` per rail, selecting the rail's PF by its
  interface name (`fabric.compute.rail_interfaces`, default the IPoIB names ib0, ib1, ...) and advertising the
  VFs as the extended resource `nvidia.com/ib_rail<N>`;
- per tenant partition and rail, a `NetworkAttachmentDefinition` `ib-partition-rail<N>` in the tenant's
  namespace: CNI `ib-sriov` with the partition's P_Key, so a VF handed to the tenant's pod carries that key and no
  other (ib-kubernetes, in the NicClusterPolicy, adds the VF's GUID to the partition through UFM);
- addresses from nv-ipam: one `IPPool` per partition and rail in the network operator's namespace, cut from the
  partition's `pod_subnet` (one equal block per rail, each holding a per-node block of VFs for every compute node);
- the NicClusterPolicy deploys Multus (which reads the pods' `k8s.v1.cni.cncf.io/networks` annotation), the CNI
  plugins and nv-ipam (`fabric.nic_cluster_policy`); the training runtime asks for one VF per rail and names the
  rail networks (`training`), and the tenants' Kueue queues cover the VF resources (`tenants`).

The NAD names are the same in every tenant namespace, so one cluster-wide runtime resolves them to the pod's own
tenant; a Kubernetes tenant without a partition would find none, which is an error here.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass

from aifactory.blueprint.fabric import InfinibandFabric
from aifactory.blueprint.mlops import Tenant
from aifactory.catalog import get_catalog
from aifactory.design.addressing import SUPERNETS
from aifactory.design.addressing import partitions as design_partitions
from aifactory.errors import Problem, UserError
from aifactory.render.k8s.context import Ctx, Manifest
from aifactory.render.k8s.topology import LABEL_SU

SRIOV_API = "sriovnetwork.openshift.io/v1"
NAD_API = "k8s.cni.cncf.io/v1"
IPAM_API = "nv-ipam.nvidia.com/v1alpha1"
NETWORK_OPERATOR_NS = "network-operator"  # the chart's namespace: the SR-IOV operator and nv-ipam run there
# The network operator chart's default `sriov-network-operator.operator.resourcePrefix` (set explicitly in its
# values, charts._network_operator): VFs are advertised as `<prefix>/<resourceName>`.
RESOURCE_PREFIX = "nvidia.com"
NETWORKS_ANNOTATION = "k8s.v1.cni.cncf.io/networks"  # Multus reads a pod's extra networks here
RESOURCE_ANNOTATION = "k8s.v1.cni.cncf.io/resourceName"  # ties a NAD to the device plugin's resource
# Set by the network operator chart's NodeFeatureRule `nvidia-nics-rules` (templates/nodefeaturerules.yaml at
# v26.4.1) on nodes with an NVIDIA (Mellanox) Ethernet or InfiniBand NIC.
NIC_LABEL = "feature.node.kubernetes.io/pci-15b3.present"
MELLANOX_VENDOR = "15b3"
NAD_PREFIX = "ib-partition-rail"


@dataclass(frozen=True)
class TenantPartition:
    index: int  # position in fabric.compute.partitions
    tenant: Tenant
    pkey: int
    subnet: ipaddress.IPv4Network | ipaddress.IPv6Network


def active(ctx: Ctx) -> bool:
    """Partitions become pod networks: network operator on, InfiniBand, a partition for a Kubernetes tenant."""
    fabric = ctx.bp.fabric.compute
    if not (ctx.bp.mlops.components.network_operator and isinstance(fabric, InfinibandFabric)):
        return False
    tenants = {t.name for t in ctx.bp.mlops.tenants}
    return any(p.tenant in tenants for p in fabric.partitions)


def rails(ctx: Ctx) -> int:
    sku = get_catalog().nodes[ctx.bp.compute.node_sku]
    return ctx.bp.fabric.compute.rails or sku.compute_nics


def vfs_per_rail(ctx: Ctx) -> int:
    """VFs per rail port: one for each GPU of the node (a pod per GPU at most, each on every rail)."""
    return max(1, get_catalog().nodes[ctx.bp.compute.node_sku].gpus)


def node_bound(ctx: Ctx) -> int:
    """Compute nodes a pool must hold: every node of the factory, so moving `kubernetes_share` needs no new
    addresses."""
    compute = ctx.bp.compute
    return compute.nodes or compute.scalable_units * compute.nodes_per_su


def resource_name(rail: int) -> str:
    return f"ib_rail{rail}"


def vf_resources(ctx: Ctx) -> list[str]:
    """The extended resources a pod requests for one VF on every rail (empty where partitions are not active)."""
    return [f"{RESOURCE_PREFIX}/{resource_name(r)}" for r in range(rails(ctx))] if active(ctx) else []


def network_names(ctx: Ctx) -> list[str]:
    return [f"{NAD_PREFIX}{r}" for r in range(rails(ctx))] if active(ctx) else []


def pool_prefix(ctx: Ctx, version: int) -> int:
    """Prefix of one rail's pool: per-node blocks for every node, plus network and broadcast addresses."""
    bits = 32 if version == 4 else 128
    need = node_bound(ctx) * vfs_per_rail(ctx) + 2
    return bits - (need - 1).bit_length()


def needed_prefix(ctx: Ctx, version: int) -> int:
    """The longest prefix a partition's pod subnet may have: one pool per rail."""
    return pool_prefix(ctx, version) - (rails(ctx) - 1).bit_length()


def tenant_partitions(ctx: Ctx) -> list[TenantPartition]:
    """The partitions of Kubernetes tenants with their P_Key and pod subnet (`checked`); a UserError with every
    problem at its blueprint line."""
    parts, problems = checked(ctx)
    if problems:
        raise UserError(problems)
    return parts


def checked(ctx: Ctx) -> tuple[list[TenantPartition], list[Problem]]:
    """The partitions of Kubernetes tenants, and what is wrong with them: every Kubernetes tenant has one, each
    has a pod subnet large enough for its rails' pools, and no subnet overlaps another partition's, the fabric's
    supernets or the site's reserved ranges."""
    if not active(ctx):
        return [], []
    fabric = ctx.bp.fabric.compute
    tenants = {t.name: t for t in ctx.bp.mlops.tenants}
    pkeys = {str(p["tenant"]): int(str(p["pkey"]), 16) for p in design_partitions(ctx.bp)}
    problems: list[Problem] = []
    out: list[TenantPartition] = []
    parted = {p.tenant for p in fabric.partitions}
    for j, each in enumerate(ctx.bp.mlops.tenants):
        if each.name not in parted:
            problems.append(
                _problem(
                    ctx,
                    ("mlops", "tenants", j, "name"),
                    f"tenant {each.name!r} has no partition on the InfiniBand fabric, so its pods could not join "
                    "the rail networks the training runtime names",
                    f"add {{tenant: {each.name}, pkey: 0x..., pod_subnet: ...}} to fabric.compute.partitions",
                )
            )
    for i, part in enumerate(fabric.partitions):
        tenant = tenants.get(part.tenant)
        if tenant is None:  # a partition for a Slurm-only tenant: no namespace here
            continue
        path = ("fabric", "compute", "partitions", i, "pod_subnet")
        net = part.pod_subnet
        if net is None:
            problems.append(
                _problem(
                    ctx,
                    path[:-1],
                    f"partition of tenant {part.tenant!r} has no pod_subnet: its pods need addresses on the partition "
                    f"(one nv-ipam pool per rail, {rails(ctx)} rails)",
                    f"add pod_subnet: a private /{needed_prefix(ctx, 4)} or larger disjoint from the other networks",
                )
            )
            continue
        longest = needed_prefix(ctx, net.version)
        if net.prefixlen > longest:
            problems.append(
                _problem(
                    ctx,
                    path,
                    f"pod subnet {net} of tenant {part.tenant!r} is too small: {rails(ctx)} rails x {node_bound(ctx)} "
                    f"nodes x {vfs_per_rail(ctx)} VFs need a /{longest}",
                    f"use a /{longest} or larger",
                )
            )
            continue
        problems += _overlaps(ctx, out, part.tenant, net, path)
        out.append(TenantPartition(i, tenant, pkeys[part.tenant], net))
    return out, problems


def _problem(ctx: Ctx, path: tuple[str | int, ...], message: str, hint: str) -> Problem:
    return Problem(ctx.loaded.locate(*path), message, hint, ".".join(str(p) for p in path))


def _overlaps(
    ctx: Ctx,
    earlier: list[TenantPartition],
    tenant: str,
    net: ipaddress.IPv4Network | ipaddress.IPv6Network,
    path: tuple[str | int, ...],
) -> list[Problem]:
    found = []
    others: list[tuple[str, ipaddress.IPv4Network | ipaddress.IPv6Network]] = [
        (f"the pod subnet of tenant {p.tenant.name!r}", p.subnet) for p in earlier
    ]
    others += [(f"the {name} supernet (fabric.addressing.{name})", getattr(ctx.bp.fabric.addressing, name))
               for name in SUPERNETS]  # fmt: skip
    others += [(f"the site's reserved range {r}", r) for r in ctx.bp.site.reserved_cidrs]
    for what, other in others:
        if other.version == net.version and other.overlaps(net):
            found.append(
                _problem(
                    ctx,
                    path,
                    f"pod subnet {net} of tenant {tenant!r} overlaps {what} ({other})",
                    "give every partition its own range, disjoint from the factory's other networks",
                )
            )
    return found


def rail_pools(ctx: Ctx, part: TenantPartition) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """The partition's pod subnet cut into one equal pool per rail, rail 0 first."""
    prefix = pool_prefix(ctx, part.subnet.version)
    out: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    for pool in part.subnet.subnets(new_prefix=prefix):
        if len(out) == rails(ctx):
            break
        out.append(pool)
    return out


def pool_name(part: TenantPartition, rail: int) -> str:
    return f"{part.tenant.name}-rail{rail}"


def partition_objects(ctx: Ctx) -> list[Manifest]:
    parts = tenant_partitions(ctx)
    if not parts:
        return []
    out = [_node_policy(ctx, r) for r in range(rails(ctx))]
    for part in parts:
        for rail, pool in enumerate(rail_pools(ctx, part)):
            out.append(_ip_pool(ctx, part, rail, pool))
            out.append(_attachment(ctx, part, rail))
    return out


def rail_interfaces(ctx: Ctx) -> list[str]:
    fabric = ctx.bp.fabric.compute
    names = list(fabric.rail_interfaces) or [f"ib{r}" for r in range(rails(ctx))]  # as fabric_vars does
    return names[: rails(ctx)]


def _node_policy(ctx: Ctx, rail: int) -> Manifest:
    path: tuple[str | int, ...] = ("fabric", "compute", "rail_interfaces")
    if not ctx.bp.fabric.compute.rail_interfaces:
        path = ("fabric", "compute")
    spec = {
        "resourceName": resource_name(rail),
        "linkType": "IB",
        "isRdma": True,
        "numVfs": vfs_per_rail(ctx),
        "nicSelector": {"vendor": MELLANOX_VENDOR, "pfNames": [rail_interfaces(ctx)[rail]]},
        "nodeSelector": {NIC_LABEL: "true"},
        "deviceType": "netdevice",
    }
    return ctx.obj(SRIOV_API, "SriovNetworkNodePolicy", f"ib-rail{rail}", "fabric", path, NETWORK_OPERATOR_NS,
                   spec=spec)  # fmt: skip


def _ip_pool(
    ctx: Ctx, part: TenantPartition, rail: int, pool: ipaddress.IPv4Network | ipaddress.IPv6Network
) -> Manifest:
    # Compute nodes only (they carry the scalable-unit label, topology.py) with an NVIDIA NIC.
    terms = [{"matchExpressions": [
        {"key": NIC_LABEL, "operator": "In", "values": ["true"]},
        {"key": LABEL_SU, "operator": "Exists"},
    ]}]  # fmt: skip
    spec = {"subnet": str(pool), "perNodeBlockSize": vfs_per_rail(ctx), "nodeSelector": {"nodeSelectorTerms": terms}}
    path = ("fabric", "compute", "partitions", part.index, "pod_subnet")
    return ctx.obj(IPAM_API, "IPPool", pool_name(part, rail), "fabric", path, NETWORK_OPERATOR_NS, spec=spec)


def _attachment(ctx: Ctx, part: TenantPartition, rail: int) -> Manifest:
    name = f"{NAD_PREFIX}{rail}"
    config = {
        "cniVersion": "0.3.1",
        "name": name,
        "type": "ib-sriov",
        "pkey": f"0x{part.pkey:04x}",
        "link_state": "enable",
        "ibKubernetesEnabled": True,
        "ipam": {"type": "nv-ipam", "poolName": pool_name(part, rail)},
    }
    path = ("fabric", "compute", "partitions", part.index)
    namespace = part.tenant.namespace or part.tenant.name
    spec = {"config": json.dumps(config, sort_keys=True, allow_nan=False)}
    obj = ctx.obj(NAD_API, "NetworkAttachmentDefinition", name, "fabric", path, namespace, spec=spec)
    obj["metadata"]["annotations"][RESOURCE_ANNOTATION] = f"{RESOURCE_PREFIX}/{resource_name(rail)}"
    return obj
