"""The aifactory Pulumi program: the stack's blueprint, checked and planned, through the layer modules.

Everything lives in the library (`aifactory.deploy.pulumi.run_program`); this file only finds the Pulumi project
and runs the program at the root of the repository that holds it, as the `aifactory` commands run: the policy
gate must see the same file names (waivers, baseline) and `.aifactory-policy.yaml` as
`aifactory policy check stacks/Pulumi.<stack>.yaml` does. The project is the folder Pulumi starts the program
in (the one with `Pulumi.yaml`), else this file's folder; the program also ships in the installed package
(`aifactory.resources.stack_program()`), so a user's project can name it as its `main:`.
"""

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if (HERE.parent / "aifactory" / "__init__.py").is_file():
    sys.path.insert(0, str(HERE.parent))  # a source checkout: its aifactory, installed or not

from aifactory.blueprint.stackfile import stack_repository  # noqa: E402
from aifactory.deploy.pulumi import run_program  # noqa: E402

project = Path.cwd() if (Path.cwd() / "Pulumi.yaml").is_file() else HERE
os.chdir(stack_repository(project))
run_program(stacks=project)
