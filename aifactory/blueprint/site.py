"""Site layer: where the factory stands and the sovereignty rules it lives under."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from aifactory.blueprint.base import StrictModel
from aifactory.blueprint.types import Cidr

# ISO 3166-1 alpha-2 country code, or "EU" for the European Union as one jurisdiction.
Jurisdiction = Annotated[str, StringConstraints(pattern=r"^(EU|[A-Z]{2})$")]
Name = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")]


class Residency(StrictModel):
    """Where each kind of data may live. Each value is a jurisdiction code."""

    data: Jurisdiction
    replicas: Jurisdiction
    backups: Jurisdiction
    logs: Jurisdiction
    telemetry: Jurisdiction


class KeyCustody(StrictModel):
    """Who holds the encryption keys, and where."""

    provider: Literal["hsm", "kms", "vault", "vendor-managed"]
    location: Jurisdiction
    operator: str = ""


class Mirror(StrictModel):
    """A registry mirror: container images, Helm charts, OS or Python packages, models."""

    name: Name
    kind: Literal["oci", "helm", "apt", "pypi", "models"]
    url: Annotated[str, StringConstraints(pattern=r"^(https?|oci)://[^\s]+$")]
    location: Jurisdiction
    mirrors: list[str] = Field(default_factory=list, description="Upstream registries this mirror serves.")


class Sovereignty(StrictModel):
    """Sovereignty requirements; `enforced: false` makes the SOV rules advisory for this site."""

    enforced: bool = False
    residency: Residency
    key_custody: KeyCustody
    mirrors: list[Mirror] = Field(default_factory=list)
    allowed_registries: list[str] = Field(default_factory=list)
    vendor_telemetry: bool = True
    cross_border_replication: bool = False
    replication_targets: list[Jurisdiction] = Field(default_factory=list)
    operator_location: Jurisdiction


class Site(StrictModel):
    name: Name
    region: Name
    jurisdiction: Jurisdiction
    city: str = ""
    sovereignty: Sovereignty
    reserved_cidrs: list[Cidr] = Field(default_factory=list, description="Ranges the site already uses.")
