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
// keep every column and row. Migration 2 rebuilt the repository-manager
// indexes as partial ones (about 3 s per million rows on either database, at
// the first Open of the new build); an older build still answers RepoManager
// filters on such a database, without those indexes.
//
// Table requests holds one row per Record. Time is stored as INTEGER Unix
// nanoseconds on SQLite and as TIMESTAMPTZ (microsecond precision) on
// PostgreSQL; times read back are UTC. Policies and Advisories are stored as
// JSON arrays in TEXT columns ("" when empty; a hand-written comma-separated
// value is read back too). A derived column blocked (1 for the blocked_*
// statuses) backs the Filter.Status "blocked" meta-status with a partial
// index. Every listing filter has an index whose trailing columns are
// (ts, id), so "newest first, one filter, since/until, keyset cursor" is an
// index range scan and the filter's COUNT(*) is an index-only count. The two
// repository-manager indexes leave out rows without a value (a proxy not
// behind a repository manager records none), so they cost inserts nothing
// there; their queries repeat the index condition (a non-empty value) so
// that the planner uses them. The package index also carries status and
// version (INCLUDE on PostgreSQL), so Package summaries and package+status
// filters never read table rows.
// Strings are made valid UTF-8, NUL bytes are removed and values are capped
// at 4 KiB before storage, so a hostile header cannot make PostgreSQL reject
// a whole batch.
//
// SQLite inserts a batch in one BEGIN IMMEDIATE transaction of INSERT OR
// FAIL statements of 32 rows each (the rest row by row), prepared once per
// store; OR FAIL spares SQLite a statement journal that could only matter
// if a row failed a constraint, which none can, and any error rolls the whole
// batch back. PostgreSQL inserts it as one INSERT ... SELECT FROM
// unnest($1::timestamptz[], ...), a single atomic statement whose text does
// not depend on the batch size.
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
// COUNT(*), unless NoTotal is set (Total = -1). RepoManager (host OR name) is
// evaluated as two index arms: the page is the UNION of each arm's newest ids,
// the count is |host| + |name| - |both| (the overlap only when both are
// non-zero). Status "blocked" alone uses the partial index; combined with
// another filter it becomes status IN (...), tested on that filter's index.
//
// Measured on 1,000,000 generated rows (bench_test.go, a 2-core machine
// shared with other jobs, so upper bounds): on SQLite a page of 100 takes
// 1-3 ms without Total; COUNT(*) of all rows 1.5-13 ms (SQLite counts a
// b-tree without visiting rows) and a filter matching 200,000-350,000 rows
// 40-90 ms. PostgreSQL counts at roughly 1 µs per matching row (300-700 ms
// for all 1M rows under that load); callers that page often should pass
// NoTotal after the first page.
//
// Package(name) is one ordered pass over the package index: first and last
// request, counts by status, and the verdict history (records whose status
// differs from the previous record of the same version, the first record of
// a version included, newest first, at most MaxVerdicts), reading table rows
// only for those verdicts.
//
// # Writer
//
// A Writer owns a bounded queue (QueueSize) drained by one goroutine that
// groups up to BatchSize records, or whatever arrived within FlushInterval of
// the first record of a batch, into one Store.Insert transaction. A failed
// Insert is retried with exponential backoff (MaxAttempts tries, about 10 s by
// default) keeping the same batch, so a database restart loses nothing that
// was accepted; a batch still failing after the last try is counted in
// Stats.Failed and logged. Delivery is at-least-once: if the connection dies
// after the server committed a batch but before the client saw the reply,
// the retry stores that batch twice.
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
