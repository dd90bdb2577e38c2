"""Versioned, forward-only schema of the PostgreSQL backend.

The versions follow the SQLite ledger's (``gatewise.ledger.migrations``) feature by feature, in
PostgreSQL's types; a shipped entry is never edited, later features append. Budgets differ in
one way: spend per scope and window is kept in ``budget_spend`` rows, which a reservation locks
(always in the same order) so that instances on other machines check and hold atomically.

``migrate`` takes a transaction-scoped advisory lock first, so instances starting together
queue behind one another and each migration runs exactly once; DDL is transactional here, so a
failed migration leaves the previous version intact.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from gatewise.ledger.migrations import MARK_EARLIER_ROWS, OUTRANKS, Migration, refuse_newer

if TYPE_CHECKING:
    from gatewise.storage.postgres.database import Connection

# pg_advisory_xact_lock key: "gatewise" in ASCII, so other applications' keys do not collide.
MIGRATION_LOCK = 0x67617465776973
# Taken by every transaction that adds or deletes semantic cache entries, before anything else.
SEMANTIC_LOCK = MIGRATION_LOCK + 1


def _totals_table(name: str) -> tuple[str, str]:
    """One row of a cache's entry count and byte total, kept exact by a trigger."""
    return (f"""CREATE TABLE {name} (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                entries BIGINT NOT NULL,
                bytes BIGINT NOT NULL
            )""", f"INSERT INTO {name} VALUES (1, 0, 0)")


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "calls",
        (
            """CREATE TABLE calls (
                id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                ts DOUBLE PRECISION NOT NULL,
                server TEXT NOT NULL,
                tool TEXT NOT NULL,
                provider TEXT NOT NULL,
                model TEXT NOT NULL,
                tokens_in BIGINT NOT NULL,
                tokens_out BIGINT NOT NULL,
                cost_usd DOUBLE PRECISION NOT NULL,
                latency_ms DOUBLE PRECISION NOT NULL,
                status TEXT NOT NULL,
                error_code TEXT,
                cache_status TEXT NOT NULL,
                route_reason TEXT NOT NULL,
                project TEXT,
                request_id TEXT NOT NULL,
                attempt INTEGER NOT NULL,
                task TEXT
            )""",
            "CREATE INDEX calls_ts ON calls (ts)",
            "CREATE INDEX calls_project_ts ON calls (project, ts)",
            "CREATE INDEX calls_model_ts ON calls (model, ts)",
            "CREATE INDEX calls_request_id ON calls (request_id)",
        ),
    ),
    Migration(
        2,
        "budgets",
        (
            """CREATE TABLE budgets (
                scope TEXT NOT NULL,
                "window" TEXT NOT NULL CHECK ("window" IN ('daily', 'monthly')),
                limit_usd DOUBLE PRECISION NOT NULL CHECK (limit_usd > 0),
                on_exceed TEXT NOT NULL CHECK (on_exceed IN ('block', 'downgrade', 'warn')),
                source TEXT NOT NULL CHECK (source IN ('config', 'runtime')),
                updated_at DOUBLE PRECISION NOT NULL,
                PRIMARY KEY (scope, "window")
            )""",
            """CREATE TABLE budget_reservations (
                id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                request_id TEXT NOT NULL,
                scope TEXT NOT NULL,
                day_key TEXT NOT NULL,
                month_key TEXT NOT NULL,
                reserved_usd DOUBLE PRECISION NOT NULL,
                cost_usd DOUBLE PRECISION,
                state TEXT NOT NULL
                    CHECK (state IN ('reserved', 'committed', 'released', 'expired')),
                created_at DOUBLE PRECISION NOT NULL,
                settled_at DOUBLE PRECISION
            )""",
            "CREATE INDEX budget_reservations_request ON budget_reservations (request_id)",
            # Expiry looks only at the holds still open: a small partial index.
            "CREATE INDEX budget_reservations_open ON budget_reservations (created_at)"
            " WHERE state = 'reserved'",
            # Exact sums (numeric), so holds added and taken away again leave exactly zero.
            """CREATE TABLE budget_spend (
                scope TEXT NOT NULL,
                "window" TEXT NOT NULL CHECK ("window" IN ('daily', 'monthly')),
                window_key TEXT NOT NULL,
                committed_usd NUMERIC NOT NULL DEFAULT 0,
                held_usd NUMERIC NOT NULL DEFAULT 0,
                PRIMARY KEY (scope, "window", window_key)
            )""",
            """CREATE TABLE alerts (
                id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                ts DOUBLE PRECISION NOT NULL,
                scope TEXT NOT NULL,
                "window" TEXT NOT NULL,
                window_key TEXT NOT NULL,
                threshold DOUBLE PRECISION NOT NULL,
                spent_usd DOUBLE PRECISION NOT NULL,
                limit_usd DOUBLE PRECISION NOT NULL,
                message TEXT NOT NULL,
                delivered TEXT NOT NULL
                    CHECK (delivered IN ('not_configured', 'pending', 'delivered', 'failed')),
                delivery_error TEXT,
                UNIQUE (scope, "window", window_key, threshold)
            )""",
            "CREATE INDEX alerts_ts ON alerts (ts)",
        ),
    ),
    Migration(
        3,
        "budget_owners",
        (
            """CREATE TABLE budget_owners (
                id TEXT PRIMARY KEY,
                host TEXT NOT NULL,
                pid INTEGER NOT NULL,
                started TEXT,
                heartbeat_at DOUBLE PRECISION NOT NULL
            )""",
            "ALTER TABLE budget_reservations ADD COLUMN owner TEXT",
            "CREATE INDEX budget_reservations_owner ON budget_reservations (owner)"
            " WHERE state IN ('reserved', 'expired')",
        ),
    ),
    Migration(
        4,
        "guardrail_events_and_request_fingerprints",
        (
            """CREATE TABLE guardrail_events (
                id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                ts DOUBLE PRECISION NOT NULL,
                request_id TEXT NOT NULL,
                server TEXT NOT NULL,
                tool TEXT NOT NULL,
                project TEXT,
                direction TEXT NOT NULL,
                check_id TEXT NOT NULL,
                verdict TEXT NOT NULL CHECK (verdict IN ('flag', 'block')),
                action TEXT NOT NULL,
                reason TEXT NOT NULL,
                entities TEXT NOT NULL DEFAULT '{}',
                spans TEXT NOT NULL DEFAULT '[]',
                value_hashes TEXT NOT NULL DEFAULT '[]',
                score DOUBLE PRECISION,
                source TEXT
            )""",
            "CREATE INDEX guardrail_events_ts ON guardrail_events (ts)",
            "CREATE INDEX guardrail_events_request_id ON guardrail_events (request_id)",
            "ALTER TABLE calls ADD COLUMN request_hash TEXT",
        ),
    ),
    Migration(
        5,
        "response_cache",
        (
            # The exact cache, shared by every instance (the SQLite one is a file per machine).
            """CREATE TABLE cache_entries (
                key TEXT PRIMARY KEY,
                value BYTEA NOT NULL,
                size BIGINT NOT NULL,
                stored_at DOUBLE PRECISION NOT NULL,
                expires_at DOUBLE PRECISION NOT NULL,
                last_used DOUBLE PRECISION NOT NULL,
                namespace TEXT NOT NULL DEFAULT '',
                project TEXT
            )""",
            "CREATE INDEX cache_entries_last_used ON cache_entries (last_used, stored_at)",
            "CREATE INDEX cache_entries_expires_at ON cache_entries (expires_at)",
            "CREATE INDEX cache_entries_owner ON cache_entries (namespace, project)",
            *_totals_table("cache_totals"),
            # Exact whoever writes, so the size check after a write reads one row.
            """CREATE FUNCTION cache_totals_track() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'INSERT' THEN
                    UPDATE cache_totals SET entries = entries + 1, bytes = bytes + NEW.size WHERE id = 1;
                ELSIF TG_OP = 'DELETE' THEN
                    UPDATE cache_totals SET entries = entries - 1, bytes = bytes - OLD.size WHERE id = 1;
                ELSIF NEW.size <> OLD.size THEN
                    UPDATE cache_totals SET bytes = bytes - OLD.size + NEW.size WHERE id = 1;
                END IF;
                RETURN NULL;
            END $$""",
            "CREATE TRIGGER cache_entries_totals AFTER INSERT OR DELETE OR UPDATE OF size"
            " ON cache_entries FOR EACH ROW EXECUTE FUNCTION cache_totals_track()",
        ),
    ),
    Migration(
        6,
        "alert_delivery_claims",
        (
            # An instance posting an alert to the webhook claims it until this time; an alert still
            # pending or failed after its claim ran out is posted again by whichever instance
            # claims it next (its poster died, or the webhook was down), up to a few attempts.
            "ALTER TABLE alerts ADD COLUMN claimed_until DOUBLE PRECISION",
            "ALTER TABLE alerts ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0",
            "CREATE INDEX alerts_undelivered ON alerts (id) WHERE delivered IN ('pending', 'failed')",
        ),
    ),
    Migration(
        7,
        "call_callers",
        ("ALTER TABLE calls ADD COLUMN caller TEXT",),  # as the SQLite ledger's migration 5
    ),
    Migration(
        8,
        "semantic_cache",
        (
            # The semantic cache's entries, shared by every instance; each keeps an in-memory index
            # of the vectors (float32 bytes) and follows new ids and the removal log. Every write
            # takes SEMANTIC_LOCK before its ids are drawn, so ids and removal seqs become visible
            # in order: an instance that has seen id n has seen every id below it.
            "CREATE SEQUENCE semantic_entry_ids",
            "CREATE SEQUENCE semantic_removed_seqs",
            """CREATE TABLE semantic_entries (
                id BIGINT PRIMARY KEY,
                scope TEXT NOT NULL,
                embedder TEXT NOT NULL,
                question TEXT NOT NULL,
                vector BYTEA NOT NULL,
                value BYTEA NOT NULL,
                size BIGINT NOT NULL,
                stored_at DOUBLE PRECISION NOT NULL,
                expires_at DOUBLE PRECISION NOT NULL,
                last_used DOUBLE PRECISION NOT NULL,
                namespace TEXT NOT NULL DEFAULT '',
                project TEXT,
                history TEXT NOT NULL DEFAULT '[]'
            )""",
            "CREATE INDEX semantic_entries_last_used ON semantic_entries (last_used)",
            "CREATE INDEX semantic_entries_expires_at ON semantic_entries (expires_at)",
            "CREATE INDEX semantic_entries_owner ON semantic_entries (namespace, project)",
            "CREATE TABLE semantic_removed (seq BIGINT PRIMARY KEY, entry_id BIGINT NOT NULL)",
            *_totals_table("semantic_totals"),
            f"""CREATE FUNCTION semantic_entry_id() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                PERFORM pg_advisory_xact_lock({SEMANTIC_LOCK});
                NEW.id := nextval('semantic_entry_ids');
                RETURN NEW;
            END $$""",
            "CREATE TRIGGER semantic_entries_id BEFORE INSERT ON semantic_entries"
            " FOR EACH ROW EXECUTE FUNCTION semantic_entry_id()",
            f"""CREATE FUNCTION semantic_track() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'INSERT' THEN
                    UPDATE semantic_totals SET entries = entries + 1, bytes = bytes + NEW.size WHERE id = 1;
                ELSE
                    PERFORM pg_advisory_xact_lock({SEMANTIC_LOCK});
                    UPDATE semantic_totals SET entries = entries - 1, bytes = bytes - OLD.size WHERE id = 1;
                    INSERT INTO semantic_removed VALUES (nextval('semantic_removed_seqs'), OLD.id);
                END IF;
                RETURN NULL;
            END $$""",
            "CREATE TRIGGER semantic_entries_totals AFTER INSERT OR DELETE ON semantic_entries"
            " FOR EACH ROW EXECUTE FUNCTION semantic_track()",
            # Upstream embeddings by embedder and text, for embedding_cache.ttl_seconds.
            """CREATE TABLE semantic_embeddings (
                key TEXT PRIMARY KEY,
                vector BYTEA NOT NULL,
                expires_at DOUBLE PRECISION NOT NULL
            )""",
            "CREATE INDEX semantic_embeddings_expires_at ON semantic_embeddings (expires_at)",
        ),
    ),
    Migration(
        9,
        "call_final_attempts",
        (
            # As the SQLite ledger's migration 6; the default fills the column without a rewrite.
            "ALTER TABLE calls ADD COLUMN final_attempt SMALLINT NOT NULL DEFAULT 1",
            MARK_EARLIER_ROWS,
            # Once per statement (an INSERT or a COPY of a whole batch), over the requests it
            # wrote: every row another row of its request outranks is final no more, which
            # leaves the one no other outranks. Set-based, so a batch costs one UPDATE, not two
            # per row as a row trigger would.
            f"""CREATE FUNCTION calls_final_attempt() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                UPDATE calls SET final_attempt = 0
                  FROM (SELECT DISTINCT request_id FROM new_calls) AS written
                 WHERE calls.request_id = written.request_id AND calls.final_attempt = 1
                   AND EXISTS (SELECT 1 FROM calls AS other WHERE other.request_id = calls.request_id
                               AND {OUTRANKS.format(a='other', b='calls')});
                RETURN NULL;
            END $$""",
            "CREATE TRIGGER calls_final_attempt AFTER INSERT ON calls REFERENCING NEW TABLE AS new_calls"
            " FOR EACH STATEMENT EXECUTE FUNCTION calls_final_attempt()",
        ),
    ),
    Migration(
        10,
        "cluster_settings",
        (
            # What every instance on the database must agree on, e.g. the audit key's fingerprint.
            """CREATE TABLE cluster_settings (
                name TEXT PRIMARY KEY,
                value TEXT NOT NULL
            )""",
        ),
    ),
    Migration(
        11,
        "budget_config_rules",
        (
            # As in the SQLite ledger: the config's rule for each budget's key when last loaded.
            "ALTER TABLE budgets ADD COLUMN config_limit_usd DOUBLE PRECISION",
            "ALTER TABLE budgets ADD COLUMN config_on_exceed TEXT",
        ),
    ),
    Migration(
        12,
        "alerts_per_limit",
        (
            # As the SQLite ledger's migration 8: once per threshold, window and limit. The rows stay.
            "ALTER TABLE alerts DROP CONSTRAINT alerts_scope_window_window_key_threshold_key",
            'ALTER TABLE alerts ADD CONSTRAINT alerts_once_per_limit UNIQUE (scope, "window", window_key,'
            " threshold, limit_usd)",
        ),
    ),
)

SCHEMA_VERSION = MIGRATIONS[-1].version


MIGRATION_TIMEOUT_MS = 60_000


async def migrate(conn: Connection, *, name: str = "the database",
                  upto: int = SCHEMA_VERSION) -> int:
    """Apply every migration newer than the stored version (up to ``upto``: tests build older
    versions with it) and return the resulting version."""
    async with conn.transaction():
        # A call's statement_timeout (100 ms is a sane setting) is too short for DDL on a busy
        # server, or for waiting on another instance's migration; still bounded (and the
        # connection's own watchdog is widened to match where it is opened).
        await conn.execute(f"SET LOCAL statement_timeout = {MIGRATION_TIMEOUT_MS}")
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", [MIGRATION_LOCK])
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations"
            " (version INTEGER PRIMARY KEY, applied_at DOUBLE PRECISION NOT NULL)"
        )
        cursor = await conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
        row = await cursor.fetchone()
        current = int(row[0]) if row else 0
        refuse_newer(current, SCHEMA_VERSION, name=name, elsewhere="another database")
        for migration in MIGRATIONS:
            if current < migration.version <= upto:
                for statement in migration.statements:
                    await conn.execute(statement)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES (%s, %s)",
                    [migration.version, time.time()],
                )
                current = migration.version
    return current
