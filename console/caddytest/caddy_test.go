package caddytest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/osaproxy/caddy-osaproxy"
	"github.com/osaproxy/caddy-osaproxy/journal"
)

// malRecord is a minimal OSV record of a malicious package.
const malRecord = `{
  "id": "MAL-2099-0001",
  "summary": "Malicious code in evil-colourama (PyPI)",
  "details": "The package steals credentials at install time.",
  "modified": "2099-01-02T00:00:00Z",
  "published": "2099-01-01T00:00:00Z",
  "database_specific": {"cwe_ids": ["CWE-506"]},
  "affected": [{"package": {"ecosystem": "PyPI", "name": "evil-colourama"},
    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]}],
  "references": [{"type": "REPORT", "url": "https://example.com/report"}]
}`

func adapt(t *testing.T, caddyfile string) ([]byte, error) {
	t.Helper()
	a := caddyconfig.GetAdapter("caddyfile")
	if a == nil {
		t.Fatal("no caddyfile adapter")
	}
	out, _, err := a.Adapt([]byte(caddyfile), nil)
	return out, err
}

func TestCaddyfileErrors(t *testing.T) {
	tests := []struct{ body, want string }{
		{"osa_console extra", "wrong argument count"},
		{"osa_console {\n\t\tbogus\n\t}", `unknown subdirective "bogus"`},
		{"osa_console {\n\t\tbase_path console\n\t}", "must start with /"},
		{"osa_console {\n\t\tbase_path /a/ /b/\n\t}", "wrong argument count"},
		{"osa_console {\n\t\tbase_path /a/\n\t\tbase_path /b/\n\t}", "more than once"},
	}
	for _, tt := range tests {
		_, err := adapt(t, "http://127.0.0.1:1 {\n\t"+tt.body+"\n}\n")
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want %q", tt.body, err, tt.want)
		}
	}
	// The directive is ordered before reverse_proxy, so it works without a route block.
	cfg, err := adapt(t, "http://127.0.0.1:1 {\n\treverse_proxy 127.0.0.1:2\n\tosa_console /console/* {\n\t\tbase_path /console/\n\t}\n}\n")
	if err != nil {
		t.Fatal(err)
	}
	s := string(cfg)
	if i, j := strings.Index(s, `"handler":"osa_console"`), strings.Index(s, `"handler":"reverse_proxy"`); i < 0 || j < 0 || i > j {
		t.Fatalf("osa_console is not ordered before reverse_proxy:\n%s", s)
	}
	if !strings.Contains(s, `"base_path":"/console/"`) {
		t.Fatalf("base_path not in the JSON:\n%s", s)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

type client struct {
	t    *testing.T
	base string
}

func (c client) do(method, path string, form url.Values) (int, string) {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", c.base)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestConsoleInCaddy runs the console module in Caddy over a real journal
// and real intelligence loading.
func TestConsoleInCaddy(t *testing.T) {
	dir := t.TempDir()
	intelDir := filepath.Join(dir, "intel")
	if err := os.MkdirAll(intelDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(intelDir, "MAL-2099-0001.json"), []byte(malRecord), 0o644); err != nil {
		t.Fatal(err)
	}
	dsn := filepath.Join(dir, "journal.db")
	port := freePort(t)
	caddyfile := fmt.Sprintf(`{
	admin off
	persist_config off
	storage file_system %s
	grace_period 1s
	osa {
		intel osv %s
		journal sqlite %s
		policy "Report dangerous" {
			stages proxy
			condition dependency_is_dangerous
		}
		waiver "old exception" {
			package requests
			expires 2020-01-01
			justification "long gone"
			approved_by alice
		}
	}
}
http://127.0.0.1:%d {
	handle_path /console/* {
		osa_console
	}
	handle /abs/* {
		osa_console {
			base_path /abs/
		}
	}
}
`, filepath.Join(dir, "storage"), intelDir, dsn, port)
	cfg, err := adapt(t, caddyfile)
	if err != nil {
		t.Fatal(err)
	}
	if err := caddy.Load(cfg, true); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = caddy.Stop() }()

	// Decisions written by another connection, as a second proxy instance would.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := journal.Open(ctx, "sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	recs := []journal.Record{
		{Time: now.Add(-time.Hour), Repository: "internet-pypi", Ecosystem: "pypi", Package: "evil-colourama", Version: "1.0",
			File: "evil_colourama-1.0.tar.gz", Operation: "download", WorkMode: "strict", Status: journal.StatusWouldBlock,
			Policies: []string{"Report dangerous"}, Advisories: []string{"MAL-2099-0001"}, Initiator: "alice", Purl: "pkg:pypi/evil-colourama@1.0"},
		{Time: now.Add(-30 * time.Minute), Repository: "internet-pypi", Ecosystem: "pypi", Package: "numpy", Version: "2.0.0",
			File: "numpy-2.0.0.tar.gz", Operation: "download", WorkMode: "strict", Status: journal.StatusBlockedUnscanned, Initiator: "bob"},
	}
	if err := st.Insert(ctx, recs); err != nil {
		t.Fatal(err)
	}
	_ = st.Close()

	c := client{t: t, base: fmt.Sprintf("http://127.0.0.1:%d", port)}

	// The intelligence loads in the background.
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := c.do("GET", "/console/intel", nil)
		if code != 200 {
			t.Fatalf("intel: %d", code)
		}
		if strings.Contains(body, `id="snapshot"`) {
			for _, want := range []string{"Report dangerous", "report only", "old exception", ">expired</span>", intelDir} {
				if !strings.Contains(body, want) {
					t.Errorf("intel page lacks %q", want)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("intelligence never loaded:\n%s", body)
		}
		time.Sleep(100 * time.Millisecond)
	}

	code, body := c.do("GET", "/console/?status=blocked", nil)
	if code != 200 || !strings.Contains(body, ">numpy</a>") || strings.Contains(body, ">evil-colourama</a>") {
		t.Fatalf("blocked filter: %d\n%s", code, body)
	}
	code, body = c.do("GET", "/console/api/requests?since_id=0", nil)
	var api struct {
		Requests []journal.Record `json:"requests"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &api) != nil || len(api.Requests) != 2 {
		t.Fatalf("api: %d %s", code, body)
	}
	code, body = c.do("GET", "/console/package/Evil_Colourama", nil)
	for _, want := range []string{"<h1>evil-colourama</h1>", "Malicious code in evil-colourama (PyPI)", "evil-colourama: every version",
		`href="https://osv.dev/vulnerability/MAL-2099-0001"`, `href="https://example.com/report"`, "Report dangerous"} {
		if !strings.Contains(body, want) {
			t.Errorf("package page (%d) lacks %q", code, want)
		}
	}

	// What-if with the real parser, engine and replay.
	_, body = c.do("GET", "/console/what-if", nil)
	m := regexp.MustCompile(`name="token" value="([0-9a-f]+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no token in the what-if form")
	}
	form := url.Values{"token": {m[1]}, "since": {"24h"},
		"policies": {"policy \"Block dangerous\" {\n\tstages proxy\n\tblocker\n\tcondition dependency_is_dangerous\n}\n"}}
	code, body = c.do("POST", "/console/what-if", form)
	if code != 200 || !strings.Contains(body, "Newly blocked") || !strings.Contains(body, `href="./package/evil-colourama"`) ||
		!strings.Contains(body, "Block dangerous") {
		t.Fatalf("what-if: %d\n%s", code, body)
	}
	form.Set("policies", "policy \"x\" {\n\tcondition no_such_condition\n}\n")
	code, body = c.do("POST", "/console/what-if", form)
	if code != 400 || !strings.Contains(body, "no_such_condition") {
		t.Fatalf("bad what-if: %d\n%s", code, body)
	}

	// Mounted with base_path and no strip: absolute links under it.
	code, body = c.do("GET", "/abs/", nil)
	if code != 200 || !strings.Contains(body, `href="/abs/intel"`) || !strings.Contains(body, `href="/abs/package/numpy"`) {
		t.Fatalf("base_path mount: %d\n%s", code, body)
	}
	if code, _ = c.do("GET", "/abs/package/numpy", nil); code != 200 {
		t.Fatalf("base_path package page: %d", code)
	}
}
