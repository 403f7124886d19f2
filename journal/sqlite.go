package journal

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// sqliteBusyTimeout is how long a connection waits for a lock held by
// another process before failing with SQLITE_BUSY.
const sqliteBusyTimeout = 10 * time.Second

// openSQLite opens (and migrates) a SQLite journal. Opening a new file
// switches it to WAL, which needs an exclusive lock that SQLite refuses with
// SQLITE_BUSY without waiting when another process or instance is opening
// the same file at that moment; such opens are retried for up to 15 s.
func openSQLite(ctx context.Context, path string) (Store, error) {
	delay := 20 * time.Millisecond
	deadline := time.Now().Add(15 * time.Second)
	for {
		s, err := openSQLiteOnce(ctx, path)
		if err == nil || !isSQLiteBusy(err) || time.Now().Add(delay).After(deadline) {
			return s, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(delay):
		}
		delay = min(2*delay, time.Second)
	}
}

func isSQLiteBusy(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "SQLITE_BUSY") || strings.Contains(msg, "database is locked")
}

func openSQLiteOnce(ctx context.Context, path string) (Store, error) {
	if path == "" {
		return nil, fmt.Errorf("journal: sqlite: empty path")
	}
	if strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("journal: sqlite: path %q must not contain '?'", path)
	}
	busy := fmt.Sprintf("_busy_timeout=%d", sqliteBusyTimeout.Milliseconds())
	memory := path == ":memory:"
	if !memory {
		if dir := filepath.Dir(path); dir != "" {
			if err := os.MkdirAll(dir, 0o750); err != nil {
				return nil, fmt.Errorf("journal: sqlite: create directory: %w", err)
			}
		}
	}
	// The writer: one connection, BEGIN IMMEDIATE so a transaction takes the
	// write lock up front (no deadlock-prone lock upgrades), WAL so readers
	// never block it, synchronous=NORMAL (durable across process crashes; a
	// power loss can only lose the last commits, never corrupt).
	// page_size only matters for a new file (8 KiB pages: fewer, larger WAL
	// writes for the many secondary indexes); a 32 MiB cache and a WAL of up
	// to 5000 pages before an automatic checkpoint keep hot index pages from
	// being written back over and over; mmap saves read syscalls.
	wdsn := path + "?" + busy + "&_txlock=immediate&_synchronous=NORMAL" +
		"&_pragma=page_size(8192)&_pragma=cache_size(-32768)&_pragma=temp_store(MEMORY)" +
		"&_pragma=wal_autocheckpoint(5000)&_pragma=mmap_size(268435456)"
	if !memory {
		wdsn += "&_journal_mode=WAL"
	}
	w, err := sql.Open("sqlite", wdsn)
	if err != nil {
		return nil, fmt.Errorf("journal: sqlite: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("journal: sqlite: open %s: %w", path, err)
	}
	s := &sqlStore{d: sqliteDialect, w: w, r: w}
	if err := migrate(ctx, w, sqliteDialect, migrationsFor(sqliteDialect)); err != nil {
		w.Close()
		return nil, err
	}
	// Refresh planner statistics cheaply (bounded work, only when useful).
	_, _ = w.ExecContext(ctx, "PRAGMA analysis_limit=1000")
	_, _ = w.ExecContext(ctx, "PRAGMA optimize=0x10002")
	if s.insMany, err = w.PrepareContext(ctx, s.insertSQL(sqliteInsertRows)); err == nil {
		s.insOne, err = w.PrepareContext(ctx, s.insertSQL(1))
	}
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("journal: sqlite: prepare insert: %w", err)
	}
	if memory {
		return s, nil
	}
	r, err := sql.Open("sqlite", path+"?"+busy+"&_query_only=1&_pragma=temp_store(MEMORY)&_pragma=cache_size(-16384)&_pragma=mmap_size(268435456)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("journal: sqlite: %w", err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	r.SetConnMaxIdleTime(5 * time.Minute)
	if err := r.PingContext(ctx); err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("journal: sqlite: open reader %s: %w", path, err)
	}
	s.r = r
	return s, nil
}
