"""Versioned schema migrations: an ordered list, each applied once, in its own transaction.

The version is the number of migrations applied, recorded one row per migration in
``schema_version``. Migrations are frozen history: never edit one that has shipped; append a new
one. Each is applied under ``BEGIN IMMEDIATE`` after re-reading the version, so processes that
open the same fresh file at once apply every migration exactly once. A database whose version is
higher than the list is long was written by a newer natlink and is refused rather than guessed at.

sqlite-utils ships a name-based ``Migrations`` class; it is not used because it cannot refuse a
newer database and reads the pending list outside the write lock.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlite_utils import Database

from storage import clock
from storage.errors import SchemaTooNewError
from storage.transactions import write
from storage.verifications import verifications_table

Migration = Callable[[Database], None]

VERSION_TABLE = "schema_version"

_VERSION_TABLE_SQL = f"""
CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TEXT NOT NULL
)
"""

_V1_STATEMENTS = (
    """
    CREATE TABLE services (
        name TEXT PRIMARY KEY COLLATE NOCASE,
        pls_id TEXT NOT NULL COLLATE NOCASE UNIQUE,
        subscription TEXT NOT NULL COLLATE NOCASE,
        resource_group TEXT NOT NULL COLLATE NOCASE,
        location TEXT NOT NULL,
        alias TEXT NOT NULL COLLATE NOCASE UNIQUE,
        owner_channel TEXT,
        created_by TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'deleted', 'gone')),
        lb_managed INTEGER NOT NULL DEFAULT 0 CHECK (lb_managed IN (0, 1)),
        details TEXT NOT NULL DEFAULT '{}'
    )
    """,
    """
    CREATE TABLE owners (
        service TEXT NOT NULL COLLATE NOCASE REFERENCES services(name) ON DELETE CASCADE,
        user_id TEXT NOT NULL,
        added_by TEXT NOT NULL,
        added_at TEXT NOT NULL,
        PRIMARY KEY (service, user_id)
    )
    """,
    "CREATE INDEX owners_by_user ON owners (user_id)",
    """
    CREATE TABLE grants (
        user_id TEXT NOT NULL,
        action TEXT NOT NULL CHECK (action IN ('create', 'request')),
        scope TEXT NOT NULL COLLATE NOCASE CHECK (scope <> ''),
        granted_by TEXT NOT NULL,
        granted_at TEXT NOT NULL,
        PRIMARY KEY (user_id, action, scope)
    )
    """,
    """
    CREATE TABLE requests (
        id TEXT PRIMARY KEY,
        service TEXT NOT NULL COLLATE NOCASE REFERENCES services(name),
        requester TEXT NOT NULL,
        consumer_subscription TEXT NOT NULL COLLATE NOCASE,
        vnet TEXT,
        subnet TEXT,
        pe_name TEXT,
        pe_id TEXT COLLATE NOCASE,
        reason TEXT NOT NULL DEFAULT '',
        state TEXT NOT NULL CHECK (state IN
            ('requested', 'pending', 'approved', 'rejected', 'removed', 'failed', 'gone')),
        connection_id TEXT COLLATE NOCASE,
        link_identifier TEXT,
        decided_by TEXT,
        decided_at TEXT,
        decision_reason TEXT,
        card_channel TEXT,
        card_ts TEXT,
        expires_at TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )
    """,
    "CREATE INDEX requests_by_service ON requests (service, state)",
    "CREATE INDEX requests_by_state ON requests (state, created_at)",
    "CREATE INDEX requests_by_pe ON requests (pe_id)",
    "CREATE INDEX requests_by_connection ON requests (connection_id)",
    """
    CREATE TABLE operations (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL CHECK (kind <> ''),
        args TEXT NOT NULL DEFAULT '{}',
        actor TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'queued'
            CHECK (state IN ('queued', 'running', 'succeeded', 'failed')),
        step TEXT,
        result TEXT,
        error TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        worker TEXT,
        idempotency_key TEXT UNIQUE,
        reply_channel TEXT,
        reply_ts TEXT,
        response_url TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        started_at TEXT,
        finished_at TEXT
    )
    """,
    "CREATE INDEX operations_by_state ON operations (state, id)",
    """
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL,
        outcome TEXT NOT NULL CHECK (outcome IN ('allowed', 'denied', 'succeeded', 'failed')),
        reason TEXT NOT NULL DEFAULT '',
        details TEXT NOT NULL DEFAULT '{}'
    )
    """,
    "CREATE INDEX audit_by_target ON audit (target, at)",
    "CREATE INDEX audit_by_time ON audit (at)",
    """
    CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END
    """,
    """
    CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END
    """,
    """
    CREATE TABLE channel_subscriptions (
        service TEXT NOT NULL COLLATE NOCASE,
        channel TEXT NOT NULL,
        events TEXT NOT NULL DEFAULT 'all' CHECK (events IN ('all', 'problems')),
        digest TEXT NOT NULL DEFAULT 'daily' CHECK (digest IN ('daily', 'hourly', 'off')),
        created_by TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (service, channel)
    )
    """,
    "CREATE INDEX channel_subscriptions_by_channel ON channel_subscriptions (channel)",
)


def initial_schema(db: Database) -> None:
    """Version 1: every table natlink needs, with the case-insensitive columns Azure ids require."""
    for statement in _V1_STATEMENTS:
        db.execute(statement)


_V2_STATEMENTS = (
    """
    CREATE TABLE leases (
        name TEXT PRIMARY KEY CHECK (name <> ''),
        holder TEXT NOT NULL CHECK (holder <> ''),
        acquired_at TEXT NOT NULL,
        renewed_at TEXT NOT NULL,
        expires_at TEXT NOT NULL
    )
    """,
    """
    CREATE TABLE observations (
        kind TEXT NOT NULL CHECK (kind IN
            ('connection', 'service', 'endpoint', 'backend', 'nat_ip', 'probe', 'meta')),
        key TEXT NOT NULL COLLATE NOCASE CHECK (key <> ''),
        value TEXT NOT NULL,
        first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL,
        gone_at TEXT,
        PRIMARY KEY (kind, key)
    )
    """,
    """
    CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        dedup_key TEXT NOT NULL COLLATE NOCASE UNIQUE CHECK (dedup_key <> ''),
        channel TEXT NOT NULL CHECK (channel <> ''),
        service TEXT COLLATE NOCASE,
        kind TEXT NOT NULL CHECK (kind <> ''),
        severity TEXT NOT NULL CHECK (severity IN ('problem', 'info')),
        payload TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL,
        posted_at TEXT,
        message_ts TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT
    )
    """,
    "CREATE INDEX events_pending ON events (channel, id) WHERE posted_at IS NULL",
    "CREATE INDEX events_by_service ON events (service, id)",
)


def scheduler_tables(db: Database) -> None:
    """Version 2: the scheduler's lease, the sweeps' observations and the notification outbox."""
    for statement in _V2_STATEMENTS:
        db.execute(statement)


_V3_STATEMENTS = (
    # The operation that made a request: its rerun after a crash finds that request, and nothing
    # else (a new ask is a new request; see commands/usecases/request.py).
    "ALTER TABLE requests ADD COLUMN operation_id INTEGER",
    "CREATE INDEX requests_by_operation ON requests (operation_id) WHERE operation_id IS NOT NULL",
    # An outbox event is claimed before it is posted, so two drainers never post it twice.
    "ALTER TABLE events ADD COLUMN claimed_by TEXT",
    "ALTER TABLE events ADD COLUMN claimed_at TEXT",
)


def integrity_columns(db: Database) -> None:
    """Version 3: requests remember the operation that made them; outbox events are claimed."""
    for statement in _V3_STATEMENTS:
        db.execute(statement)


def service_origin(db: Database) -> None:
    """Version 5: whether natlink made a service or adopted one made elsewhere (Terraform, the
    portal, AKS): natlink never changes the load balancer or the private link service of an adopted
    one (commands/usecases/adopt.py)."""
    db.execute(
        "ALTER TABLE services ADD COLUMN origin TEXT NOT NULL DEFAULT 'created' "
        "CHECK (origin IN ('created', 'adopted'))"
    )


def event_places(db: Database) -> None:
    """Version 6: where each posted event landed in Slack (a JSON list of ``[channel ID, ts]``).
    An event whose channel refused natlink lands in its owners' DMs instead; a recovery edits the
    alert there, which ``channel`` and ``message_ts`` alone cannot find (issue 12, §2)."""
    db.execute("ALTER TABLE events ADD COLUMN places TEXT")


def request_subnet_ids(db: Database) -> None:
    """Version 7: the ARM ID of the subnet a request's endpoint is in, so its card links the
    "VNet / subnet" field to the portal as every other Azure name natlink shows (issue 12). Known
    from the endpoint Azure made; NULL for requests made before, and for connections made outside
    natlink, whose cards show the names as text."""
    db.execute("ALTER TABLE requests ADD COLUMN subnet_id TEXT COLLATE NOCASE")


MIGRATIONS: tuple[Migration, ...] = (
    initial_schema,
    scheduler_tables,
    integrity_columns,
    verifications_table,
    service_origin,
    event_places,
    request_subnet_ids,
)
"""Append only. The position (1-based) of a migration is the schema version it produces."""

LATEST_VERSION = len(MIGRATIONS)


def schema_version(db: Database) -> int:
    """The version of the schema in ``db``: 0 for an empty database."""
    if not db.table(VERSION_TABLE).exists():
        return 0
    row = db.execute(f"SELECT max(version) FROM {VERSION_TABLE}").fetchone()
    return int(row[0] or 0)


def migrate(db: Database, migrations: Sequence[Migration] = MIGRATIONS) -> int:
    """Bring ``db`` up to ``len(migrations)``, one transaction per migration; return the version.

    Raises :class:`SchemaTooNewError` (and changes nothing) for a database from a newer natlink.
    """
    target = len(migrations)
    _refuse_newer(schema_version(db), target)
    while schema_version(db) < target:
        with write(db):
            current = schema_version(db)  # re-read under the lock: another process may have won
            _refuse_newer(current, target)
            if current >= target:
                break
            _apply(db, current + 1, migrations[current])
    return schema_version(db)


def _apply(db: Database, version: int, migration: Migration) -> None:
    """Run one migration and record it, inside the caller's transaction."""
    db.execute(_VERSION_TABLE_SQL)
    migration(db)
    db.table(VERSION_TABLE).insert(
        {"version": version, "name": migration.__name__, "applied_at": clock.stamp(None)}
    )


def _refuse_newer(found: int, supported: int) -> None:
    """Stop before touching a schema this code does not understand."""
    if found > supported:
        raise SchemaTooNewError(found, supported)
