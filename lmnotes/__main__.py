"""``python -m lmnotes warm | student | grade``: see :mod:`lmnotes.classroom`."""

import sys

from .classroom import main

sys.exit(main())
