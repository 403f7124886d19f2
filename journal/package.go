package journal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
)

// MaxVerdicts bounds PackageSummary.Verdicts.
const MaxVerdicts = 200

// Package aggregates one package (name as stored, i.e. normalized). A package
// never requested yields a summary with zero times, empty Counts and no
// Verdicts. Verdicts lists, newest first, every record whose status differs
// from the previous record of the same version (the first record of each
// version included), at most MaxVerdicts.
func (s *sqlStore) Package(ctx context.Context, name string) (PackageSummary, error) {
	sum := PackageSummary{Package: name, Counts: map[string]int64{}, Verdicts: []Record{}}
	p := s.d.ph(1)
	var first, last dbTime
	// Two single-row index probes (a min() and max() in one query would scan).
	err := s.r.QueryRowContext(ctx, "SELECT ts FROM requests WHERE package = "+p+" ORDER BY ts ASC, id ASC LIMIT 1", name).Scan(&first)
	if errors.Is(err, sql.ErrNoRows) {
		return sum, nil
	}
	if err != nil {
		return sum, fmt.Errorf("journal: package: %w", err)
	}
	if err := s.r.QueryRowContext(ctx, "SELECT ts FROM requests WHERE package = "+p+" ORDER BY ts DESC, id DESC LIMIT 1", name).Scan(&last); err != nil {
		return sum, fmt.Errorf("journal: package: %w", err)
	}
	sum.FirstRequested, sum.LastRequested = first.t, last.t

	rows, err := s.r.QueryContext(ctx, "SELECT status, count(*) FROM requests WHERE package = "+p+" GROUP BY status", name)
	if err != nil {
		return sum, fmt.Errorf("journal: package counts: %w", err)
	}
	for rows.Next() {
		var st string
		var n int64
		if err := rows.Scan(&st, &n); err != nil {
			rows.Close()
			return sum, fmt.Errorf("journal: package counts: %w", err)
		}
		sum.Counts[st] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return sum, fmt.Errorf("journal: package counts: %w", err)
	}

	// The window runs on (version, ts, id, status) from the package index
	// only; the full rows are read for the (at most MaxVerdicts) changes.
	q := "SELECT " + selectColumns + " FROM requests WHERE id IN (SELECT id FROM (" +
		"SELECT id, ts, status, LAG(status) OVER (PARTITION BY version ORDER BY ts, id) AS prev_status " +
		"FROM requests WHERE package = " + p + ") v WHERE prev_status IS NULL OR prev_status <> status " +
		"ORDER BY ts DESC, id DESC LIMIT " + strconv.Itoa(MaxVerdicts) + ") ORDER BY ts DESC, id DESC"
	rows, err = s.r.QueryContext(ctx, q, name)
	if err != nil {
		return sum, fmt.Errorf("journal: package verdicts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r Record
		if err := scanRecord(rows, &r); err != nil {
			return sum, fmt.Errorf("journal: package verdicts: %w", err)
		}
		sum.Verdicts = append(sum.Verdicts, r)
	}
	if err := rows.Err(); err != nil {
		return sum, fmt.Errorf("journal: package verdicts: %w", err)
	}
	return sum, nil
}
