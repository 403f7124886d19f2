package journal

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// insertColumns are written by Insert, in this order (id is assigned by the database).
const insertColumns = `ts, repository, repo_manager_host, repo_name, ecosystem, package, version, file, purl,
	operation, work_mode, status, blocked, policies, advisories, waiver, reason, initiator, client_ip,
	user_agent, request_id, snapshot, method, path, http_status, removed`

const numInsertColumns = 26

// selectColumns are read back into a Record by scanRecord.
const selectColumns = `id, ` + insertColumns

// maxFieldLen caps stored strings (bytes).
const maxFieldLen = 4096

// nowFunc is the clock (replaced in tests).
var nowFunc = time.Now

// clean makes s storable everywhere: valid UTF-8, no NUL, at most maxFieldLen bytes.
func clean(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "")
	}
	if len(s) > maxFieldLen {
		cut := maxFieldLen
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	return s
}

// encodeList stores a list as a JSON array ("" when empty).
func encodeList(l []string) string {
	if len(l) == 0 {
		return ""
	}
	c := make([]string, len(l))
	for i, v := range l {
		c[i] = clean(v)
	}
	b, _ := json.Marshal(c) // cannot fail for []string
	return string(b)
}

// decodeList reverses encodeList; a value that is not a JSON array (written
// by hand) is read as a comma-separated list.
func decodeList(s string) []string {
	if s == "" {
		return nil
	}
	var l []string
	if err := json.Unmarshal([]byte(s), &l); err == nil {
		return l
	}
	parts := strings.Split(s, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// appendRecordArgs appends the insertColumns values of r. Integers are int64
// (time.Time for ts on PostgreSQL), the types database/sql passes to a
// driver without reflection.
func (s *sqlStore) appendRecordArgs(args []any, r *Record) []any {
	t := r.Time
	if t.IsZero() {
		t = nowFunc()
	}
	return append(args,
		s.d.timeArg(t),
		clean(r.Repository),
		clean(r.RepoManagerHost),
		clean(r.RepoName),
		clean(r.Ecosystem),
		clean(r.Package),
		clean(r.Version),
		clean(r.File),
		clean(r.Purl),
		clean(r.Operation),
		clean(r.WorkMode),
		clean(r.Status),
		b2i(IsBlocked(r.Status)),
		encodeList(r.Policies),
		encodeList(r.Advisories),
		clean(r.Waiver),
		clean(r.Reason),
		clean(r.Initiator),
		clean(r.ClientIP),
		clean(r.UserAgent),
		clean(r.RequestID),
		clean(r.Snapshot),
		clean(r.Method),
		clean(r.Path),
		int64(r.HTTPStatus),
		int64(r.Removed),
	)
}

// insertSQL builds a SQLite INSERT of n rows with placeholders. It is
// INSERT OR FAIL: a plain (OR ABORT) INSERT of several rows makes SQLite keep
// a statement journal (a copy of every page the statement changes) so that a
// failing row can undo the rows before it. Nothing here needs that: no
// constraint can fail (every value is non-NULL, the id is assigned), and on
// any error Insert rolls back the whole transaction.
func (s *sqlStore) insertSQL(n int) string {
	var b strings.Builder
	b.Grow(64 + len(insertColumns) + n*(numInsertColumns*2+2))
	b.WriteString("INSERT OR FAIL INTO requests (")
	b.WriteString(insertColumns)
	b.WriteString(") VALUES ")
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?")
		for range numInsertColumns - 1 {
			b.WriteString(",?")
		}
		b.WriteByte(')')
	}
	return b.String()
}

// sqliteInsertRows is how many records one SQLite INSERT statement stores;
// the rest of a batch (fewer records) goes row by row. Per-statement costs
// (database/sql and driver calls, VDBE setup, the AUTOINCREMENT bookkeeping)
// are shared by the rows; 32 rows are 832 parameters.
const sqliteInsertRows = 32

// Insert stores a batch in one transaction. A zero Record.Time means now;
// Record.ID is ignored (the database assigns it).
func (s *sqlStore) Insert(ctx context.Context, recs []Record) error {
	if len(recs) == 0 {
		return nil
	}
	if s.d.name == DriverPostgres {
		return s.insertPostgres(ctx, recs)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("journal: insert: begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	// The statements execute under a context without cancellation: for a
	// cancellable one the driver starts a watcher goroutine and installs a
	// progress handler on every execution, which cost a fifth of the CPU time
	// of an insert. ctx still bounds the batch: it is checked before every
	// statement, database/sql rolls the transaction back when ctx ends (the
	// next statement or the commit then fails), and one statement of at most
	// sqliteInsertRows rows takes well under a millisecond.
	run := context.WithoutCancel(ctx)
	stmt := func(cached *sql.Stmt, rows int) (*sql.Stmt, error) {
		if cached != nil {
			return tx.StmtContext(ctx, cached), nil
		}
		return tx.PrepareContext(ctx, s.insertSQL(rows)) // a store not made by openSQLite
	}
	var many, one *sql.Stmt
	if len(recs) >= sqliteInsertRows {
		if many, err = stmt(s.insMany, sqliteInsertRows); err != nil {
			return fmt.Errorf("journal: insert: prepare: %w", err)
		}
		defer many.Close()
	}
	if len(recs)%sqliteInsertRows != 0 {
		if one, err = stmt(s.insOne, 1); err != nil {
			return fmt.Errorf("journal: insert: prepare: %w", err)
		}
		defer one.Close()
	}
	args := make([]any, 0, numInsertColumns*min(len(recs), sqliteInsertRows))
	for i := 0; i < len(recs); {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("journal: insert: %w", err)
		}
		st, n := one, 1
		if len(recs)-i >= sqliteInsertRows {
			st, n = many, sqliteInsertRows
		}
		args = args[:0]
		for j := i; j < i+n; j++ {
			args = s.appendRecordArgs(args, &recs[j])
		}
		if _, err := st.ExecContext(run, args...); err != nil {
			return fmt.Errorf("journal: insert: %w", err)
		}
		i += n
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("journal: insert: commit: %w", err)
	}
	return nil
}

// pgInsertSQL inserts a whole batch as one statement over column arrays, so
// its text (and server-side prepared statement) is the same for any batch size.
var pgInsertSQL = func() string {
	types := []string{"timestamptz"}
	for range 11 { // repository .. status
		types = append(types, "text")
	}
	types = append(types, "int2") // blocked
	for range 11 {                // policies .. path
		types = append(types, "text")
	}
	types = append(types, "int4", "int4") // http_status, removed
	if len(types) != numInsertColumns {
		panic("journal: pgInsertSQL: column count")
	}
	var b strings.Builder
	b.WriteString("INSERT INTO requests (" + insertColumns + ") SELECT * FROM unnest(")
	for i, t := range types {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "$%d::%s[]", i+1, t)
	}
	b.WriteString(")")
	return b.String()
}()

// insertPostgres stores a batch with one INSERT ... SELECT FROM unnest(...)
// (atomic on its own: no explicit transaction round trips).
func (s *sqlStore) insertPostgres(ctx context.Context, recs []Record) error {
	n := len(recs)
	ts := make([]time.Time, n)
	texts := make([][]string, numInsertColumns)
	ints := make([][]int32, numInsertColumns)
	row := make([]any, 0, numInsertColumns)
	for i := range recs {
		row = s.appendRecordArgs(row[:0], &recs[i])
		for j, v := range row {
			switch v := v.(type) {
			case time.Time:
				ts[i] = v
			case string:
				if texts[j] == nil {
					texts[j] = make([]string, n)
				}
				texts[j][i] = v
			case int64:
				if ints[j] == nil {
					ints[j] = make([]int32, n)
				}
				ints[j][i] = int32(min(max(v, -1<<31), 1<<31-1))
			}
		}
	}
	args := make([]any, numInsertColumns)
	args[0] = ts
	for j := 1; j < numInsertColumns; j++ {
		if texts[j] != nil {
			args[j] = texts[j]
		} else {
			args[j] = ints[j]
		}
	}
	if _, err := s.w.ExecContext(ctx, pgInsertSQL, args...); err != nil {
		return fmt.Errorf("journal: insert: %w", err)
	}
	return nil
}

// rowScanner is *sql.Rows or *sql.Row.
type rowScanner interface{ Scan(dest ...any) error }

func scanRecord(sc rowScanner, r *Record, extra ...any) error {
	var t dbTime
	var blocked int
	var policies, advisories string
	dest := []any{&r.ID, &t,
		&r.Repository, &r.RepoManagerHost, &r.RepoName, &r.Ecosystem, &r.Package, &r.Version, &r.File, &r.Purl,
		&r.Operation, &r.WorkMode, &r.Status, &blocked, &policies, &advisories, &r.Waiver, &r.Reason,
		&r.Initiator, &r.ClientIP, &r.UserAgent, &r.RequestID, &r.Snapshot, &r.Method, &r.Path,
		&r.HTTPStatus, &r.Removed}
	dest = append(dest, extra...)
	if err := sc.Scan(dest...); err != nil {
		return err
	}
	r.Time = t.t
	r.Policies = decodeList(policies)
	r.Advisories = decodeList(advisories)
	return nil
}
