"""The embedded SQLite backend of ``store.api`` (the default for one node)."""

from mailfort.store.sqlite.store import SqliteMailStore, open_sqlite_store

__all__ = ["SqliteMailStore", "open_sqlite_store"]
