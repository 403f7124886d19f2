package journal

import (
	"context"
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

// insertChunk is how many rows one INSERT statement carries (26 parameters
// per row stays below the parameter limits of both SQLite and PostgreSQL).
const insertChunk = 500

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

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

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
		r.HTTPStatus,
		r.Removed,
	)
}

// insertSQL builds a multi-row INSERT for n rows.
func (s *sqlStore) insertSQL(n int) string {
	var b strings.Builder
	b.Grow(64 + n*numInsertColumns*4)
	b.WriteString("INSERT INTO requests (")
	b.WriteString(insertColumns)
	b.WriteString(") VALUES ")
	p := 0
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		for j := range numInsertColumns {
			if j > 0 {
				b.WriteByte(',')
			}
			p++
			b.WriteString(s.d.ph(p))
		}
		b.WriteByte(')')
	}
	return b.String()
}

// Insert stores a batch in one transaction. A zero Record.Time means now;
// Record.ID is ignored (the database assigns it).
func (s *sqlStore) Insert(ctx context.Context, recs []Record) error {
	if len(recs) == 0 {
		return nil
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("journal: insert: begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	if s.d.name == DriverSQLite {
		// One prepared single-row statement per record: SQLite needs no
		// statement journal for it (a multi-row VALUES insert opens one and
		// costs about twice as much CPU).
		stmt, err := tx.PrepareContext(ctx, s.insertSQL(1))
		if err != nil {
			return fmt.Errorf("journal: insert: prepare: %w", err)
		}
		defer stmt.Close()
		args := make([]any, 0, numInsertColumns)
		for i := range recs {
			args = s.appendRecordArgs(args[:0], &recs[i])
			if _, err := stmt.ExecContext(ctx, args...); err != nil {
				return fmt.Errorf("journal: insert: %w", err)
			}
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("journal: insert: commit: %w", err)
		}
		return nil
	}
	args := make([]any, 0, min(len(recs), insertChunk)*numInsertColumns)
	var fullSQL string
	for start := 0; start < len(recs); start += insertChunk {
		end := min(start+insertChunk, len(recs))
		args = args[:0]
		for i := start; i < end; i++ {
			args = s.appendRecordArgs(args, &recs[i])
		}
		var q string
		if end-start == insertChunk {
			if fullSQL == "" {
				fullSQL = s.insertSQL(insertChunk)
			}
			q = fullSQL
		} else {
			q = s.insertSQL(end - start)
		}
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("journal: insert: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("journal: insert: commit: %w", err)
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
