package pypi

import (
	"errors"
	"strings"
	"testing"
)

const hashPath = "/packages/ab/cd/0123456789abcdef0123456789abcdef0123456789abcdef0123456789ab"

func TestClassifyRoutes(t *testing.T) {
	keys := []string{"download.pytorch.org", "internal"}
	reg := Upstream{Kind: UpstreamRegistry}
	pkg := Upstream{Kind: UpstreamPackages}
	cases := []struct {
		path string
		want Route
	}{
		{"/simple", Route{Redirect: "/simple/"}},
		{"/simple/", Route{Op: OpProjectList, Upstream: reg, UpstreamPath: "/simple/"}},
		{"/simple/requests/", Route{Op: OpIndex, Upstream: reg, Project: "requests", RawProject: "requests", UpstreamPath: "/simple/requests/"}},
		{"/simple/requests", Route{Redirect: "/simple/requests/", Project: "requests", RawProject: "requests"}},
		{"/simple/Django/", Route{Redirect: "/simple/django/", Project: "django", RawProject: "Django"}},
		{"/simple/zope.interface/", Route{Redirect: "/simple/zope-interface/", Project: "zope-interface", RawProject: "zope.interface"}},
		{"/simple/Foo__Bar", Route{Redirect: "/simple/foo-bar/", Project: "foo-bar", RawProject: "Foo__Bar"}},
		{"/simple/%66oo/", Route{Op: OpIndex, Upstream: reg, Project: "foo", RawProject: "foo", UpstreamPath: "/simple/foo/"}},
		{hashPath + "/requests-2.31.0-py3-none-any.whl", Route{Op: OpDownload, Upstream: pkg, Filename: "requests-2.31.0-py3-none-any.whl",
			UpstreamPath: hashPath + "/requests-2.31.0-py3-none-any.whl"}},
		{hashPath + "/requests-2.31.0-py3-none-any.whl.metadata", Route{Op: OpMetadata, Upstream: pkg, Filename: "requests-2.31.0-py3-none-any.whl",
			UpstreamPath: hashPath + "/requests-2.31.0-py3-none-any.whl.metadata"}},
		{hashPath + "/requests-2.31.0.tar.gz.asc", Route{Op: OpSignature, Upstream: pkg, Filename: "requests-2.31.0.tar.gz",
			UpstreamPath: hashPath + "/requests-2.31.0.tar.gz.asc"}},
		{hashPath + "/torch-2.1.0%2Bcpu-cp311-cp311-linux_x86_64.whl", Route{Op: OpDownload, Upstream: pkg, Filename: "torch-2.1.0+cpu-cp311-cp311-linux_x86_64.whl",
			UpstreamPath: hashPath + "/torch-2.1.0%2Bcpu-cp311-cp311-linux_x86_64.whl"}},
		{hashPath + "/torch-2.1.0+cpu-cp311-cp311-linux_x86_64.whl", Route{Op: OpDownload, Upstream: pkg, Filename: "torch-2.1.0+cpu-cp311-cp311-linux_x86_64.whl",
			UpstreamPath: hashPath + "/torch-2.1.0%2Bcpu-cp311-cp311-linux_x86_64.whl"}},
		{hashPath + "/%72equests-2.31.0.tar.gz", Route{Op: OpDownload, Upstream: pkg, Filename: "requests-2.31.0.tar.gz",
			UpstreamPath: hashPath + "/requests-2.31.0.tar.gz"}},
		{"/packages/source/r/requests/requests-2.31.0.tar.gz", Route{Op: OpDownload, Upstream: pkg, Project: "requests", RawProject: "requests",
			Filename: "requests-2.31.0.tar.gz", UpstreamPath: "/packages/source/r/requests/requests-2.31.0.tar.gz"}},
		{"/packages/source/D/Django/Django-1.0.zip", Route{Op: OpDownload, Upstream: pkg, Project: "django", RawProject: "Django",
			Filename: "Django-1.0.zip", UpstreamPath: "/packages/source/D/Django/Django-1.0.zip"}},
		{"/packages/py2.py3/s/six/six-1.16.0-py2.py3-none-any.whl", Route{Op: OpDownload, Upstream: pkg, Project: "six", RawProject: "six",
			Filename: "six-1.16.0-py2.py3-none-any.whl", UpstreamPath: "/packages/py2.py3/s/six/six-1.16.0-py2.py3-none-any.whl"}},
		{"/packages/3.6/s/six/six-1.16.0-py2.py3-none-any.whl.metadata", Route{Op: OpMetadata, Upstream: pkg, Project: "six", RawProject: "six",
			Filename: "six-1.16.0-py2.py3-none-any.whl", UpstreamPath: "/packages/3.6/s/six/six-1.16.0-py2.py3-none-any.whl.metadata"}},
		{"/packages/foo-1.0.tar.gz", Route{Op: OpDownload, Upstream: pkg, Filename: "foo-1.0.tar.gz", UpstreamPath: "/packages/foo-1.0.tar.gz"}},
		{"/pypi/requests/json", Route{Op: OpJSON, Upstream: reg, Project: "requests", RawProject: "requests", UpstreamPath: "/pypi/requests/json"}},
		{"/pypi/requests/2.31.0/json", Route{Op: OpJSON, Upstream: reg, Project: "requests", RawProject: "requests", Version: "2.31.0",
			UpstreamPath: "/pypi/requests/2.31.0/json"}},
		{"/pypi/requests/json/", Route{Redirect: "/pypi/requests/json", Project: "requests", RawProject: "requests"}},
		{"/pypi/Django/json", Route{Redirect: "/pypi/django/json", Project: "django", RawProject: "Django"}},
		{"/pypi/Django/1.0/json/", Route{Redirect: "/pypi/django/1.0/json", Project: "django", RawProject: "Django", Version: "1.0"}},
		{"/pypi/torch/2.1.0%2Bcpu/json", Route{Op: OpJSON, Upstream: reg, Project: "torch", RawProject: "torch", Version: "2.1.0+cpu",
			UpstreamPath: "/pypi/torch/2.1.0%2Bcpu/json"}},
		{"/pypi/Torch/2.1.0+cpu/json", Route{Redirect: "/pypi/torch/2.1.0%2Bcpu/json", Project: "torch", RawProject: "Torch", Version: "2.1.0+cpu"}},
		{"/x/download.pytorch.org/whl/cpu/torch-2.1.0%2Bcpu-cp311-cp311-linux_x86_64.whl", Route{Op: OpDownload,
			Upstream: Upstream{Kind: UpstreamAdditional, Key: "download.pytorch.org"}, Filename: "torch-2.1.0+cpu-cp311-cp311-linux_x86_64.whl",
			UpstreamPath: "/whl/cpu/torch-2.1.0%2Bcpu-cp311-cp311-linux_x86_64.whl"}},
		{"/x/internal/files/foo-1.0.tar.gz.metadata", Route{Op: OpMetadata, Upstream: Upstream{Kind: UpstreamAdditional, Key: "internal"},
			Filename: "foo-1.0.tar.gz", UpstreamPath: "/files/foo-1.0.tar.gz.metadata"}},
		{"/x/internal/foo-1.0-py3-none-any.whl", Route{Op: OpDownload, Upstream: Upstream{Kind: UpstreamAdditional, Key: "internal"},
			Filename: "foo-1.0-py3-none-any.whl", UpstreamPath: "/foo-1.0-py3-none-any.whl"}},
	}
	for _, c := range cases {
		got, err := Classify(c.path, keys)
		if err != nil {
			t.Errorf("Classify(%q): %v", c.path, err)
			continue
		}
		if got != c.want {
			t.Errorf("Classify(%q)\n got %+v\nwant %+v", c.path, got, c.want)
		}
	}
}

// UpstreamPath is rebuilt from the decoded segments: unreserved characters
// are unescaped, everything else (including '!' and '+') is escaped.
func TestClassifyUpstreamPathEscaping(t *testing.T) {
	cases := []struct{ in, want string }{
		{hashPath + "/foo-1%212.0.tar.gz", hashPath + "/foo-1%212.0.tar.gz"},
		{hashPath + "/foo-1!2.0.tar.gz", hashPath + "/foo-1%212.0.tar.gz"},
		{"/x/k/a%7Eb/foo-1.0.tar.gz", "/a~b/foo-1.0.tar.gz"},
		{"/x/k/a%21b%40c/foo-1.0.tar.gz", "/a%21b%40c/foo-1.0.tar.gz"},
		{"/x/k/a@b/foo-1.0.tar.gz", "/a%40b/foo-1.0.tar.gz"},
		{"/x/k/%41%42/foo-1.0.tar.gz", "/AB/foo-1.0.tar.gz"},
	}
	for _, c := range cases {
		r, err := Classify(c.in, []string{"k"})
		if err != nil || r.UpstreamPath != c.want {
			t.Errorf("Classify(%q) = %q, %v; want %q", c.in, r.UpstreamPath, err, c.want)
		}
	}
}

func TestClassifyRefused(t *testing.T) {
	keys := []string{"download.pytorch.org"}
	f := hashPath + "/requests-2.31.0.tar.gz"
	cases := []struct {
		path   string
		status int
	}{
		// encoded separators
		{hashPath + "%2Frequests-2.31.0.tar.gz", 400},
		{hashPath + "%2frequests-2.31.0.tar.gz", 400},
		{"/packages/ab/cd%2F..%2F..%2Fsimple/requests-2.31.0.tar.gz", 400},
		{hashPath + "/..%5Crequests-2.31.0.tar.gz", 400},
		{hashPath + "/x\\requests-2.31.0.tar.gz", 400},
		{"/simple/foo%2Fbar/", 400},
		// dot segments
		{"/packages/ab/../" + "requests-2.31.0.tar.gz", 400},
		{"/packages/./ab/requests-2.31.0.tar.gz", 400},
		{"/packages/%2e%2e/requests-2.31.0.tar.gz", 400},
		{"/packages/%2E/requests-2.31.0.tar.gz", 400},
		{"/packages/.%2e/requests-2.31.0.tar.gz", 400},
		{"/simple/../simple/foo/", 400},
		{"/x/download.pytorch.org/../requests-2.31.0.tar.gz", 400},
		// double encoding
		{hashPath + "/requests-2.31.0.tar.gz%252e", 400},
		{"/packages/%252e%252e/requests-2.31.0.tar.gz", 400},
		{"/packages/%25%32%65/requests-2.31.0.tar.gz", 400},
		{"/simple/foo%252F/", 400},
		// malformed escapes
		{hashPath + "/requests-2.31.0.tar.gz%", 400},
		{hashPath + "/requests-2.31.0.tar.gz%2", 400},
		{hashPath + "/requests-2.31.0%zz.tar.gz", 400},
		// empty segments
		{"//simple/foo/", 400},
		{"/simple//foo/", 400},
		{"/packages/ab//cd/requests-2.31.0.tar.gz", 400},
		{"/simple/foo//", 400},
		// control characters
		{f + "%00", 400},
		{hashPath + "/requests%00-2.31.0.tar.gz", 400},
		{hashPath + "/requests-2.31.0.tar.gz%0a", 400},
		{hashPath + "/requests-2.31.0.tar.gz%0D", 400},
		{hashPath + "/requests-2.31.0.tar.gz%09", 400},
		{hashPath + "/requests-2.31.0.tar.gz%7f", 400},
		{hashPath + "/requests-2.31.0.tar.gz%c2%85", 400},    // U+0085 NEL (C1)
		{hashPath + "/requests-2.31.0.tar.gz%c2%9b", 400},    // U+009B CSI (C1)
		{hashPath + "/%e2%80%aerequests-2.31.0.tar.gz", 400}, // U+202E RLO
		{hashPath + "/requests%e2%81%a6-2.31.0.tar.gz", 400}, // U+2066 LRI
		{hashPath + "/requests%e2%80%8b-2.31.0.tar.gz", 400}, // U+200B ZWSP
		{hashPath + "/requests%d8%9c-2.31.0.tar.gz", 400},    // U+061C ALM
		{hashPath + "/requests%ef%bb%bf-2.31.0.tar.gz", 400}, // U+FEFF BOM
		{hashPath + "/requests%c2%a0-2.31.0.tar.gz", 400},    // U+00A0 NBSP
		{hashPath + "/requests%e2%80%a8-2.31.0.tar.gz", 400}, // U+2028
		{hashPath + "/requests-2.31.0.tar.gz%ff", 400},       // invalid UTF-8
		{hashPath + "/requests-2.31.0.tar.gz%c0%ae", 400},    // overlong '.'
		{"/simple/foo\x00/", 400},
		{"/simple/foo\x1b/", 400},
		// trailing dots and spaces
		{f + ".", 400},
		{f + "%2e", 400},
		{f + "%20", 400},
		{f + "...", 400},
		{f + ".%20", 400},
		{"/simple/foo./", 400},
		// other refused characters
		{f + ";.metadata", 400},
		{hashPath + "/requests-2.31.0.tar.gz%3b.asc", 400},
		{hashPath + "/requests%202.31.0.tar.gz", 400},
		{"relative/simple/", 400},
		{"", 400},
		{"/" + strings.Repeat("a/", MaxPathLength/2), 400},
		// not found
		{"/", 404},
		{"/SIMPLE/", 404},
		{"/simple/foo/bar/", 404},
		{"/simple/foo/foo-1.0.tar.gz", 404},
		{"/simple/-foo-/", 404},
		{"/simple/f%21o/", 404},
		{"/packages/", 404},
		{"/packages", 404},
		{f + "/", 404},
		{hashPath + "/index.html", 404},
		{hashPath + "/requests.tar.gz", 404},
		{hashPath + "/requests-2.31.0.tar.gz.sig", 404},
		{hashPath + "/.metadata", 404},
		{"/packages/source/r/requests/other-1.0.tar.gz", 404},
		{"/pypi/requests", 404},
		{"/pypi/requests/", 404},
		{"/pypi/requests/2.31.0/3/json", 404},
		{"/pypi/requests/xml", 404},
		{"/pypi/re%21/json", 404},
		{"/x/unknown.example/foo-1.0.tar.gz", 404},
		{"/x/download.pytorch.org/", 404},
		{"/x/download.pytorch.org/whl/cpu/torch/", 404},
		{"/x/download.pytorch.org/whl/cpu/index.html", 404},
		{"/x/download.pytorch.org", 404},
		{"/favicon.ico", 404},
	}
	for _, c := range cases {
		got, err := Classify(c.path, keys)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("Classify(%q) = %+v, %v; want *Error %d", c.path, got, err, c.status)
			continue
		}
		if e.Status != c.status {
			t.Errorf("Classify(%q) status %d (%s), want %d", c.path, e.Status, e.Msg, c.status)
		}
		if e.Msg == "" || strings.ContainsAny(e.Msg, "\x00\n%") {
			t.Errorf("Classify(%q) message %q", c.path, e.Msg)
		}
	}
}

func TestEscapeSegment(t *testing.T) {
	cases := map[string]string{
		"foo-1.0.tar.gz":    "foo-1.0.tar.gz",
		"torch-2.1.0+cpu":   "torch-2.1.0%2Bcpu",
		"a b/c?d#e%f;g":     "a%20b%2Fc%3Fd%23e%25f%3Bg",
		"ü":                 "%C3%BC",
		"tilde~_under-dot.": "tilde~_under-dot.",
	}
	for in, want := range cases {
		if got := EscapeSegment(in); got != want {
			t.Errorf("EscapeSegment(%q) = %q, want %q", in, got, want)
		}
	}
}
