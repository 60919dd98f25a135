"""The exceptions storage raises, so callers can tell "no such thing" from a broken database."""

from __future__ import annotations


class StorageError(Exception):
    """Base class: every error storage raises on purpose derives from this."""


class NotFoundError(StorageError, LookupError):
    """A write named a record that does not exist (reads return ``None`` instead)."""


class StateConflictError(StorageError):
    """A transition was asked of a record that is not in a state that allows it."""


class SchemaTooNewError(StorageError):
    """The database was written by a newer natlink; using it could corrupt data it relies on."""

    def __init__(self, found: int, supported: int) -> None:
        super().__init__(
            f"database schema version {found} is newer than this natlink supports ({supported}); "
            "upgrade natlink or point it at another database"
        )
        self.found = found
        self.supported = supported
