"""Site layer: where the factory stands and the sovereignty rules it lives under."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from aifactory.blueprint.base import StrictModel
from aifactory.blueprint.grammar import Registry, Text, Url
from aifactory.blueprint.types import Cidr

# ISO 3166-1 alpha-2 country code, or "EU" for the European Union as one jurisdiction.
Jurisdiction = Annotated[str, StringConstraints(pattern=r"^(EU|[A-Z]{2})$")]
MAX_LIST = 64  # mirrors, registries, replication targets
MAX_RESERVED = 1024
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
    operator: Text = ""


class Mirror(StrictModel):
    """A registry mirror: container images, Helm charts, OS or Python packages, models."""

    name: Name
    kind: Literal["oci", "helm", "apt", "pypi", "models"]
    url: Url
    location: Jurisdiction
    mirrors: Annotated[list[Registry], Field(max_length=MAX_LIST)] = Field(
        default_factory=list, description="Upstream registries this mirror serves."
    )


class Sovereignty(StrictModel):
    """Sovereignty requirements; `enforced: false` makes the SOV rules advisory for this site."""

    enforced: bool = False
    residency: Residency
    key_custody: KeyCustody
    mirrors: Annotated[list[Mirror], Field(max_length=MAX_LIST)] = Field(default_factory=list)
    allowed_registries: Annotated[list[Registry], Field(max_length=MAX_LIST)] = Field(default_factory=list)
    vendor_telemetry: bool = True
    cross_border_replication: bool = False
    replication_targets: Annotated[list[Jurisdiction], Field(max_length=MAX_LIST)] = Field(default_factory=list)
    operator_location: Jurisdiction


class Site(StrictModel):
    name: Name
    region: Name
    jurisdiction: Jurisdiction
    city: Text = ""
    sovereignty: Sovereignty
    reserved_cidrs: Annotated[list[Cidr], Field(max_length=MAX_RESERVED)] = Field(
        default_factory=list, description="Ranges the site already uses."
    )
