"""Software version pins: one compatibility set for OS, driver, CUDA, DCGM, NCCL, OFED, Kubernetes and charts."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from aifactory.blueprint.base import StrictModel
from aifactory.blueprint.grammar import OptionalUrl
from aifactory.blueprint.site import Name

Version = Annotated[str, StringConstraints(pattern=r"^v?[0-9]+(\.[0-9A-Za-z-]+){0,3}$")]


class Chart(StrictModel):
    version: Version
    repository: OptionalUrl = Field(default="", description="Upstream repo; sovereign sites rewrite it to a mirror.")
    image_digest: Annotated[str, StringConstraints(pattern=r"^sha256:[0-9a-f]{64}$")] | None = None


class Software(StrictModel):
    os: Annotated[str, StringConstraints(pattern=r"^[a-z]+-[0-9.]+$")] = Field(description="e.g. 'ubuntu-22.04'")
    driver: Version | None = None
    cuda: Version | None = None
    dcgm: Version | None = None
    nccl: Version | None = None
    ofed: Version | None = None
    rocm: Version | None = None
    slurm: Version | None = None
    kubernetes: Version | None = None
    charts: Annotated[dict[Name, Chart], Field(max_length=128)] = Field(default_factory=dict)
