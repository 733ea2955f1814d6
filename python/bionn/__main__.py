"""``python -m bionn ...``: the same as the ``bionn`` console script (see :mod:`bionn.cli`)."""

import sys

from bionn.cli import main

if __name__ == "__main__":
    sys.exit(main())
