package journal

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// WriterConfig configures the asynchronous writer. Zero values take the defaults.
type WriterConfig struct {
	QueueSize     int           // bounded queue (default 65536)
	BatchSize     int           // max records per transaction (default 1000)
	FlushInterval time.Duration // default 200ms
	// EnqueueTimeout is how long Enqueue blocks when the queue is full
	// (backpressure) before the record is dropped and counted (default 2s;
	// negative: drop at once).
	EnqueueTimeout time.Duration
	Logger         *zap.Logger
	// MaxAttempts is how many times one batch is tried before its records
	// are counted as Failed (default 6).
	MaxAttempts int
	// RetryBackoff is the first pause between attempts, doubled after each
	// (default 300ms: 0.3+0.6+1.2+2.4+4.8 s, about 9 s over 6 attempts).
	RetryBackoff time.Duration
	// WriteTimeout bounds one Store.Insert call (default 15s).
	WriteTimeout time.Duration
	// CloseTimeout bounds how long Close keeps trying to store what is
	// queued when the store is failing (default 30s); records still unstored
	// then are counted as Failed, so shutdown never hangs on a dead database.
	CloseTimeout time.Duration
	// OnWrite, when set, is called after every Store.Insert attempt with the
	// batch size, how long the attempt took and its error (for metrics).
	OnWrite func(records int, took time.Duration, err error)
}

func (c *WriterConfig) defaults() {
	if c.QueueSize <= 0 {
		c.QueueSize = 65536
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 1000
	}
	if c.FlushInterval <= 0 {
		c.FlushInterval = 200 * time.Millisecond
	}
	if c.EnqueueTimeout == 0 {
		c.EnqueueTimeout = 2 * time.Second
	}
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 6
	}
	if c.RetryBackoff <= 0 {
		c.RetryBackoff = 300 * time.Millisecond
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 15 * time.Second
	}
	if c.CloseTimeout <= 0 {
		c.CloseTimeout = 30 * time.Second
	}
}

// dropLogEvery rate-limits the "queue full" log line.
const dropLogEvery = 10 * time.Second

// item is one queue entry: a record or a flush marker.
type item struct {
	rec   *Record
	flush chan struct{}
}

// Writer batches records into a Store off the request path. All methods are
// safe for concurrent use.
type Writer struct {
	s   Store
	cfg WriterConfig
	log *zap.Logger

	// mu guards closed and the close of ch: Enqueue and Flush send under
	// RLock, Close closes under Lock, so nothing is ever sent on a closed
	// channel and nothing accepted is left behind in it.
	mu     sync.RWMutex
	closed bool
	ch     chan item
	done   chan struct{}

	queued, written, dropped, failed atomic.Int64
	failing                          atomic.Bool // last batch exhausted its retries
	lastErr                          atomic.Value
	lastDropLog                      atomic.Int64 // Unix nanoseconds
	// life is cancelled CloseTimeout after Close: pending writes and
	// retries stop.
	life   context.Context
	giveUp context.CancelFunc
}

// NewWriter starts a writer.
func NewWriter(s Store, cfg WriterConfig) *Writer {
	cfg.defaults()
	w := &Writer{
		s:    s,
		cfg:  cfg,
		log:  cfg.Logger,
		ch:   make(chan item, cfg.QueueSize),
		done: make(chan struct{}),
	}
	w.life, w.giveUp = context.WithCancel(context.Background())
	w.lastErr.Store("")
	go w.run()
	return w
}

// Enqueue queues a record (a zero Time is set to now); it returns false when
// the record was dropped (queue still full after EnqueueTimeout, or writer
// closed).
func (w *Writer) Enqueue(r Record) bool {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		w.drop("closed")
		return false
	}
	if r.Time.IsZero() {
		r.Time = time.Now() // the decision time, not the (later) write time
	}
	it := item{rec: &r}
	w.queued.Add(1)
	select {
	case w.ch <- it:
		return true
	default:
	}
	if w.cfg.EnqueueTimeout < 0 || w.failing.Load() {
		w.queued.Add(-1)
		w.drop("queue full")
		return false
	}
	t := time.NewTimer(w.cfg.EnqueueTimeout)
	defer t.Stop()
	select {
	case w.ch <- it:
		return true
	case <-t.C:
		w.queued.Add(-1)
		w.drop("queue full")
		return false
	}
}

func (w *Writer) drop(why string) {
	n := w.dropped.Add(1)
	now := time.Now().UnixNano()
	last := w.lastDropLog.Load()
	if (last == 0 || now-last >= int64(dropLogEvery)) && w.lastDropLog.CompareAndSwap(last, now) {
		w.log.Warn("journal: dropping records", zap.String("reason", why),
			zap.Int64("dropped_total", n), zap.Int("queue_size", w.cfg.QueueSize),
			zap.Duration("enqueue_timeout", w.cfg.EnqueueTimeout))
	}
}

// Flush blocks until everything enqueued before the call is stored (or
// given up after retries, which Flush reports as an error), or ctx ends.
func (w *Writer) Flush(ctx context.Context) error {
	failedBefore := w.failed.Load()
	marker := make(chan struct{})
	w.mu.RLock()
	if w.closed {
		w.mu.RUnlock()
		select {
		case <-w.done:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	select {
	case w.ch <- item{flush: marker}:
		w.mu.RUnlock()
	case <-ctx.Done():
		w.mu.RUnlock()
		return ctx.Err()
	}
	select {
	case <-marker:
	case <-ctx.Done():
		return ctx.Err()
	}
	if n := w.failed.Load() - failedBefore; n > 0 {
		return fmt.Errorf("journal: %d records could not be stored: %s", n, w.lastErr.Load())
	}
	return nil
}

// Close flushes and stops the writer (the store stays open). It is
// idempotent; later Enqueue calls return false. If the store keeps failing,
// Close gives up after CloseTimeout and counts what is left as Failed.
func (w *Writer) Close() error {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.ch)
	}
	w.mu.Unlock()
	t := time.NewTimer(w.cfg.CloseTimeout)
	defer t.Stop()
	select {
	case <-w.done:
	case <-t.C:
		w.giveUp()
		<-w.done
	}
	w.giveUp()
	return nil
}

// Stats are the writer's counters.
type Stats struct {
	// Queued counts records accepted by Enqueue, Written those stored,
	// Dropped those refused by Enqueue, Failed those given up after retries.
	Queued, Written, Dropped, Failed int64
	// QueueDepth is the current number of queued entries.
	QueueDepth int
	// LastError is the last store error ("" if none yet).
	LastError string
}

// Stats returns the counters.
func (w *Writer) Stats() Stats {
	return Stats{
		Queued:     w.queued.Load(),
		Written:    w.written.Load(),
		Dropped:    w.dropped.Load(),
		Failed:     w.failed.Load(),
		QueueDepth: len(w.ch),
		LastError:  w.lastErr.Load().(string),
	}
}

// run is the single consumer: it groups records into batches of up to
// BatchSize, writing a batch when it is full, when FlushInterval has passed
// since its first record, on a flush marker, and when the queue is closed.
func (w *Writer) run() {
	defer close(w.done)
	batch := make([]Record, 0, w.cfg.BatchSize)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var timerC <-chan time.Time
	write := func() {
		if timerC != nil {
			timer.Stop()
			timerC = nil
		}
		if len(batch) == 0 {
			return
		}
		w.write(batch)
		clear(batch) // drop references to the strings
		batch = batch[:0]
	}
	for {
		select {
		case it, ok := <-w.ch:
			if !ok {
				write()
				return
			}
			if it.flush != nil {
				write()
				close(it.flush)
				continue
			}
			batch = append(batch, *it.rec)
			if len(batch) >= w.cfg.BatchSize {
				write()
			} else if len(batch) == 1 {
				timer.Reset(w.cfg.FlushInterval)
				timerC = timer.C
			}
		case <-timerC:
			timerC = nil
			write()
		}
	}
}

// write stores one batch, retrying with exponential backoff; once Close
// has given up (CloseTimeout), the batch is counted as failed at once.
func (w *Writer) write(batch []Record) {
	backoff := w.cfg.RetryBackoff
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(w.life, w.cfg.WriteTimeout)
		start := time.Now()
		err := w.s.Insert(ctx, batch)
		cancel()
		if w.cfg.OnWrite != nil {
			w.cfg.OnWrite(len(batch), time.Since(start), err)
		}
		if err == nil {
			w.written.Add(int64(len(batch)))
			if w.failing.Swap(false) {
				w.log.Info("journal: store writable again")
			}
			return
		}
		w.lastErr.Store(err.Error())
		givingUp := w.life.Err() != nil
		if attempt >= w.cfg.MaxAttempts || givingUp {
			w.failed.Add(int64(len(batch)))
			w.failing.Store(true)
			w.log.Error("journal: giving up on batch", zap.Int("records", len(batch)),
				zap.Int("attempts", attempt), zap.Bool("closing", givingUp), zap.Error(err))
			return
		}
		w.log.Warn("journal: insert failed, retrying", zap.Int("records", len(batch)),
			zap.Int("attempt", attempt), zap.Duration("backoff", backoff), zap.Error(err))
		select {
		case <-time.After(backoff):
		case <-w.life.Done():
		}
		backoff = min(backoff*2, 10*time.Second)
	}
}
