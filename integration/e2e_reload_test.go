package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddyconfig"

	"github.com/osaproxy/caddy-osaproxy/integration/fakepypi"
	"github.com/osaproxy/caddy-osaproxy/journal"
)

// reloadBan is a policy (Caddyfile) banning one project name.
func reloadBan(name, project string) string {
	return fmt.Sprintf(`		policy "%s" {
			stages proxy
			blocker
			condition dependency_name_in %s
		}
`, name, project)
}

// adaptedPolicies adapts a Caddyfile and returns its apps.osa.policies JSON.
func adaptedPolicies(t testing.TB, cfg string) json.RawMessage {
	t.Helper()
	out, warn, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cfg), nil)
	if err != nil {
		t.Fatalf("adapting: %v %v", err, warn)
	}
	var doc struct {
		Apps struct {
			Osa struct {
				Policies json.RawMessage `json:"policies"`
			} `json:"osa"`
		} `json:"apps"`
	}
	if err := json.Unmarshal(out, &doc); err != nil || len(doc.Apps.Osa.Policies) == 0 {
		t.Fatalf("no osa policies in the adapted config (%v):\n%s", err, out)
	}
	return doc.Apps.Osa.Policies
}

// TestE2EPolicyReloadUnderLoad changes the policies through the Caddy admin
// API (PATCH /config/apps/osa/policies, then POST /load) while 8 clients
// keep requesting pages and files: no request fails, no page is ever served
// unfiltered, and the request right after each change obeys the new policy.
func TestE2EPolicyReloadUnderLoad(t *testing.T) {
	osv := sharedOSV(t)
	fake := fakepypi.StartT(t, fakepypi.Options{})
	fake.AddProject("libhmac", wheel("1.0.0"), wheel("1.1.0"), wheel("1.2.0"))
	fake.AddProject("steadypkg", wheel("1.0"))
	fake.AddProject("reloadban", wheel("1.0"))
	fake.AddProject("reloadban2", wheel("1.0"))
	dir := t.TempDir()
	base := e2eGlobal(dangerOSA(filepath.Join(osv, "malicious"), dir))
	body := site("\t\twork_mode strict\n" + repo("internet-pypi", fake))
	p := loadProxy(t, base+body, true)
	index := proxyURL("/internet-pypi/simple/")
	accept := map[string]string{"Accept": pipAccept}

	for _, pkg := range []string{"reloadban", "reloadban2"} {
		if code, _, _ := httpDo(t, "GET", index+pkg+"/", accept); code != 200 {
			t.Fatalf("%s before any change: %d", pkg, code)
		}
	}

	steady := fake.File(wheelName("steadypkg", "1.0"))
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	defer client.CloseIdleConnections()
	var (
		total, failed atomic.Int64
		mu            sync.Mutex
		failures      []string
		wg            sync.WaitGroup
	)
	fail := func(format string, args ...any) {
		failed.Add(1)
		mu.Lock()
		if len(failures) < 10 {
			failures = append(failures, fmt.Sprintf(format, args...))
		}
		mu.Unlock()
	}
	// The clients run 3 s, and in any case until both changes are done
	// (bounded by a hard cap on a slow machine).
	stop, hardStop := time.Now().Add(3*time.Second), time.Now().Add(30*time.Second)
	var changesDone atomic.Bool
	running := func() bool {
		now := time.Now()
		return now.Before(hardStop) && (now.Before(stop) || !changesDone.Load())
	}
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; running(); i++ {
				var u string
				switch (g + i) % 3 {
				case 0:
					u = index + "libhmac/"
				case 1:
					u = index + "steadypkg/"
				default:
					u = proxyURL("/internet-pypi" + steady.Path)
				}
				req, _ := http.NewRequest("GET", u, nil)
				req.Header.Set("Accept", pipAccept)
				resp, err := client.Do(req)
				total.Add(1)
				if err != nil {
					fail("GET %s: %v", u, err)
					continue
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				switch {
				case err != nil:
					fail("GET %s: body: %v", u, err)
				case resp.StatusCode != 200:
					fail("GET %s: %d %s", u, resp.StatusCode, b)
				case strings.Contains(string(b), "libhmac-1.1.0"):
					fail("GET %s: served the blocked version", u)
				case strings.HasSuffix(u, ".whl") && !bytes.Equal(b, steady.Data):
					fail("GET %s: %d bytes, want %d", u, len(b), steady.Size())
				}
			}
		}(g)
	}

	// Change 1: PATCH the policies of the running config.
	time.Sleep(700 * time.Millisecond)
	withBan := e2eGlobal(dangerOSA(filepath.Join(osv, "malicious"), dir)+reloadBan("Ban reloadban", "reloadban")) + body
	pols := adaptedPolicies(t, withBan)
	req, _ := http.NewRequest("PATCH", adminURL("/config/apps/osa/policies"), bytes.NewReader(pols))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("PATCH /config/apps/osa/policies: %d %s", resp.StatusCode, msg)
	}
	code, hdr, _ := httpDo(t, "GET", index+"reloadban/", accept)
	if code != 403 || !strings.Contains(hdr.Get("X-OSA-Reason"), "Ban reloadban") {
		t.Errorf("right after PATCH: reloadban %d %q", code, hdr.Get("X-OSA-Reason"))
	}

	// Change 2: POST /load of a Caddyfile with a further policy.
	time.Sleep(700 * time.Millisecond)
	p.reload(t, e2eGlobal(dangerOSA(filepath.Join(osv, "malicious"), dir)+reloadBan("Ban reloadban", "reloadban")+reloadBan("Ban reloadban2", "reloadban2"))+body)
	code, hdr, _ = httpDo(t, "GET", index+"reloadban2/", accept)
	if code != 403 || !strings.Contains(hdr.Get("X-OSA-Reason"), "Ban reloadban2") {
		t.Errorf("right after POST /load: reloadban2 %d %q", code, hdr.Get("X-OSA-Reason"))
	}
	changesDone.Store(true)
	wg.Wait()

	t.Logf("%d requests during two policy changes, %d failed", total.Load(), failed.Load())
	if failed.Load() != 0 {
		t.Errorf("%d of %d requests failed during the reloads:\n%s", failed.Load(), total.Load(), strings.Join(failures, "\n"))
	}
	if total.Load() < 24 {
		t.Errorf("only %d requests in flight during the reloads", total.Load())
	}
	// Both policies are in force and journaled with their names.
	for _, pkg := range []string{"reloadban", "reloadban2"} {
		page := requests(t, q("package", pkg, "status", journal.StatusBlockedByPolicies))
		if len(page.Requests) == 0 {
			t.Errorf("%s: no blocked record", pkg)
		}
	}
	code, _, pbody := httpDo(t, "GET", adminURL("/osa/policies"), nil)
	if code != 200 || !strings.Contains(pbody, "Ban reloadban2") || !strings.Contains(pbody, dangerPolicy) {
		t.Errorf("/osa/policies: %d\n%s", code, pbody)
	}
}
