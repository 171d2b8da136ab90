"""Makes the audit fakes (tests/unit/audit) importable under pytest's importlib import mode."""

from __future__ import annotations

import sys
from pathlib import Path

_FAKES = str(Path(__file__).resolve().parent.parent / "unit" / "audit")
if _FAKES not in sys.path:
    sys.path.insert(0, _FAKES)
