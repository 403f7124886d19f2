package journal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// FirstTrigger returns when key first triggered, recording now if it never
// did. The insert-if-absent is atomic in the database, so concurrent callers
// (goroutines or instances sharing PostgreSQL) all read back the same time.
// On PostgreSQL the time has microsecond precision.
func (s *sqlStore) FirstTrigger(ctx context.Context, key string, now time.Time) (time.Time, error) {
	if key == "" {
		return time.Time{}, errors.New("journal: first trigger: empty key")
	}
	key = clean(key)
	if now.IsZero() {
		now = nowFunc()
	}
	sel := "SELECT first FROM first_triggers WHERE key = " + s.d.ph(1)
	var t dbTime
	// Fast path, after the first call for a key: a read that never waits
	// for the writer connection.
	switch err := s.r.QueryRowContext(ctx, sel, key).Scan(&t); {
	case err == nil:
		return t.t, nil
	case !errors.Is(err, sql.ErrNoRows):
		return time.Time{}, fmt.Errorf("journal: first trigger: read: %w", err)
	}
	ins := "INSERT INTO first_triggers (key, first) VALUES (" + s.d.ph(1) + ", " + s.d.ph(2) + ") ON CONFLICT (key) DO NOTHING"
	if _, err := s.w.ExecContext(ctx, ins, key, s.d.timeArg(now)); err != nil {
		return time.Time{}, fmt.Errorf("journal: first trigger: %w", err)
	}
	// Read through the writer: it is the connection that just inserted
	// (SQLite) or a pool where the committed row is visible (PostgreSQL).
	if err := s.w.QueryRowContext(ctx, sel, key).Scan(&t); err != nil {
		return time.Time{}, fmt.Errorf("journal: first trigger: read: %w", err)
	}
	return t.t, nil
}
