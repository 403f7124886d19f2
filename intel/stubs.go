package intel

// CONTRACT STUBS: the intel helper replaces these with real implementations
// (osv.go, pypa.go, snapshot.go, match.go, feed.go, cvss.go) and deletes this
// file. Signatures are the contract; more may be added.

import (
	"context"
	"errors"
	"net/http"
	"time"

	"go.uber.org/zap"
)

// FeedConfig configures a Feed.
type FeedConfig struct {
	Sources []SourceConfig
	// Refresh is the interval between refreshes of URL sources (0: never).
	Refresh time.Duration
	Client  *http.Client
	Logger  *zap.Logger
	// OnSwap is called after a new snapshot is in force (optional).
	OnSwap func(old, new *Snapshot)
}

// Feed holds the current snapshot and refreshes it.
type Feed struct{}

// NewFeed creates a feed; nothing is loaded until Load.
func NewFeed(cfg FeedConfig) *Feed { return &Feed{} }

// Load loads every source once. A source that fails is reported in Status
// and the error is returned, but the sources that loaded are in force.
func (f *Feed) Load(ctx context.Context) error { return errors.New("todo") }

// Start begins background refreshing until Stop.
func (f *Feed) Start() {}

// Stop ends background refreshing.
func (f *Feed) Stop() {}

// Refresh reloads URL sources now (conditional requests, modified_id.csv when offered).
func (f *Feed) Refresh(ctx context.Context) error { return errors.New("todo") }

// Current returns the snapshot in force, or nil before the first successful load.
func (f *Feed) Current() *Snapshot { return nil }

// Status reports the sources.
func (f *Feed) Status() []SourceStatus { return nil }
