"""``python -m gateway_core`` is the ``gateway`` command."""

import sys

from .cli import main

sys.exit(main())
