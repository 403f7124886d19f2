package osaproxy

import (
	"net/url"
	"strings"
	"testing"

	"github.com/osaproxy/caddy-osaproxy/internal/pagegen"
)

func testMapper(t testing.TB) *pageMapper {
	t.Helper()
	mk := func(raw string) *upstream {
		u, err := parseBase("test", raw)
		if err != nil {
			t.Fatal(err)
		}
		return &upstream{base: u, str: u.String()}
	}
	r := &Repository{Name: "pypi"}
	r.registry = mk("https://pypi.example.org/simple-root")
	r.packages = mk("https://files.example.org")
	r.additional = map[string]*upstream{"dl.example.com": mk("http://dl.example.com:8080/whl"), "nested": mk("https://files.example.org/packages/special")}
	r.addKeys = []string{"dl.example.com", "nested"}
	r.mapper = newLinkTable(r)
	page, _ := url.Parse("https://pypi.example.org/simple-root/simple/demo/")
	return &pageMapper{table: &r.mapper, page: page, prefix: "/pypi/ctx"}
}

// slowMapLink is MapLink without the fast path.
func slowMapLink(m *pageMapper, href string) (string, bool) { return m.mapGeneral(href) }

func TestMapFastAgrees(t *testing.T) {
	m := testMapper(t)
	hrefs := []string{
		"https://files.example.org/packages/ab/cd/0123456789abcdef/demo-1.0-py3-none-any.whl#sha256=0123abcd",
		"https://files.example.org/packages/ab/cd/ef/demo-1.0.tar.gz",
		"https://files.example.org/packages/ab/cd/ef/demo-1.0.tar.gz#",
		"https://files.example.org/packages/special/demo-2.0.tar.gz#sha256=ff",
		"https://files.example.org/packages/ab/../cd/demo-1.0.tar.gz",
		"https://files.example.org/packages/ab/./demo-1.0.tar.gz",
		"https://files.example.org/packages/ab/cd/..",
		"https://files.example.org/packages/ab/cd/.",
		"https://files.example.org/packages/ab/cd/...tar.gz",
		"https://files.example.org/packages/a%2Fb/demo-1.0.tar.gz",
		"https://files.example.org/packages/a b/demo-1.0.tar.gz",
		"https://files.example.org/packages/ab/demo-1.0.tar.gz?x=1#sha256=aa",
		"https://files.example.org/packages/ab/demo-1.0.tar.gz#sha256=a%62",
		"https://files.example.org/packages//double/demo-1.0.tar.gz",
		"https://FILES.example.org/packages/ab/demo-1.0.tar.gz",
		"HTTPS://files.example.org/packages/ab/demo-1.0.tar.gz",
		"https://user@files.example.org/packages/ab/demo-1.0.tar.gz",
		"https://files.example.org:443/packages/ab/demo-1.0.tar.gz",
		"https://files.example.org/other/demo-1.0.tar.gz",
		"https://files.example.org",
		"https://files.example.org/",
		"http://files.example.org/packages/ab/demo-1.0.tar.gz",
		"http://dl.example.com:8080/whl/cpu/torch-2.0-cp311-none-any.whl#sha256=00",
		"http://dl.example.com:8080/whlx/torch-2.0.whl",
		"http://dl.example.com/whl/torch-2.0.whl",
		"https://pypi.example.org/simple-root/packages/ab/demo-1.0.tar.gz",
		"https://evil.example.net/packages/ab/demo-1.0.tar.gz",
		"../../packages/ab/demo-1.0.tar.gz",
		"/simple-root/packages/ab/demo-1.0.tar.gz",
		"//files.example.org/packages/ab/demo-1.0.tar.gz",
		" https://files.example.org/packages/ab/demo-1.0.tar.gz ",
		"https://files.example.org/packages/ab/demo+1.0~x!y=z,w@v:u.tar.gz#sha256=Z-_.~",
		"https://files.example.org/packages/ab/d\u00e9mo-1.0.tar.gz",
		"javascript:alert(1)",
		"",
	}
	for _, p := range pagegen.NewProject(7, "demo", 20, 3).Files {
		hrefs = append(hrefs, strings.Replace(p.URL, "https://files.pythonhosted.org", "https://files.example.org", 1)+"#sha256="+p.Sha256)
	}
	fast, split := 0, 0
	for _, h := range hrefs {
		want, wantOK := slowMapLink(m, h)
		got, gotOK := m.MapLink(h)
		if got != want || gotOK != wantOK {
			t.Errorf("MapLink(%q) = %q, %v; general path gives %q, %v", h, got, gotOK, want, wantOK)
		}
		if _, ok := m.table.mapFast(m.prefix, h); ok {
			fast++
		}
		// SplitLink, when it answers, gives the same link without building it.
		if head, cut, ok := m.SplitLink(h); ok {
			if !wantOK || head+h[cut:] != want {
				t.Errorf("SplitLink(%q) = %q + %q; general path gives %q, %v", h, head, h[cut:], want, wantOK)
			}
			split++
		}
	}
	if split < 60+4 {
		t.Errorf("only %d of %d hrefs took the split path", split, len(hrefs))
	}
	// The generated page's links and the plain ones above take the fast path.
	if fast < 60+5 {
		t.Errorf("only %d of %d hrefs took the fast path", fast, len(hrefs))
	}
}

func BenchmarkMapLink(b *testing.B) {
	m := testMapper(b)
	href := "https://files.example.org/packages/81/d3/8888fe6de4f3664693eaa8b223b42fc9640e934bd4499605246171b2332e/demo-0.0.0-cp310-cp310-manylinux_2_17_x86_64.manylinux2014_x86_64.whl#sha256=3127423653fe3953e9e615f8dda9c9f3e14db0eca38bd301226b0a38750c6f62"
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			m.MapLink(href)
		}
	})
	b.Run("general", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			slowMapLink(m, href)
		}
	})
}

// TestAllIn: the 8-bytes-per-branch class test agrees with a plain loop for
// every byte value at every position of strings up to 20 bytes long.
func TestAllIn(t *testing.T) {
	for _, tc := range []struct {
		name string
		t    *[256]uint8
	}{{"path", &pathChar}, {"fragment", &fragChar}} {
		naive := func(s string) bool {
			for i := 0; i < len(s); i++ {
				if tc.t[s[i]] == 0 {
					return false
				}
			}
			return true
		}
		for n := 0; n <= 20; n++ {
			for pos := 0; pos < n; pos++ {
				for c := 0; c < 256; c++ {
					b := []byte(strings.Repeat("a", n))
					b[pos] = byte(c)
					if got, want := allIn(tc.t, string(b)), naive(string(b)); got != want {
						t.Fatalf("%s %q: %v, want %v", tc.name, b, got, want)
					}
				}
			}
		}
	}
}

// TestHasSlashDot: the 8-bytes-at-a-time "/." search agrees with
// strings.Contains for every pair of bytes from an alphabet that includes
// the neighbours of '/' and '.' (which a zero-byte test could confuse with
// them) at every position of strings up to 20 bytes long.
func TestHasSlashDot(t *testing.T) {
	alpha := []byte{'/', '.', '-', '0', 'a', 0x2e ^ 1, 0x2f ^ 1, 0x7f}
	for n := 0; n <= 20; n++ {
		for pos := 0; pos < n; pos++ {
			for _, c := range alpha {
				for _, d := range alpha {
					b := []byte(strings.Repeat("a", n))
					b[pos] = c
					if pos+1 < n {
						b[pos+1] = d
					}
					if got, want := hasSlashDot(string(b)), strings.Contains(string(b), "/."); got != want {
						t.Fatalf("hasSlashDot(%q) = %v, want %v", b, got, want)
					}
				}
			}
		}
	}
	for _, p := range []string{"/a/./b", "/a/../b", "/a/.", "/a/..", "/packages/ab/cd/x-1.0.tar.gz", "/a/.hidden/x"} {
		want := !strings.Contains(p, "/./") && !strings.Contains(p, "/../") && !strings.HasSuffix(p, "/.") && !strings.HasSuffix(p, "/..")
		if got := plainPath(p); got != want {
			t.Errorf("plainPath(%q) = %v, want %v", p, got, want)
		}
	}
}
