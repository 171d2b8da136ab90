"""Data files of ``mailfort.auth`` (see README.md in this folder)."""

__all__: list[str] = []
