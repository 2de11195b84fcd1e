"""References to secrets: a blueprint names a credential, it never holds one.

A `SecretRef` is `{secret: NAME}`. Which store holds NAME follows from the layer that consumes it:
- Kubernetes/MLOps objects (the Pulumi program): the stack's Pulumi config, set with
  `pulumi config set --secret NAME` (read with `require_secret`, so the value stays an encrypted Output);
  `render --kubernetes` writes no Secret at all, only the name of the Secret the platform provides.
- node layers (Ansible): a variable NAME in an Ansible Vault-encrypted vars file the operator supplies
  (`group_vars/all/vault.yml`, run with `aifactory deploy --vault-password-file`).
NAME's grammar is the one both stores accept as a key: an Ansible variable name that is also a Pulumi config key.
A value that is not such a reference is refused without being shown: it may be the secret itself.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from aifactory.blueprint.base import StrictModel

SECRET_NAME = r"[a-z][a-z0-9_]{0,63}"
_NAME = re.compile(SECRET_NAME)
_EXPECTED = (
    "a reference {secret: NAME}, NAME of lowercase letters, digits and '_' (starting with a letter, at most 64) "
    "naming a Pulumi config secret or an Ansible Vault variable; the value given is not shown (if it was the "
    "credential itself, remove it and rotate it)"
)


def _refuse() -> PydanticCustomError:
    return PydanticCustomError("secret_ref", "not a secret reference: expected " + _EXPECTED)


class SecretRef(StrictModel):
    """A credential named by its key in the secret store (Pulumi config secrets or Ansible Vault)."""

    secret: str = Field(
        description="Key of the credential in the secret store: lowercase letters, digits and '_', starting "
        "with a letter (a Pulumi config key for Kubernetes objects, an Ansible Vault variable for node roles).",
        pattern=f"^{SECRET_NAME}$",
    )

    @model_validator(mode="before")
    @classmethod
    def _reference_only(cls, data: Any) -> Any:
        # Anything but {secret: NAME} is refused here, before pydantic's own errors could quote the input.
        if isinstance(data, SecretRef):
            return data
        if not isinstance(data, dict) or set(data) != {"secret"}:
            raise _refuse()
        name = data["secret"]
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise _refuse()
        return data


def ref(name: str) -> SecretRef:
    """A default reference (for `default_factory`)."""
    return SecretRef(secret=name)
