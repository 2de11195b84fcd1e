"""The aifactory Pulumi program: the stack's blueprint, checked and planned, through the layer modules.

Everything lives in the library (`aifactory.deploy.pulumi.run_program`); this file only makes the checkout
importable and runs the program at the repository root, as the `aifactory` commands run: Pulumi starts it in
this folder, and the policy gate must see the same file names (waivers, baseline) and
`.aifactory-policy.yaml` as `aifactory policy check stacks/Pulumi.<stack>.yaml` does.
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aifactory.deploy.pulumi import STACKS, run_program

os.chdir(Path(__file__).resolve().parents[1])
run_program(stacks=STACKS)
