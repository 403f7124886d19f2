package integration

import (
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/osaproxy/caddy-osaproxy/integration/fakepypi"
	"github.com/osaproxy/caddy-osaproxy/integration/piptest"
)

// TestE2EStrictHTMLOnlyUpstream puts the proxy in front of an index without
// PEP 691 JSON that answers 406 when Accept names nothing it serves (PEP 691
// allows that instead of pypi.org's fallback to text/html). pip asks for
// JSON first and HTML as a fallback; talking to such an index directly it
// gets HTML, and through the proxy it must too: the proxy may not narrow the
// client's Accept to its single preferred type.
func TestE2EStrictHTMLOnlyUpstream(t *testing.T) {
	osv := sharedOSV(t)
	fake := fakepypi.StartT(t, fakepypi.Options{HTMLOnly: true, StrictNegotiation: true})
	fake.AddProject("libhmac", wheel("1.0.0"), wheel("1.1.0"), wheel("1.2.0"))
	loadProxy(t, e2eGlobal(dangerOSA(filepath.Join(osv, "malicious"), t.TempDir()))+
		site("\t\twork_mode strict\n"+repo("internet-pypi", fake)), true)
	index := proxyURL("/internet-pypi/simple/")

	// Directly, pip's Accept gets the HTML page.
	if code, hdr, _ := httpDo(t, "GET", fake.SimpleURL()+"libhmac/", map[string]string{"Accept": pipAccept}); code != 200 || hdr.Get("Content-Type") != fakepypi.TypeV1HTML {
		t.Fatalf("fake directly: %d %q", code, hdr.Get("Content-Type"))
	}
	for _, tc := range []struct {
		path, accept, wantCT string
		wantCode             int
	}{
		{"libhmac/", pipAccept, fakepypi.TypeV1HTML, 200},
		{"", pipAccept, fakepypi.TypeV1HTML, 200},
		{"libhmac/?format=" + url.QueryEscape(fakepypi.TypeV1HTML), "", fakepypi.TypeV1HTML, 200},
		// A client that takes JSON only gets the upstream's 406.
		{"libhmac/", fakepypi.TypeV1JSON, "", 406},
	} {
		code, hdr, body := httpDo(t, "GET", index+tc.path, map[string]string{"Accept": tc.accept})
		if code != tc.wantCode || (tc.wantCT != "" && hdr.Get("Content-Type") != tc.wantCT) {
			t.Errorf("%s (Accept %q): %d %q, want %d %q\n%s", tc.path, tc.accept, code, hdr.Get("Content-Type"), tc.wantCode, tc.wantCT, body)
		}
		if code == 200 && strings.Contains(body, "libhmac-1.1.0") {
			t.Errorf("%s: blocked version listed", tc.path)
		}
	}
	v := piptest.NewVenv(t)
	v.IndexURL = index
	res, err := v.Install("libhmac")
	if err != nil {
		t.Fatalf("pip through the proxy in front of a strict HTML-only index: %v\n%s", err, res.Output())
	}
	if got, _ := v.Installed(); got["libhmac"] != "1.2.0" {
		t.Errorf("installed %v, want libhmac 1.2.0", got)
	}
}
