"""The one strict base every user-facing model derives from."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """Unknown keys are errors (a typo must not be silently ignored); no type coercion; frozen."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, validate_default=True)
