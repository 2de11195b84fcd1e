"""Software version pins: one compatibility set for OS, driver, CUDA, DCGM, NCCL, OFED, Kubernetes and charts."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from aifactory.blueprint.base import StrictModel
from aifactory.blueprint.grammar import OptionalUrl
from aifactory.blueprint.site import Name

Version = Annotated[str, StringConstraints(pattern=r"^v?[0-9]+(\.[0-9A-Za-z-]+){0,3}$")]


class Chart(StrictModel):
    """A Helm chart pin."""

    version: Version = Field(description="Chart version to install, e.g. 'v25.3.0'.")
    repository: OptionalUrl = Field(default="", description="Upstream repo; sovereign sites rewrite it to a mirror.")
    image_digest: Annotated[str, StringConstraints(pattern=r"^sha256:[0-9a-f]{64}$")] | None = Field(
        None, description="Image digest ('sha256:' and 64 hex digits) of the chart's component; the policy asks "
        "for one on every chart, and MinIO's image is pulled by it instead of a tag."
    )


Owner = Literal["host", "operator"]


class InstalledBy(StrictModel):
    """Who installs each node component: the Ansible host roles or a Kubernetes operator, never both.

    Unset, a component is the host's where the blueprint pins its version (the nvidia_driver role installs the
    driver and fabric manager, the dcgm role nv-hostengine) and the operator's otherwise; OFED/DOCA has no host
    role, so it is the network operator's. The operators get the component switched off where the host owns
    it (the GPU operator's `driver.enabled`/`dcgm.enabled`, the network operator's `ofedDriver`)."""

    driver: Owner | None = Field(
        None, description="NVIDIA driver and fabric manager: 'host' (Ansible role) or 'operator' (GPU operator)."
    )
    dcgm: Owner | None = Field(
        None, description="DCGM host engine (nv-hostengine): 'host' (Ansible role) or 'operator' (GPU operator)."
    )
    ofed: Owner | None = Field(
        None, description="DOCA-OFED driver: 'host' (preinstalled on the image) or 'operator' (network operator)."
    )


class Software(StrictModel):
    """Version pins; each set pin is passed to the Ansible roles and Kubernetes objects that install it."""

    os: Annotated[str, StringConstraints(pattern=r"^[a-z]+-[0-9.]+$")] = Field(
        description="Node operating system and release, e.g. 'ubuntu-22.04'."
    )
    driver: Version | None = Field(None, description="NVIDIA GPU driver version, e.g. '570.124.06'.")
    cuda: Version | None = Field(None, description="CUDA toolkit version, e.g. '12.8'.")
    dcgm: Version | None = Field(None, description="NVIDIA DCGM version, e.g. '4.1.1'.")
    nccl: Version | None = Field(None, description="NCCL library version, e.g. '2.25.1'.")
    ofed: Version | None = Field(
        None, description="NVIDIA (Mellanox) OFED / DOCA driver version for the network operator."
    )
    ofed_repository: OptionalUrl = Field(
        default="", description="With `installed_by.ofed: host`: the apt repository of the pinned DOCA-Host release "
        "for the nodes' OS (its directory holding Packages), e.g. "
        "'https://linux.mellanox.com/public/repo/doca/3.1.0/ubuntu24.04/x86_64' or the site mirror's copy."
    )
    rocm: Version | None = Field(None, description="AMD ROCm version (AMD GPU nodes), e.g. '6.3'.")
    slurm: Version | None = Field(None, description="Slurm version, e.g. '24.11'.")
    kubernetes: Version | None = Field(None, description="Kubernetes version, e.g. 'v1.31'.")
    installed_by: InstalledBy = Field(
        default_factory=InstalledBy,
        description="Who installs the driver, DCGM and OFED on the nodes: the host roles or the operators.",
    )
    charts: Annotated[dict[Name, Chart], Field(max_length=128)] = Field(
        default_factory=dict, description="Helm chart pins by component name (e.g. 'gpu-operator')."
    )
