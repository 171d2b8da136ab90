"""Finding and loading the configuration file for a CLI call."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from mailfort.config.load import load_settings
from mailfort.config.model import Settings

__all__ = ["settings_from_args"]


def settings_from_args(args: argparse.Namespace) -> Settings:
    """--config, else $MAILFORT_CONFIG, else ./mailfort.toml when present, else defaults."""
    given = getattr(args, "config", None) or os.environ.get("MAILFORT_CONFIG")
    if given:
        return load_settings(Path(given))
    local = Path("mailfort.toml")
    return load_settings(local if local.is_file() else None)
