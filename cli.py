#!/usr/bin/env python3
"""Run the aifactory CLI from a checkout: `python cli.py --help`."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from aifactory.cli.main import main

if __name__ == "__main__":
    main()
