package journal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Driver names accepted by Open.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
)

// Open opens a store: driver "sqlite" (dsn = file path, parent directories
// are created; ":memory:" for a private in-memory database) or "postgres"
// (dsn = connection string; "postgresql" and "pgx" are accepted aliases).
// Migrations run on open.
func Open(ctx context.Context, driver, dsn string) (Store, error) {
	switch strings.ToLower(driver) {
	case DriverSQLite, "sqlite3":
		return openSQLite(ctx, dsn)
	case DriverPostgres, "postgresql", "pgx":
		return openPostgres(ctx, dsn)
	}
	return nil, fmt.Errorf("journal: unknown driver %q (want %q or %q)", driver, DriverSQLite, DriverPostgres)
}

// dialect holds what differs between SQLite and PostgreSQL.
type dialect struct {
	name string
	// numbered placeholders ($1) instead of "?".
	numbered bool
	// timeAsNanos stores times as INTEGER Unix nanoseconds (SQLite).
	timeAsNanos bool
}

func (d dialect) ph(n int) string {
	if d.numbered {
		return "$" + strconv.Itoa(n)
	}
	return "?"
}

func (d dialect) timeArg(t time.Time) any {
	if d.timeAsNanos {
		return t.UnixNano()
	}
	return t.UTC()
}

var (
	sqliteDialect   = dialect{name: DriverSQLite, timeAsNanos: true}
	postgresDialect = dialect{name: DriverPostgres, numbered: true}
)

// sqlStore implements Store on database/sql for both dialects.
type sqlStore struct {
	d dialect
	// w is the connection pool used for writes (a single connection on SQLite).
	w *sql.DB
	// r serves reads (a query_only pool on SQLite; the same pool as w on PostgreSQL).
	r *sql.DB
	// insMany and insOne are the SQLite INSERTs of sqliteInsertRows rows and
	// of one row, prepared on w once (preparing the many-row one takes about
	// half a millisecond) and used by every Insert transaction.
	insMany, insOne *sql.Stmt
}

// Close closes the connection pools.
func (s *sqlStore) Close() error {
	var errs []error
	if s.d.name == DriverSQLite {
		// Keep planner statistics fresh for the next run (cheap, bounded by analysis_limit).
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, _ = s.w.ExecContext(ctx, "PRAGMA optimize")
		cancel()
	}
	for _, st := range []*sql.Stmt{s.insMany, s.insOne} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	if s.r != s.w {
		errs = append(errs, s.r.Close())
	}
	errs = append(errs, s.w.Close())
	return errors.Join(errs...)
}

// Driver reports the dialect of the store ("sqlite" or "postgres").
func (s *sqlStore) Driver() string { return s.d.name }

// dbTime scans a stored time in either representation.
type dbTime struct{ t time.Time }

func (x *dbTime) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		x.t = time.Time{}
	case int64:
		x.t = time.Unix(0, v).UTC()
	case time.Time:
		x.t = v.UTC()
	case float64:
		x.t = time.Unix(0, int64(v)).UTC()
	default:
		return fmt.Errorf("journal: cannot scan %T as time", v)
	}
	return nil
}
