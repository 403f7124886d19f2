package console

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/osaproxy/caddy-osaproxy/intel"
	"github.com/osaproxy/caddy-osaproxy/journal"
	"github.com/osaproxy/caddy-osaproxy/whatif"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var assets embed.FS

// assetNames lists the embedded static files, sorted.
func assetNames() []string {
	var names []string
	_ = fs.WalkDir(assets, "static", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			names = append(names, strings.TrimPrefix(p, "static/"))
		}
		return nil
	})
	sort.Strings(names)
	return names
}

// serveAsset serves one embedded static file.
func (c *console) serveAsset(w http.ResponseWriter, r *http.Request, name string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if name == "" || strings.Contains(name, "..") || strings.Contains(name, "/") {
		http.NotFound(w, r)
		return
	}
	data, err := assets.ReadFile("static/" + name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	ct := mime.TypeByExtension(path.Ext(name))
	if ct == "" {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	// Links carry ?v=<content hash>, so a cached copy is never stale.
	w.Header().Set("Cache-Control", "public, max-age=86400")
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(data))
}

// pageNames are the page templates; each is parsed with layout.html and rows.html.
var pageNames = []string{"requests", "package", "intel", "whatif", "error"}

func (c *console) parseTemplates() error {
	funcs := template.FuncMap{
		"statusClass": statusClass,
		"statusLabel": statusLabel,
		"fmtTime":     fmtTime,
		"iso":         iso,
		"ago":         func(t time.Time) string { return ago(c.opts.Now(), t) },
		"pathEscape":  url.PathEscape,
		"osvURL":      osvURL,
		"join":        strings.Join,
		"repoManager": repoManager,
		"dur":         humanDuration,
		"webURL":      webURL,
		"score":       func(f float64) string { return fmt.Sprintf("%.1f", f) },
		"changes": func(base string, c []whatif.Change) changesView {
			return changesView{Base: base, Changes: c}
		},
	}
	c.pages = map[string]*template.Template{}
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/rows.html", "templates/"+name+".html")
		if err != nil {
			return fmt.Errorf("console: templates: %w", err)
		}
		c.pages[name] = t
	}
	rows, err := template.New("rows").Funcs(funcs).ParseFS(templateFS, "templates/rows.html")
	if err != nil {
		return fmt.Errorf("console: templates: %w", err)
	}
	c.rows = rows
	return nil
}

// changesView is what the "changes" template of the what-if page receives.
type changesView struct {
	Base    string
	Changes []whatif.Change
}

// page is what the layout template receives.
type page struct {
	Title    string // page title
	AppTitle string
	Base     string // link prefix back to the console root
	Active   string // nav entry
	AssetVer string
	Error    string // shown above the content
	Now      time.Time
	D        any // page-specific data
}

// render writes a full page.
func (rq *request) render(status int, name, title, active string, data any, errMsg string) {
	p := page{Title: title, AppTitle: rq.c.opts.Title, Base: rq.base, Active: active,
		AssetVer: rq.c.assetVer, Error: errMsg, Now: rq.c.opts.Now(), D: data}
	var buf bytes.Buffer
	if err := rq.c.pages[name].ExecuteTemplate(&buf, "layout", p); err != nil {
		http.Error(rq.w, "console: rendering "+name+": "+err.Error(), http.StatusInternalServerError)
		return
	}
	rq.w.Header().Set("Content-Type", "text/html; charset=utf-8")
	rq.w.WriteHeader(status)
	if rq.r.Method != http.MethodHead {
		_, _ = rq.w.Write(buf.Bytes())
	}
}

// errorPage renders a page that only says what went wrong.
func (rq *request) errorPage(status int, msg string) {
	rq.render(status, "error", http.StatusText(status), "", nil, msg)
}

// Statuses in the order the console offers them.
var statuses = []string{
	journal.StatusNotBlocked, journal.StatusBlockedByPolicies, journal.StatusBlockedUnscanned,
	journal.StatusBlockedTimeout, journal.StatusBlockedOnError, journal.StatusWouldBlock, journal.StatusDelayedBlock,
}

// Work modes of the proxy.
var modes = []string{"warmup", "spectator", "moderate", "strict", "strict_wait"}

// Operations recorded by the proxy.
var operations = []string{"index", "download", "metadata", "signature", "json", "project_list"}

func knownStatus(s string) bool {
	for _, x := range statuses {
		if x == s {
			return true
		}
	}
	return false
}

func statusClass(s string) string {
	switch {
	case s == journal.StatusNotBlocked:
		return "ok"
	case journal.IsBlocked(s):
		return "blocked"
	case s == journal.StatusWouldBlock:
		return "warn"
	case s == journal.StatusDelayedBlock:
		return "delayed"
	}
	return "other"
}

func statusLabel(s string) string {
	switch s {
	case journal.StatusNotBlocked:
		return "Not blocked"
	case journal.StatusBlockedByPolicies:
		return "Blocked by policies"
	case journal.StatusBlockedUnscanned:
		return "Blocked: unscanned"
	case journal.StatusBlockedTimeout:
		return "Blocked: scan timeout"
	case journal.StatusBlockedOnError:
		return "Blocked on error"
	case journal.StatusWouldBlock:
		return "Would block"
	case journal.StatusDelayedBlock:
		return "Delayed block"
	case "blocked":
		return "Blocked (any)"
	case "":
		return "—"
	}
	return s
}

const timeLayout = "2006-01-02 15:04:05"

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format(timeLayout)
}

func iso(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// ago says how long before now t was, coarsely ("just now", "5 min ago").
func ago(now, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := now.Sub(t)
	if d < 0 {
		return "in the future"
	}
	if d < time.Minute {
		return "just now"
	}
	return humanDuration(d) + " ago"
}

// humanDuration renders d coarsely: "42 s", "5 min", "3 h 20 min", "4 d 2 h".
func humanDuration(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 24*time.Hour:
		h := int(d.Hours())
		if m := int(d.Minutes()) % 60; m != 0 {
			return fmt.Sprintf("%d h %d min", h, m)
		}
		return fmt.Sprintf("%d h", h)
	}
	days := int(d.Hours()) / 24
	if h := int(d.Hours()) % 24; h != 0 {
		return fmt.Sprintf("%d d %d h", days, h)
	}
	return fmt.Sprintf("%d d", days)
}

// osvURL is the osv.dev page of an advisory.
func osvURL(id string) string {
	return "https://osv.dev/vulnerability/" + url.PathEscape(id)
}

// webURL returns u when it is an http(s) URL, "" otherwise (never a
// javascript: or data: link).
func webURL(u string) string {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return ""
	}
	return p.String()
}

// repoManager renders the repository manager of a record: "host/name".
func repoManager(r journal.Record) string {
	switch {
	case r.RepoManagerHost != "" && r.RepoName != "":
		return r.RepoManagerHost + "/" + r.RepoName
	case r.RepoManagerHost != "":
		return r.RepoManagerHost
	}
	return r.RepoName
}

// normalizeName is PEP 503 normalization of what people type (surrounding
// white space removed), as the intelligence store does it.
func normalizeName(name string) string { return intel.NormalizeName(name) }

// AffectedSummary renders an affected entry of an intelligence record for
// people: "name: >=1.0, <1.2; ==2.0.1" (introduced 0 reads "every version").
func AffectedSummary(a intel.Affected) string {
	var parts []string
	for _, r := range a.Ranges {
		var cur []string
		flush := func() {
			if len(cur) > 0 {
				parts = append(parts, strings.Join(cur, ", "))
				cur = nil
			}
		}
		for _, e := range r.Events {
			switch {
			case e.Introduced != "":
				flush()
				if e.Introduced == "0" {
					cur = append(cur, "every version")
				} else {
					cur = append(cur, ">="+e.Introduced)
				}
			case e.Fixed != "":
				cur = replaceEvery(cur, "<"+e.Fixed)
				flush()
			case e.LastAffected != "":
				cur = replaceEvery(cur, "<="+e.LastAffected)
				flush()
			case e.Limit != "":
				cur = replaceEvery(cur, "<"+e.Limit)
				flush()
			}
		}
		flush()
	}
	if len(a.Versions) > 0 {
		const maxVersions = 12
		vs := a.Versions
		more := ""
		if len(vs) > maxVersions {
			more = fmt.Sprintf(" and %d more", len(vs)-maxVersions)
			vs = vs[:maxVersions]
		}
		parts = append(parts, "=="+strings.Join(vs, ", ==")+more)
	}
	if len(parts) == 0 {
		return a.Name
	}
	return a.Name + ": " + strings.Join(parts, "; ")
}

// replaceEvery appends an upper bound, dropping "every version" (introduced 0).
func replaceEvery(cur []string, bound string) []string {
	if len(cur) == 1 && cur[0] == "every version" {
		return []string{bound}
	}
	return append(cur, bound)
}
