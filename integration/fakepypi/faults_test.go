package fakepypi

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// do is fetch without failing on body errors.
func do(t *testing.T, s *Server, u string, hdr map[string]string) (*http.Response, []byte, error) {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	req.Header.Set("User-Agent", "fakepypi-test/1.0")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

func TestFaults(t *testing.T) {
	s := demo(t, Options{})
	whl := s.File("foo_bar-2.0-py3-none-any.whl")
	page := s.IndexURL() + "/simple/foo-bar/"
	tests := []struct {
		name   string
		prefix string
		fault  Fault
		url    string
		check  func(t *testing.T, resp *http.Response, body []byte, err error, elapsed time.Duration)
	}{
		{name: "status", prefix: "/simple/", fault: Fault{Status: 503}, url: page,
			check: func(t *testing.T, resp *http.Response, body []byte, err error, _ time.Duration) {
				if err != nil || resp.StatusCode != 503 || string(body) != "Service Unavailable\n" {
					t.Errorf("got %v %v %q", err, resp, body)
				}
			}},
		{name: "prefix does not match other paths", prefix: "/simple/", fault: Fault{Status: 503}, url: s.FileURL(whl),
			check: func(t *testing.T, resp *http.Response, _ []byte, err error, _ time.Duration) {
				if err != nil || resp.StatusCode != 200 {
					t.Errorf("got %v %v", err, resp)
				}
			}},
		{name: "replaced body", prefix: "*", fault: Fault{Body: []byte("<html>garbage"), ContentType: "text/html"}, url: page,
			check: func(t *testing.T, resp *http.Response, body []byte, err error, _ time.Duration) {
				if err != nil || resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/html" || string(body) != "<html>garbage" {
					t.Errorf("got %v %v %q", err, resp, body)
				}
			}},
		{name: "delay", prefix: "/simple/foo-bar/", fault: Fault{Delay: 150 * time.Millisecond}, url: page,
			check: func(t *testing.T, resp *http.Response, body []byte, err error, elapsed time.Duration) {
				if err != nil || resp.StatusCode != 200 || elapsed < 150*time.Millisecond || !bytes.Contains(body, []byte("Links for foo-bar")) {
					t.Errorf("got %v %v after %v", err, resp, elapsed)
				}
			}},
		{name: "reset mid body", prefix: "/packages/", fault: Fault{ResetMidBody: true}, url: s.FileURL(whl),
			check: func(t *testing.T, resp *http.Response, body []byte, err error, _ time.Duration) {
				if err == nil || len(body) >= whl.Size() {
					t.Errorf("read %d of %d bytes without error", len(body), whl.Size())
				}
			}},
		{name: "truncated gzip", prefix: "/simple/", fault: Fault{TruncateGzip: true}, url: page,
			check: func(t *testing.T, resp *http.Response, body []byte, err error, _ time.Duration) {
				if err != nil || resp.Header.Get("Content-Encoding") != "gzip" {
					t.Fatalf("got %v %v", err, resp)
				}
				zr, err := gzip.NewReader(bytes.NewReader(body))
				if err == nil {
					_, err = io.ReadAll(zr)
				}
				if err == nil {
					t.Errorf("truncated gzip decoded cleanly")
				}
			}},
		{name: "gzip bomb", prefix: "/simple/", fault: Fault{GzipBomb: true, BombSize: 32 << 20}, url: page,
			check: func(t *testing.T, resp *http.Response, body []byte, err error, _ time.Duration) {
				if err != nil || resp.Header.Get("Content-Encoding") != "gzip" || len(body) > 1<<20 {
					t.Fatalf("got %v, %d compressed bytes", err, len(body))
				}
				zr, err := gzip.NewReader(bytes.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				n, err := io.Copy(io.Discard, zr)
				if err != nil || n != 32<<20 {
					t.Errorf("inflated to %d bytes (%v)", n, err)
				}
			}},
		{name: "trickle", prefix: "*", fault: Fault{Body: []byte("0123456789abcdef"), Trickle: 30 * time.Millisecond, TrickleBytes: 4}, url: page,
			check: func(t *testing.T, resp *http.Response, body []byte, err error, elapsed time.Duration) {
				if err != nil || string(body) != "0123456789abcdef" || elapsed < 90*time.Millisecond {
					t.Errorf("got %v %q after %v", err, body, elapsed)
				}
			}},
		{name: "redirect", prefix: "/simple/", fault: Fault{RedirectTo: "http://127.0.0.1:1/elsewhere/", Status: 301}, url: page,
			check: func(t *testing.T, resp *http.Response, _ []byte, err error, _ time.Duration) {
				if err != nil || resp.StatusCode != 301 || resp.Header.Get("Location") != "http://127.0.0.1:1/elsewhere/" {
					t.Errorf("got %v %v", err, resp)
				}
			}},
		{name: "host filter", prefix: "*", fault: Fault{Host: "files", Status: 500}, url: page,
			check: func(t *testing.T, resp *http.Response, _ []byte, err error, _ time.Duration) {
				if err != nil || resp.StatusCode != 200 {
					t.Errorf("index affected by a files fault: %v %v", err, resp)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s.SetFault(tc.prefix, tc.fault)
			defer s.ClearFaults()
			start := time.Now()
			resp, body, err := do(t, s, tc.url, nil)
			tc.check(t, resp, body, err, time.Since(start))
		})
	}
}

func TestFaultSelection(t *testing.T) {
	s := demo(t, Options{})
	page := s.IndexURL() + "/simple/foo-bar/"
	status := func() int {
		resp, _, err := do(t, s, page, nil)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode
	}
	s.SetFault("*", Fault{Status: 500})
	s.SetFault("/simple/foo-bar/", Fault{Status: 502, Times: 2})
	got := []int{status(), status(), status()}
	if got[0] != 502 || got[1] != 502 || got[2] != 500 {
		t.Errorf("longest prefix with Times=2 then '*': %v", got)
	}
	s.ClearFault("*")
	if st := status(); st != 200 {
		t.Errorf("after ClearFault: %d", st)
	}
	s.SetFault("/simple/", Fault{Status: 418})
	s.ClearFaults()
	if st := status(); st != 200 {
		t.Errorf("after ClearFaults: %d", st)
	}
}

func TestRequestLog(t *testing.T) {
	s := demo(t, Options{})
	s.ResetRequests()
	whl := s.File("foo_bar-2.0-py3-none-any.whl")
	fetch(t, s, "GET", s.IndexURL()+"/simple/foo-bar/?format="+url.QueryEscape(TypeV1JSON), map[string]string{"Accept": pipAccept})
	fetch(t, s, "HEAD", s.FileURL(whl), nil)
	fetch(t, s, "GET", s.FileURL(whl)+".metadata", nil)
	fetch(t, s, "GET", s.IndexURL()+"/simple/nope/", nil)
	reqs := s.Requests()
	want := []struct {
		host, method, path, ct string
		status                 int
	}{
		{"index", "GET", "/simple/foo-bar/", TypeV1JSON, 200},
		{"files", "HEAD", whl.Path, "application/octet-stream", 200},
		{"files", "GET", whl.Path + ".metadata", "application/octet-stream", 200},
		{"index", "GET", "/simple/nope/", "text/plain; charset=utf-8", 404},
	}
	if len(reqs) != len(want) {
		t.Fatalf("%d requests logged: %+v", len(reqs), reqs)
	}
	for i, w := range want {
		r := reqs[i]
		if r.Host != w.host || r.Method != w.method || r.Path != w.path || r.ContentType != w.ct || r.Status != w.status || r.Seq <= 0 {
			t.Errorf("request %d = %+v, want %+v", i, r, w)
		}
	}
	if reqs[0].Header.Get("Accept") != pipAccept || reqs[0].RawQuery == "" {
		t.Errorf("headers/query not recorded: %+v", reqs[0])
	}
	if n := s.Files.Count("", "/packages/"); n != 2 {
		t.Errorf("files count %d", n)
	}
	if n := s.Index.Count("GET", "/simple/"); n != 2 || len(s.Index.Requests()) != 2 || s.Count("HEAD", "/") != 1 {
		t.Errorf("index count %d", n)
	}
	s.ResetRequests()
	if len(s.Requests()) != 0 {
		t.Errorf("log not reset")
	}
}

func TestTLS(t *testing.T) {
	s := Start(true)
	defer s.Close()
	s.AddProject("tls-demo", NewRelease("1.0", FileSpec{}))
	if !strings.HasPrefix(s.IndexURL(), "https://127.0.0.1:") || !strings.HasPrefix(s.FilesURL(), "https://127.0.0.1:") {
		t.Fatalf("URLs %s %s", s.IndexURL(), s.FilesURL())
	}
	block, _ := pem.Decode(s.CAPEM())
	ca, err := x509.ParseCertificate(block.Bytes)
	if err != nil || !ca.IsCA {
		t.Fatalf("CA PEM: %v", err)
	}
	resp, body := fetch(t, s, "GET", s.SimpleURL()+"tls-demo/", nil)
	if resp.StatusCode != 200 || !strings.Contains(string(body), s.FilesURL()+"/packages/") {
		t.Fatalf("TLS index: %d", resp.StatusCode)
	}
	f := s.File("tls_demo-1.0-py3-none-any.whl")
	_, data := fetch(t, s, "GET", s.FileURL(f), nil)
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != f.SHA256 {
		t.Errorf("TLS download hash mismatch")
	}
	// A client that does not trust the CA must fail.
	if _, err := (&http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{}}}).Get(s.SimpleURL()); err == nil {
		t.Errorf("untrusted client connected")
	}
	p, err := s.WriteCAFile(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); !bytes.Equal(b, s.CAPEM()) {
		t.Errorf("CA file content differs")
	}
	plain := Start(false)
	defer plain.Close()
	if plain.CAPEM() != nil || plain.CertPool() != nil || plain.TLS() {
		t.Errorf("plain server exposes TLS material")
	}
	if _, err := plain.WriteCAFile(t.TempDir()); err == nil {
		t.Errorf("WriteCAFile without TLS succeeded")
	}
}

func TestArtifactoryStyle(t *testing.T) {
	s := demo(t, Options{ArtifactoryStyle: true})
	if !strings.HasSuffix(s.IndexURL(), DefaultArtifactoryBase) || s.FilesURL() != s.IndexURL()+"/packages" {
		t.Fatalf("URLs %s %s", s.IndexURL(), s.FilesURL())
	}
	pageURL := s.SimpleURL() + "foo-bar/"
	resp, body := fetch(t, s, "GET", pageURL, map[string]string{"Accept": pipAccept, "Accept-Encoding": "gzip"})
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != TypeHTML || resp.Header.Get("Content-Encoding") != "" {
		t.Fatalf("page: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Encoding"))
	}
	if !strings.HasPrefix(string(body), `<!DOCTYPE html><html><head><title>Simple Index</title><meta name="api-version" value="2" /></head><body>`) {
		t.Errorf("not the Artifactory template:\n%s", body)
	}
	anchors := regexp.MustCompile(`<a href="([^"]+)#sha256=([0-9a-f]{64})"[^>]* rel="internal">([^<]+)</a><br />`).FindAllStringSubmatch(string(body), -1)
	if len(anchors) != len(s.ProjectFiles("foo-bar", "")) {
		t.Fatalf("%d anchors:\n%s", len(anchors), body)
	}
	base, _ := url.Parse(pageURL)
	for _, a := range anchors {
		if !strings.HasPrefix(a[1], "../../packages/packages/") {
			t.Errorf("href %s is not Artifactory-relative", a[1])
		}
		ref, _ := url.Parse(a[1])
		abs := base.ResolveReference(ref).String()
		f := s.File(a[3])
		if abs != s.FileURL(f) {
			t.Errorf("%s resolves to %s, want %s", a[1], abs, s.FileURL(f))
		}
		resp, data := fetch(t, s, "GET", abs, nil)
		if sum := sha256.Sum256(data); resp.StatusCode != 200 || hex.EncodeToString(sum[:]) != a[2] {
			t.Errorf("%s: %d, hash mismatch", abs, resp.StatusCode)
		}
	}
	if strings.Contains(string(body), "data-core-metadata") {
		t.Errorf("Artifactory page advertises PEP 658 metadata")
	}
	for _, tc := range []struct {
		path   string
		status int
	}{
		{s.SimpleURL(), 200},
		{s.IndexURL() + "/pypi/foo-bar/json", 200},
		{s.Index.URL + "/simple/foo-bar/", 404},
		{s.SimpleURL() + "Foo.Bar/", 301},
	} {
		if resp, _ := fetch(t, s, "GET", tc.path, nil); resp.StatusCode != tc.status {
			t.Errorf("%s: %d, want %d", tc.path, resp.StatusCode, tc.status)
		}
	}
}

func TestBuildToolWheels(t *testing.T) {
	st, wh, err := BuildToolWheels()
	if err != nil {
		t.Fatal(err)
	}
	s := demo(t, Options{})
	if err := s.AddBuildTools(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, project string }{{st, "setuptools"}, {wh, "wheel"}} {
		data, err := os.ReadFile(tc.path)
		if err != nil {
			t.Fatal(err)
		}
		files := s.ProjectFiles(tc.project, "")
		if len(files) != 1 || !bytes.Equal(files[0].Data, data) || files[0].Metadata == nil {
			t.Fatalf("%s not served verbatim with metadata", tc.path)
		}
		if !strings.Contains(string(files[0].Metadata), "Name: "+tc.project) {
			t.Errorf("%s metadata: %.80q", tc.project, files[0].Metadata)
		}
	}
}
