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
    api_version: Literal["aifactory/v1"] = Field(alias="apiVersion")
    kind: Literal["Blueprint"]
    name: Name
    description: Annotated[Description, StringConstraints(max_length=2000)] = ""
    reference_architecture: Annotated[Description, StringConstraints(max_length=300)] = ""
    site: Site
    compute: Compute
    fabric: Fabric
    storage: Storage
    cooling: Cooling
    mlops: Mlops
    software: Software
    acceptance: Acceptance = Field(default_factory=Acceptance)
