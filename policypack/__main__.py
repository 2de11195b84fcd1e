"""aifactory CrossGuard pack: `pulumi preview --policy-pack policypack` (from the repository root).

Only this entry point builds the PolicyPack (building it starts a server, prints its port and blocks); the rules
and validate functions live in aifactory.policy.crossguard and are tested there, and over gRPC in
tests/pulumi/test_crossguard_grpc.py, which starts this file as the engine does.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if (ROOT / "aifactory" / "__init__.py").is_file():
    sys.path.insert(0, str(ROOT))  # a checkout: its aifactory package, installed or not

from pulumi_policy import (  # noqa: E402
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyPack,
    ResourceValidationPolicy,
    StackValidationPolicy,
)

from aifactory.policy.crossguard import policies  # noqa: E402

# Run at the repository root: file names and .aifactory-policy.yaml as `aifactory policy check` sees them there.
os.chdir(ROOT)

# `target`: the blueprint or stack file to check (default: the engine's stack, else the resources' sources).
_CONFIG = PolicyConfigSchema(properties={"target": {"type": "string"}})


def _policy(spec):
    level = EnforcementLevel(spec.enforcement)
    kind = StackValidationPolicy if spec.kind == "stack" else ResourceValidationPolicy
    return kind(name=spec.name, description=spec.description, enforcement_level=level, validate=spec.validate,
                config_schema=_CONFIG)


PolicyPack(name="aifactory-policy", enforcement_level=EnforcementLevel.ADVISORY,
           policies=[_policy(s) for s in policies()])
