package integration

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/osaproxy/caddy-osaproxy/integration/fakepypi"
	"github.com/osaproxy/caddy-osaproxy/integration/piptest"
	"github.com/osaproxy/caddy-osaproxy/journal"
)

// TestE2EArtifactory runs pip through a repository-manager-shaped path:
// /<repo>/<base64 context>/simple/ in front of an Artifactory-style upstream
// (text/html "Simple Index" pages with ../../packages/... links, files served
// by the index host). Downloads go through the proxy, HEAD answers like GET,
// the journal carries the context, a malformed context is a 400 and a
// context naming another host never changes where the proxy connects.
func TestE2EArtifactory(t *testing.T) {
	osv := sharedOSV(t)
	fake := fakepypi.StartT(t, fakepypi.Options{ArtifactoryStyle: true})
	fake.AddProject("libhmac", wheel("1.0.0"), wheel("1.1.0"), wheel("1.2.0"))
	fake.AddProject("artgood", wheel("2.0"))

	// A host the context names: the proxy must never connect to it.
	var otherHits atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		otherHits.Add(1)
		http.Error(w, "not me", http.StatusTeapot)
	}))
	defer other.Close()

	tmp := t.TempDir()
	cfg := e2eGlobal(dangerOSA(osv+"/malicious", tmp)) + site(`		work_mode strict
		pypi art {
			registry `+fake.IndexURL()+`
			packages_registry `+fake.IndexURL()+`
			url_encoded_config
		}
`)
	loadProxy(t, cfg, true)

	b64 := base64.RawURLEncoding.EncodeToString([]byte(`{"repoManagerHost":"https://artifactory.example.com","repoName":"pypi-remote"}`))
	prefix := "/art/" + b64
	index := proxyURL(prefix + "/simple/")

	t.Run("pip", func(t *testing.T) {
		fake.ResetRequests()
		v := piptest.NewVenv(t)
		v.IndexURL = index
		res, err := v.Install("artgood", "libhmac")
		if err != nil {
			t.Fatalf("pip through the Artifactory path: %v\n%s", err, res.Output())
		}
		got, _ := v.Installed()
		if got["artgood"] != "2.0" || got["libhmac"] != "1.2.0" {
			t.Errorf("installed %v, want artgood 2.0 and libhmac 1.2.0", got)
		}
		if strings.Contains(res.Output(), fake.Index.URL) {
			t.Errorf("pip saw the upstream URL:\n%s", res.Output())
		}
		// Every request upstream is one the proxy made: paths under the
		// configured base, project pages as text/html, and exactly the two
		// wheels pip installed, fetched from the index host's packages/.
		var files []string
		for _, r := range fake.Requests() {
			if !strings.HasPrefix(r.Path, fake.BasePath()+"/") {
				t.Errorf("upstream request outside the registry base: %s %s", r.Method, r.Path)
			}
			if strings.Contains(r.Path, "/simple/") && r.Status == http.StatusOK && !strings.HasPrefix(r.ContentType, "text/html") {
				t.Errorf("%s served as %q, want text/html", r.Path, r.ContentType)
			}
			if strings.Contains(r.Path, "/packages/packages/") {
				files = append(files, r.Path[strings.LastIndexByte(r.Path, '/')+1:])
			}
		}
		want := map[string]bool{wheelName("artgood", "2.0"): true, wheelName("libhmac", "1.2.0"): true}
		if len(files) != len(want) {
			t.Errorf("files fetched upstream: %v, want exactly %v", files, want)
		}
		for _, f := range files {
			if !want[f] {
				t.Errorf("unexpected upstream file %s", f)
			}
		}
		if len(fake.Files.Requests()) != 0 {
			t.Errorf("the separate files host was used: %+v", fake.Files.Requests())
		}
	})

	t.Run("page", func(t *testing.T) {
		code, hdr, body := httpDo(t, "GET", index+"libhmac/", map[string]string{"Accept": pipAccept})
		if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") {
			t.Fatalf("libhmac page: %d %q", code, hdr.Get("Content-Type"))
		}
		links := proxyLinks(body)
		if len(links) != 2 || strings.Contains(body, "libhmac-1.1.0") {
			t.Errorf("want the links of 1.0.0 and 1.2.0 only, got %v", links)
		}
		for _, l := range links {
			if !strings.HasPrefix(l, prefix+"/packages/packages/") || !strings.Contains(l, "#sha256=") {
				t.Errorf("link %q does not go through the proxy with the context", l)
			}
		}
	})

	t.Run("head_then_get", func(t *testing.T) {
		f := fake.File(wheelName("artgood", "2.0"))
		u := proxyURL(prefix + "/packages" + f.Path)
		hc, hh, hbody := httpDo(t, "HEAD", u, nil)
		gc, gh, gbody := httpDo(t, "GET", u, nil)
		if hc != 200 || gc != 200 || hbody != "" || gbody != string(f.Data) {
			t.Fatalf("HEAD %d (%d bytes), GET %d (%d bytes, want %d)", hc, len(hbody), gc, len(gbody), f.Size())
		}
		for _, k := range []string{"Content-Length", "Content-Type", "ETag", "Accept-Ranges", "Cache-Control", "Last-Modified"} {
			if hh.Get(k) != gh.Get(k) {
				t.Errorf("%s: HEAD %q, GET %q", k, hh.Get(k), gh.Get(k))
			}
		}
		if hh.Get("Content-Length") != strconv.Itoa(f.Size()) {
			t.Errorf("HEAD Content-Length %q, want %d", hh.Get("Content-Length"), f.Size())
		}
		// A blocked file is refused for HEAD and GET alike, before upstream.
		fake.ResetRequests()
		bf := fake.File(wheelName("libhmac", "1.1.0"))
		for _, m := range []string{"HEAD", "GET"} {
			code, hdr, _ := httpDo(t, m, proxyURL(prefix+"/packages"+bf.Path), nil)
			if code != 403 || hdr.Get("X-OSA-Status") != journal.StatusBlockedByPolicies {
				t.Errorf("%s blocked file: %d %v", m, code, hdr)
			}
		}
		if n := len(fake.Requests()); n != 0 {
			t.Errorf("blocked file reached upstream: %+v", fake.Requests())
		}
	})

	t.Run("journal_context", func(t *testing.T) {
		page := requests(t, q("repo_manager", "pypi-remote", "package", "artgood"))
		if len(page.Requests) == 0 {
			t.Fatal("no artgood records for repo_manager=pypi-remote")
		}
		ops := map[string]bool{}
		for _, r := range page.Requests {
			ops[r.Operation] = true
			if r.RepoManagerHost != "https://artifactory.example.com" || r.RepoName != "pypi-remote" || r.Repository != "art" {
				t.Errorf("record without the context: %+v", r)
			}
		}
		if !ops["index"] || !ops["download"] {
			t.Errorf("want index and download records, got %v", ops)
		}
		page = requests(t, q("repo_manager", "https://artifactory.example.com", "status", "blocked"))
		if _, ok := findRecord(page.Requests, func(r journal.Record) bool {
			return r.Package == "libhmac" && r.Version == "1.1.0" && contains(r.Advisories, "MAL-2026-4194")
		}); !ok {
			t.Errorf("blocked libhmac download not found by repo_manager host:\n%s", recordSummary(page.Requests))
		}
	})

	t.Run("malformed_context", func(t *testing.T) {
		for _, seg := range []string{
			"not*base64",
			base64.RawURLEncoding.EncodeToString([]byte("not json")),
			base64.RawURLEncoding.EncodeToString([]byte(`{"repoManagerHost":"a\u202eb"}`)),
			"eyJy-ZX%2BBvTmFtZSI6", // mixed alphabets
		} {
			code, hdr, body := httpDo(t, "GET", proxyURL("/art/"+seg+"/simple/artgood/"), nil)
			if code != http.StatusBadRequest || !strings.HasPrefix(hdr.Get("Content-Type"), "text/plain") ||
				!strings.Contains(body, "invalid repository context") {
				t.Errorf("context %q: %d %q %q", seg, code, hdr.Get("Content-Type"), body)
			}
		}
	})

	t.Run("context_cannot_redirect", func(t *testing.T) {
		fake.ResetRequests()
		evil := base64.RawURLEncoding.EncodeToString([]byte(`{"repoManagerHost":"` + other.URL + `","repoName":"evil"}`))
		code, _, body := httpDo(t, "GET", proxyURL("/art/"+evil+"/simple/artgood/"), map[string]string{"Accept": pipAccept})
		if code != 200 || !strings.Contains(body, "artgood-2.0") {
			t.Fatalf("page with another host in the context: %d\n%s", code, body)
		}
		f := fake.File(wheelName("artgood", "2.0"))
		code, _, body = httpDo(t, "GET", proxyURL("/art/"+evil+"/packages"+f.Path), nil)
		if code != 200 || body != string(f.Data) {
			t.Errorf("file with another host in the context: %d", code)
		}
		if otherHits.Load() != 0 {
			t.Errorf("the proxy connected to the host named in the context %d times", otherHits.Load())
		}
		if fake.Index.Count("GET", fake.BasePath()+"/simple/artgood/") != 1 || !fetchedFile(fake, f.Filename) {
			t.Errorf("the configured registry was not used: %+v", fake.Requests())
		}
		page := requests(t, q("repo_manager", "evil"))
		if len(page.Requests) != 2 {
			t.Errorf("want 2 records for the evil context:\n%s", recordSummary(page.Requests))
		}
		for _, r := range page.Requests {
			if r.RepoManagerHost != other.URL {
				t.Errorf("record host %q", r.RepoManagerHost)
			}
		}
	})
}

// TestE2EMountedUnderPrefix serves the proxy under a path prefix stripped by
// handle_path (a common reverse-proxy layout): the links of filtered pages
// keep the prefix, so pip downloads through it, and blocking still applies.
func TestE2EMountedUnderPrefix(t *testing.T) {
	osv := sharedOSV(t)
	fake := fakepypi.StartT(t, fakepypi.Options{})
	fake.AddProject("libhmac", wheel("1.0.0"), wheel("1.1.0"), wheel("1.2.0"))
	tmp := t.TempDir()
	cfg := e2eGlobal(dangerOSA(osv+"/malicious", tmp)) + fmt.Sprintf(`http://localhost:%d {
	handle_path /mirror/* {
		osa_proxy {
			work_mode strict
%s		}
	}
	respond 404
}
`, e2eHTTPPort, repo("internet-pypi", fake))
	loadProxy(t, cfg, true)
	index := proxyURL("/mirror/internet-pypi/simple/")

	_, _, body := httpDo(t, "GET", index+"libhmac/", map[string]string{"Accept": pipAccept})
	files := jsonFiles(t, body)
	if len(files) != 2 {
		t.Fatalf("want 2 files, got %d:\n%s", len(files), body)
	}
	for _, f := range files {
		if u, _ := f["url"].(string); !strings.HasPrefix(u, "/mirror/internet-pypi/packages/") {
			t.Errorf("link %q lost the mount prefix", u)
		}
	}
	v := piptest.NewVenv(t)
	v.IndexURL = index
	res, err := v.Install("libhmac")
	if err != nil {
		t.Fatalf("pip under /mirror/: %v\n%s", err, res.Output())
	}
	if got, _ := v.Installed(); got["libhmac"] != "1.2.0" {
		t.Errorf("installed %v", got)
	}
	bad := fake.File(wheelName("libhmac", "1.1.0"))
	if code, hdr, _ := httpDo(t, "GET", proxyURL("/mirror/internet-pypi"+bad.Path), nil); code != 403 || hdr.Get("X-OSA-Status") != journal.StatusBlockedByPolicies {
		t.Errorf("blocked file under /mirror/: %d %v", code, hdr)
	}
	// The journal records the path the client asked for.
	page := requests(t, q("package", "libhmac", "operation", "download", "status", journal.StatusNotBlocked))
	if len(page.Requests) == 0 || page.Requests[0].Version != "1.2.0" {
		t.Fatalf("download records:\n%s", recordSummary(page.Requests))
	}
}
