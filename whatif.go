package osaproxy

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"time"

	"github.com/osaproxy/caddy-osaproxy/internal/clock"
	"github.com/osaproxy/caddy-osaproxy/journal"
	"github.com/osaproxy/caddy-osaproxy/policy"
	"github.com/osaproxy/caddy-osaproxy/policyfile"
)

// whatIfRequest is the body of POST /osa/what-if.
type whatIfRequest struct {
	// Policies holds policy and waiver blocks in Caddyfile syntax.
	Policies string `json:"policies"`
	// Since and Until bound the replayed period (RFC 3339, a date, or a
	// duration back from now). Default: the last 7 days.
	Since string `json:"since,omitempty"`
	Until string `json:"until,omitempty"`
	// Limit bounds how many journal records are replayed (default 100000).
	Limit int `json:"limit,omitempty"`
}

// WhatIfChange is one package/policy group whose outcome would change.
type WhatIfChange struct {
	Package  string   `json:"package"`
	Policy   string   `json:"policy"`
	Change   string   `json:"change"` // newly_blocked or newly_allowed
	Versions []string `json:"versions"`
	Requests int      `json:"requests"`
	Example  string   `json:"example_reason,omitempty"`
	LastSeen string   `json:"last_seen"`
}

// WhatIfResult is the answer of a what-if replay.
type WhatIfResult struct {
	Replayed      int            `json:"replayed"`
	Changed       int            `json:"changed"`
	NewlyBlocked  int            `json:"newly_blocked"`
	NewlyAllowed  int            `json:"newly_allowed"`
	Groups        []WhatIfChange `json:"groups"`
	Snapshot      string         `json:"snapshot,omitempty"`
	Since         time.Time      `json:"since"`
	Until         time.Time      `json:"until"`
	Truncated     bool           `json:"truncated,omitempty"`
	ProposedCount int            `json:"proposed_policies"`
}

func (a *App) serveWhatIf(w http.ResponseWriter, r *http.Request) error {
	var req whatIfRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return apiErr(http.StatusBadRequest, "what-if: invalid JSON body: %v", err)
	}
	res, err := a.whatIf(r.Context(), req)
	if err != nil {
		return apiErr(http.StatusBadRequest, "what-if: %v", err)
	}
	return writeJSON(w, res)
}

// whatIf replays the journal of a period against a proposed policy set with
// the current intelligence and reports the outcomes that would change.
func (a *App) whatIf(ctx context.Context, req whatIfRequest) (*WhatIfResult, error) {
	cfg, err := policyfile.ParseString(req.Policies)
	if err != nil {
		return nil, err
	}
	proposed, err := policy.Compile(cfg)
	if err != nil {
		return nil, err
	}
	now := clock.Now()
	res := &WhatIfResult{Since: now.Add(-7 * 24 * time.Hour), Until: now, ProposedCount: len(cfg.Policies)}
	if req.Since != "" {
		if res.Since, err = parseTime(req.Since); err != nil {
			return nil, fmt.Errorf("since: %v", err)
		}
	}
	if req.Until != "" {
		if res.Until, err = parseTime(req.Until); err != nil {
			return nil, fmt.Errorf("until: %v", err)
		}
	}
	limit := req.Limit
	if limit <= 0 {
		limit = 100000
	}
	snap := a.feed.feed.Current()
	if snap != nil {
		res.Snapshot = snap.ID
	}
	fctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	_ = a.jrnl.writer.Flush(fctx)
	cancel()

	type gk struct{ pkg, pol, change string }
	groups := map[gk]*WhatIfChange{}
	memo := map[string][2]policy.Decision{}
	env := policy.Env{Now: now, Intel: snap}
	f := journal.Filter{Since: res.Since, Until: res.Until, Limit: 1000, NoTotal: true}
	for {
		page, err := a.jrnl.store.Query(ctx, f)
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
			key := verdictKey(&c, "", "")
			pair, ok := memo[key]
			if !ok {
				pair = [2]policy.Decision{a.engine.Evaluate(&c, &env), proposed.Evaluate(&c, &env)}
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
					g = &WhatIfChange{Package: rec.Package, Policy: m.Policy, Change: change, LastSeen: rec.Time.UTC().Format(time.RFC3339)}
					if len(m.Reasons) > 0 {
						g.Example = m.Reasons[0]
					}
					groups[k] = g
				}
				g.Requests++
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
	for _, g := range groups {
		sort.Strings(g.Versions)
		res.Groups = append(res.Groups, *g)
	}
	sort.Slice(res.Groups, func(i, j int) bool {
		if res.Groups[i].Requests != res.Groups[j].Requests {
			return res.Groups[i].Requests > res.Groups[j].Requests
		}
		return res.Groups[i].Package+res.Groups[i].Policy < res.Groups[j].Package+res.Groups[j].Policy
	})
	if res.Groups == nil {
		res.Groups = []WhatIfChange{}
	}
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
