"""``python -m junkdna``: the same command line as ``junkdna``."""

import sys

from junkdna.cli import main

sys.exit(main())
