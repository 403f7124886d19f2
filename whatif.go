package osaproxy

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/osaproxy/caddy-osaproxy/internal/clock"
	"github.com/osaproxy/caddy-osaproxy/policy"
	"github.com/osaproxy/caddy-osaproxy/policyfile"
	"github.com/osaproxy/caddy-osaproxy/whatif"
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

func (a *App) serveWhatIf(w http.ResponseWriter, r *http.Request) error {
	var req whatIfRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return apiErr(http.StatusBadRequest, "what-if: invalid JSON body: %v", err)
	}
	res, err := a.WhatIf(r.Context(), req.Policies, req.Since, req.Until, req.Limit)
	if err != nil {
		return apiErr(http.StatusBadRequest, "what-if: %v", err)
	}
	return writeJSON(w, res)
}

// WhatIf replays the journal between since and until (default: the last 7
// days) against proposed policy and waiver blocks in Caddyfile syntax.
func (a *App) WhatIf(ctx context.Context, policies, since, until string, limit int) (*whatif.Result, error) {
	cfg, err := policyfile.ParseString(policies)
	if err != nil {
		return nil, err
	}
	proposed, err := policy.Compile(cfg)
	if err != nil {
		return nil, err
	}
	now := clock.Now()
	p := whatif.Params{Store: a.jrnl.store, Current: a.engine, Proposed: proposed, Intel: a.feed.feed.Current(),
		Now: now, Since: now.Add(-7 * 24 * time.Hour), Until: now, Limit: limit}
	if since != "" {
		if p.Since, err = parseTime(since); err != nil {
			return nil, fmt.Errorf("since: %v", err)
		}
	}
	if until != "" {
		if p.Until, err = parseTime(until); err != nil {
			return nil, fmt.Errorf("until: %v", err)
		}
	}
	fctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	_ = a.jrnl.writer.Flush(fctx)
	cancel()
	return whatif.Replay(ctx, p)
}
