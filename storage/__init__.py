"""natlink's storage: the only code that writes SQL.

Everything here speaks sqlite-utils to one SQLite file and hands back plain frozen dataclasses from
:mod:`storage.records`, so the rest of natlink never sees a row, a cursor or a SQL string. The
package imports nothing of ``bot``, ``commands`` or ``cloud`` and nothing of Slack or Azure: the
dependency arrow points into storage, never out of it.

Open a database with :func:`storage.database.open_database`, then call the module of the concern
at hand (``services``, ``owners``, ``grants``, ``requests``, ``operations``, ``audit``,
``channel_subscriptions``, and for the scheduler ``leases``, ``observations``, ``events``). A ``Database`` wraps one ``sqlite3`` connection, which belongs to the
thread that opened it: open one per thread or process; the file itself is safe to share.
"""

from storage.database import open_database
from storage.errors import NotFoundError, SchemaTooNewError, StateConflictError, StorageError

__all__ = ["NotFoundError", "SchemaTooNewError", "StateConflictError", "StorageError", "open_database"]
