"""The frameworks the evidence report maps a design to, as data with their sources.

EU Cloud Sovereignty Framework v1.2.1 (European Commission, DG DIGIT, October 2025): eight sovereignty objectives
with weights, and five SEAL levels (Sovereignty Effectiveness Assurance Levels, 0-4); a tender sets a minimum
SEAL, and the weakest objective bounds the service. Gaia-X labels: level 3 requires an EU location and immunity
from non-EU law.
"""

from __future__ import annotations

from dataclasses import dataclass

CSF = "EU Cloud Sovereignty Framework"
CSF_VERSION = "1.2.1"
CSF_PUBLISHED = "2025-10"
CSF_SOURCES = (
    "shared/reviews/landscape.md section 1H (EC CSF v1.2.1, Oct 2025)",
    "vinland.technology/blog/eu-cloud-sovereignty-framework.html (objectives, focus and weights)",
    "tomato.blue/en/blog/seal-cloud-sovereignty-framework (SEAL-0..4)",
    "blackberry.com sovereignty-effective-assurance-levels-explainer (SEAL-3 Digital Resilience)",
)
GAIA_X_SOURCES = ("shared/reviews/landscape.md section 1H (gaia-x.eu labelling framework: label levels 1-3)",)

SEAL_NAMES = {
    0: "No sovereignty",
    1: "Jurisdictional sovereignty (formal)",
    2: "Data sovereignty",
    3: "Digital resilience",
    4: "Full digital sovereignty",
}


@dataclass(frozen=True, slots=True)
class Objective:
    id: str
    name: str
    weight: int  # percent of the overall rating
    focus: str


OBJECTIVES = (
    Objective("SOV-1", "Strategic sovereignty", 15, "EU ownership, governance, financing and investment"),
    Objective("SOV-2", "Legal and jurisdictional sovereignty", 10, "EU law applies; exposure to non-EU law"),
    Objective("SOV-3", "Data and AI sovereignty", 10, "customer-controlled encryption, EU-only processing"),
    Objective("SOV-4", "Operational sovereignty", 15, "EU operations and support, freedom to run and migrate"),
    Objective("SOV-5", "Supply chain sovereignty", 20, "hardware origin, firmware provenance, vendor dependency"),
    Objective("SOV-6", "Technology sovereignty", 15, "open standards, open source, non-proprietary interfaces"),
    Objective("SOV-7", "Security and compliance", 10, "EU-based security operations, GDPR/NIS2, audits"),
    Objective("SOV-8", "Environmental sustainability", 5, "energy efficiency, carbon transparency"),
)
