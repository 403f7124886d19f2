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

// Snapshot is an immutable, indexed set of records.
type Snapshot struct {
	// ID identifies the content: "sha256:<12 hex>/<records>/<newest modified RFC3339>".
	ID             string
	Records        int
	NewestModified time.Time
	LoadedAt       time.Time
}

// Affecting returns the non-withdrawn records that affect name@version
// (name is normalized by the callee; PEP 440 ordering; versions list and
// ranges both count; introduced "0" without end covers every version).
func (s *Snapshot) Affecting(name, version string) []*Vuln { return nil }

// ForName returns every non-withdrawn record naming the package.
func (s *Snapshot) ForName(name string) []*Vuln { return nil }

// Lookup finds a record by id or alias.
func (s *Snapshot) Lookup(id string) *Vuln { return nil }

// Affects reports whether v affects name@version.
func (v *Vuln) Affects(name, version string) bool { return false }

// Build makes a snapshot from records (merged by id: newest Modified wins;
// aliases deduplicated).
func Build(records []*Vuln) *Snapshot { return nil }

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
