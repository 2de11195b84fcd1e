"""Where a Kubernetes node sits in the fabric, as node labels, and the Kueue `Topology` built from them.

The labels follow the fabric design the way Slurm's topology.conf does (`aifactory.render.slurm.fabric_switches`):
in a rail-optimized scalable unit node slot p reaches leaf p // leaf_down of every rail, so the nodes of one
"leaf group" are one switch hop apart on any rail; a multi-node NVLink domain (a GB200 NVL72 rack) is a level of
its own below the leaf group. Every compute node gets:

- `aifactory.io/scalable-unit`: `su<N>` (the spine group above its leaves);
- `aifactory.io/leaf-group`: `su<N>_leaf<K>`, the Slurm switch name of its leaf group;
- `aifactory.io/nvlink-domain`: `nvl_<rack>` for a multi-node NVLink domain, else the host name;
- `aifactory.io/rack`: its rack (placement; not a Kueue level: racks follow power, not the network).

Who applies them: the Ansible inventory gives each Kubernetes worker the host variable `k8s_node_labels`
(`render_blueprint_inventory`), and the `k8s_node` role writes them to `/etc/default/kubelet` as
`--node-labels`, which the kubeadm kubelet unit reads when the node registers. GPU feature discovery (GPU
operator) sets the product label the ResourceFlavor selects on; the project never sets that one.
"""

from __future__ import annotations

from collections.abc import Sequence

from aifactory.blueprint import Blueprint
from aifactory.catalog import get_catalog
from aifactory.render.inventory import HostLike, compute_hosts, group_name
from aifactory.render.k8s.context import Ctx, Manifest
from aifactory.render.slurm import FabricShape

LABEL_SU = "aifactory.io/scalable-unit"
LABEL_LEAF = "aifactory.io/leaf-group"
LABEL_NVLINK = "aifactory.io/nvlink-domain"
LABEL_RACK = "aifactory.io/rack"
# The cooling rack group the node stands in: the rack power alerts (cooling.py) join on it through
# kube-state-metrics (charts.NODE_LABELS).
LABEL_RACK_GROUP = "aifactory.io/rack-group"
HOSTNAME = "kubernetes.io/hostname"
TOPOLOGY = "fabric"


def multi_node_nvlink(bp: Blueprint) -> bool:
    return get_catalog().nodes[bp.compute.node_sku].nvlink_domain_nodes > 1


def levels(bp: Blueprint) -> list[str]:
    """Kueue topology levels, widest first; the host name last (Kueue allows it only there)."""
    out = [LABEL_SU, LABEL_LEAF]
    if multi_node_nvlink(bp):
        out.append(LABEL_NVLINK)
    return [*out, HOSTNAME]


def topology(ctx: Ctx) -> Manifest:
    spec = {"levels": [{"nodeLabel": label} for label in levels(ctx.bp)]}
    return ctx.obj("kueue.x-k8s.io/v1beta2", "Topology", TOPOLOGY, "mlops", ("fabric", "compute"), spec=spec)


def node_labels(
    hosts: Sequence[HostLike], fabric: FabricShape | None, rack_group: str = ""
) -> dict[str, dict[str, str]]:
    """Labels per compute host name. Without a fabric design (one that does not fit its tiers) every node of
    a unit is one leaf group, as one switch would hold them. `rack_group`: the cooling rack group that holds
    the compute nodes (design.placement.compute_group), labelled where given."""
    by_su: dict[int, list[HostLike]] = {}
    for host in compute_hosts(hosts):  # sorted by name: slot order within the unit
        by_su.setdefault(int(host.su), []).append(host)
    leaf_down = fabric.leaf_down if fabric is not None and fabric.tiers > 1 else 0
    domain = fabric.nvlink_domain_nodes if fabric is not None else 1
    out: dict[str, dict[str, str]] = {}
    for su, members in sorted(by_su.items()):
        for pos, host in enumerate(members):
            leaf = pos // leaf_down if leaf_down else 0
            rack = group_name(str(host.rack))
            out[host.hostname] = {
                LABEL_SU: f"su{su}",
                LABEL_LEAF: f"su{su}_leaf{leaf + 1}",
                LABEL_NVLINK: f"nvl_{rack}" if domain > 1 else host.hostname,
                LABEL_RACK: rack,
            }
            if rack_group:
                out[host.hostname][LABEL_RACK_GROUP] = rack_group
    return out
