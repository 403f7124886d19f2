package integration

// Shared helpers of the bypass, fault, security and soak tests: Caddyfile
// generation, an OSV folder with synthetic malicious-package records, raw
// HTTP/1.1 requests (paths sent byte for byte, nothing normalized by a
// client), journal queries through the admin API and leak assertions.

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
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
)

// The in-process Caddy's ports: the defaults of smoke_test.go, moved by
// OSA_E2E_ADMIN_PORT and OSA_E2E_HTTP_PORT (as for the e2e tests) so that
// two test binaries on one machine do not load configs into each other.
var (
	rsAdminPort = rsEnvPort("OSA_E2E_ADMIN_PORT", 2999)
	rsHTTPPort  = rsEnvPort("OSA_E2E_HTTP_PORT", 9080)
	rsProxyHost = fmt.Sprintf("localhost:%d", rsHTTPPort)
	rsProxyAddr = fmt.Sprintf("127.0.0.1:%d", rsHTTPPort)
	rsProxyBase = "http://" + rsProxyHost
	rsAdminBase = fmt.Sprintf("http://localhost:%d", rsAdminPort)
)

func rsEnvPort(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 && n < 65536 {
		return n
	}
	return def
}

// rsProxyCfg describes one Caddyfile for the in-process Caddy.
type rsProxyCfg struct {
	Mode          string            // work_mode
	BlockOnErrors string            // "", "true" or "false"
	Handler       string            // extra osa_proxy lines
	Repo          string            // extra lines in the pypi block
	RepoName      string            // default "r"
	Registry      string            // registry URL
	Packages      string            // packages_registry URL ("" = none)
	Additional    map[string]string // additional_packages_registry key -> URL
	Intel         []string          // OSV folders or files
	Global        string            // extra lines in the osa global option
	Journal       string            // journal line (default sqlite <dir>/journal.db)
	Policies      string            // policy blocks (default: dependency_is_dangerous blocker)
	Dir           string            // temp dir for the journal
	Site          string            // extra site directives before osa_proxy
	ExtraRepos    string            // more pypi blocks inside osa_proxy
	Grace         string            // grace_period (default 1ns)
}

const rsDangerousPolicy = `policy "Dangerous" {
			stages proxy
			blocker
			condition dependency_is_dangerous
		}`

func (c rsProxyCfg) String() string {
	var b strings.Builder
	grace := c.Grace
	if grace == "" {
		grace = "1ns"
	}
	fmt.Fprintf(&b, "{\n\tskip_install_trust\n\tpersist_config off\n\tadmin localhost:%d\n\thttp_port %d\n\thttps_port %d\n\tgrace_period %s\n\tosa {\n", rsAdminPort, rsHTTPPort, rsHTTPPort+363, grace)
	for _, in := range c.Intel {
		fmt.Fprintf(&b, "\t\tintel osv %s\n", in)
	}
	pol := c.Policies
	if pol == "" {
		pol = rsDangerousPolicy
	}
	fmt.Fprintf(&b, "\t\t%s\n", pol)
	j := c.Journal
	if j == "" {
		j = "journal sqlite " + filepath.Join(c.Dir, "journal.db")
	}
	fmt.Fprintf(&b, "\t\t%s\n", j)
	if c.Global != "" {
		fmt.Fprintf(&b, "\t\t%s\n", c.Global)
	}
	fmt.Fprintf(&b, "\t}\n}\nhttp://%s {\n", rsProxyHost)
	if c.Site != "" {
		fmt.Fprintf(&b, "\t%s\n", c.Site)
	}
	b.WriteString("\tosa_proxy {\n")
	if c.Mode != "" {
		fmt.Fprintf(&b, "\t\twork_mode %s\n", c.Mode)
	}
	if c.BlockOnErrors != "" {
		fmt.Fprintf(&b, "\t\tblock_on_errors %s\n", c.BlockOnErrors)
	}
	if c.Handler != "" {
		fmt.Fprintf(&b, "\t\t%s\n", c.Handler)
	}
	name := c.RepoName
	if name == "" {
		name = "r"
	}
	fmt.Fprintf(&b, "\t\tpypi %s {\n\t\t\tregistry %s\n", name, c.Registry)
	if c.Packages != "" {
		fmt.Fprintf(&b, "\t\t\tpackages_registry %s\n", c.Packages)
	}
	for k, v := range c.Additional {
		fmt.Fprintf(&b, "\t\t\tadditional_packages_registry %s %s\n", k, v)
	}
	if c.Repo != "" {
		fmt.Fprintf(&b, "\t\t\t%s\n", c.Repo)
	}
	b.WriteString("\t\t}\n")
	if c.ExtraRepos != "" {
		fmt.Fprintf(&b, "\t\t%s\n", c.ExtraRepos)
	}
	b.WriteString("\t}\n}\n")
	return b.String()
}

// rsLoadProxy (re)configures the in-process Caddy.
func rsLoadProxy(t *testing.T, c rsProxyCfg) *caddytest.Tester {
	t.Helper()
	tester := caddytest.NewTester(t).WithDefaultOverrides(caddytest.Config{
		AdminPort: rsAdminPort, LoadRequestTimeout: 60 * time.Second, TestRequestTimeout: 60 * time.Second,
	})
	tester.InitServer(c.String(), "caddyfile")
	if t.Failed() {
		t.Fatalf("config did not load:\n%s", c)
	}
	return tester
}

// rsWriteMAL writes a malicious-package OSV record for pkg's versions into dir.
func rsWriteMAL(t testing.TB, dir, id, pkg string, versions ...string) {
	t.Helper()
	rec := map[string]any{
		"schema_version": "1.6.0",
		"id":             id,
		"modified":       "2025-01-02T03:04:05Z",
		"published":      "2025-01-02T03:04:05Z",
		"summary":        "Malicious code in " + pkg + " (PyPI)",
		"details":        "test record",
		"affected": []any{map[string]any{
			"package":  map[string]any{"ecosystem": "PyPI", "name": pkg},
			"versions": versions,
		}},
	}
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, id+".json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// rsWaitReady polls GET /osa/ready until it answers 200.
func rsWaitReady(t testing.TB, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	var last string
	for time.Now().Before(deadline) {
		resp, err := http.Get(rsAdminBase + "/osa/ready")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			last = string(b)
		} else {
			last = err.Error()
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("proxy not ready within %s: %s", within, last)
}

// rsIntelSnapshot returns the snapshot id in force ("" when none).
func rsIntelSnapshot(t testing.TB) string {
	t.Helper()
	var st struct {
		Snapshot *string `json:"snapshot"`
	}
	rsGetJSON(t, rsAdminBase+"/osa/intel", &st)
	if st.Snapshot == nil {
		return ""
	}
	return *st.Snapshot
}

func rsGetJSON(t testing.TB, u string, v any) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", u, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("GET %s: %v\n%s", u, err, b)
	}
}

// rsJournalRow is the subset of a journal record the tests look at.
type rsJournalRow struct {
	Package    string   `json:"package"`
	Version    string   `json:"version"`
	File       string   `json:"file"`
	Operation  string   `json:"operation"`
	Status     string   `json:"status"`
	HTTPStatus int      `json:"http_status"`
	WorkMode   string   `json:"work_mode"`
	Reason     string   `json:"reason"`
	Path       string   `json:"path"`
	Removed    int      `json:"removed"`
	RequestID  string   `json:"request_id"`
	Advisories []string `json:"advisories"`
}

// rsJournalRows returns up to 1000 newest records matching the query
// (e.g. "package=foo-bar&status=blocked") and the total.
func rsJournalRows(t testing.TB, query string) ([]rsJournalRow, int) {
	t.Helper()
	var page struct {
		Requests []rsJournalRow `json:"requests"`
		Total    int            `json:"total"`
	}
	u := rsAdminBase + "/osa/requests?limit=1000"
	if query != "" {
		u += "&" + query
	}
	rsGetJSON(t, u, &page)
	return page.Requests, page.Total
}

// rsRawResp is a response read off a raw connection.
type rsRawResp struct {
	Status int
	Reason string // reason phrase as sent
	Header http.Header
	Body   []byte
	Raw    []byte // status line and headers as received
}

// rsRawRequest sends one request with target (and header lines) verbatim
// over a fresh TCP connection and reads the response.
func rsRawRequest(method, target string, headers ...string) (*rsRawResp, error) {
	return rsRawRequestTo(rsProxyAddr, rsProxyHost, method, target, headers...)
}

func rsRawRequestTo(addr, host, method, target string, headers ...string) (*rsRawResp, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	var req bytes.Buffer
	fmt.Fprintf(&req, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: osa-bypass-test\r\nConnection: close\r\n", method, target, host)
	for _, h := range headers {
		req.WriteString(h + "\r\n")
	}
	req.WriteString("\r\n")
	if _, err := conn.Write(req.Bytes()); err != nil {
		return nil, err
	}
	return rsReadRawResponse(conn, method)
}

// rsSendRaw writes arbitrary bytes as a request and reads one response.
func rsSendRaw(raw string) (*rsRawResp, error) {
	conn, err := net.DialTimeout("tcp", rsProxyAddr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(conn, raw); err != nil {
		return nil, err
	}
	return rsReadRawResponse(conn, "GET")
}

func rsReadRawResponse(conn net.Conn, method string) (*rsRawResp, error) {
	var seen bytes.Buffer
	br := bufio.NewReader(io.TeeReader(conn, &seen))
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		return nil, fmt.Errorf("parsing response %q: %v", rsTruncateBytes(seen.Bytes(), 300), err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	resp.Body.Close()
	all := seen.Bytes()
	hdrEnd := bytes.Index(all, []byte("\r\n\r\n"))
	if hdrEnd < 0 {
		return nil, fmt.Errorf("no complete response header in %q", rsTruncateBytes(all, 300))
	}
	line := string(all[:bytes.IndexByte(all, '\n')])
	reason := ""
	if parts := strings.SplitN(strings.TrimRight(line, "\r"), " ", 3); len(parts) == 3 {
		reason = parts[2]
	}
	return &rsRawResp{Status: resp.StatusCode, Reason: reason, Header: resp.Header, Body: body, Raw: append([]byte(nil), all[:hdrEnd+4]...)}, nil
}

func rsTruncateBytes(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// rsB64ctx encodes a repository manager context as the proxy expects it.
func rsB64ctx(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

// rsLeakMarkers are byte strings that must never appear in the response to
// a request for a blocked file or version.
type rsLeakMarkers struct {
	files   []*fakepypi.File
	strings []string // e.g. filenames that must not be listed
}

func (m rsLeakMarkers) check(body []byte) string {
	for _, f := range m.files {
		n := min(len(f.Data), 64)
		if n > 0 && bytes.Contains(body, f.Data[:n]) {
			return "body contains the first bytes of " + f.Filename
		}
		if f.Metadata != nil && len(f.Metadata) > 20 && bytes.Contains(body, f.Metadata) {
			return "body contains the core metadata of " + f.Filename
		}
		if bytes.Contains(body, []byte(f.SHA256)) {
			return "body contains the sha256 of " + f.Filename
		}
		if bytes.Contains(body, []byte(f.Blake2b256)) {
			return "body contains the blake2b path hash of " + f.Filename
		}
	}
	if bytes.HasPrefix(body, []byte("PK\x03\x04")) {
		return "body is a zip (wheel) file"
	}
	if bytes.HasPrefix(body, []byte("\x1f\x8b")) {
		return "body is gzip data (sdist)"
	}
	for _, s := range m.strings {
		if s != "" && bytes.Contains(body, []byte(s)) {
			return "body contains " + s
		}
	}
	return ""
}

// rsSha256hex returns the hex SHA-256 of b.
func rsSha256hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// rsUpstreamHosts returns host:port of every fake host (never to appear in a
// Location header sent to a client).
func rsUpstreamHosts(fakes ...*fakepypi.Server) []string {
	var out []string
	for _, f := range fakes {
		for _, raw := range []string{f.IndexURL(), f.FilesURL()} {
			if u, err := url.Parse(raw); err == nil {
				out = append(out, u.Host)
			}
		}
	}
	return out
}
