"""Fabric layer: the compute fabric (InfiniBand or Ethernet), storage fabric, management networks, addressing."""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network
from typing import Annotated, Literal

from pydantic import Field, field_validator

from aifactory.blueprint.base import StrictModel
from aifactory.blueprint.grammar import InterfaceName, NcclKey, NcclValue
from aifactory.blueprint.refs import SwitchId
from aifactory.blueprint.secretref import SecretRef, ref
from aifactory.blueprint.site import Name
from aifactory.blueprint.types import Cidr, LinkSpeed, Ratio, special_range

MAX_PARTITIONS = 4094  # one per VLAN at most
MAX_NCCL = 128


class Partition(StrictModel):
    """An InfiniBand partition (P_Key) or, on Ethernet, a VLAN/VNI, for one tenant."""

    tenant: Name = Field(description="Tenant the partition isolates (a DNS-1123 label).")
    pkey: Annotated[int, Field(ge=0x0001, le=0x7FFF)] | None = Field(
        None, description="InfiniBand partition key (1 to 0x7FFF); default: addressing.pkey_base + the "
        "tenant's index (from 0) + 1."
    )
    vlan: Annotated[int, Field(ge=1, le=4094)] | None = Field(
        None, description="Ethernet VLAN id (1 to 4094); default: 100 + the tenant's index (from 0)."
    )
    pod_subnet: Cidr | None = Field(
        None, description="InfiniBand with the network operator on Kubernetes: the addresses of the tenant's "
        "pods on the partition, split into one nv-ipam pool per rail, e.g. '10.200.0.0/19'. Required there; "
        "each rail's pool must hold a block of VFs per compute node, and partitions must not overlap."
    )

    @field_validator("pod_subnet")
    @classmethod
    def _usable(cls, net: IPv4Network | IPv6Network | None) -> IPv4Network | IPv6Network | None:
        kind = special_range(net) if net is not None else ""
        if kind:
            raise ValueError(f"pod subnet {str(net)!r} is {kind} space; use a private range such as 10.200.0.0/19")
        return net


class FabricManager(StrictModel):
    """UFM (InfiniBand) or NetQ/controller appliance: it takes node slots and leaf ports."""

    appliances: Annotated[int, Field(ge=0, le=8)] = Field(
        1, description="Number of fabric manager appliances; each takes node slots on the compute fabric."
    )
    ports: Annotated[int, Field(ge=0, le=64)] = Field(
        4, description="Compute fabric ports each appliance uses; one node slot per `rails` ports (0: none)."
    )
    # ib-kubernetes (InfiniBand with tenant partitions) adds pod GUIDs to the partitions through UFM's REST API.
    address: SecretRef = Field(
        default_factory=lambda: ref("ufm_address"),
        description="InfiniBand with partitions: the Pulumi config secret holding the UFM REST endpoint's host "
        "(Secret ufm-secret, key UFM_ADDRESS).",
    )
    username: SecretRef = Field(
        default_factory=lambda: ref("ufm_username"),
        description="InfiniBand with partitions: the Pulumi config secret holding the UFM user name (Secret "
        "ufm-secret, key UFM_USERNAME).",
    )
    password: SecretRef = Field(
        default_factory=lambda: ref("ufm_password"),
        description="InfiniBand with partitions: the Pulumi config secret holding the UFM password (Secret "
        "ufm-secret, key UFM_PASSWORD).",
    )


class _ComputeFabricBase(StrictModel):
    switch: SwitchId = Field(description="Catalogue id of the leaf and spine switch, e.g. 'qm9700'.")
    link_speed: LinkSpeed = Field(
        400, description="Speed of each node link in Gb/s, e.g. '400G'; a faster switch port is split to it."
    )
    rails: Annotated[int, Field(ge=1, le=64)] | None = Field(
        default=None, description="Compute links per node, one per rail; default: the SKU's compute NICs."
    )
    topology: Literal["rail-optimized", "fat-tree"] = Field(
        "rail-optimized", description="How node links reach the leaves: 'rail-optimized' (link n of every node "
        "in an SU to the rail-n leaf) or a plain 'fat-tree'."
    )
    oversubscription: Ratio = Field(
        1.0, description="Leaf downlinks to uplinks, e.g. '1:1' (non-blocking) or '2:1'."
    )
    tiers: Literal["auto", 2, 3, 4] = Field(
        "auto", description="Switch tiers of the Clos: 2 (leaf-spine), 3 (leaf-spine-core), 4 (a top tier above "
        "blocks of pods), or 'auto' for the fewest that fit."
    )
    fabric_manager: FabricManager = Field(
        default_factory=FabricManager, description="The fabric manager appliances (UFM, NetQ) on this fabric."
    )
    partitions: Annotated[list[Partition], Field(max_length=MAX_PARTITIONS)] = Field(
        default_factory=list, description="Tenant isolation on the fabric; default: one per mlops tenant."
    )
    rail_interfaces: Annotated[list[InterfaceName], Field(max_length=64)] = Field(
        default_factory=list, description="The nodes' network interface of each rail, in rail order (rail 0 "
        "first), e.g. ['ibp24s0', 'ibp64s0']; the rail addresses are made persistent on them. InfiniBand "
        "default: the IPoIB driver's kernel names ib0, ib1, ...; required on Ethernet."
    )


class InfinibandFabric(_ComputeFabricBase):
    type: Literal["infiniband"] = Field(description="Compute fabric technology: InfiniBand.")
    sharp: bool = Field(True, description="Use SHARP in-network reductions for collectives.")
    adaptive_routing: bool = Field(True, description="Let the switches spread traffic over all paths.")


class EthernetFabric(_ComputeFabricBase):
    type: Literal["ethernet"] = Field(description="Compute fabric technology: Ethernet with RoCE.")
    flavor: Literal["roce", "spectrum-x"] = Field(
        "roce", description="Plain RoCEv2, or NVIDIA Spectrum-X (adaptive routing and congestion control)."
    )
    planes: Annotated[int, Field(ge=1, le=2)] = Field(
        1, description="Independent copies of the fabric; each plane has its own switches and cables."
    )
    pfc: bool = Field(True, description="Priority flow control, for lossless RoCE traffic.")
    ecn: bool = Field(True, description="Explicit congestion notification, for RoCE congestion control.")
    # NVIDIA's lossless RoCE setup (ConnectX/DOCA `mlnx_qos`, Spectrum-X RA): RoCE traffic marked DSCP 26
    # on priority 3 with PFC on that priority only, the NIC trusting DSCP; NCCL_IB_TC 106 is DSCP 26 << 2
    # with ECN-capable bits 10.
    roce_priority: Annotated[int, Field(ge=0, le=7)] = Field(
        3, description="802.1p priority RoCE traffic uses; PFC is enabled on it alone (with `pfc`)."
    )
    roce_dscp: Annotated[int, Field(ge=0, le=63)] = Field(
        26, description="DSCP value of RoCE traffic; the NICs trust DSCP and map it to `roce_priority`."
    )
    mtu: Annotated[int, Field(ge=1500, le=9216)] = Field(
        9000, description="MTU of the rail interfaces in bytes (RoCE then uses a 4096-byte path MTU)."
    )


ComputeFabric = Annotated[InfinibandFabric | EthernetFabric, Field(discriminator="type")]


class Network(StrictModel):
    """A secondary network: storage, in-band or out-of-band management."""

    type: Literal["infiniband", "ethernet"] = Field("ethernet", description="Network technology.")
    switch: SwitchId = Field(description="Catalogue id of the network's switch, e.g. 'sn4600c'.")
    link_speed: LinkSpeed = Field(description="Speed of each node link in Gb/s, e.g. '100G' or '1G'.")
    oversubscription: Ratio = Field(1.0, description="Downlinks to uplinks, e.g. '1:1' or '4:1'.")
    isolated: bool = Field(True, description="Whether the network is unreachable from tenant networks.")


class Addressing(StrictModel):
    """Supernets the design engine carves into per-network, per-SU and per-rail subnets."""

    oob: Cidr = Field(description="Supernet of the out-of-band management network (BMCs), e.g. '10.0.0.0/16'.")
    inband: Cidr = Field(description="Supernet of the in-band management network, e.g. '10.1.0.0/16'.")
    storage: Cidr = Field(description="Supernet of the storage network, e.g. '10.2.0.0/16'.")
    compute: Cidr = Field(description="Supernet of the compute fabric, carved per SU and per rail.")
    pkey_base: Annotated[int, Field(ge=0x0001, le=0x7FFF)] = Field(
        0x1000, description="First InfiniBand partition key; partitions without a pkey count up from it."
    )

    @field_validator("oob", "inband", "storage", "compute")
    @classmethod
    def _routable(cls, net: IPv4Network | IPv6Network) -> IPv4Network | IPv6Network:
        # Carving loopback, multicast or link-local space (or all of it) would address nodes that cannot exist.
        kind = special_range(net)
        if kind:
            raise ValueError(f"supernet {str(net)!r} is {kind} space; use a private range such as 10.0.0.0/16")
        return net


class Fabric(StrictModel):
    """The networks of the factory and their addresses."""

    compute: ComputeFabric = Field(description="The GPU-to-GPU fabric; `type` picks InfiniBand or Ethernet.")
    storage: Network | None = Field(
        None, description="Separate storage network; without one, storage traffic uses the in-band network."
    )
    inband: Network = Field(description="In-band management network (provisioning, services, users).")
    oob: Network = Field(description="Out-of-band management network (BMCs).")
    addressing: Addressing = Field(description="Supernets the networks' subnets are carved from.")
    nccl: Annotated[dict[NcclKey, NcclValue], Field(max_length=MAX_NCCL)] = Field(
        default_factory=dict, description="NCCL_* environment for jobs (NCCL_ names, values without spaces)."
    )
