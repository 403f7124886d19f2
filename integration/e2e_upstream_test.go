package integration

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/osaproxy/caddy-osaproxy/integration/fakepypi"
	"github.com/osaproxy/caddy-osaproxy/integration/piptest"
	"github.com/osaproxy/caddy-osaproxy/journal"
)

// TestE2ETLSUpstream puts the fake pypi.org and files host behind HTTPS
// (a throwaway CA, trusted through the repository's transport http
// tls_trust_pool) and runs pip through the proxy over plain HTTP.
func TestE2ETLSUpstream(t *testing.T) {
	osv := sharedOSV(t)
	fake := fakepypi.StartT(t, fakepypi.Options{TLS: true})
	fake.AddProject("libhmac", wheel("1.0.0"), wheel("1.1.0"), wheel("1.2.0"))
	tmp := t.TempDir()
	ca, err := fake.WriteCAFile(tmp)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(fake.IndexURL(), "https://") || !strings.HasPrefix(fake.FilesURL(), "https://") {
		t.Fatalf("fake is not on HTTPS: %s %s", fake.IndexURL(), fake.FilesURL())
	}
	loadProxy(t, e2eGlobal(dangerOSA(filepath.Join(osv, "malicious"), tmp))+site("\t\twork_mode strict\n"+
		repo("internet-pypi", fake, "transport http {\n\t\t\t\ttls_trust_pool file "+ca+"\n\t\t\t}")), true)

	v := piptest.NewVenv(t)
	v.IndexURL = proxyURL("/internet-pypi/simple/")
	res, err := v.Install("libhmac")
	if err != nil {
		t.Fatalf("pip through the proxy to an HTTPS upstream: %v\n%s", err, res.Output())
	}
	if got, _ := v.Installed(); got["libhmac"] != "1.2.0" {
		t.Errorf("installed %v", got)
	}
	if !fetchedFile(fake, wheelName("libhmac", "1.2.0")) || len(fake.Files.Requests()) == 0 {
		t.Errorf("the wheel did not come from the HTTPS files host: %+v", fake.Requests())
	}
	bad := fake.File(wheelName("libhmac", "1.1.0"))
	if code, hdr, _ := httpDo(t, "GET", proxyURL("/internet-pypi"+bad.Path), nil); code != 403 || hdr.Get("X-OSA-Status") != journal.StatusBlockedByPolicies {
		t.Errorf("blocked file: %d %v", code, hdr)
	}
}

// TestE2EStrictWaitForIntel starts the proxy while the intelligence is
// still downloading (the feed answers after 2 s): strict_wait holds the
// request and then decides with the real records; strict answers at once
// with blocked_unscanned.
func TestE2EStrictWaitForIntel(t *testing.T) {
	mal := filepath.Join(sharedOSV(t), "malicious")
	feed := &osvFeed{}
	feed.set(osvZip(t, mal, "MAL-2026-4194"))
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-time.After(2 * time.Second):
		}
		feed.ServeHTTP(w, r)
	}))
	defer srv.Close()
	defer close(release)

	fake := fakepypi.StartT(t, fakepypi.Options{})
	fake.AddProject("libhmac", wheel("1.0.0"), wheel("1.1.0"), wheel("1.2.0"))
	osa := dangerOSA(srv.URL+"/PyPI/all.zip", t.TempDir())
	loadProxy(t, e2eGlobal(osa)+site("\t\twork_mode strict_wait\n\t\tscan_timeout 30s\n"+
		repo("w-wait", fake)+repo("w-strict", fake, "work_mode strict")), false)

	// The intelligence is not in force yet.
	if code, _, body := httpDo(t, "GET", adminURL("/osa/ready"), nil); code != http.StatusServiceUnavailable {
		t.Fatalf("ready before the feed answered: %d %s", code, body)
	}
	code, hdr, _ := httpDo(t, "GET", proxyURL("/w-strict/simple/libhmac/"), map[string]string{"Accept": pipAccept})
	if code != 403 || hdr.Get("X-OSA-Status") != journal.StatusBlockedUnscanned {
		t.Errorf("strict before the intelligence: %d %q", code, hdr.Get("X-OSA-Status"))
	}
	start := time.Now()
	code, hdr, body := httpDo(t, "GET", proxyURL("/w-wait/simple/libhmac/"), map[string]string{"Accept": pipAccept})
	took := time.Since(start)
	if code != 200 || hdr.Get("X-OSA-Removed") != "1" || strings.Contains(body, "libhmac-1.1.0") || !strings.Contains(body, "libhmac-1.2.0") {
		t.Errorf("strict_wait: %d removed %q after %s\n%s", code, hdr.Get("X-OSA-Removed"), took, body)
	}
	if took < 500*time.Millisecond || took > 25*time.Second {
		t.Errorf("strict_wait answered after %s; the feed answered after about 2 s", took)
	}
	page := requests(t, q("repository", "w-wait"))
	if len(page.Requests) != 1 || page.Requests[0].Status != journal.StatusNotBlocked || page.Requests[0].Removed != 1 ||
		!contains(page.Requests[0].Advisories, "MAL-2026-4194") || page.Requests[0].Snapshot == "" {
		t.Errorf("strict_wait record:\n%s", recordSummary(page.Requests))
	}
}
