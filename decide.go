package osaproxy

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/osaproxy/caddy-osaproxy/internal/clock"
	"github.com/osaproxy/caddy-osaproxy/journal"
	"github.com/osaproxy/caddy-osaproxy/policy"
)

// Work modes.
const (
	ModeWarmup     = "warmup"
	ModeSpectator  = "spectator"
	ModeModerate   = "moderate"
	ModeStrict     = "strict"
	ModeStrictWait = "strict_wait"
)

func validMode(m string) bool {
	switch m {
	case ModeWarmup, ModeSpectator, ModeModerate, ModeStrict, ModeStrictWait:
		return true
	}
	return false
}

// blocking reports whether a mode ever blocks.
func blocking(mode string) bool {
	return mode == ModeModerate || mode == ModeStrict || mode == ModeStrictWait
}

// verdict is the enforced outcome for one component in one work mode.
type verdict struct {
	Status   string // journal block status
	Block    bool   // refuse / remove
	Decision policy.Decision
	Reason   string // one line for the journal, logs and the status line
	Snapshot string
}

// modeOpts are a handler's (or repository's) enforcement settings.
type modeOpts struct {
	Mode          string
	BlockOnErrors bool
	ScanTimeout   time.Duration
}

// decide evaluates c under the app's policies and intelligence and applies
// the work mode: the single place where statuses are chosen.
func (a *App) decide(ctx context.Context, c *policy.Component, proj *policy.Project, o modeOpts) verdict {
	return a.decideAt(ctx, c, proj, o, clock.Now())
}

// decideAt is decide at a given instant: the files of one page are decided
// at one instant, the one their file classes were computed at.
func (a *App) decideAt(ctx context.Context, c *policy.Component, proj *policy.Project, o modeOpts, now time.Time) verdict {
	snap := a.snapshot()
	if snap == nil && a.engine.NeedsIntel() && o.Mode == ModeStrictWait {
		if a.feed.wait(ctx, o.ScanTimeout) {
			snap = a.snapshot()
		}
		if snap == nil {
			return verdict{Status: journal.StatusBlockedTimeout, Block: true,
				Reason: fmt.Sprintf("%s %s was not scanned within %s (threat intelligence not loaded)", c.Name, c.Version, o.ScanTimeout)}
		}
	}
	var v verdict
	if snap != nil {
		v.Snapshot = snap.ID
	}
	if snap == nil && a.engine.NeedsIntel() {
		reason := fmt.Sprintf("%s %s is unscanned: threat intelligence is not loaded or older than intel_max_age", c.Name, c.Version)
		switch o.Mode {
		case ModeStrict, ModeStrictWait:
			return verdict{Status: journal.StatusBlockedUnscanned, Block: true, Reason: reason}
		default:
			return verdict{Status: journal.StatusNotBlocked, Reason: reason}
		}
	}
	key := ""
	if a.engine.Cacheable() {
		key = verdictKey(c, a.engine.Generation(), v.Snapshot)
		if d, ok := a.verdicts.get(key); ok {
			v.Decision = d
			return a.enforce(v, c, o)
		}
	}
	env := policy.Env{Now: now, Intel: snap, Project: proj, FirstTrigger: a.jrnl.firstTrigger}
	v.Decision = a.engine.Evaluate(c, &env)
	if key != "" && v.Decision.Err == nil {
		a.verdicts.put(key, v.Decision)
	}
	return a.enforce(v, c, o)
}

// enforce maps a policy decision to a status under the work mode.
func (a *App) enforce(v verdict, c *policy.Component, o modeOpts) verdict {
	d := &v.Decision
	if d.Err != nil {
		v.Reason = fmt.Sprintf("%s %s could not be evaluated: %v", c.Name, c.Version, d.Err)
		if blocking(o.Mode) && o.BlockOnErrors {
			v.Status, v.Block = journal.StatusBlockedOnError, true
			return v
		}
		v.Status = journal.StatusNotBlocked
		return v
	}
	v.Reason = decisionReason(d)
	switch d.Outcome {
	case policy.Block:
		if blocking(o.Mode) {
			v.Status, v.Block = journal.StatusBlockedByPolicies, true
		} else {
			v.Status = journal.StatusWouldBlock
		}
	case policy.ReportOnly:
		v.Status = journal.StatusWouldBlock
	case policy.Delayed:
		v.Status = journal.StatusDelayedBlock
	default:
		v.Status = journal.StatusNotBlocked
	}
	return v
}

// decisionReason is a one-line explanation of a decision.
func decisionReason(d *policy.Decision) string {
	if len(d.Matches) == 0 {
		return ""
	}
	var b strings.Builder
	for i, m := range d.Matches {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(m.Policy)
		if len(m.Reasons) > 0 {
			b.WriteString(": ")
			b.WriteString(strings.Join(m.Reasons, ", "))
		}
		if m.Delayed && !m.BlockAfter.IsZero() {
			b.WriteString(" (blocks from " + m.BlockAfter.UTC().Format(time.RFC3339) + ")")
		}
	}
	if d.Waiver != "" {
		b.WriteString("; allowed by waiver " + d.Waiver)
	}
	return b.String()
}

func verdictKey(c *policy.Component, gen, snap string) string {
	var b strings.Builder
	b.Grow(len(c.Repository) + len(c.RepoManagerHost) + len(c.RepoName) + len(c.Name) + len(c.Version) + len(c.Filename) + len(gen) + len(snap) + 16)
	for _, s := range []string{c.Repository, c.RepoManagerHost, c.RepoName, c.Name, c.Version, c.Filename, c.Sha256, c.PackageType, c.ProjectStatus, gen, snap} {
		b.WriteString(s)
		b.WriteByte(0)
	}
	if c.Yanked {
		b.WriteByte('y')
	}
	return b.String()
}

// verdictCache is a bounded cache of decisions keyed by (repository
// context, component, policy generation, snapshot): a new policy set or a
// new snapshot simply misses, so a version that becomes dangerous is blocked
// on its next request.
type verdictCache struct {
	mu  sync.RWMutex
	max int
	m   map[string]policy.Decision
}

func newVerdictCache(max int) *verdictCache {
	return &verdictCache{max: max, m: make(map[string]policy.Decision)}
}

func (c *verdictCache) get(k string) (policy.Decision, bool) {
	c.mu.RLock()
	d, ok := c.m[k]
	c.mu.RUnlock()
	return d, ok
}

func (c *verdictCache) put(k string, d policy.Decision) {
	c.mu.Lock()
	if len(c.m) >= c.max {
		// Random eviction of a slice of entries keeps it O(1) amortized and bounded.
		n := 0
		for key := range c.m {
			delete(c.m, key)
			if n++; n >= c.max/8 {
				break
			}
		}
	}
	c.m[k] = d
	c.mu.Unlock()
}
