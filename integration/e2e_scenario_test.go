package integration

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/osaproxy/caddy-osaproxy/integration/fakepypi"
	"github.com/osaproxy/caddy-osaproxy/integration/piptest"
	"github.com/osaproxy/caddy-osaproxy/journal"
)

const dangerPolicy = "Dangerous dependency at the proxy stage"

// scenarioConfig is the core scenario: strict mode, real malicious-package
// records, one repository on the main site and the same repository behind
// basic_auth on a second port. extraOSA is appended to the osa block.
func scenarioConfig(osv, journalPath string, fake *fakepypi.Server, authHash, extraOSA string) string {
	return e2eGlobal(fmt.Sprintf(`		intel osv %s
		policy "%s" {
			stages proxy
			blocker
			condition dependency_is_dangerous
		}
		journal sqlite %s
%s`, osv, dangerPolicy, journalPath, extraOSA)) + fmt.Sprintf(`
http://localhost:%d {
	osa_proxy {
		work_mode strict
		status_line
		pypi internet-pypi {
			registry %s
			packages_registry %s
			url_encoded_config
		}
	}
}
http://localhost:%d {
	basic_auth {
		alice %s
	}
	osa_proxy {
		work_mode strict
		pypi internet-pypi {
			registry %s
			packages_registry %s
		}
	}
}
`, e2eHTTPPort, fake.IndexURL(), fake.FilesURL(), e2eHTTPPort+1, authHash, fake.IndexURL(), fake.FilesURL())
}

// TestE2EScenario is issue 2's core scenario through real pip: an allowed
// package installs, a package named like a real MAL record (every version)
// is refused with block_status, a pinned dangerous version of a package whose
// other versions are fine fails while the unpinned requirement resolves to
// the newest safe version; through the JSON and the HTML Simple API; plus the
// status line, header injection, the journal and the proxy's own ETag.
func TestE2EScenario(t *testing.T) {
	osv := sharedOSV(t)
	fake := fakepypi.StartT(t, fakepypi.Options{})
	// libhmac: MAL-2026-4194 lists 0.3.0, 0.8.28.0, 0.8.28.1 and 1.1.0.
	fake.AddProject("libhmac", wheel("1.0.0"), wheel("1.1.0"), wheel("1.2.0"))
	// inlifegram: MAL-2026-6516 has introduced "0" and no end: every version.
	fake.AddProject("inlifegram", wheel("2.1.2.8"), wheel("3.0"))
	// ranno: MAL-2026-4786 lists 0.3.0 but was withdrawn: it never blocks.
	fake.AddProject("ranno", wheel("0.3.0"))
	fake.AddProject("goodpkg", wheel("1.0"))

	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	jpath := filepath.Join(tmp, "journal.db")
	malicious := filepath.Join(osv, "malicious")
	p := loadProxy(t, scenarioConfig(malicious, jpath, fake, string(hash), ""), true)

	index := proxyURL("/internet-pypi/simple/")
	v := piptest.NewVenv(t)
	v.IndexURL = index

	for _, format := range []string{"json", "html"} {
		t.Run(format, func(t *testing.T) {
			htmlOnly := format == "html"
			fake.SetHTMLOnly(htmlOnly)
			defer fake.SetHTMLOnly(false)
			fake.ResetRequests()
			if err := v.Reset(); err != nil {
				t.Fatal(err)
			}
			res, err := v.Install("goodpkg", "libhmac", "ranno")
			if err != nil {
				t.Fatalf("allowed packages did not install: %v\n%s", err, res.Output())
			}
			got, err := v.Installed()
			if err != nil {
				t.Fatal(err)
			}
			for name, want := range map[string]string{"goodpkg": "1.0", "libhmac": "1.2.0", "ranno": "0.3.0"} {
				if got[name] != want {
					t.Errorf("%s: installed %q, want %q (all: %v)", name, got[name], want, got)
				}
			}
			if strings.Contains(res.Output(), fake.Index.URL) || strings.Contains(res.Output(), fake.Files.URL) {
				t.Errorf("pip saw an upstream URL:\n%s", res.Output())
			}

			res, err = v.Install("libhmac==1.1.0")
			if err == nil {
				t.Fatalf("libhmac==1.1.0 (MAL-2026-4194) installed:\n%s", res.Output())
			}
			if !strings.Contains(res.Output(), "from versions: 1.0.0, 1.2.0") {
				t.Errorf("pip should have seen 1.0.0 and 1.2.0 only:\n%s", res.Output())
			}

			if !htmlOnly {
				// The all-versions record: the index itself is refused.
				res, err = v.Install("inlifegram")
				if err == nil {
					t.Fatalf("inlifegram (MAL-2026-6516) installed:\n%s", res.Output())
				}
				// pip reports a refused project page as an empty one.
				if !strings.Contains(res.Output(), "from versions: none") {
					t.Errorf("pip should have seen no version of inlifegram:\n%s", res.Output())
				}
			}
			// The same refusal seen directly, with pip's Accept header.
			code, hdr, body := httpDo(t, "GET", index+"inlifegram/", map[string]string{"Accept": pipAccept})
			if code != http.StatusForbidden || hdr.Get("X-OSA-Status") != journal.StatusBlockedByPolicies {
				t.Fatalf("inlifegram index: %d %v\n%s", code, hdr, body)
			}
			for _, want := range []string{"MAL-2026-6516", "every version of inlifegram is blocked", dangerPolicy, "Request id:"} {
				if !strings.Contains(body, want) {
					t.Errorf("block body lacks %q:\n%s", want, body)
				}
			}

			// Which format the fake served for pip's project pages.
			wantCT := fakepypi.TypeV1JSON
			if htmlOnly {
				wantCT = "html"
			}
			pages := 0
			for _, r := range fake.Index.Requests() {
				// 304s revalidate the proxy's cached filtered page: no body.
				if r.Path != "/simple/libhmac/" || r.Status == http.StatusNotModified {
					continue
				}
				pages++
				if !strings.Contains(r.ContentType, wantCT) {
					t.Errorf("%s run: fake served %s as %q, want %q", format, r.Path, r.ContentType, wantCT)
				}
			}
			if pages == 0 {
				t.Errorf("the fake never served /simple/libhmac/")
			}
			// The proxy answers in the same format.
			code, hdr, body = httpDo(t, "GET", index+"libhmac/", map[string]string{"Accept": pipAccept})
			if code != http.StatusOK || !strings.Contains(hdr.Get("Content-Type"), wantCT) {
				t.Fatalf("proxy libhmac page: %d %q", code, hdr.Get("Content-Type"))
			}
			if hdr.Get("X-OSA-Removed") != "1" || strings.Contains(body, "libhmac-1.1.0") || !strings.Contains(body, "libhmac-1.2.0") {
				t.Errorf("libhmac page not filtered as expected (X-OSA-Removed %q):\n%s", hdr.Get("X-OSA-Removed"), body)
			}
			if strings.Contains(body, fake.Files.URL) || strings.Contains(body, fake.Index.URL) {
				t.Errorf("proxy page leaks upstream URLs:\n%s", body)
			}

			// Nothing of a blocked version or project ever left the fake.
			for _, f := range []string{"libhmac-1.1.0", "inlifegram-"} {
				for _, r := range fake.Requests() {
					if strings.Contains(r.Path, f) {
						t.Errorf("upstream was asked for %s: %s %s", f, r.Method, r.Path)
					}
				}
			}
			if !fetchedFile(fake, wheelName("libhmac", "1.2.0")) {
				t.Errorf("libhmac 1.2.0 was not fetched through the proxy")
			}
		})
	}

	// A direct download of the blocked file: refused before any upstream
	// request, with the reason in headers and body.
	blockedFile := fake.File(wheelName("libhmac", "1.1.0"))
	fileURL := proxyURL("/internet-pypi" + blockedFile.Path)
	var blockedID string
	t.Run("download", func(t *testing.T) {
		fake.ResetRequests()
		code, hdr, body := httpDo(t, "GET", fileURL, nil)
		if code != http.StatusForbidden {
			t.Fatalf("blocked file: %d\n%s", code, body)
		}
		blockedID = hdr.Get("X-OSA-Request-Id")
		if blockedID == "" || hdr.Get("X-OSA-Status") != journal.StatusBlockedByPolicies || !strings.Contains(hdr.Get("X-OSA-Reason"), "MAL-2026-4194") {
			t.Errorf("block headers: %v", hdr)
		}
		for _, want := range []string{"Package:      libhmac", "Version:      1.1.0", "File:         libhmac-1.1.0-py3-none-any.whl",
			"Work mode:    strict", "Advisories:   MAL-2026-4194", "Request id:   " + blockedID, "https://osv.dev/vulnerability/MAL-2026-4194"} {
			if !strings.Contains(body, want) {
				t.Errorf("block body lacks %q:\n%s", want, body)
			}
		}
		if n := len(fake.Requests()); n != 0 {
			t.Errorf("a blocked download reached upstream %d times: %+v", n, fake.Requests())
		}
		// pypi.org's predictable paths (/packages/<pytag>/<c>/<name>/<file>)
		// are decided by the project in the path; an allowed one is
		// redirected (by the files host) back into the proxy.
		code, hdr, _ = httpDo(t, "GET", proxyURL("/internet-pypi/packages/py3/l/libhmac/libhmac-1.1.0-py3-none-any.whl"), nil)
		if code != http.StatusForbidden || hdr.Get("X-OSA-Status") != journal.StatusBlockedByPolicies {
			t.Errorf("predictable path of the blocked file: %d %v", code, hdr)
		}
		good := fake.File(wheelName("libhmac", "1.2.0"))
		code, hdr, _ = httpDo(t, "GET", proxyURL("/internet-pypi/packages/py3/l/libhmac/"+good.Filename), nil)
		if loc := hdr.Get("Location"); code != http.StatusFound || loc != "/internet-pypi"+good.Path {
			t.Errorf("predictable path of an allowed file: %d Location %q, want 302 to /internet-pypi%s", code, loc, good.Path)
		}
		if n := len(fake.Requests()); n != 1 {
			t.Errorf("want exactly the allowed predictable-path request upstream, got %+v", fake.Requests())
		}
		// HEAD is decided the same way.
		code, hdr, _ = httpDo(t, "HEAD", fileURL, nil)
		if code != http.StatusForbidden || hdr.Get("X-OSA-Status") != journal.StatusBlockedByPolicies {
			t.Errorf("HEAD of the blocked file: %d %v", code, hdr)
		}
	})

	t.Run("status_line", func(t *testing.T) {
		line, rest := rawRequest(t, "GET /internet-pypi"+blockedFile.Path+" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
		if want := "HTTP/1.1 403 Blocked: libhmac 1.1.0 MAL-2026-4194"; line != want {
			t.Errorf("status line %q, want %q", line, want)
		}
		if !strings.Contains(rest, "X-Osa-Status: blocked_by_policies") || !strings.Contains(rest, "osa_proxy blocked this request.") {
			t.Errorf("raw response:\n%s", rest)
		}
		// Names carrying CR/LF, NUL, bidi or other controls never reach a
		// header or the status line: the path is refused as malformed.
		for _, bad := range []string{
			"/internet-pypi/simple/evil%0d%0aX-Injected:%20yes/",
			"/internet-pypi/simple/evil%0aX-Injected:%20yes/",
			"/internet-pypi/simple/evil%00/",
			"/internet-pypi/simple/evil%e2%80%ae/",
			"/internet-pypi/simple/evil%c2%85x/",
			"/internet-pypi/packages/aa/bb/cc/libhmac-1.1.0%0d%0aX-Injected:%20yes-py3-none-any.whl",
			"/internet-pypi/packages/aa/bb/cc/libhmac%e2%80%8b-1.1.0-py3-none-any.whl",
		} {
			line, rest := rawRequest(t, "GET "+bad+" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
			if line != "HTTP/1.1 400 Bad Request" {
				t.Errorf("%s: status line %q", bad, line)
			}
			head, _, _ := strings.Cut(rest, "\r\n\r\n")
			if strings.Contains(strings.ToLower(head), "x-injected") {
				t.Errorf("%s: injected header:\n%s", bad, rest)
			}
			if !strings.Contains(rest, "osa_proxy: ") {
				t.Errorf("%s: no osa_proxy message:\n%s", bad, rest)
			}
			for i := 0; i < len(rest); i++ {
				if c := rest[i]; c != '\r' && c != '\n' && (c < 0x20 || c >= 0x7f) {
					t.Errorf("%s: response carries byte %#x:\n%q", bad, c, rest)
					break
				}
			}
		}
	})

	t.Run("basic_auth_initiator", func(t *testing.T) {
		authIndex := fmt.Sprintf("http://localhost:%d/internet-pypi/simple/", e2eHTTPPort+1)
		code, _, _ := httpDo(t, "GET", authIndex+"libhmac/", nil)
		if code != http.StatusUnauthorized {
			t.Fatalf("no credentials: %d, want 401", code)
		}
		req, _ := http.NewRequest("GET", fmt.Sprintf("http://localhost:%d/internet-pypi%s", e2eHTTPPort+1, blockedFile.Path), nil)
		req.SetBasicAuth("alice", "s3cret")
		resp, err := noRedirectClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		id := resp.Header.Get("X-OSA-Request-Id")
		if resp.StatusCode != http.StatusForbidden || id == "" {
			t.Fatalf("blocked file behind basic_auth: %d %v", resp.StatusCode, resp.Header)
		}
		// pip with credentials in the index URL: the initiator is the user.
		va := piptest.NewVenv(t)
		va.IndexURL = fmt.Sprintf("http://alice:s3cret@localhost:%d/internet-pypi/simple/", e2eHTTPPort+1)
		if res, err := va.Install("goodpkg"); err != nil {
			t.Fatalf("pip behind basic_auth: %v\n%s", err, res.Output())
		}
		page := requests(t, q("initiator", "alice"))
		rec, ok := findRecord(page.Requests, func(r journal.Record) bool { return r.RequestID == id })
		if !ok || rec.Status != journal.StatusBlockedByPolicies || rec.Package != "libhmac" {
			t.Errorf("no blocked record for request %s with initiator alice:\n%s", id, recordSummary(page.Requests))
		}
		if _, ok := findRecord(page.Requests, func(r journal.Record) bool {
			return r.Package == "goodpkg" && r.Operation == "download" && r.Status == journal.StatusNotBlocked
		}); !ok {
			t.Errorf("pip's download behind basic_auth not journaled for alice:\n%s", recordSummary(page.Requests))
		}
		for _, r := range page.Requests {
			if r.Initiator != "alice" {
				t.Errorf("initiator filter returned %q", r.Initiator)
			}
		}
	})

	t.Run("journal", func(t *testing.T) {
		// status=blocked&package=: the refused download, with every field.
		page := requests(t, q("package", "LibHMAC", "status", "blocked"))
		if len(page.Requests) == 0 || page.Total != int64(len(page.Requests)) {
			t.Fatalf("no blocked libhmac records (total %d)", page.Total)
		}
		rec, ok := findRecord(page.Requests, func(r journal.Record) bool { return r.RequestID == blockedID })
		if !ok {
			t.Fatalf("the blocked download %s is not in the journal:\n%s", blockedID, recordSummary(page.Requests))
		}
		if rec.Package != "libhmac" || rec.Version != "1.1.0" || rec.File != "libhmac-1.1.0-py3-none-any.whl" ||
			rec.Repository != "internet-pypi" || rec.WorkMode != "strict" || rec.Operation != "download" ||
			rec.HTTPStatus != http.StatusForbidden || rec.Initiator == "" || rec.ClientIP == "" ||
			time.Since(rec.Time) > 10*time.Minute || rec.Time.After(time.Now().Add(time.Minute)) ||
			!contains(rec.Policies, dangerPolicy) || !contains(rec.Advisories, "MAL-2026-4194") ||
			rec.Purl != "pkg:pypi/libhmac@1.1.0?file_name=libhmac-1.1.0-py3-none-any.whl" || rec.Snapshot == "" {
			t.Errorf("blocked record lacks scenario fields: %+v", rec)
		}
		for _, r := range page.Requests {
			if !journal.IsBlocked(r.Status) || r.Package != "libhmac" {
				t.Errorf("status=blocked&package=libhmac returned %s %s", r.Package, r.Status)
			}
		}

		// operation=index: the filtered pages say what they removed and why.
		page = requests(t, q("package", "libhmac", "operation", "index", "mode", "strict"))
		if len(page.Requests) < 4 {
			t.Fatalf("want the libhmac index requests of both runs, got:\n%s", recordSummary(page.Requests))
		}
		for _, r := range page.Requests {
			if r.Operation != "index" || r.WorkMode != "strict" || r.Status != journal.StatusNotBlocked || r.Removed != 1 ||
				!contains(r.Advisories, "MAL-2026-4194") || !contains(r.Policies, dangerPolicy) || r.RequestID == "" {
				t.Errorf("index record: %+v", r)
			}
		}
		// The refused project page.
		page = requests(t, q("package", "inlifegram", "status", journal.StatusBlockedByPolicies, "operation", "index"))
		if len(page.Requests) == 0 || !contains(page.Requests[0].Advisories, "MAL-2026-6516") || page.Requests[0].HTTPStatus != 403 {
			t.Errorf("inlifegram index records:\n%s", recordSummary(page.Requests))
		}
		// Allowed downloads are journaled too.
		page = requests(t, q("package", "goodpkg", "operation", "download", "status", journal.StatusNotBlocked))
		if len(page.Requests) == 0 || page.Requests[0].Version != "1.0" || page.Requests[0].HTTPStatus != 200 {
			t.Errorf("goodpkg downloads:\n%s", recordSummary(page.Requests))
		}
		// The withdrawn record never blocked ranno.
		page = requests(t, q("package", "ranno"))
		for _, r := range page.Requests {
			if r.Status != journal.StatusNotBlocked || len(r.Advisories) > 0 {
				t.Errorf("ranno (withdrawn MAL-2026-4786) record: %+v", r)
			}
		}
		// Cursor pages: newest first, disjoint, together the whole result.
		all := requests(t, q("package", "libhmac"))
		seen := map[int64]bool{}
		var ids []int64
		for cursor, pages := "", 0; ; pages++ {
			params := q("package", "libhmac", "limit", "3")
			if cursor != "" {
				params.Set("cursor", cursor)
			}
			pg := requests(t, params)
			if pg.Total != all.Total || len(pg.Requests) > 3 || pages > 100 {
				t.Fatalf("page %d: %d records, total %d (want %d)", pages, len(pg.Requests), pg.Total, all.Total)
			}
			for _, r := range pg.Requests {
				if seen[r.ID] {
					t.Errorf("record %d on two pages", r.ID)
				}
				seen[r.ID] = true
				ids = append(ids, r.ID)
			}
			if pg.NextCursor == "" {
				break
			}
			cursor = pg.NextCursor
		}
		if int64(len(ids)) != all.Total || len(all.Requests) != len(ids) {
			t.Errorf("paged %d records, total %d, unpaged %d", len(ids), all.Total, len(all.Requests))
		}
		for i := range ids {
			if i < len(all.Requests) && all.Requests[i].ID != ids[i] {
				t.Errorf("paged order differs at %d: %d vs %d", i, ids[i], all.Requests[i].ID)
				break
			}
		}
		// Filters that exclude everything.
		if n := len(requests(t, q("package", "libhmac", "mode", "warmup")).Requests); n != 0 {
			t.Errorf("mode=warmup returned %d records", n)
		}
		code, _, body := httpDo(t, "GET", adminURL("/osa/requests?status=bogus"), nil)
		if code != http.StatusBadRequest {
			t.Errorf("status=bogus: %d %s", code, body)
		}
	})

	// Last: it changes the configuration.
	t.Run("etag", func(t *testing.T) {
		page := index + "libhmac/"
		code, hdr, body1 := httpDo(t, "GET", page, map[string]string{"Accept": pipAccept})
		etag := hdr.Get("ETag")
		if code != 200 || !strings.HasPrefix(etag, `"osa-`) || hdr.Get("Cache-Control") != "max-age=0, must-revalidate" {
			t.Fatalf("first GET: %d ETag %q Cache-Control %q", code, etag, hdr.Get("Cache-Control"))
		}
		for i := 0; i < 2; i++ {
			code, hdr, body := httpDo(t, "GET", page, map[string]string{"Accept": pipAccept, "If-None-Match": etag})
			if code != http.StatusNotModified || body != "" || hdr.Get("ETag") != etag {
				t.Fatalf("revalidation %d: %d ETag %q body %q", i, code, hdr.Get("ETag"), body)
			}
		}
		// The upstream's own validators never leak through.
		if up := fakepypi.ETagOf([]byte(body1)); up == etag {
			t.Errorf("proxy ETag equals a body hash")
		}
		// A policy change through the admin API (POST /load): a waiver for
		// libhmac 1.1.0 puts it back on the page.
		waiver := fmt.Sprintf(`		waiver "reviewed libhmac" {
			package libhmac
			version ==1.1.0
			expires %s
			justification "test"
			approved_by bob
		}
`, time.Now().Add(30*24*time.Hour).UTC().Format(time.RFC3339))
		p.reload(t, scenarioConfig(malicious, jpath, fake, string(hash), waiver))
		p.waitReady(t, 60*time.Second)
		code, hdr, body2 := httpDo(t, "GET", page, map[string]string{"Accept": pipAccept, "If-None-Match": etag})
		if code != http.StatusOK {
			t.Fatalf("after the policy change the old ETag still matched: %d", code)
		}
		if hdr.Get("ETag") == etag || body2 == body1 || !strings.Contains(body2, "libhmac-1.1.0") {
			t.Errorf("page did not change: ETag %q -> %q\n%s", etag, hdr.Get("ETag"), body2)
		}
		// And the new ETag validates.
		code, _, _ = httpDo(t, "GET", page, map[string]string{"Accept": pipAccept, "If-None-Match": hdr.Get("ETag")})
		if code != http.StatusNotModified {
			t.Errorf("new ETag: %d", code)
		}
	})
}
