"""Claims of the selforg paper; registered on import (see :mod:`bionn.experiments`)."""
from __future__ import annotations
