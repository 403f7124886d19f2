package integration

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/osaproxy/caddy-osaproxy/integration/fakepypi"
)

// rsHeaderLinesOK checks a raw response head: CRLF line ends only, no bare
// CR or LF, no NUL or other control bytes, printable ASCII throughout, and
// none of the injected header names.
func rsHeaderLinesOK(t *testing.T, where string, raw []byte, injected ...string) {
	t.Helper()
	head := bytes.TrimSuffix(raw, []byte("\r\n\r\n"))
	for i, line := range bytes.Split(head, []byte("\r\n")) {
		for _, c := range line {
			if c < 0x20 && c != '\t' || c >= 0x7f {
				t.Errorf("%s: header line %d has byte %#x: %q", where, i, c, line)
				break
			}
		}
		if i > 0 && !bytes.Contains(line, []byte(":")) {
			t.Errorf("%s: header line %d is not a header: %q", where, i, line)
		}
		for _, inj := range injected {
			if bytes.HasPrefix(bytes.ToLower(line), bytes.ToLower([]byte(inj+":"))) {
				t.Errorf("%s: injected header %q", where, line)
			}
		}
	}
}

// TestSecurityHeaderInjection sends names with CR, LF, NUL and unicode
// controls in every place a name can be, and blocks a package whose
// advisory (from the intelligence feed) carries CR LF and bidi controls
// with status_line on: no header or status line can be injected.
func TestSecurityHeaderInjection(t *testing.T) {
	fake := fakepypi.StartT(t, fakepypi.Options{})
	fake.AddProject("evilpkg", fakepypi.NewRelease("1.0", fakepypi.FileSpec{}), fakepypi.NewRelease("2.0", fakepypi.FileSpec{}))
	wheel := fake.ProjectFiles("evilpkg", "1.0")[0]
	dir := t.TempDir()
	osv := filepath.Join(dir, "osv")
	os.MkdirAll(osv, 0o755)
	hostileID := "MAL-2099-0701\r\nX-Injected: id\u202e\u0000\u0085"
	rec, _ := json.Marshal(map[string]any{
		"schema_version": "1.6.0", "id": hostileID, "aliases": []string{"GHSA-evil\r\nX-Injected: alias"},
		"modified": "2025-01-02T03:04:05Z", "published": "2025-01-02T03:04:05Z",
		"summary": "evil\r\nX-Injected: summary", "details": "line1\r\n\r\nHTTP/1.1 200 OK\r\n",
		"affected": []any{map[string]any{"package": map[string]any{"ecosystem": "PyPI", "name": "evilpkg"}, "versions": []string{"1.0"}}},
	})
	if err := os.WriteFile(filepath.Join(osv, "MAL-2099-0701.json"), rec, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, statusLine := range []bool{true, false} {
		t.Run(fmt.Sprintf("status_line_%v", statusLine), func(t *testing.T) {
			handler := "block_status 403"
			if statusLine {
				handler += "\n\t\tstatus_line"
			}
			rsLoadProxy(t, rsProxyCfg{Mode: "strict", Handler: handler, Registry: fake.IndexURL(), Packages: fake.FilesURL(),
				Intel: []string{osv}, Dir: t.TempDir(), Repo: "url_encoded_config"})
			rsWaitReady(t, 30*time.Second)

			// The hostile advisory blocks: headers, status line and body stay clean.
			for _, target := range []string{"/r" + wheel.Path, "/r/pypi/evilpkg/1.0/json", "/r" + wheel.Path + ".metadata"} {
				for _, method := range []string{"GET", "HEAD"} {
					resp, err := rsRawRequest(method, target)
					if err != nil {
						t.Fatal(err)
					}
					where := method + " " + target
					if resp.Status != 403 {
						t.Errorf("%s: status %d, want 403", where, resp.Status)
					}
					rsHeaderLinesOK(t, where, resp.Raw, "X-Injected")
					if statusLine && !strings.HasPrefix(resp.Reason, "Blocked: evilpkg 1.0") {
						t.Errorf("%s: reason phrase %q", where, resp.Reason)
					}
					if !statusLine && resp.Reason != "Forbidden" {
						t.Errorf("%s: reason phrase %q without status_line", where, resp.Reason)
					}
					if bytes.Contains(resp.Body, []byte("\r")) || bytes.Contains(resp.Body, []byte("\x00")) ||
						bytes.Contains(resp.Body, []byte("\u202e")) || bytes.Contains(resp.Body, []byte("\u0085")) {
						t.Errorf("%s: control characters in the block body:\n%q", where, resp.Body)
					}
					if method == "GET" && !bytes.Contains(resp.Body, []byte("MAL-2099-0701")) {
						t.Errorf("%s: the body does not name the advisory:\n%s", where, resp.Body)
					}
				}
			}

			// Hostile names in requests: refused with a clean 400/404.
			names := []string{
				"evil%0d%0aX-Injected:%20yes", "evil%0aX-Injected:%20yes", "evil%0dX-Injected:%20yes", "evil%00pkg",
				"evil%E2%80%AEpkg", "evil%E2%80%8Bpkg", "evil%C2%85pkg", "evil%7Fpkg", "evil%E2%80%A8pkg", "evil%09pkg",
				"evil%C0%AFpkg", "evil%FFpkg", "evil%ED%A0%80pkg",
			}
			for _, n := range names {
				for _, target := range []string{
					"/r/simple/" + n + "/", "/r/pypi/" + n + "/json", "/r/pypi/evilpkg/1.0" + n + "/json",
					"/r/packages/aa/bb/cc/" + n + "-1.0-py3-none-any.whl", "/r/packages/source/e/" + n + "/evilpkg-1.0.tar.gz",
					"/r/simple/evilpkg/?format=" + n, "/r/" + rsCtxWithName(n) + "/simple/evilpkg/",
				} {
					resp, err := rsRawRequest("GET", target, "Accept: "+pipAcceptRS)
					if err != nil {
						t.Fatal(err)
					}
					rsHeaderLinesOK(t, target, resp.Raw, "X-Injected")
					if resp.Status >= 500 || resp.Status == 200 && !strings.Contains(target, "format=") {
						t.Errorf("GET %s: status %d", target, resp.Status)
					}
					if bytes.Contains(resp.Body, []byte("X-Injected")) && resp.Status != 200 {
						t.Errorf("GET %s: the request's bytes are echoed: %q", target, resp.Body)
					}
				}
			}
			// Raw control bytes in the request line and headers never reach
			// a handler; a name with a context that carries controls is 400.
			for _, raw := range []string{
				"GET /r/simple/evil\rX-Injected: yes/ HTTP/1.1\r\nHost: " + rsProxyHost + "\r\n\r\n",
				"GET /r/simple/evil\x00/ HTTP/1.1\r\nHost: " + rsProxyHost + "\r\n\r\n",
				"GET /r/simple/Evil?\x01\x7f HTTP/1.1\r\nHost: " + rsProxyHost + "\r\n\r\n",
				"GET /r/simple/evil\u202e/ HTTP/1.1\r\nHost: " + rsProxyHost + "\r\n\r\n",
				"GET /r/simple/Evil_Pkg/?a=%0d%0aX-Injected:%20q HTTP/1.1\r\nHost: " + rsProxyHost + "\r\n\r\n",
				"GET /r/simple/evilpkg/ HTTP/1.1\r\nHost: " + rsProxyHost + "\r\nAccept: text/html\rX-Injected: h\r\n\r\n",
			} {
				resp, err := rsSendRaw(raw)
				if err != nil {
					t.Fatalf("%q: %v", raw, err)
				}
				rsHeaderLinesOK(t, fmt.Sprintf("%q", raw), resp.Raw, "X-Injected")
				if loc := resp.Header.Get("Location"); loc != "" && (strings.ContainsAny(loc, "\r\n") || !strings.HasPrefix(loc, "/r/")) {
					t.Errorf("%q: Location %q", raw, loc)
				}
				if resp.Status == 200 {
					t.Errorf("%q: accepted", raw)
				}
			}
		})
	}
}

// TestSecurityContextSSRF proves the base64 repository-manager context never
// chooses the upstream host, and that oversized or deeply nested contexts
// are refused.
func TestSecurityContextSSRF(t *testing.T) {
	var trapped atomic.Int64
	trap := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		trapped.Add(1)
		w.Write([]byte("trap"))
	}))
	defer trap.Close()
	trapHost := strings.TrimPrefix(trap.URL, "http://")
	fake := fakepypi.StartT(t, fakepypi.Options{})
	fake.AddProject("okpkg", fakepypi.NewRelease("1.0", fakepypi.FileSpec{}))
	wheel := fake.ProjectFiles("okpkg", "1.0")[0]
	dir := t.TempDir()
	rsWriteMAL(t, dir+"/osv", "MAL-2099-0801", "badpkg", "1.0")
	rsLoadProxy(t, rsProxyCfg{Mode: "strict", Registry: fake.IndexURL(), Packages: fake.FilesURL(), Repo: "url_encoded_config",
		Intel: []string{dir + "/osv"}, Dir: dir})
	rsWaitReady(t, 30*time.Second)

	ssrf := []any{
		map[string]any{"repoManagerHost": trapHost, "repoName": "x"},
		map[string]any{"repoManagerHost": trap.URL + "/", "repoName": trap.URL},
		map[string]any{"registry": trap.URL, "packages_registry": trap.URL, "url": trap.URL, "host": trapHost, "upstream": trap.URL},
		map[string]any{"repoManagerHost": "169.254.169.254", "x": map[string]any{"registry": trap.URL}},
		map[string]any{"repoManagerHost": "localhost:" + fmt.Sprint(rsAdminPort), "repoName": "../../config"},
	}
	for i, c := range ssrf {
		seg := rsB64ctx(c)
		for _, target := range []string{"/r/" + seg + "/simple/okpkg/", "/r/" + seg + wheel.Path, "/r/" + seg + "/pypi/okpkg/json", "/r/" + seg + "/simple/"} {
			before := len(fake.Requests())
			code, _, body := rsGet(t, target, "Accept: "+pipAcceptRS)
			if code != 200 {
				t.Errorf("context %d %s: status %d\n%s", i, target, code, truncateStr(body, 200))
			}
			if len(fake.Requests()) == before {
				t.Errorf("context %d %s: the configured upstream was not asked", i, target)
			}
			if bytes.Contains(body, []byte("trap")) {
				t.Errorf("context %d %s: answered by the trap host", i, target)
			}
		}
	}
	if n := trapped.Load(); n != 0 {
		t.Errorf("SSRF: the context made the proxy contact %s %d times", trap.URL, n)
	}
	rows, _ := rsJournalRows(t, "repo_manager="+trapHost)
	if len(rows) == 0 {
		t.Errorf("the context was not recorded as the repository manager")
	}

	nest := func(depth int) string {
		return strings.Repeat(`{"a":`, depth) + "1" + strings.Repeat("}", depth)
	}
	big := map[string]string{"repoManagerHost": "h", "pad": strings.Repeat("A", 1600)}
	refused := []struct {
		name, seg string
	}{
		{"oversized (>2 KiB)", rsB64ctx(big)},
		{"nested 5 deep", base64.RawURLEncoding.EncodeToString([]byte(nest(5)))},
		{"nested 100 deep", base64.RawURLEncoding.EncodeToString([]byte(nest(100)))},
		{"array nesting", base64.RawURLEncoding.EncodeToString([]byte(`{"a":[[[[[1]]]]]}`))},
		{"not JSON", base64.RawURLEncoding.EncodeToString([]byte("repoManagerHost=x"))},
		{"JSON array", base64.RawURLEncoding.EncodeToString([]byte(`["a"]`))},
		{"trailing data", base64.RawURLEncoding.EncodeToString([]byte(`{"repoName":"a"}{"repoName":"b"}`))},
		{"duplicate key", base64.RawURLEncoding.EncodeToString([]byte(`{"repoName":"a","repoName":"b"}`))},
		{"non-string host", base64.RawURLEncoding.EncodeToString([]byte(`{"repoManagerHost":{"h":1}}`))},
		{"control characters", base64.RawURLEncoding.EncodeToString([]byte(`{"repoName":"a\r\nb"}`))},
		{"mixed alphabets", "eyJyZXBvTmFtZSI6Ij8_Pz4-Pj4ifQ+/"},
		{"not base64", "!!notbase64!!"},
		{"bad padding", "eyJ9===="},
	}
	fakeBefore := len(fake.Requests())
	_, jBefore := rsJournalRows(t, "")
	for _, c := range refused {
		code, hdr, body := rsGet(t, "/r/"+c.seg+"/simple/okpkg/")
		if code != 400 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/plain") {
			t.Errorf("%s: status %d %s, want 400 text/plain\n%s", c.name, code, hdr.Get("Content-Type"), truncateStr(body, 200))
		}
	}
	if len(fake.Requests()) != fakeBefore {
		t.Errorf("refused contexts reached the upstream")
	}
	if rows, jAfter := rsJournalRows(t, ""); jAfter-jBefore > len(refused) {
		t.Errorf("refused contexts left %d journal rows", jAfter-jBefore)
	} else {
		for _, r := range rows[:jAfter-jBefore] {
			if r.HTTPStatus != 400 {
				t.Errorf("a refused context was journaled as %+v", r)
			}
		}
	}
	// A context of exactly the largest accepted size and depth 4 works.
	ok4 := base64.RawURLEncoding.EncodeToString([]byte(`{"repoName":"n","x":{"a":{"b":[1]}}}`))
	if code, _, body := rsGet(t, "/r/"+ok4+"/simple/okpkg/"); code != 200 {
		t.Errorf("depth-4 context refused: %d %s", code, body)
	}
}

// TestSecurityUpstreamTLS proves upstream certificates are verified: a
// self-signed upstream is refused (502) until its CA is configured with
// transport http { tls_trust_pool file <ca.pem> }.
func TestSecurityUpstreamTLS(t *testing.T) {
	fake := fakepypi.StartT(t, fakepypi.Options{TLS: true})
	fake.AddProject("okpkg", fakepypi.NewRelease("1.0", fakepypi.FileSpec{}))
	wheel := fake.ProjectFiles("okpkg", "1.0")[0]
	dir := t.TempDir()
	ca, err := fake.WriteCAFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	rsWriteMAL(t, dir+"/osv", "MAL-2099-0901", "badpkg", "1.0")
	cases := []struct {
		name  string
		repo  string
		want  int
		intel string
	}{
		{"default trust (system roots)", "", 502, ""},
		{"trust pool of another CA", "transport http {\n\t\t\t\ttls_trust_pool file " + rsOtherCA(t, dir) + "\n\t\t\t}", 502, ""},
		{"trust pool with the upstream's CA", "transport http {\n\t\t\t\ttls_trust_pool file " + ca + "\n\t\t\t}", 200, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rsLoadProxy(t, rsProxyCfg{Mode: "strict", Registry: fake.IndexURL(), Packages: fake.FilesURL(), Repo: c.repo,
				Intel: []string{dir + "/osv"}, Dir: t.TempDir()})
			rsWaitReady(t, 30*time.Second)
			fake.ResetRequests()
			for _, target := range []string{"/r/simple/okpkg/", "/r" + wheel.Path, "/r/pypi/okpkg/json", "/r/simple/"} {
				code, _, body := rsGet(t, target, "Accept: "+pipAcceptRS)
				if code != c.want {
					t.Errorf("%s: status %d, want %d\n%s", target, code, c.want, truncateStr(body, 300))
				}
				if c.want == 502 && !bytes.Contains(bytes.ToLower(body), []byte("certificate")) {
					t.Errorf("%s: the 502 does not say the certificate was refused: %s", target, truncateStr(body, 300))
				}
				if c.want == 502 && (bytes.Contains(body, wheel.Data[:32]) || bytes.Contains(body, []byte("okpkg-1.0"))) {
					t.Errorf("%s: upstream content served over an unverified connection", target)
				}
			}
			if c.want == 502 {
				for _, r := range fake.Requests() {
					t.Errorf("a request reached the upstream over an unverified TLS connection: %s %s", r.Method, r.Path)
				}
			}
		})
	}
}

// rsOtherCA writes the CA of a second, unrelated fake.
func rsOtherCA(t *testing.T, dir string) string {
	other := fakepypi.StartT(t, fakepypi.Options{TLS: true})
	sub := filepath.Join(dir, "other")
	os.MkdirAll(sub, 0o755)
	p, err := other.WriteCAFile(sub)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSecurityCredentials proves client credentials (Authorization,
// Cookie) reach only the registry host: never the files host, an
// additional files host or the target of a redirect; Proxy-Authorization
// reaches nobody.
func TestSecurityCredentials(t *testing.T) {
	fake := fakepypi.StartT(t, fakepypi.Options{})
	extra := fakepypi.StartT(t, fakepypi.Options{})
	fake.AddProject("okpkg", fakepypi.NewRelease("1.0"))
	extra.AddProject("okpkg", fakepypi.NewRelease("1.0", fakepypi.FileSpec{}))
	files := fake.ProjectFiles("okpkg", "1.0")
	var wheel, sdist *fakepypi.File
	for _, f := range files {
		if f.Kind == fakepypi.Wheel {
			wheel = f
		} else {
			sdist = f
		}
	}
	dir := t.TempDir()
	rsWriteMAL(t, dir+"/osv", "MAL-2099-1001", "badpkg", "1.0")
	rsLoadProxy(t, rsProxyCfg{Mode: "strict", Registry: fake.IndexURL(), Packages: fake.FilesURL(),
		Additional: map[string]string{"extra": extra.FilesURL()}, Intel: []string{dir + "/osv"}, Dir: dir})
	rsWaitReady(t, 30*time.Second)
	creds := []string{"Authorization: Basic dXNlcjpzZWNyZXQ=", "Cookie: session=s3cr3t", "Proxy-Authorization: Basic cHJveHk6c2VjcmV0"}
	fake.ResetRequests()
	extra.ResetRequests()
	// Index host: the registry, where the credentials belong.
	for _, target := range []string{"/r/simple/okpkg/", "/r/pypi/okpkg/json", "/r/simple/"} {
		if code, _, _ := rsGet(t, target, append([]string{"Accept: " + pipAcceptRS}, creds...)...); code != 200 {
			t.Fatalf("%s: %d", target, code)
		}
	}
	// Files host, additional host, and a redirect (legacy path -> 302 on
	// the files host, rewritten into the proxy and followed by the client).
	for _, target := range []string{"/r" + wheel.Path, "/r" + wheel.Path + ".metadata", "/r/x/extra" + wheel.Path,
		"/r/packages/source/o/okpkg/" + sdist.Filename} {
		code, hdr, _ := rsGet(t, target, creds...)
		if code == http.StatusFound || code == http.StatusMovedPermanently {
			loc := hdr.Get("Location")
			if !strings.HasPrefix(loc, "/r/") {
				t.Fatalf("%s: redirected outside the proxy to %s", target, loc)
			}
			code, _, _ = rsGet(t, loc, creds...)
		}
		if code != 200 {
			t.Errorf("%s: %d", target, code)
		}
	}
	indexSaw, filesSaw := 0, 0
	for _, r := range append(fake.Requests(), extra.Requests()...) {
		hasAuth := r.Header.Get("Authorization") != "" || r.Header.Get("Cookie") != ""
		if r.Header.Get("Proxy-Authorization") != "" {
			t.Errorf("Proxy-Authorization forwarded to %s %s", r.Host, r.Path)
		}
		switch {
		case r.Host == "index" && !strings.HasPrefix(r.Path, "/packages/"):
			if hasAuth {
				indexSaw++
			}
			if r.Header.Get("Authorization") != "Basic dXNlcjpzZWNyZXQ=" || r.Header.Get("Cookie") != "session=s3cr3t" {
				t.Errorf("the registry did not get the client's credentials: %s %v", r.Path, r.Header)
			}
		default:
			filesSaw++
			if hasAuth {
				t.Errorf("credentials leaked to the %s host: %s %s %v", r.Host, r.Method, r.Path, r.Header)
			}
		}
	}
	if indexSaw < 3 || filesSaw < 4 {
		t.Errorf("vacuous: %d registry and %d files requests seen", indexSaw, filesSaw)
	}
}

// TestSecurityMalformedRequests sends malformed requests: each gets a clear
// 4xx, nothing reaches the upstream, and the journal gains nothing but (at
// most) the record of the refusal.
func TestSecurityMalformedRequests(t *testing.T) {
	fake := fakepypi.StartT(t, fakepypi.Options{})
	fake.AddProject("okpkg", fakepypi.NewRelease("1.0", fakepypi.FileSpec{}))
	dir := t.TempDir()
	rsWriteMAL(t, dir+"/osv", "MAL-2099-1101", "badpkg", "1.0")
	rsLoadProxy(t, rsProxyCfg{Mode: "strict", Registry: fake.IndexURL(), Packages: fake.FilesURL(), Repo: "url_encoded_config",
		Intel: []string{dir + "/osv"}, Dir: dir})
	rsWaitReady(t, 30*time.Second)
	long := "/r/simple/" + strings.Repeat("a", 5000) + "/"
	cases := []struct {
		name   string
		method string
		target string
		hdr    []string
		want   int
	}{
		{"bad escape", "GET", "/r/simple/ok%zzpkg/", nil, 400},
		{"truncated escape", "GET", "/r/simple/okpkg%2/", nil, 400},
		{"invalid UTF-8", "GET", "/r/simple/ok%FFpkg/", nil, 400},
		{"overlong UTF-8", "GET", "/r/simple/ok%C0%AEpkg/", nil, 400},
		{"path too long", "GET", long, nil, 400},
		{"empty segment", "GET", "/r/simple//", nil, 400},
		{"unknown route (read as a context)", "GET", "/r/nonsense/okpkg/", nil, 400},
		{"unknown route", "GET", "/r/simple/okpkg/x/", nil, 404},
		{"not a distribution", "GET", "/r/packages/aa/bb/cc/okpkg-1.0.txt", nil, 404},
		{"json api extra segment", "GET", "/r/pypi/okpkg/1.0/x/json", nil, 404},
		{"invalid project name", "GET", "/r/simple/-okpkg-/", nil, 404},
		{"POST", "POST", "/r/simple/okpkg/", []string{"Content-Length: 0"}, 405},
		{"PUT", "PUT", "/r/packages/aa/bb/cc/okpkg-1.0-py3-none-any.whl", []string{"Content-Length: 0"}, 405},
		{"DELETE", "DELETE", "/r/simple/okpkg/", nil, 405},
		{"OPTIONS", "OPTIONS", "/r/simple/okpkg/", nil, 405},
		{"TRACE", "TRACE", "/r/simple/okpkg/", nil, 405},
		{"no acceptable type", "GET", "/r/simple/okpkg/", []string{"Accept: image/png"}, 406},
	}
	fakeBefore := len(fake.Requests())
	for _, c := range cases {
		_, before := rsJournalRows(t, "")
		resp, err := rsRawRequest(c.method, c.target, c.hdr...)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if resp.Status != c.want {
			t.Errorf("%s: status %d, want %d\n%s", c.name, resp.Status, c.want, truncateStr(resp.Body, 200))
		}
		// net/http itself refuses what it cannot parse ("400 Bad Request");
		// everything else is the proxy's explanation.
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") ||
			!bytes.HasPrefix(resp.Body, []byte("osa_proxy: ")) && string(resp.Body) != "400 Bad Request" {
			t.Errorf("%s: not a clear text/plain explanation: %q %q", c.name, ct, truncateStr(resp.Body, 200))
		}
		if len(resp.Body) > 1100 {
			t.Errorf("%s: %d-byte error body", c.name, len(resp.Body))
		}
		rows, after := rsJournalRows(t, "")
		switch {
		case after == before:
		case after == before+1 && rows[0].HTTPStatus == c.want:
		default:
			t.Errorf("%s: the journal changed by %d rows (newest %+v)", c.name, after-before, rows[0])
		}
	}
	// Protocol-level garbage: answered 4xx by the server, or the
	// connection closed; never 2xx, never a panic.
	for _, raw := range []string{
		"GET /r/simple/okpkg/ HTTP/1.1\r\nHost: " + rsProxyHost + "\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n12345",
		"GET /r/simple/okpkg/ HTTP/1.1\r\nHost: " + rsProxyHost + "\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
		"GET /r/simple/okpkg/ HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
		"GET /r/simple/okpkg/ HTTP/9.9\r\nHost: " + rsProxyHost + "\r\n\r\n",
		"GET r/simple/okpkg/ HTTP/1.1\r\nHost: " + rsProxyHost + "\r\n\r\n",
		"GET /r/simple/okpkg/ HTTP/1.1\r\nHost: " + rsProxyHost + "\r\nX-Big: " + strings.Repeat("b", 2<<20) + "\r\n\r\n",
	} {
		resp, err := rsSendRaw(raw)
		if err != nil {
			continue // the server closed the connection
		}
		if resp.Status < 400 {
			t.Errorf("%.60q: status %d", raw, resp.Status)
		}
	}
	if n := len(fake.Requests()) - fakeBefore; n != 0 {
		t.Errorf("%d malformed requests reached the upstream", n)
	}
	// The proxy still works.
	if code, _, _ := rsGet(t, "/r/simple/okpkg/"); code != 200 {
		t.Errorf("after the malformed requests: %d", code)
	}
}

// rsCtxWithName is a base64 context whose repoName is the percent-decoded n
// (real control characters, JSON-escaped).
func rsCtxWithName(n string) string {
	dec, err := url.PathUnescape(n)
	if err != nil {
		dec = n
	}
	b, _ := json.Marshal(map[string]string{"repoName": dec})
	return base64.RawURLEncoding.EncodeToString(b)
}
