"""Blueprint texts the editor tests share: a user's site blueprint that extends a reference one, and broken
variants, each with the diagnostics an editor must show (0-based line, message)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCHEMA = REPO / "schema" / "blueprint.schema.json"
BLUEPRINTS = sorted((REPO / "blueprints").glob("*.yaml"))
MODELINE = "# yaml-language-server: $schema="

# A platform team's own site blueprint, as `aifactory new` scaffolds and a user then edits: it names only what
# differs from the base. Mappings override key by key; `~` removes a base value so the default applies; a
# discriminated union (filesystem, orchestrator) may leave its `type` to the base.
SITE = """\
extends: dgx-h100-superpod
name: acme-site
site: {name: acme-1, region: eu-west, jurisdiction: NL, sovereignty: {residency: {data: NL}}}
compute:
  scalable_units: 2
  gpu: ~
storage:
  filesystem: {capacity: 4PB, fs_name: acme}
  backups: ~
mlops:
  orchestrator: {slurm: {cluster_name: acme}}
  tenants: [{name: research, gpus: 100}]
fabric:
  nccl: {NCCL_SOCKET_IFNAME: ~}
"""

# The same kinds of mistake in an extends-blueprint: wrong type, unknown key, bad enum (plain and inside a
# union), a list item that is incomplete (lists replace the base's whole), and a null on a required field.
SITE_BROKEN = """\
extends: dgx-h100-superpod
compute:
  scalable_units: two
  colour: blue
storage:
  filesystem: {tier: platinum}
mlops:
  orchestrator: {type: nomad}
  tenants: [{name: research}]
site: {name: ~}
"""
SITE_BROKEN_EXPECTED = [
    ("scalable_units: two", 'Incorrect type. Expected "integer | null".'),
    ("colour: blue", "Property colour is not allowed."),
    ("tier: platinum", 'Value is not accepted. Valid values: "good", "better", "best".'),
    ("type: nomad", 'Value must be "slurm" | "kubernetes" | "both".'),
    ("tenants: [{name: research}]", 'Missing property "gpus".'),
    ("site: {name: ~}", 'Incorrect type. Expected "string".'),
]


def lab_broken() -> tuple[str, list[tuple[str, str]]]:
    """blueprints/lab.yaml (a complete blueprint, no extends) with one mistake of each kind, and what an editor
    must report: the anchor text of the reported line and the message."""
    text = (REPO / "blueprints" / "lab.yaml").read_text(encoding="utf-8")
    edits = [
        ("  nodes_per_su: 3\n", "  nodes_per_su: three\n  colour: blue\n"),  # wrong type; unknown key
        ("    oob: 10.99.0.0/24\n", ""),  # a required field missing (fabric.addressing.oob)
        ("    tier: good\n", "    tier: platinum\n"),  # not one of the enum
    ]
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    start, end = text.index("\nsoftware:\n"), text.index("\nacceptance:\n")
    text = text[:start] + text[end:]  # a required top-level section missing
    return text, [
        ("  nodes_per_su: three", 'Incorrect type. Expected "integer".'),
        ("  colour: blue", "Property colour is not allowed."),
        ("  addressing:", 'Missing property "oob".'),
        ("    tier: platinum", 'Value is not accepted. Valid values: "good", "better", "best".'),
        ("apiVersion:", 'Missing property "software".'),
    ]


def line_of(text: str, anchor: str) -> int:
    """0-based index of the one line of `text` that contains `anchor`."""
    found = [i for i, line in enumerate(text.splitlines()) if anchor in line]
    assert len(found) == 1, (anchor, found)
    return found[0]
