"""One SQLite connection per thread, opened on first use: sqlite3 connections are not shared."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlite_utils import Database

from storage.database import open_database


class ThreadDatabase:
    """The calling thread's connection to ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()

    def __call__(self) -> Database:
        if not hasattr(self._local, "db"):
            self._local.db = open_database(self.path)
        return self._local.db
