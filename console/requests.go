package console

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/osaproxy/caddy-osaproxy/journal"
)

// filterForm is the Requests filter as typed in the form (and in the URL).
type filterForm struct {
	Package     string
	Repository  string
	RepoManager string
	Status      string
	Mode        string
	Operation   string
	Initiator   string
	Since       string // "", 1h, 24h, 7d, 30d or custom
	From, To    string // custom period (UTC)
	Limit       string
	ShowPurl    bool
}

// sinceChoices are the "Last request" choices.
var sinceChoices = []struct{ Value, Label string }{
	{"", "Any time"}, {"1h", "Last hour"}, {"24h", "Last 24 hours"}, {"7d", "Last 7 days"},
	{"30d", "Last 30 days"}, {"custom", "Custom…"},
}

var sinceDurations = map[string]time.Duration{
	"1h": time.Hour, "24h": 24 * time.Hour, "7d": 7 * 24 * time.Hour, "30d": 30 * 24 * time.Hour,
}

// readFilterForm reads the filter fields of a query.
func readFilterForm(q url.Values) filterForm {
	get := func(k string) string { return strings.TrimSpace(q.Get(k)) }
	return filterForm{
		Package: get("package"), Repository: get("repository"), RepoManager: get("repo_manager"),
		Status: get("status"), Mode: get("mode"), Operation: get("operation"), Initiator: get("initiator"),
		Since: get("since"), From: get("from"), To: get("to"), Limit: get("limit"),
		ShowPurl: get("purl") == "1",
	}
}

// values encodes the form back into a query (empty fields left out).
func (ff filterForm) values() url.Values {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("package", ff.Package)
	set("repository", ff.Repository)
	set("repo_manager", ff.RepoManager)
	set("status", ff.Status)
	set("mode", ff.Mode)
	set("operation", ff.Operation)
	set("initiator", ff.Initiator)
	set("since", ff.Since)
	if ff.Since == "custom" {
		set("from", ff.From)
		set("to", ff.To)
	}
	set("limit", ff.Limit)
	if ff.ShowPurl {
		v.Set("purl", "1")
	}
	return v
}

// parseUserTime reads a time typed in the form: a datetime-local value
// ("2006-01-02T15:04"), RFC 3339 or a date; zone-less values are UTC.
func parseUserTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time (want YYYY-MM-DD HH:MM in UTC, or RFC 3339)", s)
}

// filter turns the form into a journal filter.
func (ff filterForm) filter(now time.Time, pageSize int) (journal.Filter, error) {
	f := journal.Filter{
		Package: normalizeName(ff.Package), Repository: ff.Repository, RepoManager: ff.RepoManager,
		Status: ff.Status, Mode: ff.Mode, Operation: ff.Operation, Initiator: ff.Initiator,
		Limit: pageSize,
	}
	if f.Status != "" && f.Status != journal.StatusBlocked && !knownStatus(f.Status) {
		return f, fmt.Errorf("Block status: unknown status %q", f.Status)
	}
	if f.Mode != "" && !contains(modes, f.Mode) {
		return f, fmt.Errorf("Plugin mode: unknown work mode %q", f.Mode)
	}
	switch ff.Since {
	case "":
	case "custom":
		if ff.From != "" {
			t, err := parseUserTime(ff.From)
			if err != nil {
				return f, fmt.Errorf("From: %v", err)
			}
			f.Since = t
		}
		if ff.To != "" {
			t, err := parseUserTime(ff.To)
			if err != nil {
				return f, fmt.Errorf("To: %v", err)
			}
			f.Until = t
		}
		if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
			return f, errors.New("Last request: the start of the period must be before its end")
		}
	default:
		d, ok := sinceDurations[ff.Since]
		if !ok {
			return f, fmt.Errorf("Last request: unknown period %q", ff.Since)
		}
		f.Since = now.Add(-d)
	}
	if ff.Limit != "" {
		n, err := strconv.Atoi(ff.Limit)
		if err != nil || n <= 0 || n > journal.MaxLimit {
			return f, fmt.Errorf("limit: want 1..%d, not %q", journal.MaxLimit, ff.Limit)
		}
		f.Limit = n
	}
	return f, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// rowsData is what the "rows" template receives.
type rowsData struct {
	Base string
	Rows []journal.Record
}

// requestsData is the Requests page.
type requestsData struct {
	F           filterForm
	Rows        rowsData
	Statuses    []string
	Modes       []string
	Operations  []string
	SinceChoice []struct{ Value, Label string }
	Filtered    bool // any filter set
	FirstPage   bool
	OlderURL    string
	NewestURL   string
	ResetURL    string
	APIURL      string
	CountURL    string
	Total       int64 // -1: not counted
	NewestID    int64
	PollMs      int64
	Queried     bool
}

// requestsPage serves the Requests page (the console index).
func (rq *request) requestsPage() {
	q := rq.r.URL.Query()
	ff := readFilterForm(q)
	ops := operations
	if ff.Operation != "" && !contains(ops, ff.Operation) {
		// Keep a value typed in the URL selectable, so the form shows what is filtered.
		ops = append(append([]string(nil), ops...), ff.Operation)
	}
	d := &requestsData{F: ff, Rows: rowsData{Base: rq.base}, Statuses: statuses, Modes: modes, Operations: ops,
		SinceChoice: sinceChoices, Total: -1, ResetURL: rq.base}
	base := ff.values()
	d.Filtered = len(base) > 0 && !(len(base) == 1 && ff.ShowPurl)
	f, err := ff.filter(rq.c.opts.Now(), rq.c.opts.PageSize)
	if err != nil {
		rq.render(http.StatusBadRequest, "requests", "Requests", "requests", d, err.Error())
		return
	}
	f.Cursor = q.Get("cursor")
	f.NoTotal = q.Get("total") != "1"
	d.FirstPage = f.Cursor == ""
	page, err := rq.c.b.Requests(rq.r.Context(), f)
	if err != nil {
		status, msg := queryError(err)
		rq.render(status, "requests", "Requests", "requests", d, msg)
		return
	}
	d.Queried = true
	d.Rows.Rows = page.Requests
	if !f.NoTotal {
		d.Total = page.Total
	}
	if len(page.Requests) > 0 {
		d.NewestID = maxID(page.Requests)
	}
	d.NewestURL = rq.base + encodeQuery(base)
	if page.NextCursor != "" {
		older := cloneValues(base)
		older.Set("cursor", page.NextCursor)
		d.OlderURL = rq.base + encodeQuery(older)
	}
	counted := cloneValues(base)
	counted.Set("total", "1")
	if f.Cursor != "" {
		counted.Set("cursor", f.Cursor)
	}
	d.CountURL = rq.base + encodeQuery(counted)
	api := cloneValues(base)
	api.Del("purl")
	d.APIURL = rq.base + "api/requests" + encodeQuery(api)
	if d.FirstPage && rq.c.opts.PollInterval > 0 {
		d.PollMs = rq.c.opts.PollInterval.Milliseconds()
	}
	rq.render(http.StatusOK, "requests", "Requests", "requests", d, "")
}

// apiResponse is the JSON answer of api/requests.
type apiResponse struct {
	Requests   []journal.Record `json:"requests"`
	NextCursor string           `json:"next_cursor"`
	Total      int64            `json:"total"`
	// NewestID is the highest record id of the answer (or since_id when none is new).
	NewestID int64 `json:"newest_id"`
	// RowsHTML is the table rows of Requests, rendered like the page's.
	RowsHTML string `json:"rows_html"`
	// Gap is true when since_id was given and the answer may not reach back
	// to it (more new records than one page): the page should reload.
	Gap   bool   `json:"gap,omitempty"`
	Error string `json:"error,omitempty"`
}

// requestsAPI serves api/requests: the same filters as the page, as JSON,
// plus since_id (only records with a higher id) and total=1 (count).
func (rq *request) requestsAPI() {
	q := rq.r.URL.Query()
	ff := readFilterForm(q)
	f, err := ff.filter(rq.c.opts.Now(), rq.c.opts.PageSize)
	if err != nil {
		rq.writeJSON(http.StatusBadRequest, apiResponse{Error: err.Error()})
		return
	}
	f.Cursor = q.Get("cursor")
	f.NoTotal = q.Get("total") != "1"
	var sinceID int64
	if s := q.Get("since_id"); s != "" {
		sinceID, err = strconv.ParseInt(s, 10, 64)
		if err != nil || sinceID < 0 {
			rq.writeJSON(http.StatusBadRequest, apiResponse{Error: fmt.Sprintf("since_id: not a record id: %q", s)})
			return
		}
	}
	page, err := rq.c.b.Requests(rq.r.Context(), f)
	if err != nil {
		status, msg := queryError(err)
		rq.writeJSON(status, apiResponse{Error: msg})
		return
	}
	resp := apiResponse{Requests: page.Requests, NextCursor: page.NextCursor, Total: -1, NewestID: sinceID}
	if !f.NoTotal {
		resp.Total = page.Total
	}
	if q.Has("since_id") {
		fresh := make([]journal.Record, 0, len(page.Requests))
		for _, r := range page.Requests {
			if r.ID > sinceID {
				fresh = append(fresh, r)
			}
		}
		resp.Gap = len(fresh) == len(page.Requests) && page.NextCursor != "" && len(fresh) > 0
		resp.Requests = fresh
	}
	if resp.Requests == nil {
		resp.Requests = []journal.Record{}
	}
	if len(resp.Requests) > 0 {
		if id := maxID(resp.Requests); id > resp.NewestID {
			resp.NewestID = id
		}
		var buf bytes.Buffer
		// The rows go into the Requests page (the console root), not here.
		if err := rq.c.rows.ExecuteTemplate(&buf, "rows", rowsData{Base: rq.c.linkBase("/"), Rows: resp.Requests}); err != nil {
			rq.writeJSON(http.StatusInternalServerError, apiResponse{Error: err.Error()})
			return
		}
		resp.RowsHTML = buf.String()
	}
	rq.writeJSON(http.StatusOK, resp)
}

func (rq *request) writeJSON(status int, v any) {
	rq.w.Header().Set("Content-Type", "application/json")
	rq.w.WriteHeader(status)
	if rq.r.Method == http.MethodHead {
		return
	}
	_ = json.NewEncoder(rq.w).Encode(v)
}

// queryError maps a backend error to a status and a message for the operator.
func queryError(err error) (int, string) {
	if errors.Is(err, journal.ErrInvalidCursor) {
		return http.StatusBadRequest, "This page link is not valid (bad cursor); start again from the newest requests."
	}
	return http.StatusInternalServerError, "Querying the journal failed: " + err.Error()
}

func maxID(recs []journal.Record) int64 {
	var m int64
	for _, r := range recs {
		if r.ID > m {
			m = r.ID
		}
	}
	return m
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// encodeQuery renders "?query", or "" for no parameters.
func encodeQuery(v url.Values) string {
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}
