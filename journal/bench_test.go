package journal

// Benchmarks (not run by go test without -bench):
//
//	go test ./journal/ -run XXX -bench Writer -benchtime 200000x
//	go test ./journal/ -run XXX -bench Query1M -benchtime 200x
//
// The 1M-row SQLite database is cached in os.TempDir() between runs
// (osa-journal-bench-<rows>-v2.db); the PostgreSQL one lives in schema
// osa_bench_<rows>_v2 of the test database and is kept between runs too
// (drop it with DROP SCHEMA ... CASCADE). OSA_BENCH_ROWS overrides 1,000,000.

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// benchRecord returns a realistic record i of a synthetic month of traffic.
func benchRecord(rng *rand.Rand, zipf *rand.Zipf, i, n int) Record {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	span := 30 * 24 * time.Hour
	r := Record{
		Time:       start.Add(time.Duration(int64(span) / int64(n) * int64(i))).Truncate(time.Microsecond),
		Ecosystem:  "pypi",
		Package:    "pkg-" + strconv.FormatUint(zipf.Uint64(), 10),
		Repository: []string{"pypi-remote", "pypi-internal", "pypi-ml", "pypi-ci", "pypi-legacy"}[rng.Intn(5)],
		Method:     "GET",
		HTTPStatus: 200,
		UserAgent:  "pip/24.0 {\"ci\":null,\"cpu\":\"x86_64\"}",
		ClientIP:   fmt.Sprintf("10.0.%d.%d", rng.Intn(8), rng.Intn(250)),
		RequestID:  strconv.Itoa(i),
		Snapshot:   "osv-2026-01-01",
	}
	switch x := rng.Intn(100); {
	case x < 50:
		r.RepoManagerHost, r.RepoName = "artifactory.corp", "pypi-remote"
	case x < 80:
		r.RepoManagerHost, r.RepoName = "nexus.corp", "pypi-proxy"
	default:
	}
	switch x := rng.Intn(100); {
	case x < 70:
		r.WorkMode = "strict"
	case x < 95:
		r.WorkMode = "spectator"
	default:
		r.WorkMode = "warmup"
	}
	switch x := rng.Intn(100); {
	case x < 60:
		r.Operation = "index"
		r.Path = "/simple/" + r.Package + "/"
	case x < 95:
		r.Operation = "download"
		r.Version = fmt.Sprintf("%d.%d.%d", rng.Intn(4), rng.Intn(20), rng.Intn(10))
		r.File = r.Package + "-" + r.Version + "-py3-none-any.whl"
		r.Path = "/packages/ab/cd/" + r.File
	default:
		r.Operation = "metadata"
	}
	if x := rng.Intn(10); x > 0 {
		r.Initiator = "user" + strconv.Itoa(rng.Intn(500))
	}
	switch x := rng.Intn(100); {
	case x < 85:
		r.Status = StatusNotBlocked
	case x < 90:
		r.Status = StatusBlockedByPolicies
	case x < 92:
		r.Status = StatusBlockedUnscanned
	case x < 93:
		r.Status = StatusBlockedTimeout
	case x < 94:
		r.Status = StatusBlockedOnError
	case x < 98:
		r.Status = StatusWouldBlock
	default:
		r.Status = StatusDelayedBlock
	}
	if r.Status != StatusNotBlocked {
		r.Policies = []string{"no-critical-cves"}
		r.Advisories = []string{"PYSEC-2024-" + strconv.Itoa(rng.Intn(300)), "GHSA-abcd-efgh-ijkl"}
		r.Reason = "CVSS 9.8 >= 9.0"
		if IsBlocked(r.Status) {
			r.HTTPStatus = 403
		}
	}
	return r
}

// BulkInsertForBench fills an empty store with n generated rows as fast as
// the backend allows (big SQLite transactions; COPY on PostgreSQL).
func bulkInsertForBench(ctx context.Context, tb testing.TB, s *sqlStore, n int) {
	rng := rand.New(rand.NewSource(1))
	zipf := rand.NewZipf(rng, 1.1, 1, 19999)
	const chunk = 20000
	recs := make([]Record, 0, chunk)
	start := time.Now()
	for i := 0; i < n; i += chunk {
		recs = recs[:0]
		for j := i; j < min(i+chunk, n); j++ {
			recs = append(recs, benchRecord(rng, zipf, j, n))
		}
		var err error
		if s.d.name == DriverPostgres {
			err = copyRecords(ctx, s.w, recs)
		} else {
			err = s.Insert(ctx, recs)
		}
		if err != nil {
			tb.Fatalf("bulk insert: %v", err)
		}
	}
	if s.d.name == DriverSQLite {
		if _, err := s.w.ExecContext(ctx, "ANALYZE"); err != nil {
			tb.Fatal(err)
		}
	} else if _, err := s.w.ExecContext(ctx, "VACUUM ANALYZE requests"); err != nil {
		tb.Fatal(err)
	}
	tb.Logf("generated %d %s rows in %v", n, s.d.name, time.Since(start).Round(time.Millisecond))
}

// copyRecords inserts with PostgreSQL COPY through the pgx connection.
func copyRecords(ctx context.Context, db *sql.DB, recs []Record) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	cols := strings.Fields(strings.ReplaceAll(insertColumns, ",", " "))
	tmp := &sqlStore{d: postgresDialect}
	rows := make([][]any, len(recs))
	for i := range recs {
		rows[i] = tmp.appendRecordArgs(nil, &recs[i])
	}
	return conn.Raw(func(dc any) error {
		_, err := dc.(*stdlib.Conn).Conn().CopyFrom(ctx, pgx.Identifier{"requests"}, cols, pgx.CopyFromRows(rows))
		return err
	})
}

func benchRows() int {
	if v, err := strconv.Atoi(os.Getenv("OSA_BENCH_ROWS")); err == nil && v > 0 {
		return v
	}
	return 1_000_000
}

var benchStores sync.Map // driver -> *sqlStore, reused across sub-benchmarks

// benchStore opens (generating on first use) the cached n-row database.
func benchStore(b *testing.B, driver string, n int) *sqlStore {
	if s, ok := benchStores.Load(driver); ok {
		return s.(*sqlStore)
	}
	ctx := context.Background()
	var dsn string
	if driver == DriverSQLite {
		dsn = filepath.Join(os.TempDir(), fmt.Sprintf("osa-journal-bench-%d-v2.db", n))
	} else {
		base := postgresDSN(b) // fails clearly when the server is down; its throw-away schema is unused
		schema := fmt.Sprintf("osa_bench_%d_v2", n)
		db, err := sql.Open("pgx", postgresBaseDSN())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, "CREATE SCHEMA IF NOT EXISTS "+schema); err != nil {
			b.Fatal(err)
		}
		db.Close()
		dsn = base[:strings.LastIndex(base, "search_path=")] + "search_path=" + schema
	}
	st, err := Open(ctx, driver, dsn)
	if err != nil {
		b.Fatal(err)
	}
	s := st.(*sqlStore)
	have, err := s.Count(ctx, Filter{})
	if err != nil {
		b.Fatal(err)
	}
	if have != int64(n) {
		if have != 0 {
			if _, err := s.w.ExecContext(ctx, "DELETE FROM requests"); err != nil {
				b.Fatal(err)
			}
		}
		bulkInsertForBench(ctx, b, s, n)
	}
	benchStores.Store(driver, s)
	return s
}

// BenchmarkWriterSQLite measures sustained Writer throughput into SQLite
// from 16 concurrent producers: rec/s is wall-clock throughput, rec/cpu-s
// divides by the process CPU time (meaningful on a shared machine).
func BenchmarkWriterSQLite(b *testing.B) { benchWriter(b, DriverSQLite) }

// BenchmarkWriterPostgres is BenchmarkWriterSQLite on PostgreSQL.
func BenchmarkWriterPostgres(b *testing.B) { benchWriter(b, DriverPostgres) }

func benchWriter(b *testing.B, driver string) {
	for _, batch := range []int{1000, 5000} {
		b.Run("batch="+strconv.Itoa(batch), func(b *testing.B) {
			dsn := filepath.Join(b.TempDir(), "w.db")
			if driver == DriverPostgres {
				dsn = postgresDSN(b)
			}
			st, err := Open(context.Background(), driver, dsn)
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			rng := rand.New(rand.NewSource(2))
			zipf := rand.NewZipf(rng, 1.1, 1, 19999)
			recs := make([]Record, 1<<16)
			for i := range recs {
				recs[i] = benchRecord(rng, zipf, i, len(recs))
			}
			w := NewWriter(st, WriterConfig{BatchSize: batch, EnqueueTimeout: time.Minute})
			defer w.Close()
			const producers = 16
			b.ResetTimer()
			start, cpu0 := time.Now(), cpuTime()
			var wg sync.WaitGroup
			for p := range producers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := p; i < b.N; i += producers {
						r := recs[i%len(recs)]
						r.Time = time.Now() // as the proxy does: records arrive in time order
						w.Enqueue(r)
					}
				}()
			}
			wg.Wait()
			if err := w.Flush(context.Background()); err != nil {
				b.Fatal(err)
			}
			el, cpu := time.Since(start), cpuTime()-cpu0
			b.StopTimer()
			stats := w.Stats()
			if stats.Written != int64(b.N) || stats.Dropped != 0 {
				b.Fatalf("stats %+v for N=%d", stats, b.N)
			}
			b.ReportMetric(float64(b.N)/el.Seconds(), "rec/s")
			b.ReportMetric(float64(b.N)/cpu.Seconds(), "rec/cpu-s")
		})
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkQuery1M measures Requests queries on a 1M-row journal.
func BenchmarkQuery1M(b *testing.B) {
	n := benchRows()
	cases := []struct {
		name string
		f    Filter
		// pages follows NextCursor this many times before measuring.
		pages int
	}{
		{"newest", Filter{}, 0},
		{"newest-nototal", Filter{NoTotal: true}, 0},
		{"newest-page5", Filter{NoTotal: true}, 4},
		{"package", Filter{Package: "pkg-3"}, 0},
		{"package-rare", Filter{Package: "pkg-15000"}, 0},
		{"repository", Filter{Repository: "pypi-ml"}, 0},
		{"repo-manager", Filter{RepoManager: "nexus.corp"}, 0},
		{"status-blocked", Filter{Status: StatusBlocked}, 0},
		{"status-timeout", Filter{Status: StatusBlockedTimeout}, 0},
		{"mode-warmup", Filter{Mode: "warmup"}, 0},
		{"operation", Filter{Operation: "download"}, 0},
		{"initiator", Filter{Initiator: "user42"}, 0},
		{"since-until", Filter{Since: time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC), Until: time.Date(2026, 1, 12, 0, 0, 0, 0, time.UTC)}, 0},
		{"blocked-last-day", Filter{Status: StatusBlocked, Since: time.Date(2026, 1, 30, 0, 0, 0, 0, time.UTC)}, 0},
		{"package-blocked-page3", Filter{Package: "pkg-1", Status: StatusBlocked}, 2},
	}
	for _, driver := range []string{DriverSQLite, DriverPostgres} {
		b.Run(driver, func(b *testing.B) {
			s := benchStore(b, driver, n)
			ctx := context.Background()
			for _, c := range cases {
				b.Run(c.name, func(b *testing.B) {
					f := c.f
					f.Limit = 100
					for range c.pages {
						p, err := s.Query(ctx, f)
						if err != nil || p.NextCursor == "" {
							b.Fatalf("paging: %v (cursor %q)", err, p.NextCursor)
						}
						f.Cursor = p.NextCursor
					}
					p, err := s.Query(ctx, f) // warm the cache: measure steady state
					if err != nil {
						b.Fatal(err)
					}
					for b.Loop() {
						var err error
						if p, err = s.Query(ctx, f); err != nil {
							b.Fatal(err)
						}
					}
					if len(p.Requests) == 0 {
						b.Fatal("empty page")
					}
					b.ReportMetric(float64(p.Total), "total")
				})
			}
			b.Run("count-all", func(b *testing.B) {
				for b.Loop() {
					if _, err := s.Count(ctx, Filter{}); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("package-summary", func(b *testing.B) {
				for b.Loop() {
					if _, err := s.Package(ctx, "pkg-1"); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// BenchmarkInsertSQLite measures Store.Insert alone (batches of 1000, one
// transaction each), the ceiling for the Writer.
func BenchmarkInsertSQLite(b *testing.B) {
	st, err := Open(context.Background(), DriverSQLite, filepath.Join(b.TempDir(), "i.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	rng := rand.New(rand.NewSource(2))
	zipf := rand.NewZipf(rng, 1.1, 1, 19999)
	recs := make([]Record, 1<<16)
	for i := range recs {
		recs[i] = benchRecord(rng, zipf, i, len(recs))
	}
	const batch = 1000
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	for i := 0; i < b.N; i += batch {
		j := i % len(recs)
		if err := st.Insert(context.Background(), recs[j:min(j+batch, len(recs), j+b.N-i)]); err != nil {
			b.Fatal(err)
		}
	}
	el, cpu := time.Since(start), cpuTime()-cpu0
	b.ReportMetric(float64(b.N)/el.Seconds(), "rec/s")
	b.ReportMetric(float64(b.N)/cpu.Seconds(), "rec/cpu-s")
}
