// Package journal1m benchmarks the console's Requests page and the journal
// query API on a journal of 1,000,000 generated rows, on both backends
// (SQLite in a file under os.TempDir, PostgreSQL in its own schema of the
// test database). It holds only benchmarks; run them with
//
//	go test -run '^$' -bench Requests1M -benchtime 20x ./bench/journal_1m/
//
// The generated databases are kept between runs, keyed by row count: the
// SQLite file os.TempDir()/osa-console-bench-<rows>-v1.db and the PostgreSQL
// schema osa_console_bench_<rows>_v1 (drop it with DROP SCHEMA ... CASCADE).
// Environment:
//
//	OSA_BENCH_ROWS=N            rows to generate (default 1000000)
//	OSA_BENCH_REGEN=1           regenerate even when a cached database matches
//	OSA_TEST_POSTGRES_DSN=dsn   PostgreSQL server (default postgres://postgres@127.0.0.1:5432/test?sslmode=disable)
//	OSA_SKIP_POSTGRES=1         skip the PostgreSQL half when the server is unreachable
//
// Rows are generated fast: the journal's own migrations create the schema,
// its secondary indexes are dropped, the rows are bulk loaded (one prepared
// INSERT in 100,000-row transactions on SQLite, COPY on PostgreSQL) and the
// indexes are recreated from their stored definitions, then ANALYZE.
package journal1m
