"""`python -m aifactory.burnin run|compare|pairs ...` (see aifactory/burnin/main.py)."""

import sys

from aifactory.burnin.main import main

if __name__ == "__main__":
    sys.exit(main())
