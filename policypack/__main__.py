"""aifactory CrossGuard pack: `pulumi preview --policy-pack policypack` (from the repository root).

Only this entry point builds the PolicyPack (building it starts a server and blocks); the rules and validate
functions live in aifactory.policy.crossguard and are tested there.
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout's aifactory package

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyPack,
    ResourceValidationPolicy,
    StackValidationPolicy,
)

from aifactory.policy.crossguard import policies

# Run at the repository root: file names and .aifactory-policy.yaml as `aifactory policy check` sees them there.
os.chdir(Path(__file__).resolve().parents[1])

# `target`: the blueprint or stack file to check (default: from the resources' aifactory.io labels).
_CONFIG = PolicyConfigSchema(properties={"target": {"type": "string"}})


def _policy(spec):
    level = EnforcementLevel(spec.enforcement)
    if spec.kind == "stack":
        return StackValidationPolicy(name=spec.name, description=spec.description, enforcement_level=level,
                                     validate=spec.validate, config_schema=_CONFIG)
    return ResourceValidationPolicy(name=spec.name, description=spec.description, enforcement_level=level,
                                    validate=spec.validate, config_schema=_CONFIG)


PolicyPack(name="aifactory-policy", enforcement_level=EnforcementLevel.ADVISORY,
           policies=[_policy(s) for s in policies()])
