package osaproxy

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/zeebo/xxh3"
	"go.uber.org/zap"

	"github.com/osaproxy/caddy-osaproxy/internal/clock"
	"github.com/osaproxy/caddy-osaproxy/journal"
	"github.com/osaproxy/caddy-osaproxy/policy"
	"github.com/osaproxy/caddy-osaproxy/pypi"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// Handler is the osa_proxy HTTP handler: a complete reverse proxy for
// package repositories that filters index responses, refuses forbidden
// downloads before any upstream byte reaches the client, and records every
// decision. It forwards through Caddy's own reverse_proxy (one provisioned
// per upstream host), so transport, TLS and timeouts are Caddy's.
//
// Requests whose first path segment is not a configured repository are
// passed to the next handler.
type Handler struct {
	// WorkMode is warmup, spectator, moderate, strict (default) or
	// strict_wait. warmup never blocks and records nothing; spectator never
	// blocks and records what would have been blocked; moderate blocks by
	// policy and lets unscanned components pass; strict also blocks
	// unscanned components; strict_wait waits up to scan_timeout for the
	// intelligence and blocks on timeout.
	WorkMode string `json:"work_mode,omitempty"`

	// BlockStatus is the HTTP status of a blocked response (default 403).
	BlockStatus int `json:"block_status,omitempty"`

	// StatusLine puts a short, sanitized block reason in the HTTP/1.x status
	// line (e.g. "403 Blocked: evil 1.0 MAL-2024-1"). HTTP/2 has no reason
	// phrase; the reason is always in the X-OSA-Reason header and the body.
	StatusLine bool `json:"status_line,omitempty"`

	// RemoveBlockedVersions removes the files of blocked versions from index
	// responses (default true). false keeps them, marked yanked with the
	// reason, without their metadata attributes; their downloads stay blocked.
	RemoveBlockedVersions *bool `json:"remove_blocked_versions,omitempty"`

	// BlockOnErrors blocks when a decision cannot be made because of an
	// error (fail closed; default true). false lets such components pass.
	BlockOnErrors *bool `json:"block_on_errors,omitempty"`

	// ScanTimeout bounds how long strict_wait holds a request waiting for a
	// verdict (default 30s).
	ScanTimeout caddy.Duration `json:"scan_timeout,omitempty"`

	// MaxIndexSize is the largest upstream project page (decoded) that will
	// be filtered (default 64 MiB). Larger pages are refused with 502 in
	// blocking modes.
	MaxIndexSize int64 `json:"max_index_size,omitempty"`

	// IndexCacheSize bounds, in bytes, the in-memory cache of filtered
	// index pages (default 64 MiB; negative turns the cache off). A cached
	// page is served only after the upstream confirmed with a 304 to
	// If-None-Match that its page is unchanged, and only under the same
	// policies, intelligence snapshot and work mode (see indexcache.go).
	IndexCacheSize int64 `json:"index_cache_size,omitempty"`

	// Repositories are the proxied repositories.
	Repositories []*Repository `json:"repositories,omitempty"`

	app    *App
	repos  map[string]*Repository
	logger *zap.Logger
	icache *indexCache // nil when IndexCacheSize < 0
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.osa_proxy",
		New: func() caddy.Module { return new(Handler) },
	}
}

// Provision sets up the handler and its upstream proxies.
func (h *Handler) Provision(ctx caddy.Context) error {
	h.logger = ctx.Logger()
	registerMetrics(ctx.GetMetricsRegistry())
	appIface, err := ctx.App("osa")
	if err != nil {
		return fmt.Errorf("getting osa app: %v", err)
	}
	h.app = appIface.(*App)
	if h.WorkMode == "" {
		h.WorkMode = ModeStrict
	}
	if h.BlockStatus == 0 {
		h.BlockStatus = http.StatusForbidden
	}
	if h.ScanTimeout == 0 {
		h.ScanTimeout = caddy.Duration(30 * time.Second)
	}
	if h.MaxIndexSize == 0 {
		h.MaxIndexSize = 64 << 20
	}
	h.repos = make(map[string]*Repository)
	for _, r := range h.Repositories {
		if r == nil {
			continue
		}
		if _, dup := h.repos[r.Name]; dup {
			return fmt.Errorf("repository %q is defined twice", r.Name)
		}
		if err := r.provision(ctx); err != nil {
			return err
		}
		h.repos[r.Name] = r
	}
	if h.IndexCacheSize == 0 {
		h.IndexCacheSize = defaultIndexCacheSize
	}
	if h.IndexCacheSize > 0 {
		h.icache = newIndexCache(h.IndexCacheSize)
	}
	return nil
}

// Validate checks the configuration.
func (h *Handler) Validate() error {
	if !validMode(h.WorkMode) {
		return fmt.Errorf("work_mode %q: want warmup, spectator, moderate, strict or strict_wait", h.WorkMode)
	}
	if h.BlockStatus < 400 || h.BlockStatus > 599 {
		return fmt.Errorf("block_status %d: must be a 4xx or 5xx status", h.BlockStatus)
	}
	if len(h.repos) == 0 {
		return errors.New("at least one repository is required")
	}
	return nil
}

func (h *Handler) removeBlocked() bool {
	return h.RemoveBlockedVersions == nil || *h.RemoveBlockedVersions
}
func (h *Handler) blockOnErrors() bool { return h.BlockOnErrors == nil || *h.BlockOnErrors }

// exchange is the state of one proxied request.
type exchange struct {
	h      *Handler
	repo   *Repository
	route  pypi.Route
	rc     pypi.RepoContext
	prefix string // link prefix: [stripped path]/<repo>[/<b64>]
	opts   modeOpts
	start  time.Time
	r      *http.Request
}

// ServeHTTP implements caddyhttp.MiddlewareHandler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	escaped := r.URL.EscapedPath()
	if len(escaped) < 2 || escaped[0] != '/' {
		return next.ServeHTTP(w, r)
	}
	repoSeg, rest := cutSegment(escaped)
	repo := h.repos[repoSeg]
	if repo == nil {
		return next.ServeHTTP(w, r)
	}
	x := &exchange{h: h, repo: repo, start: time.Now(), r: r}
	x.opts = modeOpts{Mode: h.WorkMode, BlockOnErrors: h.blockOnErrors(), ScanTimeout: time.Duration(h.ScanTimeout)}
	if repo.WorkMode != "" {
		x.opts.Mode = repo.WorkMode
	}
	prefix := "/" + repoSeg
	if repo.URLEncodedConfig && rest != "" && rest != "/" {
		seg, after := cutSegment(rest)
		if !isRouteRoot(seg) {
			rc, err := pypi.ParseContext(seg)
			if err != nil {
				return x.plainError(w, http.StatusBadRequest, "invalid repository context segment: "+err.Error())
			}
			x.rc = rc
			prefix += "/" + seg
			rest = after
		}
	}
	if rest == "" {
		rest = "/"
	}
	route, err := pypi.Classify(rest, repo.addKeys)
	if err != nil {
		var pe *pypi.Error
		if errors.As(err, &pe) {
			return x.plainError(w, pe.Status, pe.Msg)
		}
		return x.plainError(w, http.StatusBadRequest, err.Error())
	}
	x.route = route
	x.prefix = strippedPrefix(r) + prefix
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		return x.plainError(w, http.StatusMethodNotAllowed, "only GET and HEAD are supported")
	}
	if route.Redirect != "" {
		loc := x.prefix + route.Redirect
		if r.URL.RawQuery != "" {
			loc += "?" + r.URL.RawQuery
		}
		w.Header().Set("Location", loc)
		w.WriteHeader(http.StatusMovedPermanently)
		return nil
	}
	switch route.Op {
	case pypi.OpProjectList:
		return x.serveProjectList(w, r)
	case pypi.OpIndex:
		return x.serveIndex(w, r)
	case pypi.OpJSON:
		return x.serveJSONAPI(w, r)
	default:
		return x.serveFile(w, r)
	}
}

// cutSegment splits "/a/b/c" into "a" and "/b/c".
func cutSegment(p string) (string, string) {
	p = strings.TrimPrefix(p, "/")
	if i := strings.IndexByte(p, '/'); i >= 0 {
		return p[:i], p[i:]
	}
	return p, ""
}

func isRouteRoot(seg string) bool {
	switch seg {
	case "simple", "packages", "pypi", "x":
		return true
	}
	return false
}

// strippedPrefix recovers a path prefix removed by handle_path/uri strip_prefix
// before this handler, so links keep working behind it.
func strippedPrefix(r *http.Request) string {
	orig, ok := caddyhttp.GetVar(r.Context(), "osa_orig_path").(string)
	if !ok {
		if or, ok2 := r.Context().Value(caddyhttp.OriginalRequestCtxKey).(http.Request); ok2 && or.URL != nil {
			orig = or.URL.EscapedPath()
		}
	}
	cur := r.URL.EscapedPath()
	if orig != "" && orig != cur && strings.HasSuffix(orig, cur) {
		return strings.TrimSuffix(orig, cur)
	}
	return ""
}

// component builds the policy component for the request's repository.
func (x *exchange) component(name, version string) policy.Component {
	return policy.Component{
		Ecosystem:       "pypi",
		Name:            name,
		Version:         version,
		Repository:      x.repo.Name,
		RepoManagerHost: x.rc.RepoManagerHost,
		RepoName:        x.rc.RepoName,
	}
}

// forward sends the request to an upstream through its reverse proxy.
// upPath is the escaped path relative to the upstream base.
func (x *exchange) forward(w http.ResponseWriter, r *http.Request, up *upstream, upPath string, edit func(http.Header)) (err error) {
	// Caddy's reverse proxy aborts the handler (panic http.ErrAbortHandler)
	// when the upstream body breaks off after the headers: the caller must
	// still answer a buffered fetch with a 502 and record the request.
	defer func() {
		if v := recover(); v != nil {
			if v != http.ErrAbortHandler {
				panic(v)
			}
			err = errUpstreamAborted
		}
	}()
	r2 := r.Clone(r.Context())
	u, err := url.Parse(up.base.EscapedPath() + upPath)
	if err != nil {
		return caddyhttp.Error(http.StatusBadRequest, err)
	}
	r2.URL.Path, r2.URL.RawPath, r2.URL.RawQuery, r2.URL.Fragment = u.Path, u.RawPath, "", ""
	r2.RequestURI = r2.URL.RequestURI()
	if !x.repo.credentialsAllowed(up) {
		r2.Header.Del("Authorization")
		r2.Header.Del("Cookie")
	}
	r2.Header.Del("Proxy-Authorization")
	if edit != nil {
		edit(r2.Header)
	}
	return up.proxy.ServeHTTP(w, r2, caddyhttp.HandlerFunc(func(http.ResponseWriter, *http.Request) error { return nil }))
}

// mapper returns the link mapper for a page fetched from up at upPath.
func (x *exchange) mapper(up *upstream, upPath string) *pageMapper {
	page, err := url.Parse(up.str + upPath)
	if err != nil {
		page = up.base
	}
	return &pageMapper{table: &x.repo.mapper, page: page, prefix: x.prefix}
}

// ---------------------------------------------------------------------------
// Index pages

func (x *exchange) serveIndex(w http.ResponseWriter, r *http.Request) error {
	media, format, ok := pypi.Negotiate(r.Header.Get("Accept"), r.URL.Query().Get("format"))
	if !ok {
		w.Header().Set("Vary", "Accept")
		return x.plainError(w, http.StatusNotAcceptable, "acceptable media types: text/html, "+pypi.MediaV1HTML+", "+pypi.MediaV1JSON)
	}
	h := x.h
	// A cached filtered page (indexcache.go) is revalidated upstream with
	// its upstream ETag; a 304 serves it without parsing or deciding.
	ckey, csnap, cached := x.indexCacheLookup(media, format)
	buf := pageBufs.Get()
	buf.Reset()
	defer pageBufs.Put(buf)
	bw := &bufferWriter{header: make(http.Header), buf: buf, limit: h.MaxIndexSize}
	get := r.WithContext(r.Context())
	get.Method = http.MethodGet // the page is filtered whole; a HEAD is answered from it
	err := x.forward(bw, get, x.repo.registry, x.route.UpstreamPath, func(hd http.Header) {
		hd.Set("Accept", upstreamAccept(r, media))
		for _, k := range []string{"Accept-Encoding", "Range", "If-Range", "If-None-Match", "If-Modified-Since"} {
			hd.Del(k)
		}
		if cached != nil {
			hd.Set("If-None-Match", cached.upstreamETag)
		}
	})
	rec := journal.Record{Package: x.route.Project, Operation: string(pypi.OpIndex)}
	if bw.overflow {
		return x.upstreamFailure(w, rec, fmt.Sprintf("upstream index is larger than max_index_size (%d bytes); refusing to serve it unfiltered", h.MaxIndexSize))
	}
	if err != nil {
		return x.upstreamFailure(w, rec, "upstream request failed: "+err.Error())
	}
	if cached != nil && bw.status == http.StatusNotModified {
		metrics.indexCache.WithLabelValues("hit").Inc()
		return x.serveCachedIndex(w, r, cached, rec)
	}
	if bw.status != http.StatusOK {
		return x.passUpstream(w, bw, rec)
	}
	// Requests that received the same upstream page while another one is
	// filtering it wait for that result (indexcache.go).
	shared, land := x.indexCacheJoin(r.Context(), ckey, csnap, bw.header.Get("ETag"))
	if shared != nil {
		metrics.indexCache.WithLabelValues("shared").Inc()
		return x.serveCachedIndex(w, r, shared, rec)
	}
	defer func() {
		if land != nil {
			land(nil) // failed or blocked: the waiters filter for themselves
		}
	}()
	body, err := decodeBody(bw.header, buf.Bytes(), h.MaxIndexSize)
	if err != nil {
		return x.upstreamFailure(w, rec, err.Error())
	}
	ct := bw.header.Get("Content-Type")
	if f, ok := formatOf(ct); ok {
		format = f
	} else {
		return x.upstreamFailure(w, rec, fmt.Sprintf("upstream index has unexpected Content-Type %q", ct))
	}
	ix := parsedPages.Get()
	defer func() {
		ix.ReleaseSplitter()
		parsedPages.Put(ix) // nothing keeps ix or its Files (their detached strings may be kept)
	}()
	memoKey := nameMemoKey(x.repo.Name, x.route.Project)
	pm := x.mapper(x.repo.registry, x.route.UpstreamPath)
	if err := pypi.ParseIndexWith(ix, body, format, x.route.Project, knownNames.get(memoKey), pm); err != nil {
		return x.upstreamFailure(w, rec, "upstream index could not be parsed: "+err.Error())
	}
	if !ix.MemoCovered() && len(ix.Files) > 0 {
		knownNames.put(memoKey, pypi.NewNameMemo(ix))
	}

	if h.app.engine.NeedsUploadTime() && x.repo.scanManifest() && x.opts.Mode != ModeWarmup {
		x.fillUploadTimes(r, ix)
	}
	t0 := time.Now()
	edits, sum := x.decideIndex(ix)
	metrics.verdictLatency.WithLabelValues(string(pypi.OpIndex)).Observe(time.Since(t0).Seconds())
	rec.Snapshot, rec.Removed = sum.snapshot, sum.removed
	rec.Policies, rec.Advisories, rec.Reason = sum.policies(), sum.advisories(), sum.reason()
	rec.Status = sum.status

	if sum.allBlocked {
		rec.Status = sum.blockStatus
		return x.block(w, rec, blockInfo{
			Package: x.route.Project, Status: sum.blockStatus,
			Headline: fmt.Sprintf("every version of %s is blocked", x.route.Project),
			Details:  sum.details(), Policies: rec.Policies, Advisories: rec.Advisories, Snapshot: sum.snapshot,
		})
	}
	mapper := pm.withBase(ix.BaseHref) // pm itself without a <base>: its parse-time splits are used
	out := pageBufs.Get()
	out.Reset()
	defer pageBufs.Put(out)
	growExact(out, len(body)+len(body)/8) // links usually get shorter: one allocation at most
	rendered, err := ix.Render(out.Bytes()[:0], edits, mapper)
	if err != nil {
		return x.upstreamFailure(w, rec, "filtering the index failed: "+err.Error())
	}
	*out = *bytes.NewBuffer(rendered) // keep the grown slice for the pool

	etag := x.etag(rendered, sum.snapshot)
	if ckey != "" {
		metrics.indexCache.WithLabelValues("miss").Inc()
		// Keep the entry under the snapshot the decisions were made with:
		// intelligence that arrived during this request must not make the
		// next request miss (or hit a page filtered without it).
		snapUsed := csnap
		if sum.snapshot != "" {
			snapUsed = sum.snapshot
		}
		e := x.indexCacheStore(ckey, snapUsed, bw.header.Get("ETag"), bw.header, rendered, etag, &rec, sum)
		if land != nil {
			land(e)
			land = nil
		}
	}
	return x.writeIndex(w, r, rec, bw.header, rendered, etag)
}

// upstreamAccept is the Accept header of an upstream Simple API request:
// the client's own Accept, so that an upstream lacking the client's
// preferred type can answer with a fallback the client also takes (PEP 691
// lets a server answer 406 rather than pick a type itself), or the
// negotiated media type when ?format= chose it or the client sent none.
// Whatever comes back is parsed by its Content-Type (formatOf).
func upstreamAccept(r *http.Request, media string) string {
	accept := strings.TrimSpace(r.Header.Get("Accept"))
	if accept == "" {
		return media
	}
	if m, _, _ := pypi.Negotiate(accept, ""); m != media {
		return media // ?format= overrode the Accept header
	}
	return accept
}

// etag is computed over the bytes sent plus the policy and intel state,
// with XXH3-128 (about 20 times faster than BLAKE3 here, where BLAKE3 was
// still 6% of an uncached 6,000-file page under load). An ETag only tells a
// client it may keep the copy it has: a collision, even a crafted one, can
// at worst keep an earlier page filtered under the same policy generation,
// snapshot and mode, and every file of it is still decided when it is
// downloaded. Nothing else relies on the value.
func (x *exchange) etag(body []byte, snap string) string {
	h := xxh3.New()
	_, _ = h.Write(body)
	_, _ = io.WriteString(h, "\x00"+x.h.app.engine.Generation()+"\x00"+snap+"\x00"+x.opts.Mode)
	sum := h.Sum128().Bytes()
	return `"osa-` + base64.RawURLEncoding.EncodeToString(sum[:]) + `"`
}

func etagMatch(inm, etag string) bool {
	if inm == "" {
		return false
	}
	for _, t := range strings.Split(inm, ",") {
		t = strings.TrimSpace(t)
		t = strings.TrimPrefix(t, "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}

func formatOf(ct string) (pypi.Format, bool) {
	mt := strings.ToLower(strings.TrimSpace(strings.SplitN(ct, ";", 2)[0]))
	switch mt {
	case pypi.MediaTextHTML, pypi.MediaV1HTML, "application/vnd.pypi.simple.latest+html":
		return pypi.FormatHTML, true
	case pypi.MediaV1JSON, "application/vnd.pypi.simple.latest+json":
		return pypi.FormatJSON, true
	}
	return 0, false
}

// indexSummary aggregates the decisions for one index page.
type indexSummary struct {
	status, blockStatus string
	snapshot            string
	removed             int
	allBlocked          bool
	pols                map[string]struct{}
	advs                map[string]struct{}
	blocks              map[string]int // removed files per matching policy (metrics)
	lines               []string
}

func (s *indexSummary) policies() []string   { return sortedKeys(s.pols) }
func (s *indexSummary) advisories() []string { return sortedKeys(s.advs) }
func (s *indexSummary) reason() string {
	if len(s.lines) == 0 {
		return ""
	}
	const max = 20
	if len(s.lines) > max {
		return strings.Join(s.lines[:max], "; ") + fmt.Sprintf("; and %d more", len(s.lines)-max)
	}
	return strings.Join(s.lines, "; ")
}
func (s *indexSummary) details() []string { return s.lines }

// decideIndex decides every file of a page: one decision per version unless
// the policies look at individual files.
func (x *exchange) decideIndex(ix *pypi.Index) ([]pypi.Edit, *indexSummary) {
	a := x.h.app
	newSummary := func() *indexSummary {
		return &indexSummary{status: journal.StatusNotBlocked, pols: map[string]struct{}{}, advs: map[string]struct{}{}}
	}
	if !x.repo.scanManifest() || x.opts.Mode == ModeWarmup {
		return make([]pypi.Edit, len(ix.Files)), newSummary()
	}
	perFile := a.engine.FileSensitive()
	now := clock.Now()
	classEnv := policy.Env{Now: now}

	// The same decision inputs as a page decided before (pagedecide.go)
	// reuse its verdicts. Without a snapshot while policies need one, the
	// verdicts depend on waiting for it: they are never reused.
	var key []byte
	snapID, reuse := "", true
	if snap := a.snapshot(); snap != nil {
		snapID = snap.ID
	} else if a.engine.NeedsIntel() {
		reuse = false
	}
	pm := pageMatcher{x: x, ix: ix, perFile: perFile, env: &classEnv}
	if reuse {
		var kb [256]byte
		key = x.appendPageKey(kb[:0], ix, snapID, perFile)
		// Classes are compared under the stored page's project context: it
		// is the one this page makes when every file matches (it derives
		// from their versions and upload times), and any other page fails
		// to match on a file anyway.
		if d := a.pages.get(key, now); d != nil && pm.matches(d) {
			metrics.pageDecisions.WithLabelValues("hit").Inc()
			rememberProject(x.repo.Name, ix.Project, d.proj)
			// The same files with the same facts: learned already, unless
			// the memo replaced or evicted anything since.
			if !knownFiles.learnedAt(d.learned) {
				knownFiles.learnPage(ix)
			}
			if d.sum.removed > 0 {
				metrics.removed.WithLabelValues(x.repo.Name).Add(float64(d.sum.removed))
				for p, n := range d.sum.blocks {
					metrics.blocks.WithLabelValues(x.repo.Name, p).Add(float64(n))
				}
			}
			return d.edits, d.sum
		}
		metrics.pageDecisions.WithLabelValues("miss").Inc()
	}
	proj := projectOf(ix)
	rememberProject(x.repo.Name, ix.Project, proj)
	classEnv.Project = proj
	sum := newSummary()
	edits := make([]pypi.Edit, len(ix.Files))
	learned := knownFiles.learnPage(ix) // one locked pass per page, not one per file
	// Files are decided once per version, or, when policies look at files
	// (package type, yanked, upload age, a waiver's sha256), once per
	// version and file class (policy.Engine.AppendFileClass): the 5 wheels
	// of a release are usually one class. Within a class only verdicts
	// without matched policies or notes are shared (clean allows, and
	// unscanned or error verdicts, whose reasons name the version only); a
	// verdict with matches or notes is made per file, so that its reason
	// names that file and its exact age.
	var classBuf []byte
	evalErr := false
	memo := make(map[string]verdict, len(ix.Files)/4+1) // sized once: growing it was 5% of a 6,000-file page
	seenVersion := make(map[string]bool)
	kept := 0
	ctx := x.r.Context()
	for i := range ix.Files {
		f := &ix.Files[i]
		var v verdict
		if f.ParseErr != nil && (x.opts.Mode == ModeStrict || x.opts.Mode == ModeStrictWait) {
			// A file whose version cannot be read cannot be decided: strict
			// modes treat it as unscanned rather than let it through.
			v = verdict{Status: journal.StatusBlockedUnscanned, Block: true,
				Reason: fmt.Sprintf("%s: cannot read the version from file name %q", ix.Project, f.Filename)}
		}
		if !v.Block {
			var c policy.Component
			var mk []byte
			if perFile {
				c = x.component(ix.Project, f.Version)
				fillFromIndex(&c, f, ix.ProjectStatus)
				classBuf = append(append(classBuf[:0], f.Version...), 0)
				classBuf = a.engine.AppendFileClass(classBuf, &c, &classEnv)
				mk = classBuf
			} else {
				mk = append(classBuf[:0], f.Version...)
				classBuf = mk
			}
			if mv, ok := memo[string(mk)]; ok {
				v = mv
			} else {
				if !perFile {
					c = x.component(ix.Project, f.Version)
					fillFromIndex(&c, f, ix.ProjectStatus)
				}
				v = a.decideAt(ctx, &c, proj, x.opts, now)
				evalErr = evalErr || v.Decision.Err != nil
				if !perFile || (len(v.Decision.Matches) == 0 && len(v.Decision.Notes) == 0) {
					memo[string(mk)] = v
				}
			}
		}
		if v.Snapshot != "" {
			sum.snapshot = v.Snapshot
		}
		if v.Status != journal.StatusNotBlocked {
			for _, m := range v.Decision.Matches {
				sum.pols[m.Policy] = struct{}{}
			}
			for _, ad := range v.Decision.Advisories {
				sum.advs[ad] = struct{}{}
			}
			if !seenVersion[f.Version] {
				seenVersion[f.Version] = true
				sum.lines = append(sum.lines, v.Reason)
			}
			if sum.status == journal.StatusNotBlocked || v.Block {
				sum.status = v.Status
			}
		}
		if v.Block {
			sum.blockStatus = v.Status
			if x.h.removeBlocked() {
				edits[i] = pypi.Edit{Action: pypi.Remove, Reason: v.Reason}
			} else {
				edits[i] = pypi.Edit{Action: pypi.Mark, Reason: "blocked by osa_proxy: " + v.Reason}
			}
			sum.removed++
			for _, m := range v.Decision.Matches {
				metrics.blocks.WithLabelValues(x.repo.Name, m.Policy).Inc()
				if sum.blocks == nil {
					sum.blocks = make(map[string]int)
				}
				sum.blocks[m.Policy]++
			}
			continue
		}
		kept++
	}
	if sum.removed > 0 {
		metrics.removed.WithLabelValues(x.repo.Name).Add(float64(sum.removed))
		// The page was served (filtered): the request itself was not blocked.
		sum.status = journal.StatusNotBlocked
	}
	sum.allBlocked = len(ix.Files) > 0 && kept == 0
	// Evaluation errors may be passing; verdicts made under a snapshot that
	// was replaced during the loop belong to neither key.
	if reuse && !evalErr && sum.snapshot == snapID {
		a.pages.put(&pageDecision{key: string(key), files: pm.facts(), created: now, timeBound: !a.engine.Cacheable(), edits: edits, sum: sum, proj: proj, learned: learned})
	}
	return edits, sum
}

// fillUploadTimes completes an index without PEP 700 upload times (HTML,
// or JSON from registries that omit them) from the legacy JSON API, so
// cooldown policies see real ages. On failure the times stay missing and the
// policy's missing_upload_time option decides.
func (x *exchange) fillUploadTimes(r *http.Request, ix *pypi.Index) {
	// Times learned before are reused (uploadtimes.go): the JSON API is
	// fetched only for a page listing a file whose time is still unknown.
	missing := knownUploadTimes.fill(x.repo.Name, ix)
	if !missing || ix.Project == "" {
		return
	}
	buf := pageBufs.Get()
	buf.Reset()
	defer pageBufs.Put(buf)
	bw := &bufferWriter{header: make(http.Header), buf: buf, limit: x.h.MaxIndexSize}
	r2 := r.WithContext(r.Context())
	r2.Method = http.MethodGet
	err := x.forward(bw, r2, x.repo.registry, "/pypi/"+url.PathEscape(ix.Project)+"/json", func(hd http.Header) {
		hd.Set("Accept", "application/json")
		for _, k := range []string{"Accept-Encoding", "Range", "If-Range", "If-None-Match", "If-Modified-Since"} {
			hd.Del(k)
		}
	})
	if err != nil || bw.overflow || bw.status != http.StatusOK {
		x.h.logger.Debug("no upload times from the JSON API", zap.String("project", ix.Project), zap.Int("status", bw.status), zap.Error(err))
		return
	}
	body, err := decodeBody(bw.header, buf.Bytes(), x.h.MaxIndexSize)
	if err != nil {
		return
	}
	times, err := pypi.UploadTimes(body)
	if err != nil {
		return
	}
	knownUploadTimes.learn(x.repo.Name, times)
	for i := range ix.Files {
		f := &ix.Files[i]
		if f.UploadTime.IsZero() {
			f.UploadTime = times[f.Filename]
		}
	}
}

// fillFromIndex copies what the index says about a file into a component.
func fillFromIndex(c *policy.Component, f *pypi.IndexFile, status string) {
	c.Filename = f.Filename
	c.PackageType = string(f.Type)
	c.Sha256 = f.Sha256
	c.UploadTime = f.UploadTime
	c.Yanked = f.Yanked
	c.ProjectStatus = status
}

// projectOf summarizes a page for cooldown decisions.
func projectOf(ix *pypi.Index) *policy.Project {
	p := &policy.Project{ReleaseTimes: make(map[string]time.Time)}
	for i := range ix.Files {
		f := &ix.Files[i]
		if f.Version == "" {
			continue
		}
		t, seen := p.ReleaseTimes[f.Version]
		if !seen {
			p.Versions = append(p.Versions, f.Version)
		}
		if !f.UploadTime.IsZero() && (t.IsZero() || f.UploadTime.Before(t)) {
			p.ReleaseTimes[f.Version] = f.UploadTime
		} else if !seen {
			p.ReleaseTimes[f.Version] = t
		}
	}
	for v, t := range p.ReleaseTimes {
		if t.IsZero() {
			delete(p.ReleaseTimes, v)
		}
	}
	return p
}

// ---------------------------------------------------------------------------
// Project list

func (x *exchange) serveProjectList(w http.ResponseWriter, r *http.Request) error {
	media, format, ok := pypi.Negotiate(r.Header.Get("Accept"), r.URL.Query().Get("format"))
	if !ok {
		return x.plainError(w, http.StatusNotAcceptable, "acceptable media types: text/html, "+pypi.MediaV1HTML+", "+pypi.MediaV1JSON)
	}
	lw := &listWriter{ResponseWriterWrapper: &caddyhttp.ResponseWriterWrapper{ResponseWriter: w}, x: x, format: format}
	err := x.forward(lw, r, x.repo.registry, x.route.UpstreamPath, func(hd http.Header) {
		hd.Set("Accept", upstreamAccept(r, media))
		for _, k := range []string{"Accept-Encoding", "Range", "If-Range", "If-None-Match", "If-Modified-Since"} {
			hd.Del(k)
		}
	})
	rec := journal.Record{Operation: string(pypi.OpProjectList), Status: journal.StatusNotBlocked}
	if lw.filter != nil {
		if cerr := lw.filter.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil && !lw.wroteHeader {
		return x.upstreamFailure(w, rec, "upstream request failed: "+err.Error())
	}
	rec.HTTPStatus = lw.status
	if lw.refused {
		rec.HTTPStatus = http.StatusBadGateway
	}
	x.record(rec)
	if err == errUpstreamAborted {
		panic(http.ErrAbortHandler) // the client must see the list break off
	}
	return err
}

// listWriter streams the project list through the rewriting filter.
type listWriter struct {
	*caddyhttp.ResponseWriterWrapper
	x           *exchange
	format      pypi.Format
	filter      io.WriteCloser
	status      int
	wroteHeader bool
	refused     bool
}

func (l *listWriter) WriteHeader(code int) {
	if l.wroteHeader {
		return
	}
	l.wroteHeader = true
	l.status = code
	hdr := l.Header()
	if code == http.StatusOK {
		f, ok := formatOf(hdr.Get("Content-Type"))
		if !ok || hdr.Get("Content-Encoding") != "" {
			l.refused = true
			for k := range hdr {
				delete(hdr, k)
			}
			hdr.Set("Content-Type", "text/plain; charset=utf-8")
			l.ResponseWriterWrapper.WriteHeader(http.StatusBadGateway)
			_, _ = io.WriteString(l.ResponseWriterWrapper, "osa_proxy: the upstream project list has an unexpected type or encoding; refusing to pass it unfiltered\n")
			return
		}
		l.format = f
		hdr.Del("Content-Length")
		hdr.Del("ETag")
		hdr.Del("Last-Modified")
		hdr.Set("Vary", "Accept")
		l.filter = pypi.NewProjectListFilter(l.ResponseWriterWrapper, l.format, l.x.prefix, nil)
	} else if code >= 300 && code < 400 {
		l.x.guardRedirect(hdr, &code, l.x.repo.registry, l.x.route.UpstreamPath)
		if code == http.StatusBadGateway {
			l.refused = true
		}
	}
	l.ResponseWriterWrapper.WriteHeader(code)
}

func (l *listWriter) Write(b []byte) (int, error) {
	if !l.wroteHeader {
		l.WriteHeader(http.StatusOK)
	}
	if l.refused {
		return len(b), nil
	}
	if l.filter != nil {
		return l.filter.Write(b)
	}
	return l.ResponseWriterWrapper.Write(b)
}

// ReadFrom keeps io.Copy going through Write (the filter).
func (l *listWriter) ReadFrom(r io.Reader) (int64, error) {
	return io.Copy(writerOnly{l}, r)
}

type writerOnly struct{ io.Writer }

// ---------------------------------------------------------------------------
// Downloads

func (x *exchange) serveFile(w http.ResponseWriter, r *http.Request) error {
	rt := x.route
	rec := journal.Record{Operation: string(rt.Op), File: rt.Filename}
	var up *upstream
	switch rt.Upstream.Kind {
	case "additional":
		up = x.repo.additional[rt.Upstream.Key]
	case "registry":
		up = x.repo.registry
	default:
		up = x.repo.packages
	}
	if up == nil {
		return x.plainError(w, http.StatusNotFound, "unknown files host")
	}
	if x.repo.scanPackage() && x.opts.Mode != ModeWarmup {
		t0 := time.Now()
		v, c := x.decideFile(rt)
		metrics.verdictLatency.WithLabelValues(string(rt.Op)).Observe(time.Since(t0).Seconds())
		rec.Package, rec.Version, rec.Status, rec.Snapshot = c.Name, c.Version, v.Status, v.Snapshot
		rec.Policies, rec.Advisories, rec.Reason, rec.Waiver = v.Decision.Policies(), v.Decision.Advisories, v.Reason, v.Decision.Waiver
		if v.Block {
			return x.block(w, rec, blockInfo{
				Package: c.Name, Version: c.Version, File: rt.Filename, Status: v.Status,
				Headline: v.Reason, Details: matchLines(&v.Decision),
				Policies: rec.Policies, Advisories: rec.Advisories, Snapshot: v.Snapshot,
			})
		}
	} else {
		if fi, ok := x.identify(rt); ok {
			rec.Package, rec.Version = fi.Project, fi.Version
		}
		rec.Status = journal.StatusNotBlocked
	}
	gw := &redirectGuard{ResponseWriterWrapper: &caddyhttp.ResponseWriterWrapper{ResponseWriter: w}, x: x, up: up}
	err := x.forward(gw, r, up, rt.UpstreamPath, func(hd http.Header) {
		// Never let a conditional or encoding change what a hash-checked file is.
		hd.Del("If-Modified-Since")
	})
	rec.HTTPStatus = gw.status
	if err != nil && !gw.wroteHeader {
		return x.upstreamFailure(w, rec, "upstream request failed: "+err.Error())
	}
	if err == errUpstreamAborted {
		rec.Reason = strings.TrimPrefix(rec.Reason+"; ", "; ") + err.Error()
	}
	x.record(rec)
	if err == errUpstreamAborted {
		panic(http.ErrAbortHandler) // the client must see the body break off
	}
	return err
}

// identify finds the (project, version) of a file: from the legacy path,
// from an index page seen before, or from the filename alone.
func (x *exchange) identify(rt pypi.Route) (pypi.FileInfo, bool) {
	if rt.Project != "" {
		if fi, err := pypi.ParseFilename(rt.Filename, rt.Project); err == nil {
			return fi, true
		}
	}
	if m, ok := x.h.app.knownFile(rt.Filename); ok {
		return pypi.FileInfo{Filename: rt.Filename, Project: m.project, Version: m.version, Type: m.typ}, true
	}
	if c := pypi.FilenameCandidates(rt.Filename); len(c) > 0 {
		return c[0], true
	}
	return pypi.FileInfo{}, false
}

// decideFile decides a download. When the file's project is ambiguous every
// plausible split is decided and any block wins (fail closed).
func (x *exchange) decideFile(rt pypi.Route) (verdict, policy.Component) {
	a := x.h.app
	ctx := x.r.Context()
	var cands []pypi.FileInfo
	var meta *fileMeta
	if rt.Project != "" {
		if fi, err := pypi.ParseFilename(rt.Filename, rt.Project); err == nil {
			cands = []pypi.FileInfo{fi}
		}
	}
	if m, ok := a.knownFile(rt.Filename); ok && len(cands) == 0 {
		meta = &m
		cands = []pypi.FileInfo{{Filename: rt.Filename, Project: m.project, Version: m.version, Type: m.typ}}
	}
	if len(cands) == 0 {
		cands = pypi.FilenameCandidates(rt.Filename)
	}
	if len(cands) == 0 {
		c := x.component("", "")
		c.Filename = rt.Filename
		reason := fmt.Sprintf("cannot tell which package %q belongs to", rt.Filename)
		if x.opts.Mode == ModeStrict || x.opts.Mode == ModeStrictWait {
			return verdict{Status: journal.StatusBlockedUnscanned, Block: true, Reason: reason}, c
		}
		return verdict{Status: journal.StatusNotBlocked, Reason: reason}, c
	}
	// Any block wins; otherwise a reportable status (would_block, delayed)
	// wins over not_blocked; otherwise the first (most likely) split.
	var best verdict
	var bestC policy.Component
	for i, fi := range cands {
		c := x.component(fi.Project, fi.Version)
		c.Filename, c.PackageType = rt.Filename, string(fi.Type)
		if meta != nil {
			c.Sha256, c.UploadTime, c.Yanked, c.ProjectStatus = meta.sha256, meta.uploaded, meta.yanked, meta.status
		}
		// The project context of the index (cooldown security-fix bypass),
		// so a download is decided like the index entry that listed it.
		v := a.decide(ctx, &c, knownProject(x.repo.Name, fi.Project), x.opts)
		if v.Block {
			return v, c
		}
		if i == 0 || (best.Status == journal.StatusNotBlocked && v.Status != journal.StatusNotBlocked) {
			best, bestC = v, c
		}
	}
	return best, bestC
}

// redirectGuard streams a download untouched, except that an upstream
// redirect is rewritten to the proxy or refused: no client is ever sent to
// an upstream host.
type redirectGuard struct {
	*caddyhttp.ResponseWriterWrapper
	x           *exchange
	up          *upstream
	status      int
	wroteHeader bool
	suppress    bool
}

func (g *redirectGuard) WriteHeader(code int) {
	if g.wroteHeader {
		return
	}
	g.wroteHeader = true
	if code >= 300 && code < 400 && code != http.StatusNotModified {
		g.x.guardRedirect(g.Header(), &code, g.up, g.x.route.UpstreamPath)
		if code == http.StatusBadGateway {
			g.suppress = true
			g.status = code
			g.ResponseWriterWrapper.WriteHeader(code)
			_, _ = io.WriteString(g.ResponseWriterWrapper, "osa_proxy: upstream redirected outside the configured registries; refused\n")
			return
		}
	}
	g.status = code
	g.ResponseWriterWrapper.WriteHeader(code)
}

func (g *redirectGuard) Write(b []byte) (int, error) {
	if !g.wroteHeader {
		g.WriteHeader(http.StatusOK)
	}
	if g.suppress {
		return len(b), nil
	}
	return g.ResponseWriterWrapper.Write(b)
}

// ReadFrom keeps the zero-copy path for allowed files.
func (g *redirectGuard) ReadFrom(r io.Reader) (int64, error) {
	if !g.wroteHeader {
		g.WriteHeader(http.StatusOK)
	}
	if g.suppress {
		return io.Copy(io.Discard, r)
	}
	return g.ResponseWriterWrapper.ReadFrom(r)
}

// guardRedirect rewrites a Location into the proxy, or turns the response
// into a 502 when it points anywhere else.
func (x *exchange) guardRedirect(hdr http.Header, code *int, up *upstream, upPath string) {
	loc := hdr.Get("Location")
	if loc == "" {
		return
	}
	if mapped, ok := x.mapLocation(up, upPath, loc); ok {
		hdr.Set("Location", mapped)
		return
	}
	x.h.logger.Warn("refused upstream redirect outside the configured registries",
		zap.String("repository", x.repo.Name), zap.String("location", loc))
	for k := range hdr {
		delete(hdr, k)
	}
	hdr.Set("Content-Type", "text/plain; charset=utf-8")
	*code = http.StatusBadGateway
}

// mapLocation maps an upstream redirect target into the proxy: files and
// metadata through the link table, index and JSON API paths of the registry
// back to their proxy paths.
func (x *exchange) mapLocation(up *upstream, upPath, loc string) (string, bool) {
	m := x.mapper(up, upPath)
	if s, ok := m.MapLink(loc); ok {
		return s, true
	}
	ref, err := url.Parse(loc)
	if err != nil {
		return "", false
	}
	u := m.page.ResolveReference(ref)
	reg := x.repo.registry.base
	if strings.EqualFold(u.Scheme, reg.Scheme) && strings.EqualFold(u.Host, reg.Host) && strings.HasPrefix(u.EscapedPath(), reg.EscapedPath()+"/") {
		rest := strings.TrimPrefix(u.EscapedPath(), reg.EscapedPath())
		if strings.HasPrefix(rest, "/simple/") || strings.HasPrefix(rest, "/pypi/") {
			return x.prefix + rest, true
		}
	}
	return "", false
}

// ---------------------------------------------------------------------------
// Legacy JSON API

func (x *exchange) serveJSONAPI(w http.ResponseWriter, r *http.Request) error {
	rt := x.route
	// Status stays empty until decided, so an upstream failure is recorded
	// as blocked_on_error like an index's (see upstreamFailure).
	rec := journal.Record{Operation: string(pypi.OpJSON), Package: rt.Project, Version: rt.Version}
	a := x.h.app
	// The project context of the last index page (cooldown security-fix
	// bypass), so the JSON API agrees with the Simple API and downloads.
	proj := knownProject(x.repo.Name, rt.Project)
	scan := x.repo.scanManifest() && x.opts.Mode != ModeWarmup
	if scan && rt.Version != "" {
		c := x.component(rt.Project, rt.Version)
		v := a.decide(r.Context(), &c, proj, x.opts)
		rec.Status, rec.Snapshot, rec.Reason = v.Status, v.Snapshot, v.Reason
		rec.Policies, rec.Advisories, rec.Waiver = v.Decision.Policies(), v.Decision.Advisories, v.Decision.Waiver
		if v.Block {
			return x.block(w, rec, blockInfo{
				Package: rt.Project, Version: rt.Version, Status: v.Status, Headline: v.Reason,
				Details: matchLines(&v.Decision), Policies: rec.Policies, Advisories: rec.Advisories, Snapshot: v.Snapshot,
			})
		}
	}
	buf := pageBufs.Get()
	buf.Reset()
	defer pageBufs.Put(buf)
	bw := &bufferWriter{header: make(http.Header), buf: buf, limit: x.h.MaxIndexSize}
	get := r.WithContext(r.Context())
	get.Method = http.MethodGet // the document is filtered whole; a HEAD is answered from it
	err := x.forward(bw, get, x.repo.registry, rt.UpstreamPath, func(hd http.Header) {
		for _, k := range []string{"Accept-Encoding", "Range", "If-Range", "If-None-Match", "If-Modified-Since"} {
			hd.Del(k)
		}
	})
	if bw.overflow {
		return x.upstreamFailure(w, rec, "upstream JSON document is larger than max_index_size")
	}
	if err != nil {
		return x.upstreamFailure(w, rec, "upstream request failed: "+err.Error())
	}
	if bw.status != http.StatusOK {
		return x.passUpstream(w, bw, rec)
	}
	body, err := decodeBody(bw.header, buf.Bytes(), x.h.MaxIndexSize)
	if err != nil {
		return x.upstreamFailure(w, rec, err.Error())
	}
	sum := &indexSummary{pols: map[string]struct{}{}, advs: map[string]struct{}{}}
	removedVers := map[string]bool{}
	var allowedVers []string
	decideRelease := func(rel *pypi.JSONAPIRelease) pypi.Edit {
		if !scan {
			return pypi.Edit{}
		}
		e := x.decideJSONRelease(r, rel, proj, sum)
		if e.Action == pypi.Remove {
			removedVers[rel.Version] = true
		} else if len(rel.Files) > 0 {
			allowedVers = append(allowedVers, rel.Version)
		}
		return e
	}
	out, err := pypi.FilterJSONAPI(body, rt.Project, decideRelease, x.mapper(x.repo.registry, rt.UpstreamPath))
	if err == nil && rt.Version == "" && len(removedVers) > 0 {
		out = x.substituteLatest(r, out, removedVers, allowedVers)
	}
	return x.finishJSONAPI(w, r, rec, bw.header, out, err, sum)
}

// decideJSONRelease decides one release of a legacy JSON API document.
func (x *exchange) decideJSONRelease(r *http.Request, rel *pypi.JSONAPIRelease, proj *policy.Project, sum *indexSummary) pypi.Edit {
	a := x.h.app
	rt := x.route
	c := x.component(rt.Project, rel.Version)
	if len(rel.Files) > 0 {
		c.UploadTime = rel.Files[0].UploadTime
		for _, f := range rel.Files {
			if !f.UploadTime.IsZero() && f.UploadTime.Before(c.UploadTime) {
				c.UploadTime = f.UploadTime
			}
		}
	}
	v := a.decide(r.Context(), &c, proj, x.opts)
	if v.Snapshot != "" {
		sum.snapshot = v.Snapshot
	}
	if v.Block {
		sum.removed++
		for _, m := range v.Decision.Matches {
			sum.pols[m.Policy] = struct{}{}
		}
		for _, ad := range v.Decision.Advisories {
			sum.advs[ad] = struct{}{}
		}
		sum.lines = append(sum.lines, v.Reason)
		return pypi.Edit{Action: pypi.Remove, Reason: v.Reason}
	}
	return pypi.Edit{}
}

// finishJSONAPI answers a filtered legacy JSON API document.
func (x *exchange) finishJSONAPI(w http.ResponseWriter, r *http.Request, rec journal.Record, upHdr http.Header, out []byte, err error, sum *indexSummary) error {
	rt := x.route
	if errors.Is(err, pypi.ErrReleaseRemoved) {
		rec.HTTPStatus = http.StatusNotFound
		rec.Status = journal.StatusBlockedByPolicies
		rec.Policies, rec.Advisories, rec.Reason = sum.policies(), sum.advisories(), sum.reason()
		x.record(rec)
		return x.plainError(w, http.StatusNotFound, "this release is not available through the proxy: "+sum.reason())
	}
	if err != nil {
		return x.upstreamFailure(w, rec, "upstream JSON could not be filtered: "+err.Error())
	}
	if rt.Version == "" {
		rec.Removed, rec.Snapshot = sum.removed, sum.snapshot
		rec.Policies, rec.Advisories, rec.Reason = sum.policies(), sum.advisories(), sum.reason()
	}
	if rec.Status == "" {
		rec.Status = journal.StatusNotBlocked
	}
	return x.writeIndex(w, r, rec, upHdr, out, x.etag(out, rec.Snapshot))
}

// ---------------------------------------------------------------------------
// Upstream failures and pass-through

// upstreamFailure answers 502 with a clear message: an index that could not
// be fetched or filtered is never served.
func (x *exchange) upstreamFailure(w http.ResponseWriter, rec journal.Record, msg string) error {
	if rec.Status == "" {
		rec.Status = journal.StatusNotBlocked
		if blocking(x.opts.Mode) && x.opts.BlockOnErrors {
			rec.Status = journal.StatusBlockedOnError
		}
	}
	rec.HTTPStatus = http.StatusBadGateway
	rec.Reason = msg
	x.h.logger.Error("upstream failure", zap.String("repository", x.repo.Name), zap.String("path", x.r.URL.Path), zap.String("error", msg))
	x.record(rec)
	return x.plainError(w, http.StatusBadGateway, msg)
}

// passUpstream relays a non-200 upstream answer (404, 410, redirects mapped
// into the proxy, 5xx turned into 502).
func (x *exchange) passUpstream(w http.ResponseWriter, bw *bufferWriter, rec journal.Record) error {
	code := bw.status
	if code >= 500 {
		return x.upstreamFailure(w, rec, fmt.Sprintf("upstream answered %d", code))
	}
	hdr := w.Header()
	if code >= 300 && code < 400 && code != http.StatusNotModified {
		x.guardRedirect(bw.header, &code, x.repo.registry, x.route.UpstreamPath)
		if code == http.StatusBadGateway {
			return x.upstreamFailure(w, rec, "upstream redirected outside the configured registries")
		}
		copyHeaders(hdr, bw.header, "Location")
	}
	if rec.Status == "" {
		rec.Status = journal.StatusNotBlocked
	}
	copyHeaders(hdr, bw.header, "Content-Type", "Cache-Control")
	rec.HTTPStatus = code
	x.record(rec)
	body := bw.buf.Bytes()
	if bw.header.Get("Content-Encoding") != "" {
		body = nil
	}
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	if x.r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
	return nil
}

func copyHeaders(dst, src http.Header, keys ...string) {
	for _, k := range keys {
		if v := src.Values(k); len(v) > 0 {
			dst[http.CanonicalHeaderKey(k)] = append([]string(nil), v...)
		}
	}
}

// bufferWriter captures an upstream response in memory, up to a limit.
type bufferWriter struct {
	header   http.Header
	buf      *bytes.Buffer
	status   int
	limit    int64
	overflow bool
}

func (b *bufferWriter) Header() http.Header { return b.header }
func (b *bufferWriter) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
		// One allocation of the announced size instead of repeated doubling
		// (which cleared and copied fresh megabytes per large page).
		if n, err := strconv.ParseInt(b.header.Get("Content-Length"), 10, 64); err == nil && n > 0 && n <= b.limit {
			growExact(b.buf, int(n))
		}
	}
}
func (b *bufferWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	if b.overflow {
		return 0, errOverflow
	}
	if int64(b.buf.Len()+len(p)) > b.limit {
		b.overflow = true
		return 0, errOverflow
	}
	return b.buf.Write(p)
}

var errOverflow = errors.New("osa_proxy: upstream body exceeds max_index_size")

// growExact makes room for n more bytes in an empty-or-not buffer with one
// allocation of exactly what is needed. bytes.Buffer.Grow allocates at
// least twice the old capacity: a pooled 3.4 MB buffer asked for 3.8 MB
// became a cleared 7 MB allocation (bench/run html-uncached profile:
// buffer growth was a fifth of the CPU under 32 clients).
func growExact(b *bytes.Buffer, n int) {
	if b.Cap()-b.Len() >= n {
		return
	}
	nb := make([]byte, b.Len(), b.Len()+n)
	copy(nb, b.Bytes())
	*b = *bytes.NewBuffer(nb)
}

// errUpstreamAborted is forward's error when the upstream response broke off
// mid-body (reset, truncated or undecodable content, or more than a
// bufferWriter's limit).
var errUpstreamAborted = errors.New("the upstream response broke off mid-body")

// plainError writes a short text/plain error.
func (x *exchange) plainError(w http.ResponseWriter, code int, msg string) error {
	hdr := w.Header()
	hdr.Set("Content-Type", "text/plain; charset=utf-8")
	hdr.Set("X-Content-Type-Options", "nosniff")
	body := "osa_proxy: " + sanitizeLine(msg, 1000) + "\n"
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	hdr.Del("ETag")
	w.WriteHeader(code)
	if x.r == nil || x.r.Method != http.MethodHead {
		_, _ = io.WriteString(w, body)
	}
	return nil
}

// ---------------------------------------------------------------------------
// Recording

// record fills the request facts and queues a journal record (never in warmup).
func (x *exchange) record(rec journal.Record) {
	metrics.requests.WithLabelValues(x.repo.Name, rec.Operation, rec.Status).Inc()
	if x.opts.Mode == ModeWarmup {
		return
	}
	r := x.r
	rec.Time = clock.Now()
	rec.Repository = x.repo.Name
	rec.RepoManagerHost, rec.RepoName = x.rc.RepoManagerHost, x.rc.RepoName
	rec.Ecosystem = "pypi"
	rec.WorkMode = x.opts.Mode
	if rec.Package != "" && rec.Purl == "" {
		c := policy.Component{Name: rec.Package, Version: rec.Version}
		rec.Purl = c.PURL()
		if rec.File != "" {
			rec.Purl += "?file_name=" + url.QueryEscape(rec.File)
		}
	}
	repl, _ := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	if repl != nil {
		if u, ok := repl.GetString("http.auth.user.id"); ok && u != "" {
			rec.Initiator = u
		}
		rec.RequestID, _ = repl.GetString("http.request.uuid")
	}
	if ip, ok := caddyhttp.GetVar(r.Context(), caddyhttp.ClientIPVarKey).(string); ok {
		rec.ClientIP = ip
	}
	if rec.Initiator == "" {
		rec.Initiator = rec.ClientIP
	}
	rec.UserAgent = truncate(r.UserAgent(), 512)
	rec.Method = r.Method
	rec.Path = truncate(r.URL.EscapedPath(), 2048)
	if !x.h.app.jrnl.writer.Enqueue(rec) {
		x.h.logger.Error("journal record dropped (queue full past enqueue_timeout)", zap.String("package", rec.Package), zap.String("request_id", rec.RequestID))
	}
	if journal.IsBlocked(rec.Status) {
		x.h.logger.Warn("blocked",
			zap.String("repository", rec.Repository), zap.String("repo_manager_host", rec.RepoManagerHost), zap.String("repo_name", rec.RepoName),
			zap.String("package", rec.Package), zap.String("version", rec.Version), zap.String("file", rec.File), zap.String("purl", rec.Purl),
			zap.String("operation", rec.Operation), zap.String("work_mode", rec.WorkMode), zap.String("status", rec.Status),
			zap.Strings("policies", rec.Policies), zap.Strings("advisories", rec.Advisories), zap.String("reason", rec.Reason),
			zap.String("initiator", rec.Initiator), zap.String("client_ip", rec.ClientIP), zap.String("user_agent", rec.UserAgent),
			zap.String("request_id", rec.RequestID), zap.String("snapshot", rec.Snapshot), zap.Int("http_status", rec.HTTPStatus))
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// ---------------------------------------------------------------------------
// Learned files: downloads on the files host name only the file, so the
// project, version and facts the index gave are remembered per filename.

type fileMeta struct {
	project, version, sha256, status string
	typ                              pypi.PackageType
	uploaded                         time.Time
	yanked                           bool
}

func pageFileMeta(f *pypi.IndexFile, project, status string) fileMeta {
	return fileMeta{project: project, version: f.Version, sha256: f.Sha256, status: status, typ: f.Type, uploaded: f.UploadTime, yanked: f.Yanked}
}

// learnPage remembers every file of an index page like learnFile: one
// read-locked pass finds what is new or changed (usually nothing), one
// write-locked pass stores it. Per-file locking was a fifth of deciding a
// 6,000-file page (pprof of BenchmarkIndexPage6000). It returns the epoch
// at which the page was wholly known (see learnedAt).
func (f *fileMemo) learnPage(ix *pypi.Index) uint64 {
	var changed []int
	f.mu.RLock()
	for i := range ix.Files {
		fi := &ix.Files[i]
		if fi.Version == "" || fi.Filename == "" {
			continue
		}
		if old, ok := f.m[fi.Filename]; !ok || old != pageFileMeta(fi, ix.Project, ix.ProjectStatus) {
			changed = append(changed, i)
		}
	}
	e := f.epoch
	f.mu.RUnlock()
	if len(changed) == 0 {
		return e
	}
	f.mu.Lock()
	for _, i := range changed {
		fi := &ix.Files[i]
		if len(f.m) >= f.max {
			f.evictLocked()
		}
		if _, ok := f.m[fi.Filename]; ok {
			f.epoch++
		}
		m := pageFileMeta(fi, ix.Project, ix.ProjectStatus)
		if !fi.OwnsSha256() {
			m.sha256 = strings.Clone(m.sha256) // Sha256 points into the page body
		}
		f.m[fi.Filename] = m
	}
	e = f.epoch
	f.mu.Unlock()
	return e
}

func (a *App) knownFile(name string) (fileMeta, bool) { return knownFiles.get(name) }

// knownProjects remembers, per repository and project, the versions and
// release times of the last index page filtered, so that downloads (which
// name only a file) are decided with the same project context as the page:
// otherwise a young release let through the cooldown as a security fix
// would be listed but its download refused. Process-wide and bounded like
// knownFiles.
var knownProjects = struct {
	sync.RWMutex
	m map[string]*policy.Project
}{m: make(map[string]*policy.Project)}

const maxKnownProjects = 1 << 14

func rememberProject(repo, project string, p *policy.Project) {
	if project == "" || p == nil {
		return
	}
	k := repo + "\x00" + project
	knownProjects.Lock()
	if _, ok := knownProjects.m[k]; !ok && len(knownProjects.m) >= maxKnownProjects {
		n := 0
		for key := range knownProjects.m {
			delete(knownProjects.m, key)
			if n++; n >= maxKnownProjects/8 {
				break
			}
		}
	}
	knownProjects.m[k] = p
	knownProjects.Unlock()
}

// knownProject returns the project context last seen for repo/project, or nil.
func knownProject(repo, project string) *policy.Project {
	knownProjects.RLock()
	defer knownProjects.RUnlock()
	return knownProjects.m[repo+"\x00"+project]
}

// knownFiles is process-wide so it survives reloads; bounded.
var knownFiles = newFileMemo(1 << 18)

type fileMemo struct {
	mu  sync.RWMutex
	max int
	m   map[string]fileMeta
	// epoch counts the changes that can make an entry learned before
	// differ or go missing: replacements and evictions (not new entries).
	// A page learned at epoch e is still wholly known while it is e.
	epoch uint64
}

func newFileMemo(max int) *fileMemo { return &fileMemo{max: max, m: make(map[string]fileMeta)} }

func (f *fileMemo) get(k string) (fileMeta, bool) {
	f.mu.RLock()
	v, ok := f.m[k]
	f.mu.RUnlock()
	return v, ok
}

func (f *fileMemo) put(k string, v fileMeta) {
	f.mu.RLock()
	old, ok := f.m[k]
	f.mu.RUnlock()
	if ok && old == v {
		return
	}
	v.sha256 = strings.Clone(v.sha256) // it may point into a page body
	f.mu.Lock()
	if len(f.m) >= f.max {
		f.evictLocked()
	}
	if _, ok := f.m[k]; ok {
		f.epoch++
	}
	f.m[k] = v
	f.mu.Unlock()
}

// learnedAt reports whether nothing learned was replaced or evicted since
// epoch e (learnPage's result).
func (f *fileMemo) learnedAt(e uint64) bool {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.epoch == e
}

// evictLocked drops an arbitrary eighth of the entries (f.mu held).
func (f *fileMemo) evictLocked() {
	f.epoch++
	n := 0
	for key := range f.m {
		delete(f.m, key)
		if n++; n >= f.max/8 {
			break
		}
	}
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
	_ http.ResponseWriter         = (*bufferWriter)(nil)
	_ io.ReaderFrom               = (*redirectGuard)(nil)
	_ io.ReaderFrom               = (*listWriter)(nil)
)
