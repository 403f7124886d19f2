package console

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/osaproxy/caddy-osaproxy/intel"
	"github.com/osaproxy/caddy-osaproxy/journal"
	"github.com/osaproxy/caddy-osaproxy/policyfile"
)

func newConsole(t *testing.T, b Backend, opts Options) http.Handler {
	t.Helper()
	if opts.Now == nil {
		opts.Now = func() time.Time { return testNow }
	}
	h, err := New(b, opts)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func do(t *testing.T, h http.Handler, method, target string, body io.Reader, hdr map[string]string) (*httptest.ResponseRecorder, string) {
	t.Helper()
	req := httptest.NewRequest(method, target, body)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec, rec.Body.String()
}

func get(t *testing.T, h http.Handler, target string) (*httptest.ResponseRecorder, string) {
	t.Helper()
	return do(t, h, http.MethodGet, target, nil, nil)
}

// links returns the href/src/action attributes of a page.
func links(t *testing.T, body string) []string {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			for _, a := range n.Attr {
				if a.Key == "href" || a.Key == "src" || a.Key == "action" || a.Key == "data-api" {
					out = append(out, a.Val)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return out
}

func TestRequestsFilterPassThrough(t *testing.T) {
	tests := []struct {
		name  string
		query string
		want  journal.Filter
	}{
		{"no filter", "", journal.Filter{Limit: 50, NoTotal: true}},
		{"package normalized", "package=Django_REST.framework", journal.Filter{Package: "django-rest-framework", Limit: 50, NoTotal: true}},
		{"every field", "repository=internet-pypi&repo_manager=nexus.example.com&status=blocked_by_policies&mode=strict&operation=download&initiator=alice",
			journal.Filter{Repository: "internet-pypi", RepoManager: "nexus.example.com", Status: "blocked_by_policies", Mode: "strict",
				Operation: "download", Initiator: "alice", Limit: 50, NoTotal: true}},
		{"any blocked", "status=blocked", journal.Filter{Status: "blocked", Limit: 50, NoTotal: true}},
		{"last 24h", "since=24h", journal.Filter{Since: testNow.Add(-24 * time.Hour), Limit: 50, NoTotal: true}},
		{"last 7d", "since=7d", journal.Filter{Since: testNow.Add(-7 * 24 * time.Hour), Limit: 50, NoTotal: true}},
		{"custom period", "since=custom&from=2026-03-01T08:30&to=2026-03-02",
			journal.Filter{Since: time.Date(2026, 3, 1, 8, 30, 0, 0, time.UTC), Until: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), Limit: 50, NoTotal: true}},
		{"custom ignored unless chosen", "since=1h&from=2026-03-01T08:30", journal.Filter{Since: testNow.Add(-time.Hour), Limit: 50, NoTotal: true}},
		{"cursor and limit", "cursor=after:7&limit=20", journal.Filter{Cursor: "after:7", Limit: 20, NoTotal: true}},
		{"total asked", "total=1", journal.Filter{Limit: 50}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := realisticBackend()
			h := newConsole(t, b, Options{})
			rec, body := get(t, h, "/?"+tt.query)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, body)
			}
			got := b.lastFilter()
			if !got.Since.Equal(tt.want.Since) || !got.Until.Equal(tt.want.Until) {
				t.Fatalf("period %v..%v, want %v..%v", got.Since, got.Until, tt.want.Since, tt.want.Until)
			}
			got.Since, got.Until, tt.want.Since, tt.want.Until = time.Time{}, time.Time{}, time.Time{}, time.Time{}
			if got != tt.want {
				t.Fatalf("filter\n got %+v\nwant %+v", got, tt.want)
			}
			// The API endpoint reads the same filters.
			if _, err := url.ParseQuery(tt.query); err != nil {
				t.Fatal(err)
			}
			rec, body = get(t, h, "/api/requests?"+tt.query)
			if rec.Code != http.StatusOK {
				t.Fatalf("api status %d: %s", rec.Code, body)
			}
			api := b.lastFilter()
			api.Since, api.Until = time.Time{}, time.Time{}
			if api != got {
				t.Fatalf("api filter\n got %+v\nwant %+v", api, got)
			}
		})
	}
}

func TestRequestsFilterErrors(t *testing.T) {
	tests := []struct{ query, want string }{
		{"status=blocked_by_magic", "unknown status"},
		{"mode=yolo", "unknown work mode"},
		{"since=2y", "unknown period"},
		{"since=custom&from=yesterday", "is not a time"},
		{"since=custom&from=2026-03-02&to=2026-03-01", "must be before"},
		{"limit=5000", "limit"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			b := realisticBackend()
			h := newConsole(t, b, Options{})
			rec, body := get(t, h, "/?"+tt.query)
			if rec.Code != http.StatusBadRequest {
				t.Fatalf("status %d, want 400", rec.Code)
			}
			if !strings.Contains(body, tt.want) || !strings.Contains(body, `class="error"`) {
				t.Fatalf("no inline error %q in page", tt.want)
			}
			if b.calls() != 0 {
				t.Fatalf("backend queried %d times despite a bad filter", b.calls())
			}
			rec, body = get(t, h, "/api/requests?"+tt.query)
			var resp apiResponse
			if rec.Code != http.StatusBadRequest || json.Unmarshal([]byte(body), &resp) != nil || !strings.Contains(resp.Error, tt.want) {
				t.Fatalf("api: status %d body %s", rec.Code, body)
			}
		})
	}
}

func TestRequestsPagination(t *testing.T) {
	b := &fakeBackend{}
	for i := 0; i < 120; i++ {
		st := journal.StatusNotBlocked
		if i%3 == 0 {
			st = journal.StatusBlockedByPolicies
		}
		b.add(journal.Record{Time: testNow.Add(-time.Duration(120-i) * time.Minute), Package: "pkg" + strconv.Itoa(i), Version: "1.0",
			Repository: "internet-pypi", Operation: "download", WorkMode: "strict", Status: st})
	}
	h := newConsole(t, b, Options{PageSize: 25})
	seen := map[string]bool{}
	target := "/?status=blocked&repository=internet-pypi"
	pages := 0
	for target != "" {
		pages++
		if pages > 10 {
			t.Fatal("pagination does not end")
		}
		rec, body := get(t, h, target)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: status %d", target, rec.Code)
		}
		f := b.lastFilter()
		if f.Status != "blocked" || f.Repository != "internet-pypi" || f.Limit != 25 {
			t.Fatalf("page %d lost the filters: %+v", pages, f)
		}
		rows := regexp.MustCompile(`data-id="(\d+)"`).FindAllStringSubmatch(body, -1)
		for _, m := range rows {
			if seen[m[1]] {
				t.Fatalf("row %s shown twice", m[1])
			}
			seen[m[1]] = true
		}
		older := regexp.MustCompile(`<a href="([^"]*)" rel="next" class="older">Older →</a>`).FindStringSubmatch(body)
		if older == nil {
			target = ""
			if pages > 1 && !strings.Contains(body, "← Newest") {
				t.Fatal("a later page has no link back to the newest")
			}
			continue
		}
		u, err := url.Parse(html.UnescapeString(older[1]))
		if err != nil {
			t.Fatal(err)
		}
		if u.Query().Get("cursor") == "" || u.Query().Get("status") != "blocked" {
			t.Fatalf("older link %q lacks the cursor or the filters", older[1])
		}
		target = "/" + "?" + u.RawQuery
	}
	if len(seen) != 40 || pages != 2 {
		t.Fatalf("saw %d blocked rows in %d pages, want 40 in 2", len(seen), pages)
	}
	// A forged cursor is a 400 with an inline message, not a 500.
	rec, body := get(t, h, "/?cursor=garbage")
	if rec.Code != http.StatusBadRequest || !strings.Contains(body, "not valid") {
		t.Fatalf("bad cursor: status %d", rec.Code)
	}
}

func TestEscaping(t *testing.T) {
	const evil = `<script>alert("x")</script>`
	b := realisticBackend()
	b.add(journal.Record{Time: testNow.Add(-time.Second), Package: evil, Version: `1"><img src=x onerror=alert(1)>`,
		File: evil + ".whl", Repository: evil, RepoManagerHost: evil, Initiator: evil, Operation: "download", WorkMode: "strict",
		Status: journal.StatusBlockedByPolicies, Policies: []string{evil}, Advisories: []string{evil}, Reason: `" onmouseover="alert(1)`,
		Purl: "pkg:pypi/" + evil})
	h := newConsole(t, b, Options{})
	pages := []string{"/", "/?package=" + url.QueryEscape(evil), "/package/" + url.PathEscape(evil)}
	for _, p := range pages {
		rec, body := get(t, h, p)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: status %d", p, rec.Code)
		}
		for _, bad := range []string{"<script>alert", "<img src=x", `" onmouseover=`} {
			if strings.Contains(body, bad) {
				t.Fatalf("%s: unescaped %q in the page", p, bad)
			}
		}
		if !strings.Contains(body, "&lt;script&gt;alert") {
			t.Fatalf("%s: the package name is not shown escaped", p)
		}
	}
	// The package link escapes the name as a path segment.
	_, body := get(t, h, "/")
	if !strings.Contains(strings.ToLower(body), `href="./package/%3cscript%3ealert%28%22x%22%29%3c%2fscript%3e"`) {
		t.Fatalf("package link not path-escaped:\n%s", regexp.MustCompile(`href="\./package/[^"]*script[^"]*"`).FindString(body))
	}
	// JSON rows are escaped too.
	_, body = get(t, h, "/api/requests?since_id=0")
	var resp apiResponse
	if err := json.Unmarshal([]byte(body), &resp); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(resp.RowsHTML, "<script>") || !strings.Contains(resp.RowsHTML, "&lt;script&gt;") {
		t.Fatal("rows_html is not escaped")
	}
}

func TestSecurityHeaders(t *testing.T) {
	h := newConsole(t, realisticBackend(), Options{})
	for _, p := range []string{"/", "/package/requests", "/intel", "/what-if", "/api/requests", "/nope", "/static/console.css"} {
		rec, _ := get(t, h, p)
		hd := rec.Header()
		csp := hd.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s: CSP %q", p, csp)
		}
		if hd.Get("X-Content-Type-Options") != "nosniff" || hd.Get("Referrer-Policy") == "" {
			t.Errorf("%s: headers %v", p, hd)
		}
	}
}

func TestRequestsPage(t *testing.T) {
	b := realisticBackend()
	h := newConsole(t, b, Options{})
	rec, body := get(t, h, "/?status=blocked")
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("status %d, type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	for _, want := range []string{
		">colourama</a>", "Blocked by policies", "Blocked: unscanned", "nexus.example.com/pypi-proxy",
		"Dangerous dependency at the proxy stage", "2026-03-14 11:55:00", `<option value="blocked" selected>`,
		`class="col-purl">pkg:pypi/colourama@0.1.6`, `data-poll="5000"`, "Count matches",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, notWant := range []string{">flask</a>", "Would block</span>"} {
		if strings.Contains(body, notWant) {
			t.Errorf("blocked filter shows %q", notWant)
		}
	}
	// Newest first.
	if strings.Index(body, "numpy") > strings.LastIndex(body, "colourama-0.1.6.tar.gz") {
		t.Error("rows are not newest first")
	}
	// The PURL column is visible only when asked.
	if strings.Contains(body, "show-purl") {
		t.Error("PURL column shown without purl=1")
	}
	if _, body = get(t, h, "/?purl=1"); !strings.Contains(body, `class="requests show-purl"`) {
		t.Error("purl=1 does not show the PURL column")
	}
	// Counting is lazy: asked explicitly, it shows the total.
	if _, body = get(t, h, "/?status=blocked&total=1"); !strings.Contains(body, "3 matching requests") {
		t.Error("total=1 does not show the count")
	}
	// An operation the form does not list stays selected.
	if _, body = get(t, h, "/?operation=upload"); !strings.Contains(body, `<option value="upload" selected>`) {
		t.Error("an unlisted operation is not shown as the current filter")
	}
	// An empty result says so.
	if _, body = get(t, h, "/?package=nothing-here"); !strings.Contains(body, "No request matches these filters") {
		t.Error("empty result not explained")
	}
	// A failing journal is an inline 500.
	b.queryErr = errors.New("database is locked")
	if rec, body = get(t, h, "/"); rec.Code != http.StatusInternalServerError || !strings.Contains(body, "database is locked") {
		t.Errorf("journal error: status %d", rec.Code)
	}
}

func TestRequestsAPISinceID(t *testing.T) {
	b := realisticBackend()
	h := newConsole(t, b, Options{PageSize: 5})
	_, body := get(t, h, "/api/requests")
	var first apiResponse
	if err := json.Unmarshal([]byte(body), &first); err != nil {
		t.Fatal(err)
	}
	if len(first.Requests) != 5 || first.NextCursor == "" || first.Total != -1 {
		t.Fatalf("first page: %d rows, cursor %q, total %d", len(first.Requests), first.NextCursor, first.Total)
	}
	newest := first.NewestID
	// Nothing new.
	_, body = get(t, h, "/api/requests?since_id="+strconv.FormatInt(newest, 10))
	var none apiResponse
	_ = json.Unmarshal([]byte(body), &none)
	if len(none.Requests) != 0 || none.RowsHTML != "" || none.NewestID != newest || none.Gap {
		t.Fatalf("no new rows expected: %+v", none)
	}
	// Two new records, one of them filtered out.
	b.add(journal.Record{Time: testNow, Package: "httpx", Version: "0.27.0", Operation: "download", WorkMode: "strict", Status: journal.StatusNotBlocked},
		journal.Record{Time: testNow, Package: "evilpkg", Version: "1.0", Operation: "download", WorkMode: "strict", Status: journal.StatusBlockedByPolicies})
	_, body = get(t, h, "/api/requests?status=blocked&since_id="+strconv.FormatInt(newest, 10))
	var fresh apiResponse
	_ = json.Unmarshal([]byte(body), &fresh)
	if len(fresh.Requests) != 1 || fresh.Requests[0].Package != "evilpkg" || fresh.NewestID <= newest {
		t.Fatalf("fresh: %+v", fresh)
	}
	// Rows are rendered for the Requests page (the console root), even though the API is one level down.
	if !strings.Contains(fresh.RowsHTML, `href="./package/evilpkg"`) || !strings.Contains(fresh.RowsHTML, "<tr data-id=") {
		t.Fatalf("rows_html: %s", fresh.RowsHTML)
	}
	// More new records than a page: a gap is reported.
	for i := 0; i < 6; i++ {
		b.add(journal.Record{Time: testNow, Package: "burst", Version: "1", Operation: "download", Status: journal.StatusNotBlocked})
	}
	_, body = get(t, h, "/api/requests?since_id="+strconv.FormatInt(fresh.NewestID, 10))
	var burst apiResponse
	_ = json.Unmarshal([]byte(body), &burst)
	if !burst.Gap || len(burst.Requests) != 5 {
		t.Fatalf("burst: gap %v, %d rows", burst.Gap, len(burst.Requests))
	}
	if rec, _ := get(t, h, "/api/requests?since_id=abc"); rec.Code != http.StatusBadRequest {
		t.Fatalf("since_id=abc: status %d", rec.Code)
	}
}

func TestPackagePage(t *testing.T) {
	b := realisticBackend()
	h := newConsole(t, b, Options{})
	rec, body := get(t, h, "/package/Colourama")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	if f := b.lastFilter(); f.Package != "colourama" || !f.NoTotal {
		t.Fatalf("package requests filter %+v", f)
	}
	for _, want := range []string{
		"<h1>colourama</h1>", "2026-03-13 10:00:00", // first requested (26h ago)
		"2026-03-14 11:55:00", "Dangerous dependency at the proxy stage",
		`href="https://osv.dev/vulnerability/MAL-2024-1234"`, "Malicious code in colourama (PyPI)",
		`href="https://github.com/ossf/malicious-packages"`, "Verdict history", `href="../?package=colourama"`,
		`<span class="badge blocked">Blocked by policies</span> 2`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("package page lacks %q", want)
		}
	}
	if strings.Contains(body, "javascript:") {
		t.Error("a javascript: reference is linked")
	}
	_, body = get(t, h, "/package/requests")
	for _, want := range []string{"GHSA-j8r2-6x86-q33q", "CVE-2023-32681", "CVSS3 6.1", "requests: &gt;=2.3.0, &lt;2.31.0", "Would block"} {
		if !strings.Contains(body, want) {
			t.Errorf("requests page lacks %q", want)
		}
	}
	// Unknown advisories and packages.
	b.add(journal.Record{Time: testNow, Package: "x", Version: "1", Status: journal.StatusWouldBlock, Advisories: []string{"PYSEC-0000-1"}})
	if _, body = get(t, h, "/package/x/"); !strings.Contains(body, "Not in the intelligence in force") || !strings.Contains(body, `href="../../intel"`) {
		t.Error("unknown advisory not explained")
	}
	if rec, body = get(t, h, "/package/never-seen"); rec.Code != http.StatusNotFound || !strings.Contains(body, "no request for this package") {
		t.Errorf("unknown package: status %d", rec.Code)
	}
	// Pagination of the package's requests.
	for i := 0; i < 7; i++ {
		b.add(journal.Record{Time: testNow.Add(-time.Duration(i) * time.Second), Package: "many", Version: "1", Status: journal.StatusNotBlocked})
	}
	hp := newConsole(t, b, Options{PageSize: 5})
	_, body = get(t, hp, "/package/many")
	m := regexp.MustCompile(`<a href="([^"]*)" rel="next" class="older">`).FindStringSubmatch(body)
	if m == nil || !strings.HasPrefix(m[1], "../package/many?cursor=") {
		t.Fatalf("package older link: %v", m)
	}
	u, _ := url.Parse(html.UnescapeString(m[1]))
	if _, body = get(t, hp, "/package/many?"+u.RawQuery); strings.Count(body, "<tr data-id=") < 2 || !strings.Contains(body, "← Newest") {
		t.Error("second page of the package's requests")
	}
}

func TestIntelPage(t *testing.T) {
	h := newConsole(t, realisticBackend(), Options{})
	rec, body := get(t, h, "/intel")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	for _, want := range []string{
		"sha256:3f9a1c2b7d4e/18342/2026-03-14T09:12:00Z", "18342", "40 min", "permission denied",
		"https://osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip", "Dangerous dependency at the proxy stage",
		"report only", "stages do not include proxy", "14d", "requests-legacy", "security@example.com",
		`<tr class="expired"><td>old-urllib3</td>`, "1 expired", "2 active of 3",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("intel page lacks %q", want)
		}
	}
	// No intelligence loaded, stale intelligence.
	b := realisticBackend()
	b.intel = IntelInfo{LastError: "fetching all.zip: connection refused"}
	_, body = get(t, newConsole(t, b, Options{}), "/intel")
	if !strings.Contains(body, "not loaded") || !strings.Contains(body, "connection refused") {
		t.Error("missing intelligence is not shown")
	}
	b.intel = IntelInfo{SnapshotID: "s", Age: 48 * time.Hour, MaxAge: 24 * time.Hour}
	if _, body = get(t, newConsole(t, b, Options{}), "/intel"); !strings.Contains(body, ">stale</span>") {
		t.Error("stale intelligence is not flagged")
	}
}

func whatIfForm(token, policies, since string) io.Reader {
	v := url.Values{"token": {token}, "policies": {policies}, "since": {since}, "until": {""}}
	return strings.NewReader(v.Encode())
}

func TestWhatIf(t *testing.T) {
	formHdr := map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Sec-Fetch-Site": "same-origin"}
	tok := processToken()
	tests := []struct {
		name     string
		hdr      map[string]string
		body     io.Reader
		status   int
		want     []string
		backends int // backend WhatIf calls
	}{
		{"success", formHdr, whatIfForm(tok, `policy "Critical vulnerabilities" { blocker }`, "7d"), http.StatusOK,
			[]string{"Newly blocked", "Newly allowed", `href="./package/requests"`, "2.28.0", "Critical vulnerabilities",
				"requests@2.28.0 has GHSA-j8r2-6x86-q33q", "Old waiver", "urllib3", "1 newly blocked"}, 1},
		{"parse error inline", formHdr, whatIfForm(tok, "policy \"p\" {\n\tcondition syntax error\n}", ""), http.StatusBadRequest,
			[]string{"The replay was refused", "unknown condition &#34;syntax&#34;", "\tcondition syntax error\n}</textarea>"}, 1},
		{"empty policies", formHdr, whatIfForm(tok, "  \n", "7d"), http.StatusBadRequest, []string{"paste at least one policy"}, 0},
		{"missing token", formHdr, whatIfForm("", `policy "p" {}`, ""), http.StatusForbidden, []string{"not issued by this console"}, 0},
		{"wrong token", formHdr, whatIfForm(strings.Repeat("0", 64), `policy "p" {}`, ""), http.StatusForbidden, []string{"not issued by this console"}, 0},
		{"cross-site", map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Sec-Fetch-Site": "cross-site"},
			whatIfForm(tok, `policy "p" {}`, ""), http.StatusForbidden, []string{"Cross-origin"}, 0},
		{"foreign origin", map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": "https://evil.example"},
			whatIfForm(tok, `policy "p" {}`, ""), http.StatusForbidden, []string{"Cross-origin"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := realisticBackend()
			h := newConsole(t, b, Options{})
			rec, body := do(t, h, http.MethodPost, "/what-if", tt.body, tt.hdr)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, body)
			}
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("page lacks %q", w)
				}
			}
			if len(b.whatIfs) != tt.backends {
				t.Fatalf("backend called %d times, want %d", len(b.whatIfs), tt.backends)
			}
			if tt.backends == 1 && b.whatIfs[0][1] != "7d" && tt.status == http.StatusOK {
				t.Fatalf("since not passed: %q", b.whatIfs[0])
			}
		})
	}
	// GET shows the prefilled form with the token.
	h := newConsole(t, realisticBackend(), Options{})
	_, body := get(t, h, "/what-if")
	if !strings.Contains(body, `name="token" value="`+tok+`"`) || !strings.Contains(body, "condition dependency_is_dangerous") {
		t.Fatal("form is not prefilled")
	}
	if rec, _ := do(t, h, http.MethodDelete, "/what-if", nil, nil); rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("DELETE: %d", rec.Code)
	}
}

// TestPrefixMounting follows every link of every page when the console is
// mounted under a stripped prefix and under a configured base path.
func TestPrefixMounting(t *testing.T) {
	tests := []struct {
		name   string
		prefix string
		mount  func(h http.Handler) http.Handler
		opts   Options
	}{
		{"handle_path strip", "/tools/osa/", func(h http.Handler) http.Handler {
			mux := http.NewServeMux()
			mux.Handle("/tools/osa/", http.StripPrefix("/tools/osa", h))
			return mux
		}, Options{}},
		{"base path without strip", "/osa/", func(h http.Handler) http.Handler {
			mux := http.NewServeMux()
			mux.Handle("/osa/", h)
			return mux
		}, Options{BasePath: "osa"}},
		{"root", "/", func(h http.Handler) http.Handler { return h }, Options{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.mount(newConsole(t, realisticBackend(), tt.opts)))
			defer srv.Close()
			root, _ := url.Parse(srv.URL + tt.prefix)
			queue := []*url.URL{root}
			seen := map[string]bool{root.String(): true}
			for len(queue) > 0 && len(seen) < 80 {
				u := queue[0]
				queue = queue[1:]
				resp, err := http.Get(u.String())
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK && !strings.Contains(u.Path, "never") {
					t.Fatalf("%s: status %d", u, resp.StatusCode)
				}
				if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
					continue
				}
				for _, l := range links(t, string(body)) {
					ref, err := url.Parse(l)
					if err != nil {
						t.Fatalf("%s: bad link %q", u, l)
					}
					abs := u.ResolveReference(ref)
					if abs.Host != root.Host {
						continue // osv.dev and references
					}
					if !strings.HasPrefix(abs.Path, root.Path) {
						t.Fatalf("%s: link %q leaves the console (%s)", u, l, abs.Path)
					}
					abs.Fragment = ""
					if !seen[abs.String()] {
						seen[abs.String()] = true
						queue = append(queue, abs)
					}
				}
			}
			for _, want := range []string{"package/colourama", "intel", "what-if", "static/console.css", "static/console.js", "api/requests"} {
				found := false
				for s := range seen {
					if strings.Contains(s, root.Path+want) {
						found = true
					}
				}
				if !found {
					t.Errorf("never reached %s%s", root.Path, want)
				}
			}
		})
	}
}

func TestAssetsAndRouting(t *testing.T) {
	h := newConsole(t, realisticBackend(), Options{})
	tests := []struct {
		path   string
		status int
		ctype  string
	}{
		{"/static/console.css", 200, "text/css"},
		{"/static/console.js", 200, "text/javascript"},
		{"/static/favicon.svg", 200, "image/svg+xml"},
		{"/static/../console.go", 404, ""},
		{"/static/missing.js", 404, ""},
		{"/nope", 404, "text/html"},
		{"/package/", 400, "text/html"},
	}
	for _, tt := range tests {
		rec, _ := get(t, h, tt.path)
		if rec.Code != tt.status || !strings.HasPrefix(rec.Header().Get("Content-Type"), tt.ctype) {
			t.Errorf("%s: %d %q, want %d %q", tt.path, rec.Code, rec.Header().Get("Content-Type"), tt.status, tt.ctype)
		}
	}
	if rec, _ := do(t, h, http.MethodPost, "/", nil, nil); rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /: %d", rec.Code)
	}
	if _, err := New(nil, Options{}); err == nil {
		t.Error("New accepted a nil backend")
	}
}

func TestHumanDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{42 * time.Second, "42 s"}, {5 * time.Minute, "5 min"}, {3*time.Hour + 20*time.Minute, "3 h 20 min"},
		{2 * time.Hour, "2 h"}, {98 * time.Hour, "4 d 2 h"}, {48 * time.Hour, "2 d"},
	}
	for _, tt := range tests {
		if got := humanDuration(tt.d); got != tt.want {
			t.Errorf("humanDuration(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
	if got := ago(testNow, testNow.Add(-90*time.Minute)); got != "1 h 30 min ago" {
		t.Errorf("ago = %q", got)
	}
}

// TestExamplePoliciesParse keeps the prefilled what-if text valid for the
// real parser, with its commented waiver both commented and uncommented.
func TestExamplePoliciesParse(t *testing.T) {
	uncommented := regexp.MustCompile(`(?m)^# ?`).ReplaceAllString(
		examplePolicies[strings.Index(examplePolicies, "# waiver"):], "")
	for name, src := range map[string]string{
		"as shown":       examplePolicies,
		"waiver enabled": examplePolicies[:strings.Index(examplePolicies, "# waiver")] + uncommented,
	} {
		cfg, err := policyfile.ParseString(src)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(cfg.Policies) != 2 {
			t.Fatalf("%s: %d policies, want 2", name, len(cfg.Policies))
		}
		if want := map[string]int{"as shown": 0, "waiver enabled": 1}[name]; len(cfg.Waivers) != want {
			t.Fatalf("%s: %d waivers, want %d", name, len(cfg.Waivers), want)
		}
	}
}

func TestAffectedSummary(t *testing.T) {
	ev := func(kind, v string) intel.Event {
		switch kind {
		case "i":
			return intel.Event{Introduced: v}
		case "f":
			return intel.Event{Fixed: v}
		case "l":
			return intel.Event{LastAffected: v}
		}
		return intel.Event{Limit: v}
	}
	tests := []struct {
		name string
		a    intel.Affected
		want string
	}{
		{"every version", intel.Affected{Name: "colourama", Ranges: []intel.Range{{Events: []intel.Event{ev("i", "0")}}}}, "colourama: every version"},
		{"introduced 0 fixed", intel.Affected{Name: "requests", Ranges: []intel.Range{{Events: []intel.Event{ev("i", "0"), ev("f", "2.31.0")}}}}, "requests: <2.31.0"},
		{"two intervals", intel.Affected{Name: "django", Ranges: []intel.Range{{Events: []intel.Event{ev("i", "4.2"), ev("f", "4.2.14"), ev("i", "5.0"), ev("l", "5.0.6")}}}},
			"django: >=4.2, <4.2.14; >=5.0, <=5.0.6"},
		{"limit", intel.Affected{Name: "x", Ranges: []intel.Range{{Events: []intel.Event{ev("i", "1.0"), ev("lim", "2.0")}}}}, "x: >=1.0, <2.0"},
		{"open interval", intel.Affected{Name: "x", Ranges: []intel.Range{{Events: []intel.Event{ev("i", "3.1")}}}}, "x: >=3.1"},
		{"versions", intel.Affected{Name: "x", Versions: []string{"1.0", "1.1"}}, "x: ==1.0, ==1.1"},
		{"many versions", intel.Affected{Name: "x", Versions: strings.Split("1 2 3 4 5 6 7 8 9 10 11 12 13 14", " ")},
			"x: ==1, ==2, ==3, ==4, ==5, ==6, ==7, ==8, ==9, ==10, ==11, ==12 and 2 more"},
		{"nothing", intel.Affected{Name: "x"}, "x"},
	}
	for _, tt := range tests {
		if got := AffectedSummary(tt.a); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}
