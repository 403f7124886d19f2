package pypi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/osaproxy/caddy-osaproxy/internal/pagegen"
)

// filterList runs the filter writing body in chunks of size n.
func filterList(t testing.TB, body []byte, f Format, prefix string, drop func(string) bool, n int) []byte {
	var out bytes.Buffer
	w := NewProjectListFilter(&out, f, prefix, drop)
	for i := 0; i < len(body); i += n {
		end := min(i+n, len(body))
		if k, err := w.Write(body[i:end]); err != nil || k != end-i {
			t.Fatalf("chunk %d: write %d, %v", n, k, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatalf("chunk %d: close: %v", n, err)
	}
	return out.Bytes()
}

func dropEvery3rd(names []string) (func(string) bool, map[string]bool) {
	dropped := map[string]bool{}
	for i, n := range names {
		if i%3 == 1 {
			dropped[NormalizeName(n)] = true
		}
	}
	return func(n string) bool { return dropped[n] }, dropped
}

func TestProjectListHTML(t *testing.T) {
	names := pagegen.ProjectNames(7, 60)
	body := pagegen.ProjectListHTML(7, 60)
	drop, dropped := dropEvery3rd(names)
	var want strings.Builder
	want.WriteString("<!DOCTYPE html>\n<html>\n  <head>\n    <meta name=\"pypi:repository-version\" content=\"1.4\">\n    <title>Simple index</title>\n  </head>\n  <body>\n")
	for _, n := range names {
		norm := NormalizeName(n)
		if !dropped[norm] {
			want.WriteString(`    <a href="/r/ctx/simple/` + norm + `/">` + n + "</a>\n")
		}
	}
	want.WriteString("  </body>\n</html>")
	for n := 1; n <= len(body); n = n*2 + 1 {
		if got := filterList(t, body, FormatHTML, "/r/ctx", drop, n); string(got) != want.String() {
			t.Fatalf("chunk %d:\n%s\nwant\n%s", n, got, want.String())
		}
	}
	for n := 1; n <= 200; n++ {
		if got := filterList(t, body, FormatHTML, "/r/ctx", drop, n); string(got) != want.String() {
			t.Fatalf("chunk %d differs", n)
		}
	}
}

func TestProjectListHTMLVariants(t *testing.T) {
	drop := func(n string) bool { return n == "bad-pkg" }
	cases := []struct{ name, in, want string }{
		{"relative hrefs and br", "<a href=\"Good_Pkg/\">Good_Pkg</a><br/>\n<a href=\"bad-pkg/\">bad-pkg</a><br/>\n<a href='zz'>zz</a><br>",
			"<a href=\"/p/simple/good-pkg/\">Good_Pkg</a><br/>\n<a href=\"/p/simple/zz/\">zz</a><br>"},
		{"absolute hrefs", `<a href="https://pypi.org/simple/bad.pkg/">Bad.Pkg</a><a HREF=https://pypi.org/simple/ok/>ok</a>`,
			`<a HREF="/p/simple/ok/">ok</a>`},
		{"uppercase tags, other links rewritten from their text", "<A href=\"/simple/x/\">x</A>\n<a href=\"https://example.com/about\">about</a>\n<a name=\"bad-pkg\">bad-pkg</a>",
			"<A href=\"/p/simple/x/\">x</A>\n<a href=\"/p/simple/about/\">about</a>"},
		{"links naming no project dropped", "<a href=\"javascript:alert(1)\">js!</a>\n<a href=\"https://evil.example/x.whl\"></a>\n<a name=\"n\">n</a>",
			"\n<a name=\"n\">n</a>"},
		{"base tag dropped", "<head><base href=\"https://evil.example/\"><BASE/></head><a href=\"/simple/c/\">c</a>",
			"<head></head><a href=\"/p/simple/c/\">c</a>"},
		{"crlf", "<body>\r\n  <a href=\"/simple/bad-pkg/\">bad-pkg</a>\r\n  <a href=\"/simple/c/\">c</a>\r\n</body>",
			"<body>\r\n  <a href=\"/p/simple/c/\">c</a>\r\n</body>"},
		{"unterminated anchor dropped", "<p>x</p><a href=\"https://evil.example/\">c", "<p>x</p>"},
		{"prefix escaped", `<a href="/simple/c/">c</a>`, `<a href="/p/simple/c/">c</a>`},
	}
	for _, c := range cases {
		for n := 1; n <= len(c.in); n++ {
			if got := filterList(t, []byte(c.in), FormatHTML, "/p", drop, n); string(got) != c.want {
				t.Fatalf("%s (chunk %d):\n got %q\nwant %q", c.name, n, got, c.want)
			}
		}
	}
}

func TestProjectListJSON(t *testing.T) {
	names := pagegen.ProjectNames(9, 50)
	body := pagegen.ProjectListJSON(9, 50)
	drop, dropped := dropEvery3rd(names)
	// expected: the same bytes with the dropped elements (and their commas) removed
	var doc struct {
		Projects []json.RawMessage `json:"projects"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	var kept []string
	for i, p := range doc.Projects {
		if !dropped[NormalizeName(names[i])] {
			kept = append(kept, string(p))
		}
	}
	head := body[:bytes.Index(body, []byte(`"projects":[`))+len(`"projects":[`)]
	want := string(head) + strings.Join(kept, ",") + "]}\n"
	for n := 1; n <= len(body); n++ {
		if got := filterList(t, body, FormatJSON, "/ignored", drop, n); string(got) != want {
			t.Fatalf("chunk %d:\n got %s\nwant %s", n, got, want)
		}
	}
	// nil drop: byte-exact pass-through
	if got := filterList(t, body, FormatJSON, "", nil, 7); !bytes.Equal(got, body) {
		t.Fatal("pass-through changed the body")
	}
	// drop nothing: byte-exact
	if got := filterList(t, body, FormatJSON, "", func(string) bool { return false }, 13); !bytes.Equal(got, body) {
		t.Fatal("keep-all changed the body")
	}
}

func TestProjectListJSONVariants(t *testing.T) {
	drop := func(n string) bool { return n == "bad-pkg" }
	cases := []struct{ name, in, want string }{
		{"pretty, first dropped",
			"{\n  \"projects\": [\n    {\"name\": \"Bad_Pkg\"},\n    {\"name\": \"a\"},\n    {\"name\": \"b\"}\n  ],\n  \"meta\": {\"projects\": [1]}\n}",
			"{\n  \"projects\": [\n    {\"name\": \"a\"},\n    {\"name\": \"b\"}\n  ],\n  \"meta\": {\"projects\": [1]}\n}"},
		{"last dropped", `{"meta":{"x":"projects"},"projects":[{"name":"a"},{"name":"bad-pkg"}]}`, `{"meta":{"x":"projects"},"projects":[{"name":"a"}]}`},
		{"all dropped", `{"projects":[ {"name":"bad.pkg"} ]}`, `{"projects":[]}`},
		{"escaped name", `{"projects":[{"name":"bad\u002dpkg","_last-serial":1},{"n":{"name":"bad-pkg"},"name":"c"}]}`, `{"projects":[{"n":{"name":"bad-pkg"},"name":"c"}]}`},
		{"no projects key", `{"meta":{"projects":[{"name":"bad-pkg"}]}}`, `{"meta":{"projects":[{"name":"bad-pkg"}]}}`},
	}
	for _, c := range cases {
		for n := 1; n <= len(c.in); n++ {
			if got := filterList(t, []byte(c.in), FormatJSON, "", drop, n); string(got) != c.want {
				t.Fatalf("%s (chunk %d):\n got %s\nwant %s", c.name, n, got, c.want)
			}
		}
	}
}

func TestProjectListErrors(t *testing.T) {
	drop := func(string) bool { return false }
	// truncated JSON array
	w := NewProjectListFilter(io.Discard, FormatJSON, "", drop)
	if _, err := w.Write([]byte(`{"projects":[{"name":"a"}`)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err == nil {
		t.Fatal("truncated JSON accepted")
	}
	// garbage inside the array
	w = NewProjectListFilter(io.Discard, FormatJSON, "", drop)
	if _, err := w.Write([]byte(`{"projects":[x]}`)); err == nil {
		t.Fatal("garbage accepted")
	}
	// an anchor larger than the unit limit
	w = NewProjectListFilter(io.Discard, FormatHTML, "", nil)
	big := "<a href=\"/simple/x/\" title=\"" + strings.Repeat("x", MaxProjectListUnit+10)
	var err error
	for i := 0; i < len(big) && err == nil; i += 4096 {
		_, err = w.Write([]byte(big[i:min(i+4096, len(big))]))
	}
	if err == nil {
		t.Fatal("oversized anchor accepted")
	}
	// write after close
	w = NewProjectListFilter(io.Discard, FormatHTML, "", nil)
	_ = w.Close()
	if _, err := w.Write([]byte("x")); err == nil {
		t.Fatal("write after close accepted")
	}
}

// The filter's memory does not grow with the list: feed a large list and
// check the live heap stays small.
func TestProjectListBoundedMemory(t *testing.T) {
	body := pagegen.ProjectListHTML(3, 50000)
	w := NewProjectListFilter(io.Discard, FormatHTML, "/p", func(n string) bool { return len(n)%5 == 0 })
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := 0; i < len(body); i += 16 << 10 {
		if _, err := w.Write(body[i:min(i+16<<10, len(body))]); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if grow := int64(after.HeapAlloc) - int64(before.HeapAlloc); grow > 1<<20 {
		t.Fatalf("live heap grew by %d bytes for a %d byte list", grow, len(body))
	}
}

func TestSwarBetween(t *testing.T) {
	ranges := [][2]uint64{{'0' - 1, '9' + 1}, {'a' - 1, 'z' + 1}, {'-' - 1, '-' + 1}, {0, 128}, {126, 128}}
	for _, r := range ranges {
		for c := range 256 {
			for lane := range 8 {
				// c in one lane, the neighbours set to bytes that could
				// carry or borrow into it
				for _, fill := range []uint64{0x00, 0xff, 0x7f, 0x80, 0x2d} {
					x := fill*swarOnes&^(0xff<<(8*lane)) | uint64(c)<<(8*lane)
					got := swarBetween(x, r[0], r[1])>>(8*lane)&0xff == 0x80
					if want := uint64(c) > r[0] && uint64(c) < r[1]; got != want {
						t.Fatalf("between(%#x, %d, %d) lane %d = %v, want %v", x, r[0], r[1], lane, got, want)
					}
				}
			}
		}
	}
}

func TestSwarIndexLT(t *testing.T) {
	for n := range 40 {
		for at := -1; at < n; at++ {
			b := bytes.Repeat([]byte{0x3d}, n) // '=' and '<' differ by one bit
			if at >= 0 {
				b[at] = '<'
				if at+1 < n {
					b[at+1] = '<'
				}
			}
			for off := 0; off <= n; off++ {
				want := bytes.IndexByte(b[off:], '<')
				if want >= 0 {
					want += off
				}
				if got := swarIndexLT(b, off); got != want {
					t.Fatalf("swarIndexLT(%q, %d) = %d, want %d", b, off, got, want)
				}
			}
		}
	}
}

// The loop for warehouse's anchors (taken without a drop function) writes
// what the general path (taken with one) writes, for names on either side
// of every eight-byte boundary of its name test and anchors it must leave
// to the general path, under every chunking.
func TestProjectListCanonicalRun(t *testing.T) {
	var names []string
	for n := 1; n <= 26; n++ {
		base := []byte(strings.Repeat("abcdefghijklmnopqrstuvwxyz0123456789", 1)[:n])
		names = append(names, string(base))
		for i := range n {
			for _, c := range []byte{'-', 'A', '_', '.', 0x80, 0xff, '/', '"', '<', ' '} {
				m := append([]byte(nil), base...)
				m[i] = c
				names = append(names, string(m))
				if i+1 < n {
					m[i+1] = c
					names = append(names, string(m))
				}
			}
		}
	}
	names = append(names, "simple", strings.Repeat("x", 200), strings.Repeat("x", 201), strings.Repeat("a-", 100)+"b")
	var b strings.Builder
	b.WriteString("<body>\n")
	for i, n := range names {
		sep := []string{"\n    ", "", "\r\n", " \t"}[i%4]
		tail := []string{"</a>", "</a>", "</a><br/>", "</A>", "</a >"}[i%5]
		text := []string{n, "Text", "", "x<b>y</b>"}[i%4]
		head := []string{`<a href="/simple/`, `<a href="/simple/`, `<a href="/simplx/`, `<a href="/Simple/`, `<a href='/simple/`,
			`<a hreg="/simple/`, `<a href="/simplex/`, `<a href="https://x/simple/`, `<a href="/x/simple/`, `<b href="/simple/`}[i%10]
		fmt.Fprintf(&b, `%s%s/">%s%s%s`, head, n, text, tail, sep)
	}
	b.WriteString("</body>")
	data := []byte(b.String())
	noDrop := func(string) bool { return false }
	for _, prefix := range []string{"/p", "", "/r/a&b\"c"} {
		want := filterList(t, data, FormatHTML, prefix, noDrop, len(data))
		for _, chunk := range []int{len(data), 1, 7, 8, 9, 31, 4096} {
			if got := filterList(t, data, FormatHTML, prefix, nil, chunk); !bytes.Equal(got, want) {
				i := 0
				for i < min(len(got), len(want)) && got[i] == want[i] {
					i++
				}
				t.Fatalf("prefix %q chunk %d: differs at %d:\n got %q\nwant %q", prefix, chunk, i, got[max(0, i-80):min(len(got), i+80)], want[max(0, i-80):min(len(want), i+80)])
			}
		}
	}
}
