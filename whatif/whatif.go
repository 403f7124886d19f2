// Package whatif replays the journal of a period against a proposed policy
// set with the current intelligence and reports which outcomes would change,
// grouped by package and policy — so a policy can be tried on real traffic
// before it blocks anybody.
package whatif

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/osaproxy/caddy-osaproxy/intel"
	"github.com/osaproxy/caddy-osaproxy/journal"
	"github.com/osaproxy/caddy-osaproxy/policy"
)

// Change is one package/policy group whose outcome would change.
type Change struct {
	Package  string    `json:"package"`
	Policy   string    `json:"policy"`
	Change   string    `json:"change"` // newly_blocked or newly_allowed
	Versions []string  `json:"versions"`
	Requests int       `json:"requests"`
	Example  string    `json:"example_reason,omitempty"`
	LastSeen time.Time `json:"last_seen"`
}

// Result is the answer of a replay.
type Result struct {
	Replayed     int       `json:"replayed"`
	Changed      int       `json:"changed"`
	NewlyBlocked int       `json:"newly_blocked"`
	NewlyAllowed int       `json:"newly_allowed"`
	Groups       []Change  `json:"groups"`
	Snapshot     string    `json:"snapshot,omitempty"`
	Since        time.Time `json:"since"`
	Until        time.Time `json:"until"`
	Truncated    bool      `json:"truncated,omitempty"`
}

// Params are the inputs of a replay.
type Params struct {
	Store    journal.Store
	Current  *policy.Engine
	Proposed *policy.Engine
	Intel    *intel.Snapshot
	Now      time.Time
	Since    time.Time
	Until    time.Time
	// Limit bounds how many journal records are replayed (default 100000).
	Limit int
}

// Replay evaluates every journal record of the period that names a package
// version under both policy sets (each distinct component once) and groups
// the records whose block outcome differs.
func Replay(ctx context.Context, p Params) (*Result, error) {
	res := &Result{Since: p.Since, Until: p.Until}
	if p.Intel != nil {
		res.Snapshot = p.Intel.ID
	}
	limit := p.Limit
	if limit <= 0 {
		limit = 100000
	}
	type gk struct{ pkg, pol, change string }
	groups := map[gk]*Change{}
	memo := map[string][2]policy.Decision{}
	env := policy.Env{Now: p.Now, Intel: p.Intel}
	f := journal.Filter{Since: p.Since, Until: p.Until, Limit: 1000, NoTotal: true}
	for {
		page, err := p.Store.Query(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, rec := range page.Requests {
			if rec.Package == "" || rec.Version == "" {
				continue
			}
			if res.Replayed >= limit {
				res.Truncated = true
				break
			}
			res.Replayed++
			c := policy.Component{Ecosystem: "pypi", Name: rec.Package, Version: rec.Version, Filename: rec.File,
				Repository: rec.Repository, RepoManagerHost: rec.RepoManagerHost, RepoName: rec.RepoName}
			key := strings.Join([]string{c.Repository, c.RepoManagerHost, c.RepoName, c.Name, c.Version, c.Filename}, "\x00")
			pair, ok := memo[key]
			if !ok {
				pair = [2]policy.Decision{p.Current.Evaluate(&c, &env), p.Proposed.Evaluate(&c, &env)}
				memo[key] = pair
			}
			before, after := pair[0].Outcome == policy.Block, pair[1].Outcome == policy.Block
			if before == after {
				continue
			}
			res.Changed++
			change, d := "newly_blocked", pair[1]
			if before {
				change, d = "newly_allowed", pair[0]
				res.NewlyAllowed++
			} else {
				res.NewlyBlocked++
			}
			for _, m := range d.Matches {
				if !m.Blocker {
					continue
				}
				k := gk{rec.Package, m.Policy, change}
				g := groups[k]
				if g == nil {
					g = &Change{Package: rec.Package, Policy: m.Policy, Change: change, LastSeen: rec.Time}
					if len(m.Reasons) > 0 {
						g.Example = m.Reasons[0]
					}
					groups[k] = g
				}
				g.Requests++
				if rec.Time.After(g.LastSeen) {
					g.LastSeen = rec.Time
				}
				if !contains(g.Versions, rec.Version) {
					g.Versions = append(g.Versions, rec.Version)
				}
			}
		}
		if res.Truncated || page.NextCursor == "" {
			break
		}
		f.Cursor = page.NextCursor
	}
	res.Groups = make([]Change, 0, len(groups))
	for _, g := range groups {
		sort.Strings(g.Versions)
		res.Groups = append(res.Groups, *g)
	}
	sort.Slice(res.Groups, func(i, j int) bool {
		a, b := res.Groups[i], res.Groups[j]
		if a.Requests != b.Requests {
			return a.Requests > b.Requests
		}
		if a.Package != b.Package {
			return a.Package < b.Package
		}
		return a.Policy < b.Policy
	})
	return res, nil
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
