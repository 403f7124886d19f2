package journal

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"go.uber.org/zap"
)

// purgeBatch is how many rows one Purge transaction deletes.
const purgeBatch = 5000

// Purge deletes records older than before and returns how many. It deletes
// in batches of purgeBatch rows, one short transaction each, so concurrent
// inserts are never held up for long; it stops early (returning the count so
// far and the error) when ctx ends.
func (s *sqlStore) Purge(ctx context.Context, before time.Time) (int64, error) {
	q := "DELETE FROM requests WHERE id IN (SELECT id FROM requests WHERE ts < " + s.d.ph(1) +
		" ORDER BY ts, id LIMIT " + strconv.Itoa(purgeBatch) + ")"
	arg := s.d.timeArg(before)
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		res, err := s.w.ExecContext(ctx, q, arg)
		if err != nil {
			return total, fmt.Errorf("journal: purge: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, fmt.Errorf("journal: purge: %w", err)
		}
		total += n
		if n < purgeBatch {
			return total, nil
		}
	}
}

// Ping checks the store is reachable and writable.
func (s *sqlStore) Ping(ctx context.Context) error {
	if s.d.name == DriverSQLite {
		// BEGIN IMMEDIATE takes the write lock: fails on a read-only or locked file.
		tx, err := s.w.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("journal: ping: %w", err)
		}
		return tx.Rollback()
	}
	var ok bool
	err := s.w.QueryRowContext(ctx,
		"SELECT NOT pg_is_in_recovery() AND current_setting('transaction_read_only') = 'off'").Scan(&ok)
	if err != nil {
		return fmt.Errorf("journal: ping: %w", err)
	}
	if !ok {
		return fmt.Errorf("journal: ping: postgres database is read-only")
	}
	return nil
}

// StartRetention purges records older than maxAge now and then every
// interval (default 1h) until ctx ends or stop is called; stop waits for a
// running purge to finish. A non-positive maxAge disables retention.
func StartRetention(ctx context.Context, store Store, maxAge, interval time.Duration, logger *zap.Logger) (stop func()) {
	if maxAge <= 0 || store == nil {
		return func() {}
	}
	if interval <= 0 {
		interval = time.Hour
	}
	if logger == nil {
		logger = zap.NewNop()
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			before := nowFunc().Add(-maxAge)
			start := time.Now()
			n, err := store.Purge(ctx, before)
			switch {
			case err != nil && ctx.Err() == nil:
				logger.Warn("journal retention purge failed", zap.Error(err), zap.Int64("deleted", n))
			case n > 0:
				logger.Info("journal retention purge", zap.Int64("deleted", n),
					zap.Time("before", before), zap.Duration("took", time.Since(start)))
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			wg.Wait()
		})
	}
}
