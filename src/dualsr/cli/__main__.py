"""``python -m dualsr.cli``: the ``dualsr`` command."""

import sys

from dualsr.cli.main import main

sys.exit(main())
