"""The SQLite store's schema: ordered migrations, versioned with ``PRAGMA user_version``.

``MIGRATIONS[n - 1]`` turns a version ``n - 1`` database into version ``n``; a new file (version 0) runs them
all. A migration only ever adds or rewrites, never drops data, and the whole upgrade is one transaction, so a
failure leaves the file as it was. Never edit a released migration: append a new one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: records with their expiry, and the item index.
    (
        "CREATE TABLE responses (id TEXT PRIMARY KEY, record BLOB NOT NULL, expires_at REAL NOT NULL)",
        "CREATE TABLE items (item_id TEXT PRIMARY KEY, response_id TEXT NOT NULL)",
    ),
    # 2: item rows carry their own expiry (backfilled from their response) so lookups and the purge need no
    # join; indexes for the purge and for deleting a response's items.
    (
        "ALTER TABLE items ADD COLUMN expires_at REAL NOT NULL DEFAULT 0",
        "UPDATE items SET expires_at = COALESCE("
        "(SELECT responses.expires_at FROM responses WHERE responses.id = items.response_id), 0)",
        "CREATE INDEX responses_expires_at ON responses (expires_at)",
        "CREATE INDEX items_expires_at ON items (expires_at)",
        "CREATE INDEX items_response_id ON items (response_id)",
    ),
    # 3: the bytes of all records, kept by triggers (so every writer, in any process, keeps it right), for
    # the store.max_bytes quota.
    (
        "CREATE TABLE usage (bytes INTEGER NOT NULL)",
        "INSERT INTO usage (bytes) SELECT COALESCE(SUM(length(record)), 0) FROM responses",
        "CREATE TRIGGER usage_insert AFTER INSERT ON responses BEGIN "
        "UPDATE usage SET bytes = bytes + length(NEW.record); END",
        "CREATE TRIGGER usage_delete AFTER DELETE ON responses BEGIN "
        "UPDATE usage SET bytes = bytes - length(OLD.record); END",
        "CREATE TRIGGER usage_update AFTER UPDATE OF record ON responses BEGIN "
        "UPDATE usage SET bytes = bytes - length(OLD.record) + length(NEW.record); END",
    ),
)

SCHEMA_VERSION = len(MIGRATIONS)


class SchemaTooNew(Exception):
    """The database was written by a newer gateway (its schema version is unknown here); it is left untouched."""


@contextmanager
def write_transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """Run the block in one ``BEGIN IMMEDIATE`` transaction: committed if it returns, rolled back if it raises.

    ``conn`` must be in autocommit mode (``isolation_level=None``) so that only this controls transactions.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def migrate(conn: sqlite3.Connection) -> None:
    """Bring the database to :data:`SCHEMA_VERSION`, creating the schema in an empty file.

    Raises :class:`SchemaTooNew` for a database from a newer version, which it does not touch.
    """
    with write_transaction(conn):  # the write lock first, so two processes never migrate at once
        version: int = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise SchemaTooNew(f"schema version {version} is newer than this gateway's ({SCHEMA_VERSION})")
        for number in range(version + 1, SCHEMA_VERSION + 1):
            for statement in MIGRATIONS[number - 1]:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number}")
