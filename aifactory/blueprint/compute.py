"""Compute layer: node SKU, how many, how they sit in racks, and the GPU settings."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, ValidationInfo, field_validator, model_validator

from aifactory.blueprint.base import StrictModel
from aifactory.blueprint.grammar import MigProfile
from aifactory.blueprint.refs import NodeSkuId
from aifactory.blueprint.types import GpuSpec, Power


class Mig(StrictModel):
    """Multi-Instance GPU partitioning, applied through the GPU operator's MIG manager."""

    enabled: bool = Field(False, description="Partition the GPUs with MIG.")
    strategy: Literal["single", "mixed"] = Field(
        "single", description="How MIG slices are advertised to Kubernetes: 'single' (one slice type per node, "
        "as nvidia.com/gpu) or 'mixed' (each slice type as its own resource)."
    )
    profile: MigProfile = Field("", description="MIG profile meant for the GPUs, e.g. '1g.10gb' or "
                                  "'all-1g.10gb' (recorded; the renderers pass on enabled and strategy).")


MAX_NODES = 1_000_000  # compute.nodes, and scalable_units x nodes_per_su


class Compute(StrictModel):
    """The GPU nodes: which catalogue SKU, how many, and how they sit in scalable units and racks."""

    node_sku: NodeSkuId = Field(
        description="Catalogue id of the GPU node (`aifactory catalog` lists them), e.g. 'dgx-h100'."
    )
    gpu: GpuSpec | None = Field(
        default=None, description="Optional check, e.g. 'H100-SXM:8'; must match the SKU's GPUs."
    )
    scalable_units: Annotated[int, Field(ge=1, le=4096)] = Field(
        1, description="Number of scalable units (SUs), the repeating block the fabric is built from."
    )
    nodes_per_su: Annotated[int, Field(ge=1, le=4096)] = Field(
        32, description="Node slots in one scalable unit, fabric-manager appliances' slots included."
    )
    nodes: Annotated[int, Field(ge=1, le=MAX_NODES)] | None = Field(
        default=None, description="Total node count; default: scalable_units x nodes_per_su less fabric-manager slots."
    )
    nodes_per_rack: Annotated[int, Field(ge=1, le=128)] | None = Field(
        default=None, description="Default: as many as the rack group's power and cooling allow."
    )
    hostname_prefix: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,30}$")] = Field(
        "node", description="Prefix of the GPU nodes' host names in the inventory and cabling plan."
    )
    gpu_power_cap: Power | None = Field(
        default=None, description="Per-GPU power limit in W (e.g. '600W'); the rack power and heat budget use "
        "it instead of the SKU's maximum."
    )
    mig: Mig = Field(default_factory=Mig, description="Multi-Instance GPU settings.")
    login_nodes: Annotated[int, Field(ge=0, le=64)] = Field(
        0, description="Number of login hosts (management hosts for users, with the shared storage mounted)."
    )

    @model_validator(mode="after")
    def _derived_nodes(self) -> Compute:
        # Each bound alone allows 4096 x 4096 = 16.7 million slots; the plan sizes from the product.
        slots = self.scalable_units * self.nodes_per_su
        if slots > MAX_NODES:
            raise ValueError(
                f"scalable_units x nodes_per_su = {self.scalable_units} x {self.nodes_per_su} = {slots} node "
                f"slots, over the limit of {MAX_NODES}; lower scalable_units or nodes_per_su"
            )
        return self

    @field_validator("gpu")
    @classmethod
    def _gpu_matches_sku(cls, gpu: GpuSpec | None, info: ValidationInfo) -> GpuSpec | None:
        # A field validator (not a model one) so the error lands on the `gpu:` line; node_sku is declared
        # first, so it is in info.data unless it failed its own check (then that error is the one to show).
        sku_id = info.data.get("node_sku")
        if gpu is None or sku_id is None:
            return gpu
        from aifactory.catalog import get_catalog

        sku = get_catalog().nodes[sku_id]
        if (gpu.model, gpu.count) != (sku.gpu, sku.gpus):
            raise ValueError(
                f"gpu {str(gpu)!r} does not match node_sku {sku_id!r}, which has "
                f"{sku.gpu.upper()}:{sku.gpus}; fix the gpu line or the node_sku"
            )
        return gpu
