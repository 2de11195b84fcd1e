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
    store: Name | None = Field(
        None, description="Name of the key store; every storage `encryption.key_ref` then names a key in it "
        "('STORE/KEY'), which rule SOV-014 checks."
    )


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


class FirmwarePin(StrictModel):
    """One firmware image the nodes and switches run, and where it was obtained (SOV-5 supply chain)."""

    component: Literal["bios", "bmc", "gpu", "nic", "dpu", "switch"] = Field(
        description="What runs the firmware: node BIOS/UEFI, node BMC, GPU (VBIOS), NIC, DPU or fabric switch."
    )
    version: Text = Field(min_length=1, description="The firmware version installed.")
    source: Url = Field(description="Where the image was obtained: the vendor's release or the in-country mirror.")
    sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")] | None = Field(
        None, description="SHA-256 of the image as obtained."
    )


class Provenance(StrictModel):
    """Recorded provenance of the hardware's firmware and of the software the factory installs."""

    hardware_origin: Text = Field("", description="Who built the hardware, and where (shown in the evidence report).")
    firmware: Annotated[list[FirmwarePin], Field(max_length=MAX_LIST)] = Field(
        default_factory=list, description="Firmware images in use, one per component."
    )
    software_manifest: Text = Field(
        "", description="The signed bundle manifest (written by `aifactory bundle`) listing every package, image, "
        "chart and model the factory installs, with its source and digest."
    )


class BundleVerification(StrictModel):
    """How installs verify the signed bundle before they use what the mirrors serve."""

    required: bool = Field(
        True, description="true: an install refuses a bundle whose signature or digests do not verify."
    )
    signing_key: Text = Field(
        "", description="Fingerprint of the site key the bundle manifest is signed with."
    )


class PrivilegedAccess(StrictModel):
    """Someone other than the site operator who holds privileged access (vendor support, a managed service)."""

    name: Name = Field(description="Who holds the access (a DNS-1123 label).")
    scope: Literal["root", "bmc", "kubernetes-admin", "slurm-admin", "remote-support"] = Field(
        description="What the access allows."
    )
    location: Jurisdiction = Field(description="Jurisdiction the holder works from.")


class TelemetryEndpoint(StrictModel):
    """A place metrics, logs or traces are sent to (Prometheus remote write, log shipping, vendor support)."""

    name: Name = Field(description="Name of the endpoint (a DNS-1123 label).")
    url: Url = Field(description="Address the data is sent to.")
    location: Jurisdiction = Field(description="Jurisdiction the endpoint is hosted in.")


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
    privileged_access: Annotated[list[PrivilegedAccess], Field(max_length=MAX_LIST)] = Field(
        default_factory=list, description="Others with privileged access to the factory, and where they are."
    )
    telemetry_endpoints: Annotated[list[TelemetryEndpoint], Field(max_length=MAX_LIST)] = Field(
        default_factory=list, description="Every place metrics, logs or traces leave the factory for."
    )
    provenance: Provenance | None = Field(None, description="Firmware and software provenance (SOV-5).")
    bundle_verification: BundleVerification | None = Field(
        None, description="How installs verify the signed bundle of everything the factory installs."
    )


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
