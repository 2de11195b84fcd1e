"""Units behind the secrets and waivers corpora: what counts as a secret (and what must not), redaction of
messages, and which `#` is a YAML comment."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from aifactory.errors import Location, Problem, UserError
from aifactory.policy.waivers import comments, scan
from aifactory.secrets import REDACTED, find, kind_of, redact

REPO = Path(__file__).resolve().parents[2]

SECRETS = {
    "-----BEGIN EC PRIVATE KEY-----": "a private key",
    "AKIAQWERTYUIOPASDFGH": "an AWS access key id",
    "ghs_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8": "a GitHub token",
    "glpat-Ab3dEf6hIj9kLm2nOp5q": "a GitLab token",
    "xoxp-123456789012-abcdefghijkl": "a Slack token",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U": "a JSON Web Token",
    "postgres://app:pa55word@db.internal:5432/x": "a password inside a URL",
    "aws_secret=Zx9Qw3Er7Ty1Ui5Op2As8Df4Gh6Jk0LzXcVbNm1": "a high-entropy string (a key or token)",
}
NOT_SECRETS = [
    "sha256:" + "0123456789abcdef" * 4,  # an image digest
    "nvcr.io/nvidia/k8s/dcgm-exporter:3.3.5-3.4.0-ubuntu22.04@sha256:" + "f" * 64,
    "550e8400-e29b-41d4-a716-446655440000",
    "3f786850e387550fdab836ed7e6dc881de23001b",  # a git commit
    "ReferenceArchitectureNvidiaDGX1H200",
    "https://mirror.site.example/debian",
    "vault://eu-central/keys/storage-at-rest",
    "dgx-h200-sovereign-eu",
]


@pytest.mark.parametrize(("text", "kind"), sorted(SECRETS.items()))
def test_token_formats_are_found_and_redacted(text: str, kind: str) -> None:
    assert kind == kind_of(text)
    assert REDACTED in redact(f"got {text!r}")
    secretish = text.split("=", 1)[-1]
    assert secretish not in redact(f"got {text!r}")


@pytest.mark.parametrize("text", NOT_SECRETS)
def test_ids_digests_and_names_are_not_secrets(text: str) -> None:
    assert kind_of(text) is None
    assert text == redact(text)


def test_the_catalogue_and_stacks_hold_no_secret() -> None:
    files = sorted([*REPO.glob("blueprints/*.yaml"), *REPO.glob("stacks/Pulumi.*.yaml")])
    assert files
    for f in files:
        assert [] == list(find(yaml.safe_load(f.read_text(encoding="utf-8")))), f


def test_keys_and_nested_lists_are_scanned() -> None:
    data = {"a": [{"b": "x"}, {"AKIAQWERTYUIOPASDFGH": 1}], "c": ["ok", "xoxb-123456789012-abcdefghijkl"]}
    assert [(("a", 1, "AKIAQWERTYUIOPASDFGH"), "an AWS access key id"), (("c", 1), "a Slack token")] == list(find(data))


def test_every_error_message_is_redacted() -> None:
    err = UserError([Problem(Location("--set site.city=glpat-Ab3dEf6hIj9kLm2nOp5q"),
                             "host 'https://u:hunter22@h' is not valid", "fix it", "nccl.ghp_" + "a1B2" * 9)])
    text = err.format_message()
    assert "glpat-" not in text and "hunter22" not in text and "ghp_" not in text
    assert text.count(REDACTED) == 3


def test_only_real_comments_are_comments() -> None:
    text = (
        "a: 1  # real one\n"
        'b: "x # not a comment"\n'
        "c: |\n"
        "  # block text\n"
        "d: 'it''s # data'\n"
        "# real two\n"
        "e: plain#data\n"
        "f: [1, 2] # real three\n"
    )
    assert {1: (7, "# real one"), 6: (1, "# real two"), 8: (11, "# real three")} == comments(text)


def test_a_waiver_in_string_data_waives_nothing() -> None:
    waiver = 'aifactory:waive STO-004 reason="x" expires=2099-01-01'
    assert {} == scan("f.yaml", f"description: |\n  # {waiver}\nstorage: {{}}\n")
    assert {} == scan("f.yaml", f"description: '# {waiver}'\n")
    real = scan("f.yaml", f"# {waiver}\n# another comment\nstorage: {{}}\n")
    assert [1, 3] == sorted(real)
    assert {} == scan("f.yaml", "a: \"\x01\"\n# " + waiver + "\n")  # no token stream: no waivers
