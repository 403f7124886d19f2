package journal1m

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // "pgx" database/sql driver
	_ "modernc.org/sqlite"             // "sqlite" database/sql driver

	"github.com/osaproxy/caddy-osaproxy/journal"
)

// cacheVersion changes whenever the generated data changes, so stale caches
// are not reused.
const cacheVersion = "v1"

// defaultPostgresDSN is the CI database (trust auth).
const defaultPostgresDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// genStart and genSpan place the generated month of traffic; genEnd is the
// console's "now".
var (
	genStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	genSpan  = 30 * 24 * time.Hour
	genEnd   = genStart.Add(genSpan)
)

func benchRows() int {
	if v, err := strconv.Atoi(os.Getenv("OSA_BENCH_ROWS")); err == nil && v > 0 {
		return v
	}
	return 1_000_000
}

func postgresBaseDSN() string {
	if v := os.Getenv("OSA_TEST_POSTGRES_DSN"); v != "" {
		return v
	}
	return defaultPostgresDSN
}

// generator yields the rows of a synthetic month of pip traffic behind
// Artifactory and Nexus: Zipf-distributed packages, about 10% blocked,
// times increasing with the row number.
type generator struct {
	rng  *rand.Rand
	zipf *rand.Zipf
	n    int
}

func newGenerator(n int) *generator {
	rng := rand.New(rand.NewSource(1))
	return &generator{rng: rng, zipf: rand.NewZipf(rng, 1.1, 1, 19999), n: n}
}

var (
	repositories = []string{"internet-pypi", "pypi-internal", "pypi-ml", "pypi-ci", "pypi-legacy"}
	blockReasons = []string{"MAL-2024-1234 is malicious", "CVSS 9.8 >= 9.0", "released less than 14 days ago"}
)

// record returns row i.
func (g *generator) record(i int) journal.Record {
	rng := g.rng
	pkg := "pkg-" + strconv.FormatUint(g.zipf.Uint64(), 10)
	r := journal.Record{
		Time:       genStart.Add(time.Duration(int64(genSpan) / int64(g.n) * int64(i))).Truncate(time.Microsecond),
		Repository: repositories[rng.Intn(len(repositories))],
		Ecosystem:  "pypi",
		Package:    pkg,
		Method:     "GET",
		HTTPStatus: 200,
		UserAgent:  `pip/24.0 {"ci":null,"cpu":"x86_64","implementation":{"name":"CPython","version":"3.12.3"}}`,
		ClientIP:   fmt.Sprintf("10.0.%d.%d", rng.Intn(8), rng.Intn(250)),
		RequestID:  "req-" + strconv.Itoa(i),
		Snapshot:   "sha256:3f9a1c2b7d4e",
	}
	switch x := rng.Intn(100); {
	case x < 50:
		r.RepoManagerHost, r.RepoName = "artifactory.corp", "pypi-remote"
	case x < 80:
		r.RepoManagerHost, r.RepoName = "nexus.corp", "pypi-proxy"
	}
	switch x := rng.Intn(100); {
	case x < 70:
		r.WorkMode = "strict"
	case x < 95:
		r.WorkMode = "spectator"
	default:
		r.WorkMode = "moderate"
	}
	switch x := rng.Intn(100); {
	case x < 60:
		r.Operation = "index"
		r.Path = "/" + r.Repository + "/simple/" + pkg + "/"
	case x < 95:
		r.Operation = "download"
		r.Version = fmt.Sprintf("%d.%d.%d", rng.Intn(4), rng.Intn(20), rng.Intn(10))
		r.File = strings.ReplaceAll(pkg, "-", "_") + "-" + r.Version + "-py3-none-any.whl"
		r.Purl = "pkg:pypi/" + pkg + "@" + r.Version
		r.Path = "/" + r.Repository + "/packages/ab/cd/0123456789abcdef/" + r.File
	default:
		r.Operation = "metadata"
		r.Version = fmt.Sprintf("%d.%d.%d", rng.Intn(4), rng.Intn(20), rng.Intn(10))
		r.File = strings.ReplaceAll(pkg, "-", "_") + "-" + r.Version + "-py3-none-any.whl.metadata"
		r.Path = "/" + r.Repository + "/packages/ab/cd/0123456789abcdef/" + r.File
	}
	if rng.Intn(10) > 0 {
		r.Initiator = "user" + strconv.Itoa(rng.Intn(500))
	}
	switch x := rng.Intn(100); {
	case x < 85:
		r.Status = journal.StatusNotBlocked
		if r.Operation == "index" && rng.Intn(10) == 0 {
			r.Removed = 1 + rng.Intn(3)
			r.Policies = []string{"Dangerous dependency at the proxy stage"}
			r.Advisories = []string{"MAL-2024-" + strconv.Itoa(rng.Intn(3000))}
		}
	case x < 90:
		r.Status = journal.StatusBlockedByPolicies
	case x < 92:
		r.Status = journal.StatusBlockedUnscanned
	case x < 93:
		r.Status = journal.StatusBlockedTimeout
	case x < 94:
		r.Status = journal.StatusBlockedOnError
	case x < 98:
		r.Status = journal.StatusWouldBlock
	default:
		r.Status = journal.StatusDelayedBlock
	}
	if r.Status != journal.StatusNotBlocked {
		r.Policies = []string{"Dangerous dependency at the proxy stage", "Critical vulnerabilities"}[:1+rng.Intn(2)]
		r.Advisories = []string{"PYSEC-2024-" + strconv.Itoa(rng.Intn(300)), "GHSA-abcd-efgh-ijkl"}
		r.Reason = blockReasons[rng.Intn(len(blockReasons))]
		if journal.IsBlocked(r.Status) {
			r.HTTPStatus = 403
		}
	}
	return r
}

// columnValue maps a column of the requests table to the value the journal
// stores for r (times as Unix nanoseconds on SQLite, lists as JSON arrays).
// An unknown column means the schema changed and this generator must follow.
func columnValue(col string, r *journal.Record, sqlite bool) (any, error) {
	list := func(l []string) string {
		if len(l) == 0 {
			return ""
		}
		b, _ := json.Marshal(l)
		return string(b)
	}
	switch col {
	case "ts":
		if sqlite {
			return r.Time.UnixNano(), nil
		}
		return r.Time, nil
	case "repository":
		return r.Repository, nil
	case "repo_manager_host":
		return r.RepoManagerHost, nil
	case "repo_name":
		return r.RepoName, nil
	case "ecosystem":
		return r.Ecosystem, nil
	case "package":
		return r.Package, nil
	case "version":
		return r.Version, nil
	case "file":
		return r.File, nil
	case "purl":
		return r.Purl, nil
	case "operation":
		return r.Operation, nil
	case "work_mode":
		return r.WorkMode, nil
	case "status":
		return r.Status, nil
	case "blocked":
		if journal.IsBlocked(r.Status) {
			return int16(1), nil
		}
		return int16(0), nil
	case "policies":
		return list(r.Policies), nil
	case "advisories":
		return list(r.Advisories), nil
	case "waiver":
		return r.Waiver, nil
	case "reason":
		return r.Reason, nil
	case "initiator":
		return r.Initiator, nil
	case "client_ip":
		return r.ClientIP, nil
	case "user_agent":
		return r.UserAgent, nil
	case "request_id":
		return r.RequestID, nil
	case "snapshot":
		return r.Snapshot, nil
	case "method":
		return r.Method, nil
	case "path":
		return r.Path, nil
	case "http_status":
		return int32(r.HTTPStatus), nil
	case "removed":
		return int32(r.Removed), nil
	}
	return nil, fmt.Errorf("requests column %q is unknown to the generator (update columnValue)", col)
}

// rowValues renders r for cols.
func rowValues(cols []string, r *journal.Record, sqlite bool, dst []any) ([]any, error) {
	dst = dst[:0]
	for _, c := range cols {
		v, err := columnValue(c, r, sqlite)
		if err != nil {
			return nil, err
		}
		dst = append(dst, v)
	}
	return dst, nil
}

// counter is implemented by the journal's stores.
type counter interface {
	Count(ctx context.Context, f journal.Filter) (int64, error)
}

func countRows(ctx context.Context, st journal.Store) (int64, error) {
	if c, ok := st.(counter); ok {
		return c.Count(ctx, journal.Filter{})
	}
	p, err := st.Query(ctx, journal.Filter{Limit: 1})
	return p.Total, err
}

// benchDB is one backend with its generated journal.
type benchDB struct {
	driver string
	dsn    string
	store  journal.Store
	// generated is how long generation took (0: reused a cached database).
	generated time.Duration
}

// openBenchDB opens the cached n-row journal of driver, generating it when
// missing, incomplete or when OSA_BENCH_REGEN=1.
func openBenchDB(tb testing.TB, driver string, n int) *benchDB {
	tb.Helper()
	ctx := context.Background()
	db := &benchDB{driver: driver}
	var schema string
	switch driver {
	case journal.DriverSQLite:
		db.dsn = filepath.Join(os.TempDir(), fmt.Sprintf("osa-console-bench-%d-%s.db", n, cacheVersion))
	case journal.DriverPostgres:
		schema = fmt.Sprintf("osa_console_bench_%d_%s", n, cacheVersion)
		admin, err := sql.Open("pgx", postgresBaseDSN())
		if err != nil {
			tb.Fatal(err)
		}
		defer admin.Close()
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err = admin.PingContext(pctx)
		cancel()
		if err != nil {
			if os.Getenv("OSA_SKIP_POSTGRES") == "1" {
				tb.Skipf("PostgreSQL at %s unreachable and OSA_SKIP_POSTGRES=1: %v", postgresBaseDSN(), err)
			}
			tb.Fatalf("the PostgreSQL half needs a server at %s (OSA_TEST_POSTGRES_DSN; OSA_SKIP_POSTGRES=1 skips it): %v", postgresBaseDSN(), err)
		}
		if _, err := admin.ExecContext(ctx, "CREATE SCHEMA IF NOT EXISTS "+schema); err != nil {
			tb.Fatal(err)
		}
		db.dsn = withSearchPath(postgresBaseDSN(), schema)
	}
	regen := os.Getenv("OSA_BENCH_REGEN") == "1"
	if !regen {
		st, err := journal.Open(ctx, driver, db.dsn)
		if err != nil {
			tb.Fatal(err)
		}
		have, err := countRows(ctx, st)
		if err != nil {
			tb.Fatal(err)
		}
		if have == int64(n) {
			fmt.Fprintf(os.Stderr, "journal1m: %s: using the cached %d-row journal (OSA_BENCH_REGEN=1 regenerates it)\n", driver, n)
			db.store = st
			return db
		}
		_ = st.Close()
		fmt.Fprintf(os.Stderr, "journal1m: %s: cached journal has %d rows, want %d: regenerating\n", driver, have, n)
	}
	start, cpu0 := time.Now(), cpuTime()
	switch driver {
	case journal.DriverSQLite:
		for _, suffix := range []string{"", "-wal", "-shm"} {
			if err := os.Remove(db.dsn + suffix); err != nil && !os.IsNotExist(err) {
				tb.Fatal(err)
			}
		}
		createSchema(tb, driver, db.dsn)
		if err := fillSQLite(ctx, db.dsn, n); err != nil {
			tb.Fatalf("generating %d SQLite rows: %v", n, err)
		}
	case journal.DriverPostgres:
		admin, err := sql.Open("pgx", postgresBaseDSN())
		if err != nil {
			tb.Fatal(err)
		}
		_, err = admin.ExecContext(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE; CREATE SCHEMA "+schema)
		admin.Close()
		if err != nil {
			tb.Fatal(err)
		}
		createSchema(tb, driver, db.dsn)
		if err := fillPostgres(ctx, db.dsn, schema, n); err != nil {
			tb.Fatalf("generating %d PostgreSQL rows: %v", n, err)
		}
	}
	db.generated = time.Since(start)
	st, err := journal.Open(ctx, driver, db.dsn)
	if err != nil {
		tb.Fatal(err)
	}
	if have, err := countRows(ctx, st); err != nil || have != int64(n) {
		tb.Fatalf("%s: generated journal has %d rows (%v), want %d", driver, have, err, n)
	}
	db.store = st
	// On stderr: benchmark logs of a parent of sub-benchmarks are not shown.
	fmt.Fprintf(os.Stderr, "journal1m: %s: generated %d rows in %v (%v CPU in this process)\n",
		driver, n, db.generated.Round(time.Millisecond), (cpuTime() - cpu0).Round(time.Millisecond))
	return db
}

// withSearchPath adds search_path=schema to a URL-form PostgreSQL DSN.
func withSearchPath(dsn, schema string) string {
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return dsn + sep + "search_path=" + schema
}

// createSchema lets the journal create its tables and indexes.
func createSchema(tb testing.TB, driver, dsn string) {
	tb.Helper()
	st, err := journal.Open(context.Background(), driver, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	if err := st.Close(); err != nil {
		tb.Fatal(err)
	}
}

// fillSQLite bulk loads n rows into the journal's SQLite file.
func fillSQLite(ctx context.Context, path string, n int) error {
	db, err := sql.Open("sqlite", path)
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	for _, p := range []string{"PRAGMA journal_mode=WAL", "PRAGMA synchronous=OFF", "PRAGMA cache_size=-262144", "PRAGMA temp_store=MEMORY"} {
		if _, err := db.ExecContext(ctx, p); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
	}
	var cols []string
	rows, err := db.QueryContext(ctx, "SELECT name FROM pragma_table_info('requests') WHERE name <> 'id' ORDER BY cid")
	if err != nil {
		return err
	}
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return err
		}
		cols = append(cols, c)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rows.Close()
	var names, defs []string
	rows, err = db.QueryContext(ctx, "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'requests' AND sql IS NOT NULL")
	if err != nil {
		return err
	}
	for rows.Next() {
		var name, def string
		if err := rows.Scan(&name, &def); err != nil {
			return err
		}
		names, defs = append(names, name), append(defs, def)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rows.Close()
	for _, name := range names {
		if _, err := db.ExecContext(ctx, `DROP INDEX "`+name+`"`); err != nil {
			return err
		}
	}
	insert := "INSERT INTO requests (" + strings.Join(cols, ", ") + ") VALUES (" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
	g := newGenerator(n)
	const chunk = 100_000
	var args []any
	for i := 0; i < n; i += chunk {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		stmt, err := tx.PrepareContext(ctx, insert)
		if err != nil {
			tx.Rollback() //nolint:errcheck
			return err
		}
		for j := i; j < min(i+chunk, n); j++ {
			r := g.record(j)
			if args, err = rowValues(cols, &r, true, args); err != nil {
				tx.Rollback() //nolint:errcheck
				return err
			}
			if _, err := stmt.ExecContext(ctx, args...); err != nil {
				tx.Rollback() //nolint:errcheck
				return err
			}
		}
		stmt.Close()
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	for _, def := range defs {
		if _, err := db.ExecContext(ctx, def); err != nil {
			return fmt.Errorf("%s: %w", def, err)
		}
	}
	for _, q := range []string{"ANALYZE", "PRAGMA wal_checkpoint(TRUNCATE)"} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return nil
}

// fillPostgres bulk loads n rows into the journal's table in schema with COPY.
func fillPostgres(ctx context.Context, dsn, schema string, n int) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	var cols []string
	rows, err := conn.Query(ctx, `SELECT column_name FROM information_schema.columns
		WHERE table_schema = $1 AND table_name = 'requests' AND column_name <> 'id' ORDER BY ordinal_position`, schema)
	if err != nil {
		return err
	}
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return err
		}
		cols = append(cols, c)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	var names, defs []string
	rows, err = conn.Query(ctx, `SELECT i.indexname, i.indexdef FROM pg_indexes i
		WHERE i.schemaname = $1 AND i.tablename = 'requests'
		AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname AND c.connamespace = $1::regnamespace)`, schema)
	if err != nil {
		return err
	}
	for rows.Next() {
		var name, def string
		if err := rows.Scan(&name, &def); err != nil {
			return err
		}
		names, defs = append(names, name), append(defs, def)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, name := range names {
		if _, err := conn.Exec(ctx, "DROP INDEX "+pgx.Identifier{schema, name}.Sanitize()); err != nil {
			return err
		}
	}
	if _, err := conn.Exec(ctx, "SET maintenance_work_mem = '256MB'"); err != nil {
		return err
	}
	g := newGenerator(n)
	const chunk = 100_000
	for i := 0; i < n; i += chunk {
		end := min(i+chunk, n)
		j := i
		var genErr error
		src := pgx.CopyFromFunc(func() ([]any, error) {
			if j >= end {
				return nil, nil
			}
			r := g.record(j)
			j++
			v, err := rowValues(cols, &r, false, nil)
			if err != nil {
				genErr = err
			}
			return v, err
		})
		if _, err := conn.CopyFrom(ctx, pgx.Identifier{schema, "requests"}, cols, src); err != nil {
			if genErr != nil {
				return genErr
			}
			return err
		}
	}
	for _, def := range defs {
		if _, err := conn.Exec(ctx, def); err != nil {
			return fmt.Errorf("%s: %w", def, err)
		}
	}
	if _, err := conn.Exec(ctx, "VACUUM ANALYZE "+pgx.Identifier{schema, "requests"}.Sanitize()); err != nil {
		return err
	}
	return nil
}
