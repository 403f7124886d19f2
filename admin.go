package osaproxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/osaproxy/caddy-osaproxy/journal"
	"github.com/osaproxy/caddy-osaproxy/pypi"
)

func init() {
	caddy.RegisterModule(adminAPI{})
}

// adminAPI serves the osa endpoints on Caddy's admin listener:
//
//	GET  /osa/requests   the journal, newest first, filtered and paginated
//	GET  /osa/packages/<name>
//	GET  /osa/intel      sources, snapshot, counts, age, errors
//	GET  /osa/policies   effective policies and waivers
//	GET  /osa/ready      readiness (200 or 503 with the reason)
type adminAPI struct{}

// CaddyModule returns the Caddy module information.
func (adminAPI) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "admin.api.osa",
		New: func() caddy.Module { return new(adminAPI) },
	}
}

// Routes returns the admin routes.
func (adminAPI) Routes() []caddy.AdminRoute {
	return []caddy.AdminRoute{{Pattern: "/osa/", Handler: caddy.AdminHandlerFunc(serveAdmin)}}
}

// currentApp returns the osa app of the running configuration.
func currentApp() (*App, error) {
	ctx := caddy.ActiveContext()
	if ctx.Context == nil {
		return nil, errors.New("no configuration is running")
	}
	v, err := ctx.AppIfConfigured("osa")
	if err != nil {
		return nil, errors.New("the osa app is not configured (no osa global option and no osa_proxy handler)")
	}
	return v.(*App), nil
}

func apiErr(code int, format string, args ...any) error {
	return caddy.APIError{HTTPStatus: code, Err: fmt.Errorf(format, args...)}
}

func serveAdmin(w http.ResponseWriter, r *http.Request) error {
	path := strings.TrimPrefix(r.URL.Path, "/osa")
	if r.Method == http.MethodPost && path == "/what-if" {
		a, err := currentApp()
		if err != nil {
			return apiErr(http.StatusServiceUnavailable, "%v", err)
		}
		return a.serveWhatIf(w, r)
	}
	if r.Method != http.MethodGet {
		return apiErr(http.StatusMethodNotAllowed, "method %s not allowed", r.Method)
	}
	a, err := currentApp()
	if err != nil {
		return apiErr(http.StatusServiceUnavailable, "%v", err)
	}
	switch {
	case path == "/requests":
		f, err := parseFilter(r)
		if err != nil {
			return apiErr(http.StatusBadRequest, "%v", err)
		}
		page, err := a.queryRequests(r.Context(), f)
		if errors.Is(err, journal.ErrInvalidCursor) {
			return apiErr(http.StatusBadRequest, "cursor: %v", err)
		}
		if err != nil {
			return apiErr(http.StatusInternalServerError, "querying the journal: %v", err)
		}
		return writeJSON(w, page)
	case strings.HasPrefix(path, "/packages/"):
		name := pypi.NormalizeName(strings.TrimPrefix(path, "/packages/"))
		if name == "" {
			return apiErr(http.StatusBadRequest, "package name required")
		}
		sum, err := a.jrnl.store.Package(r.Context(), name)
		if err != nil {
			return apiErr(http.StatusInternalServerError, "querying the journal: %v", err)
		}
		return writeJSON(w, sum)
	case path == "/intel":
		return writeJSON(w, a.intelStatus())
	case path == "/policies":
		return writeJSON(w, a.policyStatus())
	case path == "/ready":
		ok, why := a.ready(r.Context())
		w.Header().Set("Content-Type", "application/json")
		if !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		return json.NewEncoder(w).Encode(map[string]any{"ready": ok, "reason": why})
	}
	return apiErr(http.StatusNotFound, "unknown osa endpoint %s", r.URL.Path)
}

// queryRequests reads the journal after flushing what is queued, so a
// request answered a moment ago is visible.
func (a *App) queryRequests(ctx context.Context, f journal.Filter) (journal.Page, error) {
	fctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	_ = a.jrnl.writer.Flush(fctx)
	cancel()
	page, err := a.jrnl.store.Query(ctx, f)
	if page.Requests == nil {
		page.Requests = []journal.Record{}
	}
	return page, err
}

func writeJSON(w http.ResponseWriter, v any) error {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// parseFilter reads the Requests filter from query parameters.
func parseFilter(r *http.Request) (journal.Filter, error) {
	q := r.URL.Query()
	f := journal.Filter{
		Repository:  q.Get("repository"),
		RepoManager: q.Get("repo_manager"),
		Status:      q.Get("status"),
		Mode:        q.Get("mode"),
		Operation:   q.Get("operation"),
		Initiator:   q.Get("initiator"),
		Cursor:      q.Get("cursor"),
	}
	if p := q.Get("package"); p != "" {
		f.Package = pypi.NormalizeName(p)
	}
	for _, tf := range []struct {
		key string
		dst *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if v := q.Get(tf.key); v != "" {
			t, err := parseTime(v)
			if err != nil {
				return f, fmt.Errorf("%s: %v", tf.key, err)
			}
			*tf.dst = t
		}
	}
	if v := q.Get("total"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return f, fmt.Errorf("total: want true or false, not %q", v)
		}
		f.NoTotal = !b
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 || n > 1000 {
			return f, fmt.Errorf("limit: want 1..1000, not %q", v)
		}
		f.Limit = n
	}
	if f.Status != "" && f.Status != "blocked" && !knownStatus(f.Status) {
		return f, fmt.Errorf("status: unknown block status %q", f.Status)
	}
	if f.Mode != "" && !validMode(f.Mode) {
		return f, fmt.Errorf("mode: unknown work mode %q", f.Mode)
	}
	return f, nil
}

// parseTime accepts RFC 3339, a date, or a duration back from now ("24h", "7d").
func parseTime(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", v); err == nil {
		return t, nil
	}
	if d, err := caddy.ParseDuration(v); err == nil && d > 0 {
		return time.Now().Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("want RFC 3339 time, YYYY-MM-DD or a duration like 24h or 7d, not %q", v)
}

func knownStatus(s string) bool {
	switch s {
	case journal.StatusNotBlocked, journal.StatusBlockedByPolicies, journal.StatusBlockedUnscanned,
		journal.StatusBlockedTimeout, journal.StatusBlockedOnError, journal.StatusWouldBlock, journal.StatusDelayedBlock:
		return true
	}
	return false
}

// intelStatus describes the intelligence in force.
func (a *App) intelStatus() map[string]any {
	out := map[string]any{"sources": a.feed.feed.Status()}
	if s := a.feed.feed.Current(); s != nil {
		out["snapshot"] = s.ID
		out["records"] = s.Records
		out["newest_modified"] = s.NewestModified
		out["loaded_at"] = s.LoadedAt
		out["age_seconds"] = int64(a.feed.feed.Age().Seconds())
	} else {
		out["snapshot"] = nil
	}
	if e := a.feed.feed.LastError(); e != "" {
		out["last_error"] = e
	}
	if a.IntelMaxAge > 0 {
		out["max_age_seconds"] = int64(time.Duration(a.IntelMaxAge).Seconds())
	}
	return out
}

// policyStatus describes the effective policies and waivers.
func (a *App) policyStatus() map[string]any {
	return map[string]any{
		"generation": a.engine.Generation(),
		"policies":   a.engine.Describe(),
		"waivers":    a.engine.Waivers(),
	}
}

// ready reports whether the proxy can decide: intelligence loaded (and
// fresh enough) when policies need it, and the journal writable.
func (a *App) ready(ctx context.Context) (bool, string) {
	if a.engine.NeedsIntel() && a.snapshot() == nil {
		if a.feed.feed.Current() == nil {
			return false, "threat intelligence is not loaded yet: " + a.feed.feed.LastError()
		}
		return false, fmt.Sprintf("threat intelligence is older than intel_max_age (%s)", time.Duration(a.IntelMaxAge))
	}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := a.jrnl.store.Ping(pctx); err != nil {
		return false, "journal is not writable: " + err.Error()
	}
	return true, ""
}

// Interface guards
var _ caddy.AdminRouter = (*adminAPI)(nil)
