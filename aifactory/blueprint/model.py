"""The blueprint: one validated description of an AI factory, layer by layer."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from aifactory.blueprint.acceptance import Acceptance
from aifactory.blueprint.base import StrictModel
from aifactory.blueprint.compute import Compute
from aifactory.blueprint.cooling import Cooling
from aifactory.blueprint.fabric import Fabric
from aifactory.blueprint.grammar import Description
from aifactory.blueprint.mlops import Mlops
from aifactory.blueprint.site import Name, Site
from aifactory.blueprint.software import Software
from aifactory.blueprint.storage import Storage

API_VERSION = "aifactory/v1"


class Blueprint(StrictModel):
    """One AI factory, layer by layer: site, compute, fabric, storage, cooling, MLOps, software, acceptance."""

    api_version: Literal["aifactory/v1"] = Field(alias="apiVersion", description="Format version: 'aifactory/v1'.")
    kind: Literal["Blueprint"] = Field(description="Document kind: 'Blueprint'.")
    name: Name = Field(description="Name of the blueprint (a DNS-1123 label); deployed resources carry it.")
    description: Annotated[Description, StringConstraints(max_length=2000)] = Field(
        "", description="What this factory is for (free text, shown in reports)."
    )
    reference_architecture: Annotated[Description, StringConstraints(max_length=300)] = Field(
        "", description="The published reference design the blueprint follows, if any."
    )
    site: Site = Field(description="Where the factory stands and the sovereignty rules it lives under.")
    compute: Compute = Field(description="The GPU nodes.")
    fabric: Fabric = Field(description="Compute fabric, storage and management networks, and their addresses.")
    storage: Storage = Field(description="File system, object store, backups and checkpoint sizing.")
    cooling: Cooling = Field(description="Facility power and the rack groups with their cooling.")
    mlops: Mlops = Field(description="Orchestrator, platform components and tenants.")
    software: Software = Field(description="Version pins of the software stack.")
    acceptance: Acceptance = Field(
        default_factory=Acceptance, description="Burn-in thresholds a node must meet to join."
    )
