package journal

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Page size limits of Query.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// StatusBlocked is the Filter.Status meta-status matching every blocked_* status.
const StatusBlocked = "blocked"

// ErrInvalidCursor is returned by Query for a cursor it did not produce.
var ErrInvalidCursor = errors.New("journal: invalid cursor")

// pageCursor is the keyset position after the last row of a page.
type pageCursor struct {
	nanos int64 // Unix nanoseconds of the row's time
	id    int64
}

const cursorPrefix = "v1."

func (c pageCursor) String() string {
	raw := cursorPrefix + strconv.FormatInt(c.nanos, 10) + "." + strconv.FormatInt(c.id, 10)
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

func parseCursor(s string) (pageCursor, error) {
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return pageCursor{}, ErrInvalidCursor
	}
	rest, ok := strings.CutPrefix(string(raw), cursorPrefix)
	if !ok {
		return pageCursor{}, ErrInvalidCursor
	}
	ts, ids, ok := strings.Cut(rest, ".")
	if !ok {
		return pageCursor{}, ErrInvalidCursor
	}
	n, err1 := strconv.ParseInt(ts, 10, 64)
	id, err2 := strconv.ParseInt(ids, 10, 64)
	if err1 != nil || err2 != nil {
		return pageCursor{}, ErrInvalidCursor
	}
	return pageCursor{nanos: n, id: id}, nil
}

// sqlArgs collects positional arguments and renders their placeholders.
type sqlArgs struct {
	d    dialect
	args []any
}

func (a *sqlArgs) add(v any) string {
	a.args = append(a.args, v)
	return a.d.ph(len(a.args))
}

// filterConds renders the WHERE terms of f (without the cursor).
func (s *sqlStore) filterConds(f Filter, a *sqlArgs) []string {
	var conds []string
	eq := func(col, v string) {
		if v != "" {
			conds = append(conds, col+" = "+a.add(v))
		}
	}
	eq("package", f.Package)
	eq("repository", f.Repository)
	if f.RepoManager != "" {
		conds = append(conds, "(repo_manager_host = "+a.add(f.RepoManager)+" OR repo_name = "+a.add(f.RepoManager)+")")
	}
	switch f.Status {
	case "":
	case StatusBlocked:
		conds = append(conds, "blocked = 1")
	default:
		eq("status", f.Status)
	}
	eq("work_mode", f.Mode)
	eq("operation", f.Operation)
	eq("initiator", f.Initiator)
	if !f.Since.IsZero() {
		conds = append(conds, "ts >= "+a.add(s.d.timeArg(f.Since)))
	}
	if !f.Until.IsZero() {
		conds = append(conds, "ts < "+a.add(s.d.timeArg(f.Until)))
	}
	return conds
}

func whereClause(conds []string) string {
	if len(conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(conds, " AND ")
}

// Query returns one page of records matching f, newest first.
func (s *sqlStore) Query(ctx context.Context, f Filter) (Page, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	limit = min(limit, MaxLimit)

	a := &sqlArgs{d: s.d}
	conds := s.filterConds(f, a)
	if f.Cursor != "" {
		c, err := parseCursor(f.Cursor)
		if err != nil {
			return Page{}, err
		}
		t := time.Unix(0, c.nanos)
		conds = append(conds, "(ts, id) < ("+a.add(s.d.timeArg(t))+", "+a.add(c.id)+")")
	}
	q := "SELECT " + selectColumns + " FROM requests" + whereClause(conds) +
		" ORDER BY ts DESC, id DESC LIMIT " + strconv.Itoa(limit+1)
	rows, err := s.r.QueryContext(ctx, q, a.args...)
	if err != nil {
		return Page{}, fmt.Errorf("journal: query: %w", err)
	}
	defer rows.Close()
	page := Page{Requests: make([]Record, 0, min(limit, 128)), Total: -1}
	for rows.Next() {
		var r Record
		if err := scanRecord(rows, &r); err != nil {
			return Page{}, fmt.Errorf("journal: query: scan: %w", err)
		}
		page.Requests = append(page.Requests, r)
	}
	if err := rows.Err(); err != nil {
		return Page{}, fmt.Errorf("journal: query: %w", err)
	}
	rows.Close()
	if len(page.Requests) > limit {
		page.Requests = page.Requests[:limit]
		last := page.Requests[limit-1]
		page.NextCursor = pageCursor{nanos: last.Time.UnixNano(), id: last.ID}.String()
	}
	if !f.NoTotal {
		n, err := s.Count(ctx, f)
		if err != nil {
			return Page{}, err
		}
		page.Total = n
	}
	return page, nil
}

// Count returns how many records match f (Limit and Cursor are ignored).
func (s *sqlStore) Count(ctx context.Context, f Filter) (int64, error) {
	a := &sqlArgs{d: s.d}
	conds := s.filterConds(f, a)
	var n int64
	if err := s.r.QueryRowContext(ctx, "SELECT count(*) FROM requests"+whereClause(conds), a.args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("journal: count: %w", err)
	}
	return n, nil
}
