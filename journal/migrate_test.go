package journal

import (
	"context"
	"database/sql"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// openV1 creates the database of dsn with only migration 1 applied (the
// schema of the builds before migration 2) and returns a store on it.
func openV1(t *testing.T, b testBackend, dsn string) (*sqlStore, *sql.DB) {
	t.Helper()
	d, driver := sqliteDialect, "sqlite"
	if b.name == DriverPostgres {
		d, driver = postgresDialect, "pgx"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	if err := migrate(context.Background(), db, d, migrationsFor(d)[:1]); err != nil {
		db.Close()
		t.Fatal(err)
	}
	return &sqlStore{d: d, w: db, r: db}, db
}

// indexDefs returns the SQL of the requests indexes by name.
func indexDefs(t *testing.T, s Store) map[string]string {
	t.Helper()
	ss := s.(*sqlStore)
	q := `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'requests' AND sql IS NOT NULL`
	if ss.d.name == DriverPostgres {
		q = `SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'requests' AND schemaname = current_schema()`
	}
	rows, err := ss.r.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	defs := map[string]string{}
	for rows.Next() {
		var name, def string
		if err := rows.Scan(&name, &def); err != nil {
			t.Fatal(err)
		}
		defs[name] = def
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return defs
}

func allRecords(t *testing.T, s Store) []Record {
	t.Helper()
	p, err := s.Query(context.Background(), Filter{Limit: MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	if p.NextCursor != "" {
		t.Fatal("more than MaxLimit records")
	}
	return p.Requests
}

// TestMigration2UpgradesV1 opens a database created by a build that knew only
// migration 1: Open rebuilds the repository-manager indexes as partial ones,
// keeps every row, and the RepoManager filters keep their answers and their
// indexes.
func TestMigration2UpgradesV1(t *testing.T) {
	eachBackend(t, func(t *testing.T, b testBackend) {
		dsn := b.newDSN(t)
		old, db := openV1(t, b, dsn)
		recs := fixture(150)
		insertFixture(t, old, recs, 40)
		if got := schemaVersions(t, old); !slices.Equal(got, []int{1}) {
			t.Fatalf("old schema versions %v", got)
		}
		before := allRecords(t, old)
		oldDefs := indexDefs(t, old)
		if len(before) != len(recs) || strings.Contains(oldDefs["requests_rm_host"], "WHERE") {
			t.Fatalf("old database: %d rows, rm_host index %q", len(before), oldDefs["requests_rm_host"])
		}
		db.Close()

		s := openTest(t, b, dsn)
		if got := schemaVersions(t, s); !slices.Equal(got, []int{1, 2}) {
			t.Errorf("versions after upgrade %v, want [1 2]", got)
		}
		if after := allRecords(t, s); !reflect.DeepEqual(after, before) {
			t.Errorf("rows changed by the upgrade:\n got %+v\nwant %+v", after, before)
		}
		defs := indexDefs(t, s)
		if len(defs) != len(oldDefs) {
			t.Errorf("indexes after upgrade %v, before %v", defs, oldDefs)
		}
		for name, def := range defs {
			partialRM := name == "requests_rm_host" || name == "requests_rm_name"
			if partialRM != strings.Contains(def, "<> ''") {
				t.Errorf("index %s: %s", name, def)
			}
			if !partialRM && def != oldDefs[name] {
				t.Errorf("index %s changed: %s, was %s", name, def, oldDefs[name])
			}
		}
		for _, f := range []Filter{
			{RepoManager: "artifactory.corp"}, {RepoManager: "py-proxy"}, {RepoManager: "pypi-remote"},
			{RepoManager: "py-proxy", Status: StatusBlocked}, {RepoManager: "nowhere"},
		} {
			f.Limit = MaxLimit
			p, err := s.Query(context.Background(), f)
			if err != nil {
				t.Fatal(err)
			}
			want := expectedIDs(recs, f)
			if got := requestIDs(p.Requests); !slices.Equal(got, want) || p.Total != int64(len(want)) {
				t.Errorf("%+v: got %v (total %d), want %v", f, got, p.Total, want)
			}
		}
		// New records go on being stored and found.
		more := fixture(3)
		for i := range more {
			more[i].RequestID = fmt.Sprintf("req-%d", 1000+i)
			more[i].RepoManagerHost = "new-host"
		}
		insertFixture(t, s, more, 10)
		if p, err := s.Query(context.Background(), Filter{RepoManager: "new-host"}); err != nil || p.Total != 3 {
			t.Errorf("new rows: %v, total %d", err, p.Total)
		}
		if b.name == DriverSQLite {
			plan := explainSQLite(t, s, Filter{RepoManager: "x"})
			for _, col := range []string{"host", "name"} {
				if !strings.Contains(plan, "requests_rm_"+col) {
					t.Errorf("RepoManager query does not use requests_rm_%s:\n%s", col, plan)
				}
			}
		}
	})
}

// explainSQLite returns SQLite's plan of the page query and the counts of f.
func explainSQLite(t *testing.T, s Store, f Filter) string {
	t.Helper()
	ss := s.(*sqlStore)
	var qs []string
	var argss [][]any
	for _, rm := range arms(f) {
		a := &sqlArgs{d: ss.d}
		qs = append(qs, "SELECT count(*) FROM requests"+whereClause(ss.filterConds(f, rm, a)))
		argss = append(argss, a.args)
		a = &sqlArgs{d: ss.d}
		qs = append(qs, "SELECT id FROM requests"+whereClause(ss.filterConds(f, rm, a))+" ORDER BY ts DESC, id DESC LIMIT 101")
		argss = append(argss, a.args)
	}
	var out strings.Builder
	for i, q := range qs {
		rows, err := ss.r.Query("EXPLAIN QUERY PLAN "+q, argss[i]...)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&out, "%s -- %s\n", q, detail)
		}
		rows.Close()
	}
	return out.String()
}

// TestRMQueriesUseIndexes: every RepoManager query (page and count, both
// arms) is an index search on SQLite, never a scan of the table.
func TestRMQueriesUseIndexes(t *testing.T) {
	s := newTestStore(t, testBackends()[0])
	insertFixture(t, s, fixture(50), 50)
	if _, err := s.(*sqlStore).w.Exec("ANALYZE"); err != nil {
		t.Fatal(err)
	}
	for _, f := range []Filter{
		{RepoManager: "x"},
		{RepoManager: "x", Since: t0},
		{RepoManager: "x", Status: StatusBlocked},
	} {
		plan := explainSQLite(t, s, f)
		for _, line := range strings.Split(strings.TrimSpace(plan), "\n") {
			if !strings.Contains(line, "USING COVERING INDEX requests_rm_") && !strings.Contains(line, "USING INDEX requests_rm_") {
				t.Errorf("%+v: %s", f, line)
			}
		}
	}
}

// insertReference is the SQLite insert before multi-row statements: one
// prepared single-row INSERT per record in one transaction.
func insertReference(t *testing.T, s *sqlStore, recs []Record) {
	t.Helper()
	tx, err := s.w.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback() //nolint:errcheck
	stmt, err := tx.Prepare(strings.Replace(s.insertSQL(1), "INSERT OR FAIL", "INSERT", 1))
	if err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		if _, err := stmt.Exec(s.appendRecordArgs(nil, &recs[i])...); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// rawRows returns every column of every requests row, in id order.
func rawRows(t *testing.T, s *sqlStore) [][]any {
	t.Helper()
	rows, err := s.r.Query("SELECT * FROM requests ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out [][]any
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out = append(out, vals)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestInsertMatchesReference stores the same batches, of sizes around the
// multi-row statement size, with Insert and with the single-row reference:
// both databases hold identical rows (ids included).
func TestInsertMatchesReference(t *testing.T) {
	fast := newTestStore(t, testBackends()[0]).(*sqlStore)
	ref := newTestStore(t, testBackends()[0]).(*sqlStore)
	recs := fixture(1500)
	recs[5].UserAgent = "bad\x00nul\xff"
	recs[40].Path = strings.Repeat("é", 3000)
	recs[41].Time = time.Time{} // now
	n := 0
	for _, size := range []int{1, 2, sqliteInsertRows - 1, sqliteInsertRows, sqliteInsertRows + 1,
		2*sqliteInsertRows + 5, 3 * sqliteInsertRows, 1000} {
		batch := recs[n : n+size]
		n += size
		now := time.Now()
		nowFunc = func() time.Time { return now }
		insertReference(t, ref, batch)
		err := fast.Insert(context.Background(), batch)
		nowFunc = time.Now
		if err != nil {
			t.Fatalf("batch of %d: %v", size, err)
		}
	}
	got, want := rawRows(t, fast), rawRows(t, ref)
	if len(got) != n {
		t.Fatalf("%d rows stored, want %d", len(got), n)
	}
	if !reflect.DeepEqual(got, want) {
		for i := range want {
			if !reflect.DeepEqual(got[i], want[i]) {
				t.Fatalf("row %d:\n got %v\nwant %v", i, got[i], want[i])
			}
		}
	}
}

// TestInsertCancelledIsAtomic: a batch whose context ends while it is being
// written is stored entirely or not at all, and an error means not at all.
func TestInsertCancelledIsAtomic(t *testing.T) {
	s := newTestStore(t, testBackends()[0])
	recs := fixture(20000)
	cancelled := 0
	for _, after := range []time.Duration{0, time.Millisecond, 5 * time.Millisecond, 20 * time.Millisecond} {
		before := countAll(t, s)
		ctx, cancel := context.WithCancel(context.Background())
		if after == 0 {
			cancel()
		} else {
			time.AfterFunc(after, cancel)
		}
		err := s.Insert(ctx, recs)
		cancel()
		added := countAll(t, s) - before
		switch {
		case err != nil && added != 0:
			t.Errorf("cancel after %v: error %v but %d rows stored", after, err, added)
		case err == nil && added != int64(len(recs)):
			t.Errorf("cancel after %v: no error but %d of %d rows stored", after, added, len(recs))
		case err == nil && after == 0:
			t.Error("Insert with a cancelled context succeeded")
		case err != nil && after > 0:
			cancelled++
		}
	}
	if cancelled == 0 {
		t.Error("no insert was cancelled while it was writing")
	}
}
