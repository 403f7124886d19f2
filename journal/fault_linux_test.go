//go:build linux

package journal

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestFaultSQLiteDiskFull puts the database on a tiny tmpfs, fills the disk
// so inserts fail with SQLITE_FULL, then frees space: the records are
// retried and stored, none lost. It needs permission to mount a tmpfs
// (root); the same retry path is covered without it by
// TestFaultStoreOutageRetried.
func TestFaultSQLiteDiskFull(t *testing.T) {
	mnt, err := os.MkdirTemp("", "osa-journal-full-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(mnt)
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "size=2m"); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v); TestFaultStoreOutageRetried covers the retry path", err)
	}
	defer func() {
		if err := syscall.Unmount(mnt, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", mnt, err)
		}
	}()
	path := filepath.Join(mnt, "journal.db")
	s, err := Open(context.Background(), DriverSQLite, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Fill the file system.
	filler := filepath.Join(mnt, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			break
		}
	}
	f.Close()
	w := NewWriter(s, WriterConfig{FlushInterval: 10 * time.Millisecond, BatchSize: 100, RetryBackoff: 200 * time.Millisecond})
	defer w.Close()
	const n = 400
	for i := range n {
		if !w.Enqueue(faultRecord("full", i)) {
			t.Fatalf("record %d refused", i)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(strings.ToLower(w.Stats().LastError), "full") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if le := w.Stats().LastError; !strings.Contains(strings.ToLower(le), "full") {
		t.Fatalf("inserts did not fail with a full disk (last error %q, stats %+v)", le, w.Stats())
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	fctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.Flush(fctx); err != nil {
		t.Fatalf("flush after freeing space: %v", err)
	}
	if got := countAll(t, s); got != n {
		t.Errorf("%d records stored after the disk-full episode, want %d (stats %+v)", got, n, w.Stats())
	}
	if st := w.Stats(); st.Failed != 0 {
		t.Errorf("stats %+v", st)
	}
	if err := s.Ping(context.Background()); err != nil {
		t.Errorf("store not writable after the episode: %v", err)
	}
}
