package integration

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/osaproxy/caddy-osaproxy/integration/fakepypi"
	"github.com/osaproxy/caddy-osaproxy/integration/piptest"
	"github.com/osaproxy/caddy-osaproxy/journal"
)

// TestE2EPoetry runs Debian's poetry 1.3 (a legacy source: no Accept of its
// own, so text/html) through the proxy: an allowed wheel-only package and
// the safe version of libhmac install; a package named like a real MAL
// record (every version) is refused.
func TestE2EPoetry(t *testing.T) {
	if _, err := piptest.PoetryPath(); err != nil {
		t.Fatal(err)
	}
	osv := sharedOSV(t)
	fake := fakepypi.StartT(t, fakepypi.Options{})
	fake.AddProject("poetrygood", wheel("1.0"), wheel("1.1"))
	fake.AddProject("libhmac", wheel("1.0.0"), wheel("1.1.0"))
	fake.AddProject("inlifegram", wheel("2.1.2.8"), wheel("3.0"))
	loadProxy(t, e2eGlobal(dangerOSA(filepath.Join(osv, "malicious"), t.TempDir()))+
		site("\t\twork_mode strict\n"+repo("internet-pypi", fake)), true)

	p := piptest.NewPoetryProject(t, piptest.PoetryOptions{
		SourceURL:    proxyURL("/internet-pypi/simple/"),
		Dependencies: map[string]string{"poetrygood": "*", "libhmac": "*"},
	})
	res, err := p.Install()
	if err != nil {
		t.Fatalf("poetry install: %v\n%s", err, res.Output())
	}
	locked, err := p.Locked()
	if err != nil {
		t.Fatal(err)
	}
	// libhmac 1.1.0 is MAL-2026-4194: the newest allowed version is 1.0.0.
	if locked["poetrygood"] != "1.1" || locked["libhmac"] != "1.0.0" {
		t.Errorf("locked %v, want poetrygood 1.1 and libhmac 1.0.0", locked)
	}
	if vers, err := p.Venv().Versions("poetrygood", "libhmac"); err != nil || vers["poetrygood"] != "1.1" || vers["libhmac"] != "1.0.0" {
		t.Errorf("imported versions %v (%v)", vers, err)
	}
	for _, r := range fake.Index.Requests() {
		if strings.HasPrefix(r.Path, "/simple/") && r.Status == 200 && !strings.HasPrefix(r.ContentType, "text/html") {
			t.Errorf("%s served upstream as %q, want text/html", r.Path, r.ContentType)
		}
	}

	fake.ResetRequests()
	res, err = p.Add("inlifegram")
	if err == nil {
		t.Fatalf("poetry added inlifegram (MAL-2026-6516):\n%s", res.Output())
	}
	if locked, _ := p.Locked(); locked["inlifegram"] != "" {
		t.Errorf("inlifegram locked: %v", locked)
	}
	for _, r := range fake.Requests() {
		if strings.Contains(r.Path, "/packages/") {
			t.Errorf("a file was fetched for the refused project: %s", r.Path)
		}
	}
	page := requests(t, q("package", "inlifegram", "status", journal.StatusBlockedByPolicies))
	// poetry 1.3 talks to legacy sources with requests' default User-Agent.
	if len(page.Requests) == 0 || !strings.HasPrefix(page.Requests[0].UserAgent, "python-requests/") {
		t.Errorf("poetry's refused request is not journaled:\n%s", recordSummary(page.Requests))
	} else if page.Requests[0].HTTPStatus != 403 || !contains(page.Requests[0].Advisories, "MAL-2026-6516") {
		t.Errorf("record: %+v", page.Requests[0])
	}
}
