// Package console is the web console of the OSA proxy: server-rendered pages
// over the decision journal (Requests, per-package history), the threat
// intelligence and policies in force, and a what-if replay of proposed
// policies. It is a plain http.Handler (net/http, html/template, embedded
// assets, no external network) that works when mounted under any path
// prefix: every link it generates is relative to the console root.
package console

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/osaproxy/caddy-osaproxy/intel"
	"github.com/osaproxy/caddy-osaproxy/journal"
	"github.com/osaproxy/caddy-osaproxy/whatif"
)

// Backend is what the console reads. The osa app adapts itself to it.
type Backend interface {
	// Requests queries the journal, newest first.
	Requests(ctx context.Context, f journal.Filter) (journal.Page, error)
	// Package summarizes one (normalized) package.
	Package(ctx context.Context, name string) (journal.PackageSummary, error)
	// Intel describes the intelligence in force.
	Intel() IntelInfo
	// Policies describes the effective policies and waivers.
	Policies() PolicyInfo
	// Advisory looks up a record of the intelligence in force by id or
	// alias; nil if unknown.
	Advisory(id string) *AdvisoryInfo
	// WhatIf replays the journal between since and until (strings as typed
	// by the operator: RFC 3339, a date or a duration back from now; empty
	// means the backend's default) against policy and waiver blocks in
	// Caddyfile syntax. An error means the input was rejected.
	WhatIf(ctx context.Context, policies, since, until string) (*whatif.Result, error)
}

// IntelInfo describes the intelligence in force.
type IntelInfo struct {
	// SnapshotID identifies the snapshot in force; empty when none is loaded.
	SnapshotID string
	// Records is how many records the snapshot holds.
	Records int
	// NewestModified is the newest "modified" time of its records.
	NewestModified time.Time
	// LoadedAt is when the snapshot was built.
	LoadedAt time.Time
	// Age is how long ago the last successful load happened.
	Age time.Duration
	// MaxAge is the age after which components count as unscanned (0: no limit).
	MaxAge time.Duration
	// LastError is the last load or refresh error, if any.
	LastError string
	// Sources reports each source.
	Sources []intel.SourceStatus
}

// PolicyInfo describes the effective policies and waivers.
type PolicyInfo struct {
	// Generation identifies the compiled policy set.
	Generation string
	// Policies in configuration order.
	Policies []PolicySummary
	// Waivers in configuration order.
	Waivers []WaiverSummary
}

// PolicySummary is one policy as the console shows it.
type PolicySummary struct {
	Name        string
	Description string
	// Active is true when the proxy evaluates the policy; Skipped says why not.
	Active  bool
	Skipped string
	Blocker bool
	// Delay is the delayed-block period ("14d"); empty for immediate blocks.
	Delay        string
	Stages       []string
	Components   []string
	Repositories []string
	// Conditions is a readable summary of the conditions.
	Conditions string
}

// WaiverSummary is one waiver as the console shows it.
type WaiverSummary struct {
	Name          string
	Package       string
	Version       string
	Repositories  []string
	Sha256        string
	Policies      []string
	Expires       time.Time
	Expired       bool
	Justification string
	ApprovedBy    string
}

// AdvisoryInfo is one intelligence record as the console shows it.
type AdvisoryInfo struct {
	ID        string
	Aliases   []string
	Summary   string
	Severity  string
	CVSS3     float64
	HasCVSS3  bool
	Published time.Time
	Modified  time.Time
	Withdrawn time.Time
	Malicious bool
	// References are URLs; only http(s) ones are linked.
	References []string
	// Affected is a readable summary of the affected packages and ranges,
	// e.g. "requests: >=0, <2.31.0".
	Affected []string
}

// Options configure the console.
type Options struct {
	// BasePath is the path prefix the console is mounted under when the
	// prefix is NOT stripped before the console sees the request (e.g.
	// "/console/"). With it, links are absolute under that prefix and the
	// prefix is stripped from incoming paths. Empty (the default): links
	// are relative to the request path, which works under any prefix that
	// a proxy strips (Caddy's handle_path).
	BasePath string
	// PageSize is the number of rows per page (default 50, max 1000).
	PageSize int
	// PollInterval is how often the Requests page polls for new rows
	// (default 5s; negative disables live updates).
	PollInterval time.Duration
	// Now returns the current time (default time.Now); for tests.
	Now func() time.Time
	// Title is shown in the header (default "OSA Proxy").
	Title string
}

// console is the handler returned by New.
type console struct {
	b        Backend
	opts     Options
	base     string // normalized BasePath ("" or "/x/")
	pages    map[string]*template.Template
	rows     *template.Template
	assetVer string
	protect  *http.CrossOriginProtection
}

// New returns the console handler over b.
func New(b Backend, opts Options) (http.Handler, error) {
	if b == nil {
		return nil, errors.New("console: a backend is required")
	}
	if opts.PageSize <= 0 {
		opts.PageSize = 50
	}
	if opts.PageSize > journal.MaxLimit {
		opts.PageSize = journal.MaxLimit
	}
	if opts.PollInterval == 0 {
		opts.PollInterval = 5 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Title == "" {
		opts.Title = "OSA Proxy"
	}
	c := &console{b: b, opts: opts, protect: http.NewCrossOriginProtection()}
	if opts.BasePath != "" {
		p := "/" + strings.Trim(opts.BasePath, "/") + "/"
		if p == "//" {
			p = "/"
		}
		if strings.ContainsAny(p, "\"'<> ?#") {
			return nil, errors.New("console: base path must be a plain URL path")
		}
		c.base = p
	}
	h := sha256.New()
	for _, name := range assetNames() {
		data, _ := assets.ReadFile("static/" + name)
		h.Write(data)
	}
	c.assetVer = hex.EncodeToString(h.Sum(nil))[:12]
	if err := c.parseTemplates(); err != nil {
		return nil, err
	}
	return c, nil
}

// ServeHTTP routes a request to a page.
func (c *console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w)
	path := r.URL.EscapedPath()
	if c.base != "" && c.base != "/" {
		if rest, ok := strings.CutPrefix(path, strings.TrimSuffix(c.base, "/")); ok {
			path = rest
		}
	}
	if path == "" {
		path = "/"
	}
	rq := &request{c: c, w: w, r: r, path: path, base: c.linkBase(path)}
	switch {
	case path == "/":
		rq.only(http.MethodGet, rq.requestsPage)
	case path == "/api/requests":
		rq.only(http.MethodGet, rq.requestsAPI)
	case strings.HasPrefix(path, "/package/"):
		rq.only(http.MethodGet, rq.packagePage)
	case path == "/intel":
		rq.only(http.MethodGet, rq.intelPage)
	case path == "/what-if":
		rq.whatIfPage()
	case strings.HasPrefix(path, "/static/"):
		c.serveAsset(w, r, strings.TrimPrefix(path, "/static/"))
	default:
		rq.errorPage(http.StatusNotFound, "There is no console page at this address.")
	}
}

// linkBase returns the prefix of every generated link: the configured base
// path, or "./", "../", ... back up to the console root from path (the path
// as the console sees it, relative to its root).
func (c *console) linkBase(path string) string {
	if c.base != "" {
		return c.base
	}
	depth := strings.Count(path, "/") - 1
	if depth <= 0 {
		return "./"
	}
	return strings.Repeat("../", depth)
}

// setSecurityHeaders sets the headers every console response carries.
func setSecurityHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
}

// request is the state of one request.
type request struct {
	c    *console
	w    http.ResponseWriter
	r    *http.Request
	path string // relative to the console root, escaped
	base string // link prefix back to the console root
}

// only serves GET (and HEAD) requests with fn and refuses other methods.
func (rq *request) only(method string, fn func()) {
	if rq.r.Method == method || (method == http.MethodGet && rq.r.Method == http.MethodHead) {
		fn()
		return
	}
	rq.w.Header().Set("Allow", method)
	rq.errorPage(http.StatusMethodNotAllowed, "Method "+rq.r.Method+" is not allowed here.")
}
