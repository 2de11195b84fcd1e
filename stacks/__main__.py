"""The aifactory Pulumi program: the stack's blueprint, checked and planned, through the layer modules.

Everything lives in the library (`aifactory.deploy.pulumi.run_program`); this file only makes the checkout
importable when Pulumi runs it from this folder.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aifactory.deploy.pulumi import run_program

run_program()
