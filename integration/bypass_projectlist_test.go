package integration

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/osaproxy/caddy-osaproxy/integration/fakepypi"
)

// TestBypassProjectList proves that /simple/ never links outside the proxy,
// whatever links the upstream list carries (absolute links to the registry,
// to foreign hosts, scheme-relative, javascript:, traversal).
func TestBypassProjectList(t *testing.T) {
	fake := fakepypi.StartT(t, fakepypi.Options{})
	fake.AddProject("Foo_Bar", fakepypi.NewRelease("1.0", fakepypi.FileSpec{}))
	fake.AddProject("goodpkg", fakepypi.NewRelease("1.0", fakepypi.FileSpec{}))
	dir := t.TempDir()
	rsWriteMAL(t, dir+"/osv", "MAL-2099-0101", "foo-bar", "1.0")
	loadProxyCfg := rsProxyCfg{Mode: "strict", Registry: fake.IndexURL(), Packages: fake.FilesURL(),
		Repo: "url_encoded_config", Intel: []string{dir + "/osv"}, Dir: dir}
	rsLoadProxy(t, loadProxyCfg)
	rsWaitReady(t, 30*time.Second)

	ctx := rsB64ctx(map[string]string{"repoManagerHost": "nexus.example", "repoName": "pypi"})
	hostile := `<!DOCTYPE html>
<html><head><base href="https://evil.example/"></head><body>
<a href="/simple/foo-bar/">Foo_Bar</a>
<a href="` + fake.IndexURL() + `/simple/goodpkg/">goodpkg</a>
<a href="https://evil.example/simple/evil/">evil</a>
<a href="//evil.example/simple/evil2/">evil2</a>
<a href="javascript:alert(1)">js</a>
<a href="../../../etc/passwd">traversal</a>
<a href="` + fake.FilesURL() + `/packages/aa/bb/cc/foo_bar-1.0-py3-none-any.whl">file</a>
<a href = 'https://evil.example/simple/quoted/' >single</a>
<a data-x="1" href=https://evil.example/simple/unquoted/>unquoted</a>
<A HREF="HTTPS://EVIL.EXAMPLE/SIMPLE/UPPER/">upper</A>
<a href="&#104;ttps://evil.example/simple/entity/">entity</a>
<a href="http://127.0.0.1:9/simple/x/">x</a>
</body></html>
<a href="https://evil.example/tail/">tail`
	cases := []struct {
		name   string
		fault  *fakepypi.Fault
		accept string
	}{
		{"html", nil, "text/html"},
		{"v1 html", nil, "application/vnd.pypi.simple.v1+html"},
		{"json", nil, "application/vnd.pypi.simple.v1+json"},
		{"hostile html", &fakepypi.Fault{Host: "index", Body: []byte(hostile), ContentType: "text/html; charset=utf-8"}, "text/html"},
		{"hostile v1 html", &fakepypi.Fault{Host: "index", Body: []byte(hostile), ContentType: "application/vnd.pypi.simple.v1+html"}, "application/vnd.pypi.simple.v1+html"},
	}
	for _, c := range cases {
		for _, prefix := range []string{"/r", "/r/" + ctx} {
			t.Run(c.name+" "+prefix[:min(len(prefix), 8)], func(t *testing.T) {
				if c.fault != nil {
					fake.SetFault("/simple/", *c.fault)
					defer fake.ClearFault("/simple/")
				}
				resp, err := rsRawRequest("GET", prefix+"/simple/", "Accept: "+c.accept)
				if err != nil {
					t.Fatal(err)
				}
				if resp.Status != http.StatusOK && resp.Status != http.StatusBadGateway {
					t.Fatalf("status %d\n%s", resp.Status, resp.Body)
				}
				if resp.Status == http.StatusBadGateway {
					t.Logf("refused: %s", resp.Body)
					return
				}
				body := string(resp.Body)
				if bad := rsLinksOutside(resp.Body, prefix); len(bad) > 0 {
					t.Errorf("links outside the proxy: %q\n%s", bad, body)
				}
				low := strings.ToLower(body)
				for _, h := range append(rsUpstreamHosts(fake), "evil.example", "javascript:", "127.0.0.1:9/", "etc/passwd") {
					if strings.Contains(low, "href=\""+strings.ToLower(h)) || strings.Contains(low, "href=\"http://"+strings.ToLower(h)) ||
						strings.Contains(low, "//"+strings.ToLower(h)) {
						t.Errorf("the list links to %s:\n%s", h, body)
					}
				}
				for _, tag := range []string{"href='", "href=h", "HREF=\"H", "<base", "tail"} {
					if strings.Contains(body, tag) {
						t.Errorf("an unparsed link survived (%s):\n%s", tag, body)
					}
				}
				if c.fault == nil && !strings.Contains(body, "goodpkg") {
					t.Errorf("goodpkg missing from the list (vacuous):\n%s", body)
				}
				if c.fault == nil && strings.Contains(c.accept, "html") && !strings.Contains(body, prefix+"/simple/goodpkg/") {
					t.Errorf("goodpkg not linked into the proxy:\n%s", body)
				}
			})
		}
	}
}
