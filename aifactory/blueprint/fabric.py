"""Fabric layer: the compute fabric (InfiniBand or Ethernet), storage fabric, management networks, addressing."""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network
from typing import Annotated, Literal

from pydantic import Field, field_validator

from aifactory.blueprint.base import StrictModel
from aifactory.blueprint.grammar import NcclKey, NcclValue
from aifactory.blueprint.refs import SwitchId
from aifactory.blueprint.site import Name
from aifactory.blueprint.types import Cidr, LinkSpeed, Ratio, special_range

MAX_PARTITIONS = 4094  # one per VLAN at most
MAX_NCCL = 128


class Partition(StrictModel):
    """An InfiniBand partition (P_Key) or, on Ethernet, a VLAN/VNI, for one tenant."""

    tenant: Name
    pkey: Annotated[int, Field(ge=0x0001, le=0x7FFF)] | None = None
    vlan: Annotated[int, Field(ge=1, le=4094)] | None = None


class FabricManager(StrictModel):
    """UFM (InfiniBand) or NetQ/controller appliance: it takes node slots and leaf ports."""

    appliances: Annotated[int, Field(ge=0, le=8)] = 1
    ports: Annotated[int, Field(ge=0, le=64)] = 4


class _ComputeFabricBase(StrictModel):
    switch: SwitchId
    link_speed: LinkSpeed = 400
    rails: Annotated[int, Field(ge=1, le=64)] | None = Field(default=None, description="Default: the SKU's NICs.")
    topology: Literal["rail-optimized", "fat-tree"] = "rail-optimized"
    oversubscription: Ratio = 1.0
    tiers: Literal["auto", 2, 3] = "auto"
    fabric_manager: FabricManager = Field(default_factory=FabricManager)
    partitions: Annotated[list[Partition], Field(max_length=MAX_PARTITIONS)] = Field(default_factory=list)


class InfinibandFabric(_ComputeFabricBase):
    type: Literal["infiniband"]
    sharp: bool = True
    adaptive_routing: bool = True


class EthernetFabric(_ComputeFabricBase):
    type: Literal["ethernet"]
    flavor: Literal["roce", "spectrum-x"] = "roce"
    planes: Annotated[int, Field(ge=1, le=2)] = 1
    pfc: bool = True
    ecn: bool = True


ComputeFabric = Annotated[InfinibandFabric | EthernetFabric, Field(discriminator="type")]


class Network(StrictModel):
    """A secondary network: storage, in-band or out-of-band management."""

    type: Literal["infiniband", "ethernet"] = "ethernet"
    switch: SwitchId
    link_speed: LinkSpeed
    oversubscription: Ratio = 1.0
    isolated: bool = True


class Addressing(StrictModel):
    """Supernets the design engine carves into per-network, per-SU and per-rail subnets."""

    oob: Cidr
    inband: Cidr
    storage: Cidr
    compute: Cidr
    pkey_base: Annotated[int, Field(ge=0x0001, le=0x7FFF)] = 0x1000

    @field_validator("oob", "inband", "storage", "compute")
    @classmethod
    def _routable(cls, net: IPv4Network | IPv6Network) -> IPv4Network | IPv6Network:
        # Carving loopback, multicast or link-local space (or all of it) would address nodes that cannot exist.
        kind = special_range(net)
        if kind:
            raise ValueError(f"supernet {str(net)!r} is {kind} space; use a private range such as 10.0.0.0/16")
        return net


class Fabric(StrictModel):
    compute: ComputeFabric
    storage: Network | None = None
    inband: Network
    oob: Network
    addressing: Addressing
    nccl: Annotated[dict[NcclKey, NcclValue], Field(max_length=MAX_NCCL)] = Field(
        default_factory=dict, description="NCCL_* environment for jobs (NCCL_ names, values without spaces)."
    )
