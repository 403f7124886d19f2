package journal

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeStore records inserted batches; it can fail the first failFirst
// Inserts, and while stall is non-nil each Insert signals entered and then
// blocks until stall is closed.
type fakeStore struct {
	Store // nil: only Insert is used by the Writer

	mu        sync.Mutex
	recs      []Record
	calls     atomic.Int64
	failFirst int64
	failAll   bool
	stall     chan struct{}
	entered   chan struct{}
}

func (f *fakeStore) Insert(ctx context.Context, recs []Record) error {
	n := f.calls.Add(1)
	if f.stall != nil {
		select {
		case f.entered <- struct{}{}:
		default:
		}
		select {
		case <-f.stall:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if f.failAll || n <= f.failFirst {
		return fmt.Errorf("injected failure %d", n)
	}
	f.mu.Lock()
	f.recs = append(f.recs, recs...)
	f.mu.Unlock()
	return nil
}

func (f *fakeStore) stored() []Record {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Record(nil), f.recs...)
}

func TestWriterConcurrentEnqueue(t *testing.T) {
	eachBackend(t, func(t *testing.T, b testBackend) {
		s := newTestStore(t, b)
		w := NewWriter(s, WriterConfig{BatchSize: 500, FlushInterval: 20 * time.Millisecond})
		defer w.Close()
		const goroutines, each = 2000, 5
		var wg sync.WaitGroup
		var refused atomic.Int64
		for g := range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					if !w.Enqueue(Record{Time: t0, Package: "p", Status: StatusNotBlocked, RequestID: fmt.Sprintf("%d-%d", g, i)}) {
						refused.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		if err := w.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		const n = goroutines * each
		if refused.Load() != 0 {
			t.Fatalf("%d enqueues refused", refused.Load())
		}
		seen := map[string]bool{}
		f := Filter{Limit: MaxLimit, NoTotal: true}
		for {
			p, err := s.Query(context.Background(), f)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range p.Requests {
				if seen[r.RequestID] {
					t.Fatalf("duplicate %s", r.RequestID)
				}
				seen[r.RequestID] = true
			}
			if p.NextCursor == "" {
				break
			}
			f.Cursor = p.NextCursor
		}
		if len(seen) != n {
			t.Fatalf("%d rows stored, want %d", len(seen), n)
		}
		st := w.Stats()
		if st.Queued != n || st.Written != n || st.Dropped != 0 || st.Failed != 0 || st.QueueDepth != 0 {
			t.Errorf("stats %+v", st)
		}
	})
}

func TestWriterFlushAndClose(t *testing.T) {
	eachBackend(t, func(t *testing.T, b testBackend) {
		s := newTestStore(t, b)
		// A long interval and a large batch: only Flush and Close write.
		w := NewWriter(s, WriterConfig{BatchSize: 1000, FlushInterval: time.Hour})
		for i := range 10 {
			w.Enqueue(Record{Time: t0.Add(time.Duration(i)), Package: "a"})
		}
		time.Sleep(50 * time.Millisecond)
		if n := countAll(t, s); n != 0 {
			t.Fatalf("%d rows written before Flush", n)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := w.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if n := countAll(t, s); n != 10 {
			t.Fatalf("after Flush: %d rows, want 10", n)
		}
		for i := range 5 {
			w.Enqueue(Record{Time: t0.Add(time.Duration(i)), Package: "b"})
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if n := countAll(t, s); n != 15 {
			t.Fatalf("after Close: %d rows, want 15", n)
		}
		if w.Enqueue(Record{Package: "late"}) {
			t.Error("Enqueue after Close accepted")
		}
		if err := w.Flush(ctx); err != nil {
			t.Errorf("Flush after Close: %v", err)
		}
		if err := w.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		st := w.Stats()
		if st.Written != 15 || st.Dropped != 1 || st.Queued != 15 {
			t.Errorf("stats %+v", st)
		}
	})
}

func TestWriterBatching(t *testing.T) {
	for _, c := range []struct {
		name          string
		n, batch      int
		wantMinCalls  int64
		wantMaxCalls  int64
		flushInterval time.Duration
	}{
		{"full batches", 1000, 100, 10, 11, time.Hour},
		// Usually one call; a loaded machine may pause between Enqueues longer than the interval.
		{"interval flushes a partial batch", 7, 100, 1, 7, 10 * time.Millisecond},
	} {
		t.Run(c.name, func(t *testing.T) {
			fs := &fakeStore{}
			w := NewWriter(fs, WriterConfig{BatchSize: c.batch, FlushInterval: c.flushInterval})
			for i := range c.n {
				w.Enqueue(Record{RequestID: fmt.Sprint(i)})
			}
			if c.flushInterval < time.Second {
				deadline := time.Now().Add(5 * time.Second)
				for len(fs.stored()) < c.n && time.Now().Before(deadline) {
					time.Sleep(5 * time.Millisecond)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			got := fs.stored()
			if len(got) != c.n {
				t.Fatalf("stored %d, want %d", len(got), c.n)
			}
			for i, r := range got {
				if r.RequestID != fmt.Sprint(i) {
					t.Fatalf("record %d is %s: order not kept", i, r.RequestID)
				}
			}
			if calls := fs.calls.Load(); calls < c.wantMinCalls || calls > c.wantMaxCalls {
				t.Errorf("%d Insert calls, want %d..%d", calls, c.wantMinCalls, c.wantMaxCalls)
			}
		})
	}
}

func TestWriterFullQueueDropsAfterTimeout(t *testing.T) {
	fs := &fakeStore{stall: make(chan struct{}), entered: make(chan struct{}, 1)}
	const timeout = 150 * time.Millisecond
	w := NewWriter(fs, WriterConfig{QueueSize: 4, BatchSize: 1, FlushInterval: time.Millisecond, EnqueueTimeout: timeout})
	if !w.Enqueue(Record{RequestID: "0"}) {
		t.Fatal("first enqueue refused")
	}
	<-fs.entered // the writer holds record 0 inside the stalled Insert
	for i := 1; i <= 4; i++ {
		if !w.Enqueue(Record{RequestID: fmt.Sprint(i)}) {
			t.Fatalf("enqueue %d refused with room in the queue", i)
		}
	}
	start := time.Now()
	if w.Enqueue(Record{RequestID: "dropped"}) {
		t.Fatal("enqueue on a full queue accepted")
	}
	if el := time.Since(start); el < timeout {
		t.Errorf("dropped after %v, want backpressure for %v", el, timeout)
	}
	st := w.Stats()
	if st.Dropped != 1 || st.QueueDepth != 4 || st.Queued != 5 {
		t.Errorf("stats %+v", st)
	}
	// A blocked Enqueue succeeds when the store recovers within the timeout.
	res := make(chan bool)
	go func() { res <- w.Enqueue(Record{RequestID: "5"}) }()
	time.Sleep(timeout / 3)
	close(fs.stall)
	if !<-res {
		t.Error("enqueue blocked during recovery was dropped")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := len(fs.stored()); got != 6 {
		t.Errorf("stored %d, want 6", got)
	}
	if st := w.Stats(); st.Written != 6 || st.Dropped != 1 {
		t.Errorf("final stats %+v", st)
	}
}

func TestWriterRetriesKeepBatch(t *testing.T) {
	fs := &fakeStore{failFirst: 3}
	w := NewWriter(fs, WriterConfig{BatchSize: 50, FlushInterval: time.Millisecond, RetryBackoff: time.Millisecond})
	for i := range 120 {
		w.Enqueue(Record{RequestID: fmt.Sprint(i)})
	}
	if err := w.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := fs.stored()
	if len(got) != 120 {
		t.Fatalf("stored %d, want 120", len(got))
	}
	for i, r := range got {
		if r.RequestID != fmt.Sprint(i) {
			t.Fatalf("record %d is %s", i, r.RequestID)
		}
	}
	st := w.Stats()
	if st.Written != 120 || st.Failed != 0 || !strings.Contains(st.LastError, "injected failure 3") {
		t.Errorf("stats %+v", st)
	}
	w.Close()
}

func TestWriterGivesUpAfterMaxAttempts(t *testing.T) {
	fs := &fakeStore{failAll: true}
	w := NewWriter(fs, WriterConfig{BatchSize: 10, FlushInterval: time.Millisecond, RetryBackoff: time.Millisecond, MaxAttempts: 3})
	for i := range 25 {
		w.Enqueue(Record{RequestID: fmt.Sprint(i)})
	}
	err := w.Flush(context.Background())
	if err == nil || !strings.Contains(err.Error(), "25 records") {
		t.Fatalf("Flush = %v, want an error about 25 records", err)
	}
	st := w.Stats()
	if st.Failed != 25 || st.Written != 0 {
		t.Errorf("stats %+v", st)
	}
	if calls := fs.calls.Load(); calls < 3*3 {
		t.Errorf("%d Insert calls, want 3 attempts for each of 3 batches", calls)
	}
	w.Close()
}

func TestWriterFlushContext(t *testing.T) {
	fs := &fakeStore{stall: make(chan struct{}), entered: make(chan struct{}, 1)}
	w := NewWriter(fs, WriterConfig{BatchSize: 1, FlushInterval: time.Millisecond})
	w.Enqueue(Record{})
	<-fs.entered
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := w.Flush(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Flush on a stalled store = %v, want deadline exceeded", err)
	}
	close(fs.stall)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if len(fs.stored()) != 1 {
		t.Errorf("stored %d", len(fs.stored()))
	}
}

// TestWriterSurvivesPostgresRestart kills every server connection of the
// store while the writer is busy (what a PostgreSQL restart does to a pool):
// retries must store every accepted record exactly once.
func TestWriterSurvivesPostgresRestart(t *testing.T) {
	b := testBackends()[1]
	dsn := b.newDSN(t) + "&application_name=osa_journal_kill_test"
	s := openTest(t, b, dsn)
	w := NewWriter(s, WriterConfig{BatchSize: 200, FlushInterval: 5 * time.Millisecond, RetryBackoff: 20 * time.Millisecond})
	defer w.Close()
	admin := s.(*sqlStore).w // any session can terminate others of the same user
	const n = 6000
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range n {
			if !w.Enqueue(Record{Time: t0.Add(time.Duration(i)), Package: "p", RequestID: fmt.Sprint(i)}) {
				t.Errorf("enqueue %d refused", i)
			}
			if i%500 == 0 {
				time.Sleep(2 * time.Millisecond)
			}
		}
	}()
	killed := 0
	for range 5 {
		time.Sleep(15 * time.Millisecond)
		var k int
		if err := admin.QueryRow(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE application_name = 'osa_journal_kill_test' AND pid <> pg_backend_pid()`).Scan(&k); err != nil {
			// our own connection may have been the one killed by a previous round
			continue
		}
		killed += k
	}
	<-done
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if killed == 0 {
		t.Fatal("no connection was terminated: the test did not exercise anything")
	}
	if got := countAll(t, s); got != n {
		t.Fatalf("%d rows after %d terminated connections, want %d (stats %+v)", got, killed, n, w.Stats())
	}
	if st := w.Stats(); st.Failed != 0 || st.Written != n {
		t.Errorf("stats %+v", st)
	}
}

func TestWriterStampsDecisionTime(t *testing.T) {
	fs := &fakeStore{}
	w := NewWriter(fs, WriterConfig{})
	before := time.Now()
	w.Enqueue(Record{RequestID: "zero"})
	after := time.Now()
	w.Enqueue(Record{RequestID: "set", Time: t0})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got := fs.stored()
	if len(got) != 2 {
		t.Fatalf("stored %d", len(got))
	}
	if got[0].Time.Before(before) || got[0].Time.After(after) {
		t.Errorf("zero time stamped %v, want within [%v, %v]", got[0].Time, before, after)
	}
	if !got[1].Time.Equal(t0) {
		t.Errorf("explicit time changed to %v", got[1].Time)
	}
}

func TestWriterCloseGivesUpOnDeadStore(t *testing.T) {
	for _, c := range []struct {
		name string
		fs   *fakeStore
	}{
		{"failing", &fakeStore{failAll: true}},
		{"hanging", &fakeStore{stall: make(chan struct{}), entered: make(chan struct{}, 1)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := NewWriter(c.fs, WriterConfig{BatchSize: 4, FlushInterval: time.Millisecond,
				MaxAttempts: 1000, RetryBackoff: 20 * time.Millisecond, CloseTimeout: 200 * time.Millisecond})
			for i := range 10 {
				w.Enqueue(Record{RequestID: fmt.Sprint(i)})
			}
			start := time.Now()
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if el := time.Since(start); el > 5*time.Second {
				t.Errorf("Close took %v with CloseTimeout 200ms", el)
			}
			if st := w.Stats(); st.Failed != 10 || st.Written != 0 {
				t.Errorf("stats %+v, want 10 failed", st)
			}
		})
	}
}
