package journal

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // "pgx" driver for the admin connection
)

// defaultPostgresDSN is the CI database (trust auth).
const defaultPostgresDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

func postgresBaseDSN() string {
	if v := os.Getenv("OSA_TEST_POSTGRES_DSN"); v != "" {
		return v
	}
	return defaultPostgresDSN
}

// testBackend opens fresh, empty databases of one kind.
type testBackend struct {
	name string
	// newDSN returns a DSN of a fresh empty database, removed at the end of the test.
	newDSN func(t testing.TB) string
}

var (
	pgOnce sync.Once
	pgErr  error
)

// postgresAvailable checks once whether the test server answers.
func postgresAvailable() error {
	pgOnce.Do(func() {
		db, err := sql.Open("pgx", postgresBaseDSN())
		if err != nil {
			pgErr = err
			return
		}
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		pgErr = db.PingContext(ctx)
	})
	return pgErr
}

func sqliteDSN(t testing.TB) string {
	return filepath.Join(t.TempDir(), "journal.db")
}

// postgresDSN creates a schema osa_test_<random> and returns a DSN whose
// search_path points at it; the schema is dropped when the test ends. An
// unreachable server fails the test unless OSA_SKIP_POSTGRES=1.
func postgresDSN(t testing.TB) string {
	if err := postgresAvailable(); err != nil {
		if os.Getenv("OSA_SKIP_POSTGRES") == "1" {
			t.Skipf("PostgreSQL at %s unreachable and OSA_SKIP_POSTGRES=1: %v", postgresBaseDSN(), err)
		}
		t.Fatalf("PostgreSQL tests need a server at %s (set OSA_TEST_POSTGRES_DSN to use another, or OSA_SKIP_POSTGRES=1 to skip them): %v",
			postgresBaseDSN(), err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "osa_test_" + hex.EncodeToString(b[:])
	admin, err := sql.Open("pgx", postgresBaseDSN())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		if _, err := admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	sep := "?"
	if strings.Contains(postgresBaseDSN(), "?") {
		sep = "&"
	}
	return postgresBaseDSN() + sep + "search_path=" + schema
}

func testBackends() []testBackend {
	return []testBackend{
		{name: DriverSQLite, newDSN: sqliteDSN},
		{name: DriverPostgres, newDSN: postgresDSN},
	}
}

// eachBackend runs fn as a subtest per backend.
func eachBackend(t *testing.T, fn func(t *testing.T, b testBackend)) {
	for _, b := range testBackends() {
		t.Run(b.name, func(t *testing.T) { fn(t, b) })
	}
}

// openTest opens dsn with the backend's driver and closes it at the end.
func openTest(t testing.TB, b testBackend, dsn string) Store {
	t.Helper()
	s, err := Open(context.Background(), b.name, dsn)
	if err != nil {
		t.Fatalf("Open(%s): %v", b.name, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// newTestStore opens a fresh, empty store.
func newTestStore(t testing.TB, b testBackend) Store {
	t.Helper()
	return openTest(t, b, b.newDSN(t))
}

func countAll(t testing.TB, s Store) int64 {
	t.Helper()
	p, err := s.Query(context.Background(), Filter{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	return p.Total
}
