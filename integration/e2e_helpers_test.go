package integration

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"

	"github.com/osaproxy/caddy-osaproxy/integration/fakepypi"
	"github.com/osaproxy/caddy-osaproxy/internal/clock"
	"github.com/osaproxy/caddy-osaproxy/internal/testdata"
	"github.com/osaproxy/caddy-osaproxy/journal"
)

// The end-to-end tests drive the one in-process Caddy of this test binary
// (caddytest). Its admin and HTTP ports default to those of smoke_test.go;
// OSA_E2E_ADMIN_PORT and OSA_E2E_HTTP_PORT move them, so that two test
// binaries (for example two developers' runs on one machine) do not load
// their configurations into each other's Caddy. Only override them when
// running -run TestE2E alone: smoke_test.go keeps the defaults.
var (
	e2eAdminPort = envPort("OSA_E2E_ADMIN_PORT", 2999)
	e2eHTTPPort  = envPort("OSA_E2E_HTTP_PORT", 9080)
)

func envPort(name string, def int) int {
	if v := os.Getenv(name); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 0 && n < 65536 {
			return n
		}
	}
	return def
}

// adminURL is the Caddy admin endpoint.
func adminURL(path string) string {
	return fmt.Sprintf("http://localhost:%d%s", e2eAdminPort, path)
}

// proxyURL is a URL of the proxy's main site.
func proxyURL(path string) string {
	return fmt.Sprintf("http://localhost:%d%s", e2eHTTPPort, path)
}

// sharedOSV is internal/testdata.SharedOSV.
func sharedOSV(t testing.TB) string { return testdata.SharedOSV(t) }

// e2eGlobal is the global options block every end-to-end config starts with;
// osa is the body of the osa global option.
func e2eGlobal(osa string) string {
	return fmt.Sprintf(`{
	skip_install_trust
	admin localhost:%d
	http_port %d
	https_port %d
	grace_period 5s
	persist_config off
	osa {
%s
	}
}
`, e2eAdminPort, e2eHTTPPort, e2eHTTPPort+363, osa)
}

// e2eProxy is the Caddy under test, loaded with a Caddyfile.
type e2eProxy struct{}

// loadProxy loads cfg (a Caddyfile) into the test binary's Caddy and resets
// the test clock when the test ends. With waitIntel it waits until
// /osa/ready says the intelligence is in force.
func loadProxy(t *testing.T, cfg string, waitIntel bool) *e2eProxy {
	t.Helper()
	t.Cleanup(clock.Reset)
	p := &e2eProxy{}
	p.reload(t, cfg)
	if waitIntel {
		p.waitReady(t, 90*time.Second)
	}
	return p
}

// reload loads a new Caddyfile (POST /load through caddytest).
func (p *e2eProxy) reload(t *testing.T, cfg string) {
	t.Helper()
	tester := caddytest.NewTester(t).WithDefaultOverrides(caddytest.Config{
		AdminPort:          e2eAdminPort,
		LoadRequestTimeout: 60 * time.Second,
		TestRequestTimeout: 60 * time.Second,
	})
	tester.InitServer(cfg, "caddyfile")
	if t.Failed() {
		t.FailNow()
	}
}

// waitReady polls GET /osa/ready until it answers 200.
func (p *e2eProxy) waitReady(t testing.TB, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	var last string
	for time.Now().Before(deadline) {
		code, _, body := httpDo(t, "GET", adminURL("/osa/ready"), nil)
		if code == http.StatusOK {
			return
		}
		last = body
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("proxy not ready after %s: %s", d, last)
}

// httpDo sends a request with optional headers (a nil map sends none) and
// returns the status, headers and body. Redirects are not followed.
func httpDo(t testing.TB, method, u string, hdr map[string]string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := noRedirectClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, u, err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

var noRedirectClient = &http.Client{
	Timeout:       60 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// jsonAccept is what pip 23.2 sends.
const pipAccept = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01"

// requests queries GET /osa/requests with the given filter parameters.
func requests(t testing.TB, params url.Values) journal.Page {
	t.Helper()
	if params.Get("limit") == "" {
		params.Set("limit", "1000")
	}
	code, _, body := httpDo(t, "GET", adminURL("/osa/requests?"+params.Encode()), nil)
	if code != http.StatusOK {
		t.Fatalf("GET /osa/requests?%s: %d %s", params.Encode(), code, body)
	}
	var page journal.Page
	if err := json.Unmarshal([]byte(body), &page); err != nil {
		t.Fatalf("GET /osa/requests: %v\n%s", err, body)
	}
	return page
}

// q builds url.Values from key, value pairs.
func q(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

// findRecord returns the newest record satisfying match.
func findRecord(recs []journal.Record, match func(journal.Record) bool) (journal.Record, bool) {
	for _, r := range recs {
		if match(r) {
			return r, true
		}
	}
	return journal.Record{}, false
}

// recordSummary renders records for failure messages.
func recordSummary(recs []journal.Record) string {
	var b strings.Builder
	for _, r := range recs {
		fmt.Fprintf(&b, "  %s %s %s %s op=%s mode=%s status=%s http=%d removed=%d pol=%v adv=%v init=%s\n",
			r.Repository, r.Package, r.Version, r.File, r.Operation, r.WorkMode, r.Status, r.HTTPStatus, r.Removed, r.Policies, r.Advisories, r.Initiator)
	}
	return b.String()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// fileRequests returns the fake's requests for distribution files (and
// their .metadata) on either host.
func fileRequests(fake *fakepypi.Server) []fakepypi.Request {
	var out []fakepypi.Request
	for _, r := range fake.Requests() {
		if strings.Contains(r.Path, "/packages/") {
			out = append(out, r)
		}
	}
	return out
}

// fetchedFile reports whether the fake served (any method) a path ending in filename.
func fetchedFile(fake *fakepypi.Server, filename string) bool {
	for _, r := range fileRequests(fake) {
		if strings.HasSuffix(r.Path, "/"+filename) {
			return true
		}
	}
	return false
}

// rawRequest sends raw bytes over a fresh TCP connection to the proxy and
// returns the status line and the rest of the response.
func rawRequest(t testing.TB, raw string) (statusLine string, rest string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", fmt.Sprintf("localhost:%d", e2eHTTPPort), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(60 * time.Second))
	if _, err := io.WriteString(conn, raw); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	line, err := br.ReadString('\n')
	if err != nil {
		t.Fatalf("reading status line: %v", err)
	}
	var b bytes.Buffer
	// Read the headers and as much body as arrives before the server
	// closes (blocked responses close the connection) or a short pause.
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, _ = io.Copy(&b, br)
	return strings.TrimRight(line, "\r\n"), b.String()
}

// proxyLinks extracts the href values of an HTML page.
func proxyLinks(page string) []string {
	var out []string
	for _, part := range strings.Split(page, `href="`)[1:] {
		if i := strings.IndexByte(part, '"'); i >= 0 {
			out = append(out, part[:i])
		}
	}
	return out
}

// anchorFor returns the <a ...> tag of an HTML page whose text is filename.
func anchorFor(page, filename string) string {
	end := strings.Index(page, ">"+filename+"</a>")
	if end < 0 {
		return ""
	}
	start := strings.LastIndex(page[:end], "<a ")
	if start < 0 {
		return ""
	}
	return page[start : end+1]
}

// jsonFiles decodes the files of a PEP 691 JSON project page.
func jsonFiles(t testing.TB, body string) []map[string]any {
	t.Helper()
	var doc struct {
		Files []map[string]any `json:"files"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatalf("project page is not JSON: %v\n%s", err, body)
	}
	return doc.Files
}

// wheel is a wheel-only release (no sdist), so no build tools are needed.
func wheel(v string) fakepypi.Release {
	return fakepypi.NewRelease(v, fakepypi.FileSpec{})
}

// wheelAt is a wheel-only release uploaded at t.
func wheelAt(v string, at time.Time) fakepypi.Release {
	r := fakepypi.NewRelease(v, fakepypi.FileSpec{})
	r.UploadTime = at
	return r
}

// wheelName is the generated wheel's filename.
func wheelName(project, version string) string {
	return fakepypi.DistName(project) + "-" + version + "-py3-none-any.whl"
}

// site wraps osa_proxy options and repositories into the main site block.
func site(handlerBody string) string {
	return fmt.Sprintf("http://localhost:%d {\n\tosa_proxy {\n%s\t}\n}\n", e2eHTTPPort, handlerBody)
}

// repo renders a `pypi <name> { ... }` block whose upstreams are the fake's
// index and files hosts; extra lines go inside the block.
func repo(name string, fake *fakepypi.Server, extra ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\t\tpypi %s {\n\t\t\tregistry %s\n\t\t\tpackages_registry %s\n", name, fake.IndexURL(), fake.FilesURL())
	for _, e := range extra {
		fmt.Fprintf(&b, "\t\t\t%s\n", e)
	}
	b.WriteString("\t\t}\n")
	return b.String()
}

// dangerOSA is an osa block body with the real malicious-package records,
// the dependency_is_dangerous blocker and a journal under dir.
func dangerOSA(intelPath, dir string) string {
	return fmt.Sprintf(`		intel osv %s
		policy "%s" {
			stages proxy
			blocker
			condition dependency_is_dangerous
		}
		journal sqlite %s
`, intelPath, dangerPolicy, filepath.Join(dir, "journal.db"))
}
