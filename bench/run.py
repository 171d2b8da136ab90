"""Entry point of ``make bench``: ``python bench/run.py [--quick | --full] [--only ...]``.
See bench/README.md."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mailbench.runner import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
