package pypi

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/osaproxy/caddy-osaproxy/internal/pagegen"
)

// plRun is the outcome of one project list filtering: the bytes written,
// whether Write or Close failed, and every name drop was asked about.
type plRun struct {
	out   []byte
	err   bool
	drops []string
}

// runPL feeds data to a filter made by mk in the chunks given by cuts
// (ascending offsets inside data).
func runPL(mk func(io.Writer, Format, string, func(string) bool) io.WriteCloser, data []byte, f Format, prefix string, dropKind int, cuts []int) plRun {
	var r plRun
	var drop func(string) bool
	switch dropKind {
	case 1:
		drop = func(n string) bool { r.drops = append(r.drops, strings.Clone(n)); return len(n)%3 == 0 }
	case 2:
		drop = func(n string) bool { r.drops = append(r.drops, strings.Clone(n)); return false }
	}
	var out bytes.Buffer
	w := mk(&out, f, prefix, drop)
	prev := 0
	for _, c := range append(cuts, len(data)) {
		if _, err := w.Write(data[prev:c]); err != nil {
			r.err = true
			break
		}
		prev = c
	}
	if !r.err && w.Close() != nil {
		r.err = true
	}
	r.out = out.Bytes()
	return r
}

func newPL(w io.Writer, f Format, prefix string, drop func(string) bool) io.WriteCloser {
	return NewProjectListFilter(w, f, prefix, drop)
}

// comparePL checks the filter against the reference implementation for
// one input, chunking and drop function.
func comparePL(t *testing.T, data []byte, f Format, prefix string, dropKind int, cuts []int) {
	t.Helper()
	got := runPL(newPL, data, f, prefix, dropKind, cuts)
	want := runPL(newRefProjectListFilter, data, f, prefix, dropKind, cuts)
	if got.err != want.err || (!want.err && !bytes.Equal(got.out, want.out)) {
		t.Fatalf("format %v drop %d cuts %v\ninput %q\n got %q (err %v)\nwant %q (err %v)", f, dropKind, cuts, data, got.out, got.err, want.out, want.err)
	}
	if !want.err && fmt.Sprint(got.drops) != fmt.Sprint(want.drops) {
		t.Fatalf("format %v drop %d cuts %v\ninput %q\ndrop calls %q\nwant %q", f, dropKind, cuts, data, got.drops, want.drops)
	}
}

// randomCuts splits n bytes at random offsets: mostly small pieces (to
// split anchors everywhere), sometimes big ones.
func randomCuts(r *rand.Rand, n int) []int {
	var cuts []int
	maxPiece := []int{1, 3, 8, 40, 300, 5000}[r.IntN(6)]
	for i := 0; ; {
		i += 1 + r.IntN(maxPiece)
		if i >= n {
			return cuts
		}
		cuts = append(cuts, i)
	}
}

var plPieces = []string{
	"    <a href=\"/simple/%s/\">%s</a>\n",
	"<a href=\"/simple/%s/\">%s</a><br/>\n",
	"<a href=\"/simple/%s/\">%s</a><br />",
	"<a href=\"/simple/%s/\">%s</a><BR>",
	"<a href=\"/simple/%s/\">%s</a><br",
	"<a href=\"/simple/%s/\">%s</a >\r\n",
	"<a href=\"/simple/%s\">%s</a>",
	"<a href=\"%s/\">%s</a>\n",
	"<a href=\"%s\">%s</a>\n",
	"<a href='%s/'>%s</a>\n",
	"<a href=%s/>%s</a>\n",
	"<a HREF=\"/simple/%s/\">%s</A>\n",
	"<A href=\"/simple/%s/\" title=x>%s</a>\n",
	"<a  href=\"/simple/%s/\">%s</a>\n",
	"<a href =\"/simple/%s/\">%s</a>\n",
	"<a data-x=1 href=\"/simple/%s/\">%s</a>\n",
	"<a href=\"/simple/%s/\" href=\"/simple/zz/\">%s</a>\n",
	"<a href=\"https://pypi.org/simple/%s/\">%s</a>\n",
	"<a href=\"/simple/simple/%s/\">%s</a>\n",
	"<a href=\"/x/simple/%s/?q\">%s</a>\n",
	"<a href=\"/simple/%s/#frag\">%s</a>\n",
	"<a href=\"/simple/%s/&amp;\">%s &amp; co</a>\n",
	"<a href=\"/simple/%s&#47;\">%s</a>\n",
	"<a href=\"\">%s%s</a>\n",
	"<a href>%s %s</a>\n",
	"<a name=\"%s\">%s</a>\n",
	"<a>%s%s</a>\n",
	"<a/href=\"/simple/%s/\">%s</a>\n",
	"<a href=\"javascript:%s\">%s</a>\n",
	"<a href=\"/simple/%s/\"><b>%s</b></a>\n",
	"<a href=\"/simple/%s/\">%s</a\n>",
	"<a href=\"/simple/%s/\">%s",
	"<a href=\"/simple/%s/",
	"<abbr>%s %s</abbr>\n",
	"<base href=\"https://evil.example/%s\">%s",
	"<BASE/>%s%s",
	"<basefont>%s%s",
	"<b>%s</b>%s",
	"<br>%s%s",
	"%s < %s",
	"\t\t%s%s\r\n",
	"\n   %s%s   ",
	"<%s%s",
	"<a\thref=\"/simple/%s/\"\n>%s</a>",
	// longer than the 1 KiB Write completes a split entry with
	"<a title=\"" + strings.Repeat("t", 3000) + "\" href=\"/simple/%s/\">%s</a>\n",
	"<a href=\"/simple/%s/\">" + strings.Repeat("x", 2500) + "%s</a>\n",
	"    " + strings.Repeat(" ", 1500) + "<a href=\"%s/\">%s</a>\n",
}

var plNames = []string{"a", "abc", "Foo_Bar", "foo-bar", "foo--bar", "x.y", "Django", "zope.interface", "simple",
	"a1", "-a", "a-", ".a", "ä", "naïve", "bad pkg", "a/b", "a?b", "a#b", "a:b", "a\\b", "A&amp;B", "Q", "", "x__y",
	strings.Repeat("n", 199), strings.Repeat("n", 201), "pip", "simple/", "KELVIN\u212a", "a-_b", "a-.B", "x_-y", "q.-_z", "Zope-.Interface",
	// eight-byte boundaries of the SWAR name test
	"abcdefg-h", "abcdefgh-ij", "abcdefg--hij", "abcdefgh--ij", "abcdefghijklmno-", "abcdefghijklmnop", "a0123456789z",
	"abcdefgh\x80ij", "abcdefg\xffh", "abcdefgH", "abcdefghijklmnoP", "abcdef--", "-bcdefghi"}

// randomPL builds a random HTML project list from plPieces.
func randomPL(r *rand.Rand) []byte {
	var b strings.Builder
	b.WriteString("<html><body>\n")
	n := r.IntN(60)
	for range n {
		p := plPieces[r.IntN(len(plPieces))]
		b.WriteString(fmt.Sprintf(p, plNames[r.IntN(len(plNames))], plNames[r.IntN(len(plNames))]))
	}
	if r.IntN(2) == 0 {
		b.WriteString("</body></html>\n")
	}
	return []byte(b.String())
}

// The byte scanner produces exactly the old filter's output (and asks
// drop about the same names) for random lists under random chunkings.
func TestProjectListDifferential(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	prefixes := []string{"/p", "", "/r/a&b\"c"}
	iters := 3000
	if testing.Short() {
		iters = 300
	}
	for it := range iters {
		data := randomPL(r)
		if it%10 == 0 {
			data = pagegen.ProjectListHTML(int64(it), 40)
		}
		prefix := prefixes[r.IntN(len(prefixes))]
		for dk := range 3 {
			comparePL(t, data, FormatHTML, prefix, dk, nil)
			comparePL(t, data, FormatHTML, prefix, dk, randomCuts(r, len(data)))
		}
	}
	// every split point of a few fixed lists
	for _, s := range []string{
		"<body>\n    <a href=\"/simple/Foo_Bar/\">Foo_Bar</a>\n    <a href=\"/simple/a/\">a</a><br />\n  <a href=\"x\">x</a>\n</body>",
		"<a href=\"/simple/simple/\">simple</a>\r\n<A HREF=/simple/x/>x</A><BR/><base href=x><a href=\"/simple/a&amp;b/\">ab</a>",
	} {
		for c := 1; c < len(s); c++ {
			for dk := range 3 {
				comparePL(t, []byte(s), FormatHTML, "/p", dk, []int{c})
			}
		}
	}
}

// JSON lists: the same comparison.
func TestProjectListJSONDifferential(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	elems := []string{`{"name":"%s","_last-serial":1}`, `{"_last-serial":2,"name":"%s"}`, `{"name":"%s\u002d%s"}`, `{"x":{"name":"%s"},"name":"%s"}`, `{"name":1}`, `{}`, `{"name":"%s","n":[1,{"a":"]"}]}`}
	for range 2000 {
		var b strings.Builder
		b.WriteString(`{"meta":{"projects":[1]},"projects":[`)
		for i := range r.IntN(30) {
			if i > 0 {
				b.WriteString([]string{",", ", ", ",\n  "}[r.IntN(3)])
			}
			e := elems[r.IntN(len(elems))]
			e = strings.ReplaceAll(e, `\u002d`, `\\u002d`)
			nm := func() string { return strings.NewReplacer(`"`, `\"`, `\`, `\\`).Replace(plNames[r.IntN(len(plNames))]) }
			e = strings.Replace(e, "%s", nm(), 1)
			e = strings.Replace(e, "%s", nm(), 1)
			b.WriteString(e)
		}
		b.WriteString("]}\n")
		data := []byte(b.String())
		if r.IntN(10) == 0 {
			data = data[:r.IntN(len(data))]
		}
		for dk := range 3 {
			comparePL(t, data, FormatJSON, "", dk, nil)
			comparePL(t, data, FormatJSON, "", dk, randomCuts(r, len(data)))
		}
	}
}
