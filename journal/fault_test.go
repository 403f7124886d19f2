package journal

// Fault tests of the journal: a store that is locked, full or restarted
// while the writer works. Acknowledged records (Enqueue returned true)
// are retried until stored, never lost or duplicated, as long as the
// outage is shorter than the writer's retry window (MaxAttempts with
// exponential backoff, about 9 s by default).

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// faultRecord is a small record with a unique request id.
func faultRecord(tag string, i int) Record {
	return Record{Time: time.Now().UTC(), Repository: "r", Ecosystem: "pypi", Package: "p", Version: "1.0",
		Operation: "download", WorkMode: "strict", Status: StatusNotBlocked, HTTPStatus: 200,
		RequestID: fmt.Sprintf("%s-%06d", tag, i), Reason: strings.Repeat("x", 200)}
}

// faultCountDistinct returns the number of rows and distinct request ids.
func faultCountDistinct(t *testing.T, db *sql.DB) (rows, distinct int) {
	t.Helper()
	if err := db.QueryRow("SELECT COUNT(*), COUNT(DISTINCT request_id) FROM requests").Scan(&rows, &distinct); err != nil {
		t.Fatal(err)
	}
	return rows, distinct
}

// TestFaultSQLiteLockedByAnotherConnection holds the database's write lock
// from another connection (as another process would) while requests are
// journaled: the writer waits and retries, nothing is lost.
func TestFaultSQLiteLockedByAnotherConnection(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.db")
	s, err := Open(context.Background(), DriverSQLite, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	w := NewWriter(s, WriterConfig{FlushInterval: 10 * time.Millisecond, BatchSize: 50})
	defer w.Close()

	other, err := sql.Open("sqlite", path+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ctx := context.Background()
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "INSERT INTO first_triggers (key, first) VALUES ('lock-holder', 1)"); err != nil {
		t.Fatal(err)
	}
	const n = 600
	start := time.Now()
	for i := range n {
		if !w.Enqueue(faultRecord("locked", i)) {
			t.Fatalf("record %d refused while the database is locked", i)
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Enqueue blocked for %s while the database was locked", d)
	}
	time.Sleep(3 * time.Second) // the writer is stuck behind the lock
	if st := w.Stats(); st.Written == n {
		t.Fatalf("records written through an exclusive lock: %+v", st)
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	fctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := w.Flush(fctx); err != nil {
		t.Fatalf("flush after the lock was released: %v", err)
	}
	st := w.Stats()
	if st.Written != n || st.Failed != 0 || st.Dropped != 0 {
		t.Errorf("writer stats %+v, want %d written, none failed or dropped", st, n)
	}
	rows, distinct := faultCountDistinct(t, other)
	if rows != n || distinct != n {
		t.Errorf("%d rows (%d distinct request ids), want %d", rows, distinct, n)
	}
}

// failingStore fails every Insert while down is set (a full disk, a
// network partition), then recovers.
type failingStore struct {
	Store
	down  atomic.Bool
	fails atomic.Int64
}

func (f *failingStore) Insert(ctx context.Context, recs []Record) error {
	if f.down.Load() {
		f.fails.Add(1)
		return errors.New("database or disk is full (SQLITE_FULL)")
	}
	return f.Store.Insert(ctx, recs)
}

// TestFaultStoreOutageRetried takes the store down for about 2 s (shorter
// than the retry window): every acknowledged record is stored afterwards.
func TestFaultStoreOutageRetried(t *testing.T) {
	s, err := Open(context.Background(), DriverSQLite, filepath.Join(t.TempDir(), "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fs := &failingStore{Store: s}
	fs.down.Store(true)
	w := NewWriter(fs, WriterConfig{FlushInterval: 10 * time.Millisecond, RetryBackoff: 100 * time.Millisecond})
	defer w.Close()
	const n = 300
	for i := range n {
		if !w.Enqueue(faultRecord("outage", i)) {
			t.Fatalf("record %d refused during the outage", i)
		}
	}
	time.Sleep(2 * time.Second)
	if fs.fails.Load() < 2 {
		t.Fatalf("the writer did not retry during the outage (%d attempts)", fs.fails.Load())
	}
	fs.down.Store(false)
	fctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.Flush(fctx); err != nil {
		t.Fatal(err)
	}
	if got := countAll(t, s); got != n {
		t.Errorf("%d records stored, want %d", got, n)
	}
	if st := w.Stats(); st.Failed != 0 || st.Written != n {
		t.Errorf("stats %+v", st)
	}
}

// privatePostgres is a throwaway PostgreSQL cluster of this test, so that
// restarting it disturbs nobody else's tests.
type privatePostgres struct {
	dir, bin string
	port     int
}

func startPrivatePostgres(t *testing.T) *privatePostgres {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(bins) == 0 {
		t.Skip("no PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb)")
	}
	if _, err := exec.LookPath("runuser"); err != nil || os.Geteuid() != 0 {
		t.Skip("a private PostgreSQL cluster needs root (runuser -u postgres)")
	}
	dir, err := os.MkdirTemp("", "osa-pg-fault-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	p := &privatePostgres{dir: dir, bin: filepath.Dir(bins[len(bins)-1]), port: port}
	if out, err := exec.Command("chown", "postgres:postgres", dir).CombinedOutput(); err != nil {
		t.Fatalf("chown: %v %s", err, out)
	}
	p.run(t, "initdb", "-D", dir+"/data", "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
	t.Cleanup(func() {
		exec.Command("runuser", "-u", "postgres", "--", p.bin+"/pg_ctl", "-D", dir+"/data", "-m", "immediate", "-w", "stop").Run()
		os.RemoveAll(dir)
	})
	p.ctl(t, "start")
	return p
}

func (p *privatePostgres) run(t *testing.T, prog string, args ...string) {
	t.Helper()
	cmd := exec.Command("runuser", append([]string{"-u", "postgres", "--", p.bin + "/" + prog}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", prog, args, err, out)
	}
}

func (p *privatePostgres) ctl(t *testing.T, action string, extra ...string) {
	t.Helper()
	args := []string{"-D", p.dir + "/data", "-l", p.dir + "/log", "-w", "-t", "60",
		"-o", fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1", p.port, p.dir)}
	p.run(t, "pg_ctl", append(append(args, extra...), action)...)
}

func (p *privatePostgres) dsn() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.port)
}

// TestFaultPostgresRestart restarts the PostgreSQL server while records are
// being journaled: every acknowledged record is present exactly once
// afterwards.
func TestFaultPostgresRestart(t *testing.T) {
	pg := startPrivatePostgres(t)
	s, err := Open(context.Background(), DriverPostgres, pg.dsn())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	w := NewWriter(s, WriterConfig{FlushInterval: 20 * time.Millisecond, BatchSize: 200})
	defer w.Close()

	var acked atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if w.Enqueue(faultRecord(fmt.Sprintf("pg%d", g), i)) {
					acked.Add(1)
				}
				time.Sleep(time.Millisecond)
			}
		}()
	}
	time.Sleep(700 * time.Millisecond)
	before := w.Stats().Written
	pg.ctl(t, "restart", "-m", "fast")
	time.Sleep(1500 * time.Millisecond)
	close(stop)
	wg.Wait()
	fctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := w.Flush(fctx); err != nil {
		t.Fatalf("flush after the restart: %v (stats %+v)", err, w.Stats())
	}
	st := w.Stats()
	if before == 0 || st.Written <= before {
		t.Errorf("nothing written before (%d) or after (%d) the restart", before, st.Written)
	}
	db, err := sql.Open("pgx", pg.dsn())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, distinct := faultCountDistinct(t, db)
	if int64(rows) != acked.Load() || distinct != rows {
		t.Errorf("%d rows (%d distinct), %d acknowledged; stats %+v", rows, distinct, acked.Load(), st)
	}
	if st.Failed != 0 || st.Dropped != 0 {
		t.Errorf("stats %+v", st)
	}
	t.Logf("%d records acknowledged and stored across a PostgreSQL restart (%d before it)", acked.Load(), before)
}
