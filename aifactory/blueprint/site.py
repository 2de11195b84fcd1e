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

    data: Jurisdiction = Field(description="Jurisdiction the primary data (file system, object store) must stay in.")
    replicas: Jurisdiction = Field(description="Jurisdiction every replica of the data must stay in.")
    backups: Jurisdiction = Field(description="Jurisdiction backups must stay in.")
    logs: Jurisdiction = Field(description="Jurisdiction system and audit logs must stay in.")
    telemetry: Jurisdiction = Field(description="Jurisdiction metrics and monitoring data must stay in.")


class KeyCustody(StrictModel):
    """Who holds the encryption keys, and where."""

    provider: Literal["hsm", "kms", "vault", "vendor-managed"] = Field(
        description="What holds the keys: a hardware security module, a key management service, a Vault "
        "cluster, or the vendor (which a sovereign site may not use)."
    )
    location: Jurisdiction = Field(description="Jurisdiction the keys are held in.")
    operator: Text = Field("", description="Who operates the key store (free text shown in reports).")


class Mirror(StrictModel):
    """A registry mirror: container images, Helm charts, OS or Python packages, models."""

    name: Name = Field(description="Name of this mirror (a DNS-1123 label).")
    kind: Literal["oci", "helm", "apt", "pypi", "models"] = Field(
        description="What the mirror serves: container images, Helm charts, Debian packages, Python packages "
        "or model files."
    )
    url: Url = Field(description="Address clients use to reach the mirror (http, https or oci).")
    location: Jurisdiction = Field(description="Jurisdiction the mirror is hosted in.")
    mirrors: Annotated[list[Registry], Field(max_length=MAX_LIST)] = Field(
        default_factory=list, description="Upstream registries this mirror serves (e.g. 'nvcr.io'); pulls "
        "from these count as in-country."
    )


class Sovereignty(StrictModel):
    """Sovereignty requirements; `enforced: false` makes the SOV rules advisory for this site."""

    enforced: bool = Field(
        False, description="true makes the sovereignty (SOV) policy rules mandatory for this site; false "
        "reports them as advisory."
    )
    residency: Residency = Field(description="Where each kind of data may live.")
    key_custody: KeyCustody = Field(description="Key custody: the key store, its location and its operator.")
    mirrors: Annotated[list[Mirror], Field(max_length=MAX_LIST)] = Field(
        default_factory=list, description="In-country mirrors that images, charts and packages are pulled from."
    )
    allowed_registries: Annotated[list[Registry], Field(max_length=MAX_LIST)] = Field(
        default_factory=list, description="Registries (host, optional :port and path) images and charts may "
        "come from directly, besides the mirrors."
    )
    vendor_telemetry: bool = Field(
        True, description="Whether vendor telemetry (usage reporting to hardware or software vendors) is on; "
        "sovereign sites turn it off."
    )
    cross_border_replication: bool = Field(
        False, description="Whether data may be replicated to another jurisdiction."
    )
    replication_targets: Annotated[list[Jurisdiction], Field(max_length=MAX_LIST)] = Field(
        default_factory=list, description="Jurisdictions data is replicated to."
    )
    operator_location: Jurisdiction = Field(description="Jurisdiction of the organisation that operates the site.")


class Site(StrictModel):
    """Where the factory stands and the rules it lives under."""

    name: Name = Field(description="Name of the site (a DNS-1123 label).")
    region: Name = Field(
        description="Region of the site; rendered and deployed resources carry it as a label unless the stack "
        "file sets its own aifactory:region."
    )
    jurisdiction: Jurisdiction = Field(
        description="ISO 3166-1 alpha-2 country code, or 'EU', whose law the site is under; residency and "
        "location checks compare against it."
    )
    city: Text = Field("", description="City the site is in (shown in reports).")
    sovereignty: Sovereignty = Field(description="Sovereignty requirements of the site.")
    reserved_cidrs: Annotated[list[Cidr], Field(max_length=MAX_RESERVED)] = Field(
        default_factory=list, description="Address ranges the site already uses; the supernets under "
        "fabric.addressing must not overlap them."
    )
