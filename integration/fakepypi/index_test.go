package fakepypi

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"regexp"
	"strings"
	"testing"
)

func TestProjectPageHTML(t *testing.T) {
	s := demo(t, Options{})
	resp, body := fetch(t, s, "GET", s.IndexURL()+"/simple/foo-bar/", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	page := string(body)
	for _, want := range []string{
		"<!DOCTYPE html>\n<html lang=\"en\">\n  <head>\n    <meta name=\"pypi:repository-version\" content=\"1.4\">\n    <meta name=\"pypi:project-status\" content=\"active\">\n    <title>Links for foo-bar</title>\n",
		"    <h1>Links for foo-bar</h1>\n",
		"  </body>\n</html>\n<!--SERIAL " + resp.Header.Get("X-PyPI-Last-Serial") + "-->",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q:\n%s", want, page)
		}
	}
	anchor := regexp.MustCompile(`    <a href="([^"#]+)#sha256=([0-9a-f]{64})"([^>]*)>([^<]+)</a><br />\n`)
	matches := anchor.FindAllStringSubmatch(page, -1)
	files := s.ProjectFiles("foo-bar", "")
	if len(matches) != len(files) {
		t.Fatalf("%d anchors for %d files:\n%s", len(matches), len(files), page)
	}
	tests := []struct {
		filename string
		attrs    string
	}{
		{"foo_bar-1.0-py3-none-any.whl", ` data-dist-info-metadata="sha256=M" data-core-metadata="sha256=M"`},
		{"foo_bar-1.0.tar.gz", ``},
		{"foo_bar-2.0-py3-none-any.whl", ` data-requires-python="&gt;=3.8" data-dist-info-metadata="sha256=M" data-core-metadata="sha256=M"`},
		{"foo_bar-2.5-py3-none-any.whl", ` data-yanked="bad &lt;build&gt;" data-dist-info-metadata="sha256=M" data-core-metadata="sha256=M"`},
		{"foo_bar-2.6-py3-none-any.whl", ` data-yanked="" data-dist-info-metadata="sha256=M" data-core-metadata="sha256=M"`},
		{"foo_bar-3.0rc1-py3-none-any.whl", ` data-dist-info-metadata="sha256=M" data-core-metadata="sha256=M"`},
	}
	for i, tc := range tests {
		m := matches[i]
		f := s.File(tc.filename)
		if f == nil || m[4] != tc.filename {
			t.Fatalf("anchor %d is %q, want %q (sorted by version, filename)", i, m[4], tc.filename)
		}
		if m[1] != s.FilesURL()+f.Path || m[2] != f.SHA256 {
			t.Errorf("%s: href %s#sha256=%s", tc.filename, m[1], m[2])
		}
		if want := strings.ReplaceAll(tc.attrs, "=M", "="+f.MetadataSHA256); m[3] != want {
			t.Errorf("%s: attributes %q, want %q", tc.filename, m[3], want)
		}
		// The advertised hashes must be those of the bytes actually served.
		_, data := fetch(t, s, "GET", m[1], map[string]string{"Accept-Encoding": "identity"})
		if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != m[2] {
			t.Errorf("%s: served bytes do not match #sha256", tc.filename)
		}
		if f.Metadata != nil {
			_, meta := fetch(t, s, "GET", m[1]+".metadata", nil)
			if sum := sha256.Sum256(meta); hex.EncodeToString(sum[:]) != f.MetadataSHA256 {
				t.Errorf("%s: .metadata does not match data-core-metadata", tc.filename)
			}
		}
	}
}

func TestProjectPageJSON(t *testing.T) {
	s := demo(t, Options{})
	_, body := fetch(t, s, "GET", s.IndexURL()+"/simple/foo-bar/", map[string]string{"Accept": TypeV1JSON})
	var doc struct {
		Files []map[string]any `json:"files"`
		Meta  struct {
			LastSerial int64  `json:"_last-serial"`
			APIVersion string `json:"api-version"`
		} `json:"meta"`
		Name          string            `json:"name"`
		ProjectStatus map[string]string `json:"project-status"`
		Versions      []string          `json:"versions"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Name != "foo-bar" || doc.Meta.APIVersion != "1.4" || doc.Meta.LastSerial == 0 || doc.ProjectStatus["status"] != "active" {
		t.Errorf("header fields: %+v", doc)
	}
	// 4.0 has no files, so it is not listed (warehouse builds versions from files).
	if got := strings.Join(doc.Versions, ","); got != "1.0,2.0,2.5,2.6,3.0rc1" {
		t.Errorf("versions = %s", got)
	}
	tests := []struct {
		filename       string
		yanked         any
		requiresPython any
		metadata       bool
	}{
		{"foo_bar-1.0-py3-none-any.whl", false, nil, true},
		{"foo_bar-1.0.tar.gz", false, nil, false},
		{"foo_bar-2.0-py3-none-any.whl", false, ">=3.8", true},
		{"foo_bar-2.5-py3-none-any.whl", "bad <build>", nil, true},
		{"foo_bar-2.6-py3-none-any.whl", true, nil, true},
		{"foo_bar-3.0rc1-py3-none-any.whl", false, nil, true},
	}
	if len(doc.Files) != len(tests) {
		t.Fatalf("%d files, want %d", len(doc.Files), len(tests))
	}
	for i, tc := range tests {
		jf := doc.Files[i]
		f := s.File(tc.filename)
		if jf["filename"] != tc.filename || f == nil {
			t.Fatalf("file %d = %v, want %s", i, jf["filename"], tc.filename)
		}
		if jf["yanked"] != tc.yanked || jf["requires-python"] != tc.requiresPython {
			t.Errorf("%s: yanked %v requires-python %v", tc.filename, jf["yanked"], jf["requires-python"])
		}
		if jf["url"] != s.FileURL(f) || jf["size"] != float64(f.Size()) || jf["hashes"].(map[string]any)["sha256"] != f.SHA256 {
			t.Errorf("%s: url/size/hashes wrong: %v", tc.filename, jf)
		}
		if _, bad := jf["dist-info-metadata"]; bad {
			t.Errorf("%s: emits dist-info-metadata (crashes pip 22.3-23.1)", tc.filename)
		}
		for _, key := range []string{"core-metadata", "data-dist-info-metadata"} {
			if tc.metadata {
				m, ok := jf[key].(map[string]any)
				if !ok || m["sha256"] != f.MetadataSHA256 {
					t.Errorf("%s: %s = %v", tc.filename, key, jf[key])
				}
			} else if jf[key] != false {
				t.Errorf("%s: %s = %v, want false", tc.filename, key, jf[key])
			}
		}
		if ut, _ := jf["upload-time"].(string); !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z$`).MatchString(ut) {
			t.Errorf("%s: upload-time %q", tc.filename, ut)
		}
	}
}

func TestProjectStatusAndList(t *testing.T) {
	s := demo(t, Options{})
	s.AddProject("Hidden_Thing", NewRelease("1.0", FileSpec{}))
	s.SetProjectStatus("hidden-thing", "quarantined")
	_, body := fetch(t, s, "GET", s.IndexURL()+"/simple/hidden-thing/", map[string]string{"Accept": TypeV1JSON})
	if !bytes.Contains(body, []byte(`"files":[]`)) || !bytes.Contains(body, []byte(`"project-status":{"status":"quarantined"}`)) || !bytes.Contains(body, []byte(`"versions":[]`)) {
		t.Errorf("quarantined project page: %s", body)
	}
	_, body = fetch(t, s, "GET", s.IndexURL()+"/simple/hidden-thing/", nil)
	if bytes.Contains(body, []byte("<a ")) || !bytes.Contains(body, []byte(`content="quarantined"`)) {
		t.Errorf("quarantined HTML page: %s", body)
	}

	_, body = fetch(t, s, "GET", s.IndexURL()+"/simple/", nil)
	wantHTML := "    <a href=\"/simple/dep-one/\">dep_one</a>\n    <a href=\"/simple/foo-bar/\">Foo.Bar</a>\n    <a href=\"/simple/zed/\">Zed</a>\n"
	if !strings.Contains(string(body), wantHTML) || !strings.HasPrefix(string(body), "<!DOCTYPE html>") {
		t.Errorf("project list HTML:\n%s", body)
	}
	_, body = fetch(t, s, "GET", s.IndexURL()+"/simple/", map[string]string{"Accept": TypeV1JSON})
	var list struct {
		Meta     map[string]any `json:"meta"`
		Projects []struct {
			Serial int64  `json:"_last-serial"`
			Name   string `json:"name"`
		} `json:"projects"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range list.Projects {
		names = append(names, p.Name)
		if p.Serial == 0 {
			t.Errorf("%s has no _last-serial", p.Name)
		}
	}
	if got := strings.Join(names, ","); got != "dep_one,Foo.Bar,Zed" {
		t.Errorf("JSON project list = %s", got)
	}
	if list.Meta["_last-serial"] != float64(s.Serial()) {
		t.Errorf("list serial %v, want %d", list.Meta["_last-serial"], s.Serial())
	}
}

func TestRedirectsAndErrors(t *testing.T) {
	s := demo(t, Options{})
	whl := s.File("foo_bar-1.0-py3-none-any.whl")
	sdist := s.File("foo_bar-1.0.tar.gz")
	tests := []struct {
		name, host, path, ua string
		status               int
		location             string
	}{
		{name: "missing slash on /simple", path: "/simple", status: 301, location: "/simple/"},
		{name: "missing slash on project", path: "/simple/foo-bar", status: 301, location: "/simple/foo-bar/"},
		{name: "missing slash drops the query", path: "/simple/foo-bar?format=text/html", status: 301, location: "/simple/foo-bar/"},
		{name: "non-normalized name", path: "/simple/Foo.Bar/", status: 301, location: "/simple/foo-bar/"},
		{name: "non-normalized underscore", path: "/simple/foo_bar/", status: 301, location: "/simple/foo-bar/"},
		{name: "Go UA without slash is 406", path: "/simple/foo-bar", ua: "Go-http-client/1.1", status: 406},
		{name: "Go UA on /simple is 406", path: "/simple", ua: "Go-http-client/2.0", status: 406},
		{name: "Go UA with slash is fine", path: "/simple/foo-bar/", ua: "Go-http-client/1.1", status: 200},
		{name: "unknown project", path: "/simple/nope/", status: 404},
		{name: "unknown non-normalized project", path: "/simple/No.Pe/", status: 404},
		{name: "nested path", path: "/simple/foo-bar/extra/", status: 404},
		{name: "unknown route", path: "/nothing/", status: 404},
		{name: "JSON API non-normalized", path: "/pypi/Foo.Bar/json", status: 301, location: "/pypi/foo-bar/json"},
		{name: "JSON API version non-normalized", path: "/pypi/Foo.Bar/2.0/json", status: 301, location: "/pypi/foo-bar/2.0/json"},
		{name: "JSON API trailing slash", path: "/pypi/foo-bar/json/", status: 301, location: "/pypi/foo-bar/json"},
		{name: "JSON API unknown", path: "/pypi/nope/json", status: 404},
		{name: "JSON API unknown version", path: "/pypi/foo-bar/9.9/json", status: 404},
		{name: "pypi.org /packages redirects to files host", path: whl.Path, status: 301, location: s.FilesURL() + whl.Path},
		{name: "predictable sdist URL", host: "files", path: "/packages/source/f/foo-bar/foo_bar-1.0.tar.gz", status: 302, location: s.FilesURL() + sdist.Path},
		{name: "predictable sdist URL, display name", host: "files", path: "/packages/source/F/Foo.Bar/foo_bar-1.0.tar.gz", status: 302, location: s.FilesURL() + sdist.Path},
		{name: "predictable wheel URL", host: "files", path: "/packages/py3/f/foo-bar/foo_bar-1.0-py3-none-any.whl", status: 302, location: s.FilesURL() + whl.Path},
		{name: "predictable URL wrong pyver", host: "files", path: "/packages/py2/f/foo-bar/foo_bar-1.0-py3-none-any.whl", status: 404},
		{name: "predictable URL unknown file", host: "files", path: "/packages/source/f/foo-bar/foo_bar-7.0.tar.gz", status: 404},
		{name: "unknown hashed path", host: "files", path: "/packages/aa/bb/" + strings.Repeat("c", 60) + "/x-1.0.tar.gz", status: 404},
		{name: "no .metadata for sdists", host: "files", path: sdist.Path + ".metadata", status: 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			base := s.IndexURL()
			if tc.host == "files" {
				base = s.FilesURL()
			}
			hdr := map[string]string{}
			if tc.ua != "" {
				hdr["User-Agent"] = tc.ua
			}
			resp, body := fetch(t, s, "GET", base+tc.path, hdr)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d (%s)", resp.StatusCode, tc.status, body)
			}
			if got := resp.Header.Get("Location"); got != tc.location {
				t.Errorf("Location %q, want %q", got, tc.location)
			}
			if tc.status == 406 && (!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") || len(body) == 0) {
				t.Errorf("406 without a text body: %q %q", resp.Header.Get("Content-Type"), body)
			}
		})
	}
}

func TestGzipETagAnd304(t *testing.T) {
	s := demo(t, Options{})
	etagRe := regexp.MustCompile(`^"[A-Za-z0-9+/]{22}"$`)
	for _, accept := range []string{"", TypeV1JSON} {
		for _, page := range []string{"/simple/foo-bar/", "/simple/", "/pypi/foo-bar/json"} {
			u := s.IndexURL() + page
			plain, plainBody := fetch(t, s, "GET", u, map[string]string{"Accept": accept, "Accept-Encoding": "identity"})
			gz, gzBody := fetch(t, s, "GET", u, map[string]string{"Accept": accept, "Accept-Encoding": "gzip, deflate"})
			pe, ge := plain.Header.Get("ETag"), gz.Header.Get("ETag")
			if !etagRe.MatchString(pe) || !etagRe.MatchString(ge) || pe == ge {
				t.Errorf("%s %q: ETags %s / %s must be distinct 22-char base64", page, accept, pe, ge)
			}
			if pe != ETagOf(plainBody) || ge != ETagOf(gzBody) {
				t.Errorf("%s: ETag is not the MD5 of the bytes sent", page)
			}
			if plain.Header.Get("Content-Encoding") != "" || gz.Header.Get("Content-Encoding") != "gzip" {
				t.Errorf("%s: Content-Encoding %q / %q", page, plain.Header.Get("Content-Encoding"), gz.Header.Get("Content-Encoding"))
			}
			zr, err := gzip.NewReader(bytes.NewReader(gzBody))
			if err != nil {
				t.Fatal(err)
			}
			inflated, _ := io.ReadAll(zr)
			if !bytes.Equal(inflated, plainBody) {
				t.Errorf("%s: gzip body differs from identity body", page)
			}
			cases := []struct {
				inm, enc string
				status   int
			}{
				{pe, "identity", 304},
				{"W/" + pe, "identity", 304},
				{`"other", ` + pe, "identity", 304},
				{"*", "identity", 304},
				{ge, "gzip", 304},
				{ge, "identity", 200}, // the gzip ETag does not validate the identity body
				{`"stale"`, "identity", 200},
			}
			for _, c := range cases {
				resp, body := fetch(t, s, "GET", u, map[string]string{"Accept": accept, "Accept-Encoding": c.enc, "If-None-Match": c.inm})
				if resp.StatusCode != c.status {
					t.Errorf("%s If-None-Match %s (%s): status %d, want %d", page, c.inm, c.enc, resp.StatusCode, c.status)
				}
				if c.status == 304 && (len(body) != 0 || resp.Header.Get("ETag") == "") {
					t.Errorf("%s: 304 with body or without ETag", page)
				}
			}
		}
	}
}

func TestHEADMatchesGET(t *testing.T) {
	s := demo(t, Options{})
	whl := s.File("foo_bar-2.0-py3-none-any.whl")
	for _, u := range []string{s.IndexURL() + "/simple/foo-bar/", s.IndexURL() + "/pypi/foo-bar/json", s.FileURL(whl), s.FileURL(whl) + ".metadata"} {
		get, getBody := fetch(t, s, "GET", u, map[string]string{"Accept-Encoding": "gzip"})
		head, headBody := fetch(t, s, "HEAD", u, map[string]string{"Accept-Encoding": "gzip"})
		if len(headBody) != 0 || head.StatusCode != get.StatusCode {
			t.Errorf("%s: HEAD status %d body %d bytes", u, head.StatusCode, len(headBody))
		}
		for _, h := range []string{"Content-Length", "Content-Type", "ETag", "Content-Encoding", "Cache-Control"} {
			if get.Header.Get(h) != head.Header.Get(h) {
				t.Errorf("%s: %s GET %q HEAD %q", u, h, get.Header.Get(h), head.Header.Get(h))
			}
		}
		if get.Header.Get("Content-Length") != strconvItoa(len(getBody)) {
			t.Errorf("%s: Content-Length %s for %d bytes", u, get.Header.Get("Content-Length"), len(getBody))
		}
	}
}
