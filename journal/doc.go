// Package journal stores every decision of the proxy durably (SQLite or
// PostgreSQL) through a bounded, batched writer that keeps writes off the
// request path, and answers the Requests queries of the admin API and console.
//
// # Backends
//
// Open(ctx, "sqlite", path) opens (and creates, with its parent directories)
// a SQLite file through the pure-Go modernc.org/sqlite driver in WAL mode with
// synchronous=NORMAL and a busy timeout. One connection writes (inserts,
// first triggers, purges and migrations all go through it, so SQLite never
// sees two writers from this process) and a small pool of query_only
// connections serves reads concurrently. The path ":memory:" gives a private
// in-memory database on a single connection (tests, throw-away setups).
//
// Open(ctx, "postgres", dsn) connects with github.com/jackc/pgx/v5 (through
// database/sql). Any libpq-style URL or key/value DSN works; unknown keys
// such as search_path=... are sent as run-time parameters, so a schema can be
// chosen in the DSN.
//
// # Schema
//
// Migrations are ordered SQL strings per dialect, recorded in a
// schema_migrations table (version, name, applied_at) and applied in one
// transaction on every Open; re-opening is a no-op. On PostgreSQL the
// transaction first takes pg_advisory_xact_lock, so several instances
// starting at once against one database serialize and agree. A database
// migrated by a newer build (unknown higher versions) is accepted: migrations
// are additive.
//
// Table requests holds one row per Record. Time is stored as INTEGER Unix
// nanoseconds on SQLite and as TIMESTAMPTZ (microsecond precision) on
// PostgreSQL; times read back are UTC. Policies and Advisories are stored as
// JSON arrays in TEXT columns ("" when empty). A derived column blocked
// (1 for the blocked_* statuses) backs the Filter.Status "blocked" meta-status
// with a partial index. Every listing filter has an index whose trailing
// columns are (ts, id), so "newest first, one filter, since/until, keyset
// cursor" is an index range scan. Strings are made valid UTF-8, NUL bytes are
// removed and values are capped at 4 KiB before storage, so a hostile header
// cannot make PostgreSQL reject a whole batch.
//
// Table first_triggers (key primary key, first) backs FirstTrigger with
// INSERT ... ON CONFLICT DO NOTHING followed by a SELECT, so every instance
// sharing a database reads back the same first time.
//
// # Queries
//
// Query lists newest first (ts DESC, id DESC). Since is inclusive, Until is
// exclusive. The cursor is an opaque base64url token encoding the (time, id)
// of the last row of the page; an invalid cursor yields ErrInvalidCursor.
// Total counts every row matching the filter (ignoring the cursor) with a real
// COUNT(*) over the same index, unless NoTotal is set (Total = -1).
//
// # Writer
//
// A Writer owns a bounded queue (QueueSize) drained by one goroutine that
// groups up to BatchSize records, or whatever arrived within FlushInterval of
// the first record of a batch, into one Store.Insert transaction. A failed
// Insert is retried with exponential backoff (MaxAttempts tries, about 10 s by
// default) keeping the same batch, so a database restart loses nothing that
// was accepted; a batch still failing after the last try is counted in
// Stats.Failed and logged.
//
// Enqueue never blocks while there is room. When the queue is full it applies
// backpressure: it blocks up to EnqueueTimeout, then drops the record, counts
// it in Stats.Dropped and logs (at most once every 10 s, with the running
// total). While the store is known to be failing (the last batch exhausted its
// retries) a full queue drops at once instead of stalling every request for
// EnqueueTimeout. Enqueue after Close returns false and counts as dropped.
//
// # Retention
//
// Purge deletes old rows in batches of a few thousand, each its own short
// transaction, so writers are never locked out for long. StartRetention runs
// it periodically.
package journal
