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

// blockedStatuses is the SQL list of the blocked_* statuses.
var blockedStatuses = "('" + strings.Join([]string{StatusBlockedByPolicies, StatusBlockedUnscanned,
	StatusBlockedTimeout, StatusBlockedOnError}, "', '") + "')"

// rmColumn selects which column a RepoManager filter arm matches.
type rmColumn int

const (
	rmNone rmColumn = iota
	rmHost
	rmName
	rmBoth // host AND name (the overlap of the two arms, for counting)
)

// filterConds renders the WHERE terms of f (without the cursor). The
// RepoManager filter (host OR name) is rendered as the single column rm,
// so that each arm of the OR can use its own index.
func (s *sqlStore) filterConds(f Filter, rm rmColumn, a *sqlArgs) []string {
	var conds []string
	eq := func(col, v string) {
		if v != "" {
			conds = append(conds, col+" = "+a.add(v))
		}
	}
	// The repository-manager indexes are partial (no rows with ""): the
	// query repeats their condition so that the planner may use them; it
	// does not change the result, since the value is never "".
	rmEq := func(col, v string) {
		if v != "" {
			conds = append(conds, col+" = "+a.add(v), col+" <> ''")
		}
	}
	eq("package", f.Package)
	eq("repository", f.Repository)
	switch rm {
	case rmHost:
		rmEq("repo_manager_host", f.RepoManager)
	case rmName:
		rmEq("repo_name", f.RepoManager)
	case rmBoth:
		rmEq("repo_manager_host", f.RepoManager)
		rmEq("repo_name", f.RepoManager)
	}
	otherEq := len(conds) > 0 || f.Mode != "" || f.Operation != "" || f.Initiator != ""
	switch {
	case f.Status == "":
	case f.Status == StatusBlocked && !otherEq:
		// Alone: the partial index on blocked rows, newest first.
		conds = append(conds, "blocked = 1")
	case f.Status == StatusBlocked:
		// With another filter: a test on status, which the other filter's
		// index can evaluate (and the package index covers).
		conds = append(conds, "status IN "+blockedStatuses)
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

// arms lists the OR-arms a filter is evaluated as: one, or two for RepoManager.
func arms(f Filter) []rmColumn {
	if f.RepoManager == "" {
		return []rmColumn{rmNone}
	}
	return []rmColumn{rmHost, rmName}
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

	var cur *pageCursor
	if f.Cursor != "" {
		c, err := parseCursor(f.Cursor)
		if err != nil {
			return Page{}, err
		}
		cur = &c
	}
	a := &sqlArgs{d: s.d}
	armConds := func(rm rmColumn) []string {
		conds := s.filterConds(f, rm, a)
		if cur != nil {
			t := time.Unix(0, cur.nanos)
			conds = append(conds, "(ts, id) < ("+a.add(s.d.timeArg(t))+", "+a.add(cur.id)+")")
		}
		return conds
	}
	order := " ORDER BY ts DESC, id DESC LIMIT " + strconv.Itoa(limit+1)
	var q string
	if as := arms(f); len(as) == 1 {
		q = "SELECT " + selectColumns + " FROM requests" + whereClause(armConds(as[0])) + order
	} else {
		// Newest ids of each arm (index-only), merged, then the rows.
		parts := make([]string, len(as))
		for i, rm := range as {
			parts[i] = "SELECT id FROM (SELECT id FROM requests" + whereClause(armConds(rm)) + order + ") a" + strconv.Itoa(i)
		}
		q = "SELECT " + selectColumns + " FROM requests WHERE id IN (" + strings.Join(parts, " UNION ") + ")" + order
	}
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
// A RepoManager filter is counted as |host| + |name| - |host and name|, each
// from its own index (the overlap only when both are non-zero).
func (s *sqlStore) Count(ctx context.Context, f Filter) (int64, error) {
	count := func(rm rmColumn) (int64, error) {
		a := &sqlArgs{d: s.d}
		conds := s.filterConds(f, rm, a)
		var n int64
		if err := s.r.QueryRowContext(ctx, "SELECT count(*) FROM requests"+whereClause(conds), a.args...).Scan(&n); err != nil {
			return 0, fmt.Errorf("journal: count: %w", err)
		}
		return n, nil
	}
	if f.RepoManager == "" {
		return count(rmNone)
	}
	host, err := count(rmHost)
	if err != nil {
		return 0, err
	}
	name, err := count(rmName)
	if err != nil || host == 0 || name == 0 {
		return host + name, err
	}
	both, err := count(rmBoth)
	return host + name - both, err
}
