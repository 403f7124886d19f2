package journal

// CONTRACT STUBS: the journal helper replaces these with real implementations
// (sqlite.go, postgres.go, writer.go, migrate.go) and deletes this file.

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"
)

// Open opens a store: driver "sqlite" (dsn = file path) or "postgres" (dsn =
// connection string). Migrations run on open.
func Open(ctx context.Context, driver, dsn string) (Store, error) { return nil, errors.New("todo") }

// WriterConfig configures the asynchronous writer.
type WriterConfig struct {
	QueueSize     int           // bounded queue (default 65536)
	BatchSize     int           // max records per transaction (default 1000)
	FlushInterval time.Duration // default 200ms
	// EnqueueTimeout is how long Enqueue blocks when the queue is full
	// (backpressure) before the record is dropped and counted (default 2s).
	EnqueueTimeout time.Duration
	Logger         *zap.Logger
}

// Writer batches records into a Store off the request path.
type Writer struct{}

// NewWriter starts a writer.
func NewWriter(s Store, cfg WriterConfig) *Writer { return &Writer{} }

// Enqueue queues a record; it returns false when the record was dropped.
func (w *Writer) Enqueue(r Record) bool { return false }

// Flush blocks until everything enqueued before the call is stored.
func (w *Writer) Flush(ctx context.Context) error { return nil }

// Close flushes and stops the writer (the store stays open).
func (w *Writer) Close() error { return nil }

// Stats are the writer's counters.
type Stats struct {
	Queued, Written, Dropped, Failed int64
	QueueDepth                       int
	LastError                        string
}

// Stats returns the counters.
func (w *Writer) Stats() Stats { return Stats{} }
