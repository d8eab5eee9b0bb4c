"""The SQLite layout of the kine-style log, and the SQL that reads it.

One table, `kv`, is the log: each write appends a row whose `id` is the write's global
revision. A key's state at revision R is its row with the largest id <= R, unless that row
is a tombstone (`deleted`). The index on (name, id) serves "latest row of a key" (get, the
writer's precondition check) and "latest row of every key in a range at R" (list). `meta`
holds the compacted revision.

Keys compare as SQLite TEXT with the default BINARY collation: memcmp of UTF-8, which is
the same order as Python's str comparison, so prefix ranges and paging agree with Python.
"""

from __future__ import annotations

import sqlite3

SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (
    id INTEGER PRIMARY KEY,             -- the write's revision
    name TEXT NOT NULL,
    created INTEGER NOT NULL,           -- 1 on the row that (re)created the key
    deleted INTEGER NOT NULL,           -- 1 on a tombstone; its value is the deleted value
    create_revision INTEGER NOT NULL,
    prev_revision INTEGER NOT NULL,     -- the key's previous row, 0 on create
    value BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS kv_name_id ON kv (name, id, deleted);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
"""

# A key's newest row (the writer's precondition checks), and its newest row at or below a
# revision (get(), which reads at the revision published to watchers).
LATEST_ROW = "SELECT id, create_revision, deleted, value FROM kv WHERE name = ? ORDER BY id DESC LIMIT 1"
ROW_AT = (
    "SELECT id, create_revision, deleted, value FROM kv WHERE name = ? AND id <= ? ORDER BY id DESC LIMIT 1"
)

INSERT_ROW = (
    "INSERT INTO kv (id, name, created, deleted, create_revision, prev_revision, value)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)

GET_COMPACTED = "SELECT value FROM meta WHERE key = 'compacted'"
SET_COMPACTED = "INSERT OR REPLACE INTO meta (key, value) VALUES ('compacted', ?)"

# Compaction of one id range [lo, hi): a row goes when a newer row of its key exists at or
# below the compaction revision (it is history), or when it is a tombstone (the key is gone).
# So each live key keeps its latest row <= revision and list(revision) still answers.
COMPACT_RANGE = (
    "DELETE FROM kv WHERE id >= ? AND id < ? AND (deleted = 1 OR EXISTS"
    " (SELECT 1 FROM kv AS newer WHERE newer.name = kv.name AND newer.id > kv.id AND newer.id <= ?))"
)

# Log rows for watch replay, with the previous value joined in for updates (a tombstone
# carries the deleted value itself; a create has no previous value).
REPLAY_COLUMNS = (
    "SELECT kv.id, kv.name, kv.created, kv.deleted, kv.create_revision, kv.prev_revision,"
    " kv.value, prev.value FROM kv"
    " LEFT JOIN kv AS prev ON prev.id = kv.prev_revision AND kv.created = 0 AND kv.deleted = 0"
)


def prefix_end(prefix: str) -> str | None:
    """The smallest string greater than every string starting with prefix (None: no bound).

    "/registry/pods/" -> "/registry/pods0" (the last character plus one).
    """
    stripped = prefix.rstrip("\U0010ffff")
    if not stripped:
        return None
    return stripped[:-1] + chr(ord(stripped[-1]) + 1)


def key_range(prefix: str, start_after: str | None = None, column: str = "name") -> tuple[str, list[str]]:
    """A WHERE fragment (and its parameters) selecting keys under prefix, after start_after."""
    clauses: list[str] = []
    params: list[str] = []
    if start_after is not None and start_after >= prefix:
        clauses.append(f"{column} > ?")
        params.append(start_after)
    elif prefix:
        clauses.append(f"{column} >= ?")
        params.append(prefix)
    end = prefix_end(prefix)
    if end is not None:
        clauses.append(f"{column} < ?")
        params.append(end)
    return (" AND ".join(clauses) or "1"), params


def list_sql(range_sql: str) -> str:
    """Latest row <= ? of every key in range, without tombstones, first LIMIT ? keys.

    The inner query runs on the covering index alone; `deleted` is a bare column beside
    MAX(id), which SQLite takes from the row holding the maximum. Rows come back in id
    order: the caller sorts by key (cheaper than SQLite sorting rows with their values).
    """
    return (
        "SELECT name, create_revision, id, value FROM kv WHERE id IN (SELECT latest FROM"
        f" (SELECT MAX(id) AS latest, deleted, name FROM kv WHERE {range_sql} AND id <= ? GROUP BY name)"
        " WHERE deleted = 0 ORDER BY name LIMIT ?)"
    )


def connect(path: str, *, writer: bool) -> sqlite3.Connection:
    """Open a connection in autocommit mode (transactions are explicit) with our pragmas."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout = 10000")
    if writer:
        # auto_vacuum only takes effect on a new, empty database, so set it before anything.
        conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.executescript(SCHEMA)
    # FULL: a COMMIT returns only after the WAL is fsynced, so every acknowledged write
    # survives a kill -9 and a power loss. Group commit pays that fsync once per batch.
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA cache_size = -32768")  # 32 MiB per connection
    conn.execute("PRAGMA mmap_size = 268435456")
    return conn
