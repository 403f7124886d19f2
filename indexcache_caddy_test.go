package osaproxy

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	"github.com/osaproxy/caddy-osaproxy/internal/clock"
)

// fakeIndex is an upstream serving /simple/demo/ with a strong ETag and 304
// on If-None-Match, recording the If-None-Match of every page request.
type fakeIndex struct {
	mu    sync.Mutex
	base  string // the server's URL, for absolute file links
	body  string
	etag  string // "" sends none
	inm   []string
	codes []int
}

func (f *fakeIndex) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/simple/demo/" {
		http.NotFound(w, r)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	inm := r.Header.Get("If-None-Match")
	f.inm = append(f.inm, inm)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if f.etag != "" {
		w.Header().Set("ETag", f.etag)
		if inm == f.etag {
			f.codes = append(f.codes, 304)
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	f.codes = append(f.codes, 200)
	io.WriteString(w, f.body)
}

func (f *fakeIndex) set(body, etag string) {
	f.mu.Lock()
	f.body, f.etag = body, etag
	f.mu.Unlock()
}

// last returns the If-None-Match and status of the last page request.
func (f *fakeIndex) last() (string, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.inm) == 0 {
		return "<none>", 0
	}
	return f.inm[len(f.inm)-1], f.codes[len(f.codes)-1]
}

func demoPage(base string, versions ...string) string {
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html>\n  <body>\n    <h1>Links for demo</h1>\n")
	for i, v := range versions {
		fmt.Fprintf(&b, "    <a href=\"%s/packages/aa/bb/%02d/demo-%s.tar.gz#sha256=%064x\">demo-%s.tar.gz</a><br />\n", base, i, v, i+1, v)
	}
	b.WriteString("  </body>\n</html>\n")
	return b.String()
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// loadCaddy runs a Caddyfile in-process (admin off) until the test ends.
func loadCaddy(t testing.TB, caddyfile string) {
	t.Helper()
	cfg, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(caddyfile), nil)
	if err != nil {
		t.Fatalf("adapt: %v\n%s", err, caddyfile)
	}
	if err := caddy.Load(cfg, true); err != nil {
		t.Fatalf("load: %v", err)
	}
	t.Cleanup(func() { _ = caddy.Stop() })
}

type pageResult struct {
	code          int
	body, etag    string
	removed       string
	upINM         string
	upCode        int
	contentLength string
}

func getPage(t *testing.T, f *fakeIndex, url, inm string) pageResult {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if inm != "" {
		req.Header.Set("If-None-Match", inm)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	r := pageResult{code: resp.StatusCode, body: string(body), etag: resp.Header.Get("ETag"), removed: resp.Header.Get("X-OSA-Removed"), contentLength: resp.Header.Get("Content-Length")}
	r.upINM, r.upCode = f.last()
	return r
}

const cacheTestPolicies = `
		policy "Dangerous" {
			blocker
			condition dependency_is_dangerous
		}`

const cacheTestCooldown = `
		policy "Cooldown" {
			blocker
			condition dependency_age < 7d {
				missing_upload_time treat_as_old
			}
		}`

// startCacheProxy starts the fake upstream and a strict osa_proxy over one
// malicious record for demo 1.1, and waits until the intelligence is in force.
func startCacheProxy(t *testing.T, policies, handlerOpts string) (*fakeIndex, string) {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("XDG_DATA_HOME", filepath.Join(dir, "data"))
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "config"))
	osv := filepath.Join(dir, "osv")
	if err := os.MkdirAll(osv, 0o755); err != nil {
		t.Fatal(err)
	}
	rec := `{"id":"MAL-2099-1","modified":"2024-01-01T00:00:00Z","published":"2024-01-01T00:00:00Z","summary":"malicious demo",
		"affected":[{"package":{"ecosystem":"PyPI","name":"demo"},"versions":["1.1"]}]}`
	if err := os.WriteFile(filepath.Join(osv, "MAL-2099-1.json"), []byte(rec), 0o644); err != nil {
		t.Fatal(err)
	}
	f := &fakeIndex{}
	up := httptest.NewServer(f)
	t.Cleanup(up.Close)
	f.base = up.URL
	f.set(demoPage(up.URL, "1.0", "1.1", "1.2"), `"v1"`)
	port := freePort(t)
	loadCaddy(t, fmt.Sprintf(`{
	admin off
	persist_config off
	auto_https off
	osa {
		intel osv %s
		%s
		journal sqlite %s
	}
}
http://127.0.0.1:%d {
	osa_proxy {
		work_mode strict
		%s
		pypi pypi {
			registry %s
		}
	}
}`, osv, policies, filepath.Join(dir, "journal.db"), port, handlerOpts, up.URL))
	url := fmt.Sprintf("http://127.0.0.1:%d/pypi/simple/demo/", port)
	deadline := time.Now().Add(20 * time.Second)
	for {
		r := getPage(t, f, url, "")
		if r.code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("proxy not ready: %d %s", r.code, r.body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return f, url
}

func TestIndexCacheInCaddy(t *testing.T) {
	f, url := startCacheProxy(t, cacheTestPolicies, "")

	first := getPage(t, f, url, "")
	if first.code != 200 || first.removed != "1" || strings.Contains(first.body, "demo-1.1.tar.gz") || !strings.Contains(first.body, "demo-1.2.tar.gz") {
		t.Fatalf("filtered page: %d removed=%q\n%s", first.code, first.removed, first.body)
	}
	if first.upINM != `"v1"` || first.upCode != 304 {
		// the readiness loop already filled the cache: this was a hit
		t.Fatalf("second request: upstream saw If-None-Match %q and answered %d; want the cached page revalidated", first.upINM, first.upCode)
	}

	steps := []struct {
		name       string
		change     func()
		clientINM  func(prev pageResult) string
		wantCode   int
		wantUpINM  string
		wantUpCode int
		wantIn     string
		wantOut    string
		sameAsPrev bool
	}{
		{name: "hit: upstream revalidated, same bytes and ETag", wantCode: 200, wantUpINM: `"v1"`, wantUpCode: 304, wantOut: "demo-1.1.tar.gz", sameAsPrev: true},
		{name: "client If-None-Match with the proxy ETag gets 304", clientINM: func(p pageResult) string { return p.etag }, wantCode: 304, wantUpINM: `"v1"`, wantUpCode: 304},
		{name: "a new upstream version is filtered again", change: func() { f.set(demoPage(f.base, "1.0", "1.1", "1.2", "1.3"), `"v2"`) },
			wantCode: 200, wantUpINM: `"v1"`, wantUpCode: 200, wantIn: "demo-1.3.tar.gz", wantOut: "demo-1.1.tar.gz"},
		{name: "and that version is then cached", wantCode: 200, wantUpINM: `"v2"`, wantUpCode: 304, wantIn: "demo-1.3.tar.gz", wantOut: "demo-1.1.tar.gz", sameAsPrev: true},
		{name: "an old proxy ETag no longer matches", clientINM: func(pageResult) string { return first.etag }, wantCode: 200, wantUpINM: `"v2"`, wantUpCode: 304, wantIn: "demo-1.3.tar.gz"},
		{name: "an upstream page without ETag is never revalidated", change: func() { f.set(demoPage(f.base, "1.0", "1.1", "1.2", "1.3"), "") }, wantCode: 200, wantUpINM: `"v2"`, wantUpCode: 200, wantIn: "demo-1.3.tar.gz"},
		{name: "nor cached", wantCode: 200, wantUpINM: "", wantUpCode: 200, wantIn: "demo-1.3.tar.gz", wantOut: "demo-1.1.tar.gz"},
	}
	prev := first
	for _, st := range steps {
		if st.change != nil {
			st.change()
		}
		inm := ""
		if st.clientINM != nil {
			inm = st.clientINM(prev)
		}
		r := getPage(t, f, url, inm)
		if r.code != st.wantCode || r.upINM != st.wantUpINM || r.upCode != st.wantUpCode {
			t.Fatalf("%s: got %d (upstream saw If-None-Match %q, answered %d), want %d (%q, %d)", st.name, r.code, r.upINM, r.upCode, st.wantCode, st.wantUpINM, st.wantUpCode)
		}
		if st.wantIn != "" && !strings.Contains(r.body, st.wantIn) || st.wantOut != "" && strings.Contains(r.body, st.wantOut) {
			t.Fatalf("%s: body\n%s", st.name, r.body)
		}
		if st.sameAsPrev && (r.body != prev.body || r.etag != prev.etag || r.removed != prev.removed || r.contentLength != prev.contentLength) {
			t.Fatalf("%s: cached answer differs: etag %s vs %s, removed %s vs %s", st.name, r.etag, prev.etag, r.removed, prev.removed)
		}
		if r.code == 200 {
			prev = r
		}
	}
}

func TestIndexCacheTimeDependentInCaddy(t *testing.T) {
	defer clock.Reset()
	f, url := startCacheProxy(t, cacheTestPolicies+cacheTestCooldown, "")
	a := getPage(t, f, url, "")
	if a.upINM != `"v1"` || a.upCode != 304 {
		t.Fatalf("within the TTL: upstream saw %q / %d, want a revalidation", a.upINM, a.upCode)
	}
	clock.Advance(timeDependentIndexTTL)
	b := getPage(t, f, url, "")
	if b.upINM != "" || b.upCode != 200 || b.body != a.body {
		t.Fatalf("after the TTL: upstream saw %q / %d (want a full fetch and the same filtering)", b.upINM, b.upCode)
	}
	c := getPage(t, f, url, "")
	if c.upINM != `"v1"` || c.upCode != 304 {
		t.Fatalf("refiltered page not cached again: upstream saw %q / %d", c.upINM, c.upCode)
	}
}

func TestIndexCacheOffInCaddy(t *testing.T) {
	f, url := startCacheProxy(t, cacheTestPolicies, "index_cache_size off")
	for i := 0; i < 2; i++ {
		if r := getPage(t, f, url, ""); r.upINM != "" || r.upCode != 200 || r.removed != "1" {
			t.Fatalf("request %d with the cache off: upstream saw %q / %d, removed %q", i, r.upINM, r.upCode, r.removed)
		}
	}
}
