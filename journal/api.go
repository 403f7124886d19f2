package journal

import (
	"context"
	"time"
)

// Block statuses.
const (
	StatusNotBlocked        = "not_blocked"
	StatusBlockedByPolicies = "blocked_by_policies"
	StatusBlockedUnscanned  = "blocked_unscanned"
	StatusBlockedTimeout    = "blocked_scan_timeout"
	StatusBlockedOnError    = "blocked_on_error"
	StatusWouldBlock        = "would_block"
	StatusDelayedBlock      = "delayed_block"
)

// IsBlocked reports whether a status is one of the blocked_* statuses.
func IsBlocked(status string) bool {
	switch status {
	case StatusBlockedByPolicies, StatusBlockedUnscanned, StatusBlockedTimeout, StatusBlockedOnError:
		return true
	}
	return false
}

// Record is one decision.
type Record struct {
	ID              int64     `json:"id"`
	Time            time.Time `json:"time"`
	Repository      string    `json:"repository"`
	RepoManagerHost string    `json:"repo_manager_host,omitempty"`
	RepoName        string    `json:"repo_name,omitempty"`
	Ecosystem       string    `json:"ecosystem"`
	Package         string    `json:"package"`
	Version         string    `json:"version,omitempty"`
	File            string    `json:"file,omitempty"`
	Purl            string    `json:"purl,omitempty"`
	Operation       string    `json:"operation"`
	WorkMode        string    `json:"work_mode"`
	Status          string    `json:"status"`
	Policies        []string  `json:"policies,omitempty"`
	Advisories      []string  `json:"advisories,omitempty"`
	Waiver          string    `json:"waiver,omitempty"`
	Reason          string    `json:"reason,omitempty"`
	Initiator       string    `json:"initiator,omitempty"`
	ClientIP        string    `json:"client_ip,omitempty"`
	UserAgent       string    `json:"user_agent,omitempty"`
	RequestID       string    `json:"request_id,omitempty"`
	Snapshot        string    `json:"snapshot,omitempty"`
	Method          string    `json:"method,omitempty"`
	Path            string    `json:"path,omitempty"`
	HTTPStatus      int       `json:"http_status,omitempty"`
	// Removed counts the versions removed from an index response.
	Removed int `json:"removed,omitempty"`
}

// Filter selects records (all fields optional; strings match exactly,
// Package is normalized by the caller). Status "blocked" means any blocked_* status.
type Filter struct {
	Package     string
	Repository  string
	RepoManager string // matches RepoManagerHost or RepoName
	Status      string
	Mode        string
	Operation   string
	Initiator   string
	Since       time.Time
	Until       time.Time
	Limit       int    // default 100, max 1000
	Cursor      string // opaque, from Page.NextCursor
	// NoTotal skips counting (Page.Total = -1).
	NoTotal bool
}

// Page is a query result, newest first.
type Page struct {
	Requests   []Record `json:"requests"`
	NextCursor string   `json:"next_cursor"`
	Total      int64    `json:"total"`
}

// PackageSummary aggregates one package.
type PackageSummary struct {
	Package        string           `json:"package"`
	FirstRequested time.Time        `json:"first_requested"`
	LastRequested  time.Time        `json:"last_requested"`
	Counts         map[string]int64 `json:"counts"`   // by status
	Verdicts       []Record         `json:"verdicts"` // newest first: decisions whose status differs from the previous one of the same version
}

// Store is a journal backend.
type Store interface {
	// Insert stores a batch in one transaction.
	Insert(ctx context.Context, recs []Record) error
	Query(ctx context.Context, f Filter) (Page, error)
	Package(ctx context.Context, name string) (PackageSummary, error)
	// FirstTrigger returns when key first triggered, recording now if it never did
	// (atomic across instances sharing the database).
	FirstTrigger(ctx context.Context, key string, now time.Time) (time.Time, error)
	// Purge deletes records older than before and returns how many.
	Purge(ctx context.Context, before time.Time) (int64, error)
	// Ping checks the store is writable.
	Ping(ctx context.Context) error
	Close() error
}
