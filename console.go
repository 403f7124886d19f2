package osaproxy

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/osaproxy/caddy-osaproxy/console"
	"github.com/osaproxy/caddy-osaproxy/journal"
	"github.com/osaproxy/caddy-osaproxy/whatif"
)

func init() {
	caddy.RegisterModule(Console{})
	httpcaddyfile.RegisterHandlerDirective("osa_console", parseConsoleCaddyfile)
	httpcaddyfile.RegisterDirectiveOrder("osa_console", httpcaddyfile.Before, "reverse_proxy")
}

// Console serves the web console of the osa app: the Requests journal with
// filters and live updates, per-package history with the policies that
// fired and the advisories behind them, the intelligence and policies in
// force, and a what-if replay of proposed policies. It answers every request
// itself (it never calls the next handler), so put it behind authentication
// (basic_auth, forward_auth) and usually under its own path:
//
//	handle_path /console/* {
//		basic_auth { admin <hash> }
//		osa_console
//	}
//
// Every link the console generates is relative, so it works under any
// prefix that handle_path strips (add `redir /console /console/` for the
// address without the trailing slash). Use base_path only when the prefix is not
// stripped before the console sees the request.
type Console struct {
	// BasePath is the path prefix the console is mounted under when that
	// prefix is NOT stripped (e.g. inside `handle /console/*`): links are
	// then absolute under it and the prefix is removed from incoming paths.
	// Leave it empty with handle_path or when the console is at the root.
	BasePath string `json:"base_path,omitempty"`

	handler http.Handler
}

// CaddyModule returns the Caddy module information.
func (Console) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.osa_console",
		New: func() caddy.Module { return new(Console) },
	}
}

// Provision attaches the console to the osa app.
func (c *Console) Provision(ctx caddy.Context) error {
	appIface, err := ctx.App("osa")
	if err != nil {
		return fmt.Errorf("osa_console: getting osa app: %v", err)
	}
	h, err := console.New(consoleBackend{a: appIface.(*App)}, console.Options{BasePath: c.BasePath})
	if err != nil {
		return fmt.Errorf("osa_console: %v", err)
	}
	c.handler = h
	return nil
}

// ServeHTTP serves the console; it never calls next.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
	c.handler.ServeHTTP(w, r)
	return nil
}

func parseConsoleCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	var c Console
	err := c.UnmarshalCaddyfile(h.Dispenser)
	return &c, err
}

// UnmarshalCaddyfile sets up the console from Caddyfile tokens. Syntax:
//
//	osa_console [<matcher>] {
//		base_path <path>
//	}
//
// The block is optional. base_path is only needed when the console's path
// prefix is not stripped (handle instead of handle_path).
func (c *Console) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // directive name
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		switch d.Val() {
		case "base_path":
			if c.BasePath != "" {
				return d.Err("base_path: specified more than once")
			}
			if !d.NextArg() {
				return d.ArgErr()
			}
			if !strings.HasPrefix(d.Val(), "/") {
				return d.Errf("base_path: %q must start with /", d.Val())
			}
			c.BasePath = d.Val()
			if d.NextArg() {
				return d.ArgErr()
			}
		default:
			return d.Errf("osa_console: unknown subdirective %q", d.Val())
		}
	}
	return nil
}

// consoleBackend adapts the osa app to console.Backend.
type consoleBackend struct{ a *App }

// Requests reads the journal (after flushing what is queued).
func (b consoleBackend) Requests(ctx context.Context, f journal.Filter) (journal.Page, error) {
	return b.a.queryRequests(ctx, f)
}

// Package summarizes one package of the journal.
func (b consoleBackend) Package(ctx context.Context, name string) (journal.PackageSummary, error) {
	return b.a.jrnl.store.Package(ctx, name)
}

// Intel describes the intelligence in force.
func (b consoleBackend) Intel() console.IntelInfo {
	f := b.a.feed.feed
	info := console.IntelInfo{
		LastError: f.LastError(),
		Sources:   f.Status(),
		MaxAge:    time.Duration(b.a.IntelMaxAge),
	}
	if s := f.Current(); s != nil {
		info.SnapshotID = s.ID
		info.Records = s.Records
		info.NewestModified = s.NewestModified
		info.LoadedAt = s.LoadedAt
		info.Age = f.Age()
	}
	return info
}

// Policies describes the effective policies and waivers.
func (b consoleBackend) Policies() console.PolicyInfo {
	e := b.a.engine
	out := console.PolicyInfo{Generation: e.Generation()}
	for _, p := range e.Describe() {
		out.Policies = append(out.Policies, console.PolicySummary{
			Name: p.Name, Description: p.Description, Active: p.Active, Skipped: p.Skipped, Blocker: p.Blocker,
			Delay: p.Delay, Stages: p.Stages, Components: p.Components, Repositories: p.Repositories, Conditions: p.Conditions,
		})
	}
	for _, w := range e.Waivers() {
		out.Waivers = append(out.Waivers, console.WaiverSummary{
			Name: w.Name, Package: w.Package, Version: w.Version, Repositories: w.Repositories, Sha256: w.Sha256,
			Policies: w.Policies, Expires: w.Expires, Expired: w.Expired, Justification: w.Justification, ApprovedBy: w.ApprovedBy,
		})
	}
	return out
}

// Advisory looks a record up in the intelligence in force.
func (b consoleBackend) Advisory(id string) *console.AdvisoryInfo {
	v := b.a.feed.feed.Current().Lookup(id)
	if v == nil {
		return nil
	}
	info := &console.AdvisoryInfo{
		ID: v.ID, Aliases: v.Aliases, Summary: v.Summary, Severity: v.Severity, CVSS3: v.CVSS3, HasCVSS3: v.HasCVSS3,
		Published: v.Published, Modified: v.Modified, Withdrawn: v.Withdrawn, Malicious: v.Malicious, References: v.References,
	}
	for _, a := range v.Affected {
		info.Affected = append(info.Affected, console.AffectedSummary(a))
	}
	return info
}

// WhatIf replays the journal against proposed policy and waiver blocks.
func (b consoleBackend) WhatIf(ctx context.Context, policies, since, until string) (*whatif.Result, error) {
	return b.a.WhatIf(ctx, policies, since, until, 0)
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Console)(nil)
	_ caddyhttp.MiddlewareHandler = (*Console)(nil)
	_ caddyfile.Unmarshaler       = (*Console)(nil)
	_ console.Backend             = consoleBackend{}
)
