"""Immutable, content-addressed message blobs on disk: ``blobs/ab/cdef…`` (hex SHA-256).

Why files and not SQLite BLOBs: docs/decisions/003-blob-storage.md. In short, the database stays
small (fast WAL checkpoints, cheap backups of metadata), body sections are read without touching
the single writer thread, and a blob is written and fsynced on another thread while the writer
commits other transactions.

A blob is made durable *before* the transaction that references it: temp file in the same
directory, fsync, rename, fsync the directory. A crash in between leaves an unreferenced file,
which :meth:`BlobStore.sweep` removes later. The sweep never removes a blob that a delivery in
flight has reserved (:meth:`BlobStore.reserve`), nor one the database references.

This module does blocking I/O; the store calls it from worker threads only.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

from mailfort.store.errors import StoreError
from mailfort.store.types import BlobId

__all__ = ["BlobStore", "blob_id_of"]

_BLOB_ID: Final = re.compile(r"[0-9a-f]{64}")
_TMP_PREFIX: Final = ".tmp-"


def blob_id_of(raw: bytes) -> BlobId:
    """The content address of a message: its hex SHA-256."""
    return BlobId(hashlib.sha256(raw).hexdigest())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class BlobStore:
    """Blob files under ``root``. Thread-safe."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._lock = threading.Lock()
        self._reserved: dict[str, int] = {}  # blob id -> deliveries in flight

    @property
    def root(self) -> Path:
        return self._root

    def ensure_root(self) -> None:
        """Create the root and all 256 shard directories up front, so no delivery pays for a
        directory creation and its extra fsync."""
        self._root.mkdir(mode=0o700, parents=True, exist_ok=True)
        created = False
        for i in range(256):
            shard = self._root / f"{i:02x}"
            if not shard.is_dir():
                shard.mkdir(mode=0o700, exist_ok=True)
                created = True
        if created:
            _fsync_dir(self._root)

    def path_of(self, blob_id: BlobId) -> Path:
        if not _BLOB_ID.fullmatch(blob_id):
            raise StoreError("malformed blob id")
        return self._root / blob_id[:2] / blob_id[2:]

    @contextmanager
    def reserve(self, blob_id: BlobId) -> Iterator[None]:
        """Keep ``blob_id`` safe from the sweep until the referencing transaction is done."""
        with self._lock:
            self._reserved[blob_id] = self._reserved.get(blob_id, 0) + 1
        try:
            yield
        finally:
            with self._lock:
                left = self._reserved[blob_id] - 1
                if left:
                    self._reserved[blob_id] = left
                else:
                    del self._reserved[blob_id]

    def write(self, blob_id: BlobId, raw: bytes) -> None:
        """Make ``raw`` durable under ``blob_id`` (which the caller has reserved). Same content,
        same file: an existing blob is not written again."""
        final = self.path_of(blob_id)
        if final.exists():
            return
        shard = final.parent
        if not shard.is_dir():
            shard.mkdir(mode=0o700, exist_ok=True)
            _fsync_dir(self._root)
        tmp = shard / f"{_TMP_PREFIX}{blob_id[2:]}-{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            view = memoryview(raw)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            tmp.unlink(missing_ok=True)
            raise
        os.close(fd)
        os.replace(tmp, final)
        _fsync_dir(shard)

    def read(self, blob_id: BlobId) -> bytes:
        try:
            return self.path_of(blob_id).read_bytes()
        except FileNotFoundError:
            raise StoreError("blob missing") from None

    def exists(self, blob_id: BlobId) -> bool:
        return self.path_of(blob_id).exists()

    def sweep(self, referenced: set[str]) -> int:
        """Remove blobs (and leftover temp files) that are neither ``referenced`` nor reserved.
        The caller guarantees no commit adding a reference runs concurrently (it sweeps on the
        database writer thread). Returns the number of files removed."""
        removed = 0
        if not self._root.is_dir():
            return 0
        for shard in self._root.iterdir():
            if not shard.is_dir() or len(shard.name) != 2:
                continue
            for entry in shard.iterdir():
                name = entry.name
                if name.startswith(_TMP_PREFIX):
                    blob_id = shard.name + name[len(_TMP_PREFIX):].split("-", 1)[0]
                else:
                    blob_id = shard.name + name
                if blob_id in referenced:
                    continue
                with self._lock:  # a reservation taken after this check re-writes the file
                    if blob_id in self._reserved:
                        continue
                    entry.unlink(missing_ok=True)
                removed += 1
        return removed
