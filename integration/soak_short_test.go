package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/osaproxy/caddy-osaproxy/integration/fakepypi"
)

// TestSoakShort is the CI version of scripts/soak: 50 clients for 10 s of
// mixed index and download traffic while the configuration is reloaded
// through the admin API every 2 s and the intelligence snapshot is swapped
// (the OSV zip rewritten under intel_refresh). No request may fail, and the
// journal must hold exactly one record per request: N concurrent requests
// across reloads give exactly N rows.
func TestSoakShort(t *testing.T) {
	const (
		clients  = 50
		duration = 10 * time.Second
		projects = 40
		versions = 3
	)
	fake := fakepypi.StartT(t, fakepypi.Options{})
	for p := 0; p < projects; p++ {
		rels := make([]fakepypi.Release, versions)
		for v := range rels {
			rels[v] = fakepypi.NewRelease(fmt.Sprintf("1.%d", v), fakepypi.FileSpec{})
		}
		fake.AddProject(fmt.Sprintf("proj-%04d", p), rels...)
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "osv.zip")
	intelA := map[string][]byte{"MAL-2099-1201.json": rsMALRecord("MAL-2099-1201", "proj-0000", "1.0")}
	intelB := map[string][]byte{
		"MAL-2099-1201.json": rsMALRecord("MAL-2099-1201", "proj-0000", "1.0"),
		"MAL-2099-1202.json": rsMALRecord("MAL-2099-1202", "proj-0001", "1.1", "1.2"),
	}
	rsWriteZip(t, src, intelA)
	cfg := func(i int) rsProxyCfg {
		return rsProxyCfg{Mode: "strict", Handler: fmt.Sprintf("scan_timeout %ds", 10+i%2), Grace: "10s",
			Registry: fake.IndexURL(), Packages: fake.FilesURL(), Intel: []string{src}, Global: "intel_refresh 500ms", Dir: dir}
	}
	rsLoadProxy(t, cfg(0))
	rsWaitReady(t, 30*time.Second)
	if _, total := rsJournalRows(t, ""); total != 0 {
		t.Fatalf("journal not empty at start: %d", total)
	}

	tr := &http.Transport{MaxIdleConns: 2 * clients, MaxIdleConnsPerHost: 2 * clients, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var sent, failed, blocked atomic.Int64
	var errMu sync.Mutex
	var firstErrs []string
	fail := func(format string, args ...any) {
		failed.Add(1)
		errMu.Lock()
		if len(firstErrs) < 10 {
			firstErrs = append(firstErrs, fmt.Sprintf(format, args...))
		}
		errMu.Unlock()
	}
	do := func(method, path, accept string) (int, http.Header, []byte, bool) {
		req, _ := http.NewRequest(method, rsProxyBase+path, nil)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := client.Do(req)
		if err != nil {
			fail("%s %s: %v", method, path, err)
			return 0, nil, nil, false
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		sent.Add(1) // a response arrived: the proxy handled (and journals) it
		if err != nil {
			fail("%s %s: reading the body: %v", method, path, err)
			return 0, nil, nil, false
		}
		return resp.StatusCode, resp.Header, body, true
	}

	stop := time.Now().Add(duration)
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
			for time.Now().Before(stop) {
				name := fmt.Sprintf("proj-%04d", rng.IntN(projects))
				accept := pipAcceptRS
				if rng.IntN(4) == 0 {
					accept = "text/html"
				}
				code, hdr, body, ok := do("GET", "/r/simple/"+name+"/", accept)
				if !ok {
					continue
				}
				if code != 200 {
					if code == 403 && hdr.Get("X-OSA-Status") != "" {
						blocked.Add(1)
					} else {
						fail("index %s: %d %.200s", name, code, body)
					}
					continue
				}
				links := rsFileLinks(body)
				if len(links) == 0 {
					fail("index %s: no files", name)
					continue
				}
				link := links[rng.IntN(len(links))]
				method, suffix := "GET", ""
				switch rng.IntN(10) {
				case 0:
					method = "HEAD"
				case 1:
					suffix = ".metadata"
				}
				code, hdr, data, ok := do(method, link.path+suffix, "")
				switch {
				case !ok:
				case code == 403 && hdr.Get("X-OSA-Status") != "":
					blocked.Add(1) // blocked since the index was fetched (intel swap)
				case code != 200:
					fail("download %s: %d %.200s", link.path, code, data)
				case method == "GET" && suffix == "" && rsSha256hex(data) != link.sha256:
					fail("download %s: sha256 mismatch", link.path)
				}
			}
		}(uint64(c) + 1)
	}

	// Reloads and snapshot swaps while the clients run.
	lastSnap, swaps := rsIntelSnapshot(t), 0
	seen := func() {
		if s := rsIntelSnapshot(t); s != lastSnap {
			lastSnap = s
			swaps++
		}
	}
	reloads := 0
	reloadTick := time.NewTicker(2 * time.Second)
	swapTick := time.NewTicker(1500 * time.Millisecond)
	swapped := false
loop:
	for {
		select {
		case <-reloadTick.C:
			if time.Now().After(stop) {
				break loop
			}
			reloads++
			if err := rsAdminLoad(cfg(reloads).String()); err != nil {
				t.Errorf("reload %d: %v", reloads, err)
			}
		case <-swapTick.C:
			if time.Now().After(stop) {
				break loop
			}
			swapped = !swapped
			if swapped {
				rsWriteZip(t, src, intelB)
			} else {
				rsWriteZip(t, src, intelA)
			}
			seen()
		}
	}
	reloadTick.Stop()
	swapTick.Stop()
	wg.Wait()
	seen()

	n := int(sent.Load())
	t.Logf("%d requests (%d blocked), %d failures, %d reloads, %d snapshot swaps seen", n, blocked.Load(), failed.Load(), reloads, swaps)
	if failed.Load() != 0 {
		t.Errorf("%d requests failed: %v", failed.Load(), firstErrs)
	}
	if reloads < 4 || swaps < 3 {
		t.Errorf("the soak did not exercise reloads (%d) and snapshot swaps (%d)", reloads, swaps)
	}
	if n < clients*10 {
		t.Errorf("only %d requests", n)
	}
	// Exactly one journal row per request, across the reloads.
	deadline := time.Now().Add(60 * time.Second)
	total := 0
	for time.Now().Before(deadline) {
		if _, total = rsJournalRows(t, ""); total >= n {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	if _, total = rsJournalRows(t, ""); total != n {
		t.Errorf("journal holds %d rows for %d requests", total, n)
	}
}

type rsLink struct{ path, sha256 string }

// rsFileLinks extracts file links (path and sha256) from a JSON or HTML
// index page served by the proxy.
func rsFileLinks(body []byte) []rsLink {
	var out []rsLink
	var doc struct {
		Files []struct {
			URL    string            `json:"url"`
			Hashes map[string]string `json:"hashes"`
		} `json:"files"`
	}
	if bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) && json.Unmarshal(body, &doc) == nil {
		for _, f := range doc.Files {
			out = append(out, rsLink{path: strings.SplitN(f.URL, "#", 2)[0], sha256: f.Hashes["sha256"]})
		}
		return out
	}
	for _, m := range rsHrefRe.FindAllSubmatch(body, -1) {
		href := string(m[1])
		if i := strings.Index(href, "#sha256="); i >= 0 {
			out = append(out, rsLink{path: href[:i], sha256: href[i+8:]})
		}
	}
	return out
}

// rsAdminLoad posts a Caddyfile to the admin API's /load.
func rsAdminLoad(caddyfile string) error {
	req, _ := http.NewRequest("POST", rsAdminBase+"/load", strings.NewReader(caddyfile))
	req.Header.Set("Content-Type", "text/caddyfile")
	resp, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("%d %s", resp.StatusCode, b)
	}
	return nil
}
