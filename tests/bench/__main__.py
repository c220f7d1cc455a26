"""``python -m tests.bench`` is ``python tests/bench/run.py``."""

import sys

from .run import main

sys.exit(main())
