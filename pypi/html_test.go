package pypi

import (
	"bytes"
	"errors"
	"net/url"
	"strings"
	"testing"
)

// testMapper rewrites files.pythonhosted.org links to the proxy, resolves
// relative links against base, and refuses every other host.
type testMapper struct{ base string }

func (m testMapper) MapLink(href string) (string, bool) {
	base := m.base
	if base == "" {
		base = "https://pypi.org/simple/demo/"
	}
	b, _ := url.Parse(base)
	u, err := b.Parse(href)
	if err != nil {
		return "", false
	}
	switch u.Host {
	case "files.pythonhosted.org":
		return "/proxy" + u.EscapedPath() + fragmentOf(u), true
	case "pypi.org":
		return "/proxy" + u.EscapedPath() + fragmentOf(u), true
	}
	return "", false
}

func fragmentOf(u *url.URL) string {
	if u.Fragment == "" {
		return ""
	}
	return "#" + u.Fragment
}

// identity keeps links; mapFunc adapts a function.
type mapFunc func(string) (string, bool)

func (f mapFunc) MapLink(h string) (string, bool) { return f(h) }

var identity = mapFunc(func(h string) (string, bool) { return h, true })

// warehouseHTML is the exact layout of warehouse's detail.html.
const warehouseHTML = `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta name="pypi:repository-version" content="1.4">
    <meta name="pypi:project-status" content="active">
    <title>Links for Demo</title>
  </head>
  <body>
    <h1>Links for Demo</h1>
    <a href="https://files.pythonhosted.org/packages/aa/bb/cccc/demo-1.0.tar.gz#sha256=1111" data-requires-python="&gt;=3.8">demo-1.0.tar.gz</a><br />
    <a href="https://files.pythonhosted.org/packages/aa/bb/dddd/demo-2.0-py3-none-any.whl#sha256=2222" data-requires-python="&gt;=3.8" data-dist-info-metadata="sha256=3333" data-core-metadata="sha256=3333" data-provenance="https://pypi.org/integrity/demo/2.0/demo-2.0-py3-none-any.whl/provenance">demo-2.0-py3-none-any.whl</a><br />
    <a href="https://files.pythonhosted.org/packages/aa/bb/eeee/demo-2.0.tar.gz#sha256=4444" data-yanked="broken &amp; bad">demo-2.0.tar.gz</a><br />
  </body>
</html>
<!--SERIAL 22406780-->`

func TestHTMLWarehouseRender(t *testing.T) {
	cases := []struct {
		name   string
		edits  []Edit
		mapper LinkMapper
		want   string
	}{
		{"identity", nil, identity, warehouseHTML},
		{"nil mapper", []Edit{{}, {}, {}}, nil, warehouseHTML},
		{"remove first", []Edit{{Action: Remove}}, nil, strings.Replace(warehouseHTML,
			"\n    <a href=\"https://files.pythonhosted.org/packages/aa/bb/cccc/demo-1.0.tar.gz#sha256=1111\" data-requires-python=\"&gt;=3.8\">demo-1.0.tar.gz</a><br />", "", 1)},
		{"remove all", []Edit{{Action: Remove}, {Action: Remove}, {Action: Remove}}, nil, `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta name="pypi:repository-version" content="1.4">
    <meta name="pypi:project-status" content="active">
    <title>Links for Demo</title>
  </head>
  <body>
    <h1>Links for Demo</h1>
  </body>
</html>
<!--SERIAL 22406780-->`},
		{"mark metadata file", []Edit{{}, {Action: Mark, Reason: `CVE-1 <"bad">`}}, nil, strings.Replace(warehouseHTML,
			`demo-2.0-py3-none-any.whl#sha256=2222" data-requires-python="&gt;=3.8" data-dist-info-metadata="sha256=3333" data-core-metadata="sha256=3333" data-provenance`,
			`demo-2.0-py3-none-any.whl#sha256=2222" data-yanked="CVE-1 &lt;&quot;bad&quot;&gt;" data-requires-python="&gt;=3.8" data-provenance`, 1)},
		{"mark replaces existing yanked", []Edit{{}, {}, {Action: Mark, Reason: "blocked"}}, nil, strings.Replace(warehouseHTML,
			`data-yanked="broken &amp; bad"`, `data-yanked="blocked"`, 1)},
		{"mark with empty reason", []Edit{{Action: Mark}}, nil, strings.Replace(warehouseHTML,
			`demo-1.0.tar.gz#sha256=1111" data`, `demo-1.0.tar.gz#sha256=1111" data-yanked="" data`, 1)},
		{"map links", nil, testMapper{}, strings.ReplaceAll(warehouseHTML, `href="https://files.pythonhosted.org/`, `href="/proxy/`)},
		{"map and mark", []Edit{{}, {}, {Action: Mark, Reason: "x"}}, testMapper{}, strings.Replace(
			strings.ReplaceAll(warehouseHTML, `href="https://files.pythonhosted.org/`, `href="/proxy/`),
			`data-yanked="broken &amp; bad"`, `data-yanked="x"`, 1)},
		{"mapper refuses", nil, mapFunc(func(h string) (string, bool) { return h, !strings.Contains(h, "dddd") }), strings.Replace(warehouseHTML,
			"\n    <a href=\"https://files.pythonhosted.org/packages/aa/bb/dddd/demo-2.0-py3-none-any.whl#sha256=2222\" data-requires-python=\"&gt;=3.8\" data-dist-info-metadata=\"sha256=3333\" data-core-metadata=\"sha256=3333\" data-provenance=\"https://pypi.org/integrity/demo/2.0/demo-2.0-py3-none-any.whl/provenance\">demo-2.0-py3-none-any.whl</a><br />", "", 1)},
		{"mapper escapes", nil, mapFunc(func(h string) (string, bool) { return h + `&x="y"`, true }), strings.NewReplacer(
			"#sha256=1111\"", "#sha256=1111&amp;x=&quot;y&quot;\"",
			"#sha256=2222\"", "#sha256=2222&amp;x=&quot;y&quot;\"",
			"#sha256=4444\"", "#sha256=4444&amp;x=&quot;y&quot;\"").Replace(warehouseHTML)},
	}
	for _, c := range cases {
		ix, err := ParseIndex([]byte(warehouseHTML), FormatHTML, "demo")
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		got, err := ix.Render([]byte("prefix:"), c.edits, c.mapper)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if string(got) != "prefix:"+c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, got[7:], c.want)
		}
	}
}

func TestHTMLFields(t *testing.T) {
	ix, err := ParseIndex([]byte(warehouseHTML), FormatHTML, "demo")
	if err != nil {
		t.Fatal(err)
	}
	if ix.ProjectStatus != "active" || ix.BaseHref != "" || len(ix.Files) != 3 {
		t.Fatalf("index: %+v", ix)
	}
	type want struct {
		filename, version, sha, reqPy, reason string
		typ                                   PackageType
		yanked, meta                          bool
	}
	wants := []want{
		{"demo-1.0.tar.gz", "1.0", "1111", ">=3.8", "", TypeSdist, false, false},
		{"demo-2.0-py3-none-any.whl", "2.0", "2222", ">=3.8", "", TypeWheel, false, true},
		{"demo-2.0.tar.gz", "2.0", "4444", "", "broken & bad", TypeSdist, true, false},
	}
	for i, w := range wants {
		f := ix.Files[i]
		got := want{f.Filename, f.Version, f.Sha256, f.RequiresPython, f.YankedReason, f.Type, f.Yanked, f.HasMetadata}
		if got != w || f.ParseErr != nil || f.Text != w.filename || !strings.HasPrefix(f.URL, "https://files.pythonhosted.org/packages/aa/bb/") {
			t.Errorf("file %d: %+v (err %v), want %+v", i, got, f.ParseErr, w)
		}
	}
}

// Pages in the styles of other indexes: attribute quoting, case, entities,
// relative links, <base>, no <br>.
func TestHTMLVariants(t *testing.T) {
	type fileWant struct{ filename, version, url, sha string }
	cases := []struct {
		name    string
		page    string
		base    string
		files   []fileWant
		yanked  []bool
		remove  []Edit
		removed string // expected page after applying remove with the identity mapper
		mapped  string // expected page after testMapper (all Keep); "" to skip
	}{
		{
			name: "single quotes, uppercase, bare yanked, no br",
			page: "<HTML><BODY>\n<A HREF='../../packages/x/demo-1.0.tar.gz#sha256=ab' DATA-YANKED>demo-1.0.tar.gz</A>\n<a href='../../packages/x/demo-1.1.tar.gz'>demo-1.1.tar.gz</a>\n</BODY></HTML>",
			files: []fileWant{
				{"demo-1.0.tar.gz", "1.0", "../../packages/x/demo-1.0.tar.gz#sha256=ab", "ab"},
				{"demo-1.1.tar.gz", "1.1", "../../packages/x/demo-1.1.tar.gz", ""},
			},
			yanked:  []bool{true, false},
			remove:  []Edit{{Action: Remove}},
			removed: "<HTML><BODY>\n<a href='../../packages/x/demo-1.1.tar.gz'>demo-1.1.tar.gz</a>\n</BODY></HTML>",
			mapped:  "<HTML><BODY>\n<A HREF=\"/proxy/packages/x/demo-1.0.tar.gz#sha256=ab\" DATA-YANKED>demo-1.0.tar.gz</A>\n<a href=\"/proxy/packages/x/demo-1.1.tar.gz\">demo-1.1.tar.gz</a>\n</BODY></HTML>",
		},
		{
			name: "unquoted attributes and br variants",
			page: "<a href=/packages/demo-1.0-py3-none-any.whl#sha256=cd data-requires-python=&gt;=3.7>demo-1.0-py3-none-any.whl</a><br>\n<a href=/packages/demo-2.0.zip>demo-2.0.zip</a> <br/>\n",
			files: []fileWant{
				{"demo-1.0-py3-none-any.whl", "1.0", "/packages/demo-1.0-py3-none-any.whl#sha256=cd", "cd"},
				{"demo-2.0.zip", "2.0", "/packages/demo-2.0.zip", ""},
			},
			yanked:  []bool{false, false},
			remove:  []Edit{{}, {Action: Remove}},
			removed: "<a href=/packages/demo-1.0-py3-none-any.whl#sha256=cd data-requires-python=&gt;=3.7>demo-1.0-py3-none-any.whl</a><br>\n",
			mapped:  "<a href=\"/proxy/packages/demo-1.0-py3-none-any.whl#sha256=cd\" data-requires-python=&gt;=3.7>demo-1.0-py3-none-any.whl</a><br>\n<a href=\"/proxy/packages/demo-2.0.zip\">demo-2.0.zip</a> <br/>\n",
		},
		{
			name: "entity-encoded href and percent-encoded local version",
			page: `<a href="https://files.pythonhosted.org/packages/demo-1.0%2Bcpu-cp311-cp311-linux_x86_64.whl?a=1&amp;b=2#sha256=ef">demo-1.0+cpu-cp311-cp311-linux_x86_64.whl</a>`,
			files: []fileWant{
				{"demo-1.0+cpu-cp311-cp311-linux_x86_64.whl", "1.0+cpu", "https://files.pythonhosted.org/packages/demo-1.0%2Bcpu-cp311-cp311-linux_x86_64.whl?a=1&b=2#sha256=ef", "ef"},
			},
			yanked:  []bool{false},
			remove:  []Edit{{Action: Remove}},
			removed: "",
			mapped:  `<a href="/proxy/packages/demo-1.0%2Bcpu-cp311-cp311-linux_x86_64.whl#sha256=ef">demo-1.0+cpu-cp311-cp311-linux_x86_64.whl</a>`,
		},
		{
			name: "base href",
			page: "<html><head><base href=\"https://files.pythonhosted.org/packages/\"></head><body>\r\n  <a href=\"aa/demo-3.0.tar.gz\">demo-3.0.tar.gz</a><br />\r\n  <a href=\"bb/demo-3.1.tar.gz\">demo-3.1.tar.gz</a><br />\r\n</body></html>",
			base: "https://files.pythonhosted.org/packages/",
			files: []fileWant{
				{"demo-3.0.tar.gz", "3.0", "aa/demo-3.0.tar.gz", ""},
				{"demo-3.1.tar.gz", "3.1", "bb/demo-3.1.tar.gz", ""},
			},
			yanked:  []bool{false, false},
			remove:  []Edit{{Action: Remove}},
			removed: "<html><head><base href=\"https://files.pythonhosted.org/packages/\"></head><body>\r\n  <a href=\"bb/demo-3.1.tar.gz\">demo-3.1.tar.gz</a><br />\r\n</body></html>",
			mapped:  "<html><head><base href=\"https://files.pythonhosted.org/packages/\"></head><body>\r\n  <a href=\"/proxy/packages/aa/demo-3.0.tar.gz\">demo-3.0.tar.gz</a><br />\r\n  <a href=\"/proxy/packages/bb/demo-3.1.tar.gz\">demo-3.1.tar.gz</a><br />\r\n</body></html>",
		},
		{
			name: "artifactory style",
			page: `<!DOCTYPE html><html><head><title>Simple Index</title><meta name="api-version" value="2" /></head><body><a href="../../packages/packages/62/35/ab/demo-0.10.0.tar.gz#sha256=aa" rel="internal">demo-0.10.0.tar.gz</a><br/><a href="../../packages/packages/1e/db/cd/demo-0.11.0.tar.gz#sha256=bb" rel="internal">demo-0.11.0.tar.gz</a><br/></body></html>`,
			files: []fileWant{
				{"demo-0.10.0.tar.gz", "0.10.0", "../../packages/packages/62/35/ab/demo-0.10.0.tar.gz#sha256=aa", "aa"},
				{"demo-0.11.0.tar.gz", "0.11.0", "../../packages/packages/1e/db/cd/demo-0.11.0.tar.gz#sha256=bb", "bb"},
			},
			yanked:  []bool{false, false},
			remove:  []Edit{{}, {Action: Remove}},
			removed: `<!DOCTYPE html><html><head><title>Simple Index</title><meta name="api-version" value="2" /></head><body><a href="../../packages/packages/62/35/ab/demo-0.10.0.tar.gz#sha256=aa" rel="internal">demo-0.10.0.tar.gz</a><br/></body></html>`,
		},
		{
			name: "comments, doctype, script-free raw text, self-closing anchor, empty text",
			page: "<!doctype html><!-- SERIAL 1 --><title>x &amp; y</title><a href=\"demo-1.0.tar.gz\"/><a href=\"demo-1.1.tar.gz\"></a><a name=top>t</a>",
			files: []fileWant{
				{"demo-1.0.tar.gz", "1.0", "demo-1.0.tar.gz", ""},
				{"demo-1.1.tar.gz", "1.1", "demo-1.1.tar.gz", ""},
			},
			yanked:  []bool{false, false},
			remove:  []Edit{{Action: Remove}, {Action: Remove}},
			removed: "<!doctype html><!-- SERIAL 1 --><title>x &amp; y</title><a name=top>t</a>",
		},
	}
	for _, c := range cases {
		ix, err := ParseIndex([]byte(c.page), FormatHTML, "demo")
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if ix.BaseHref != c.base {
			t.Errorf("%s: BaseHref %q", c.name, ix.BaseHref)
		}
		if len(ix.Files) != len(c.files) {
			t.Errorf("%s: %d files, want %d", c.name, len(ix.Files), len(c.files))
			continue
		}
		for i, w := range c.files {
			f := ix.Files[i]
			got := fileWant{f.Filename, f.Version, f.URL, f.Sha256}
			if got != w || f.ParseErr != nil || f.Yanked != c.yanked[i] {
				t.Errorf("%s: file %d = %+v yanked=%v err=%v, want %+v", c.name, i, got, f.Yanked, f.ParseErr, w)
			}
		}
		if out, _ := ix.Render(nil, nil, identity); string(out) != c.page {
			t.Errorf("%s: identity render differs:\n%s", c.name, out)
		}
		if out, _ := ix.Render(nil, c.remove, nil); string(out) != c.removed {
			t.Errorf("%s: remove:\n got %q\nwant %q", c.name, out, c.removed)
		}
		if c.mapped != "" {
			if out, _ := ix.Render(nil, nil, testMapper{base: c.base}); string(out) != c.mapped {
				t.Errorf("%s: mapped:\n got %q\nwant %q", c.name, out, c.mapped)
			}
		}
	}
}

func TestHTMLParseErrs(t *testing.T) {
	cases := []struct{ name, href string }{
		{"backslash", `https://h/packages/evil-1.0.tar.gz\demo-1.0.tar.gz`},
		{"ambiguous reference", `/packages/demo-1.0.tar.gz&notit`},
		{"wrong project", `/packages/other-1.0.tar.gz`},
		{"empty", ``},
		{"space inside", `/packages/demo 1.0.tar.gz`},
		{"percent slash", `/packages/x%2Fdemo-1.0.tar.gz`},
		{"bad percent", `/packages/demo-1.0%zz.tar.gz`},
		{"no file", `https://files.pythonhosted.org/`},
	}
	for _, c := range cases {
		page := `<a href="` + c.href + `">demo-1.0.tar.gz</a>`
		ix, err := ParseIndex([]byte(page), FormatHTML, "demo")
		if err != nil {
			t.Errorf("%s: page refused: %v", c.name, err)
			continue
		}
		if len(ix.Files) != 1 || ix.Files[0].ParseErr == nil {
			t.Errorf("%s: want a file with ParseErr, got %+v", c.name, ix.Files)
		}
	}
	// tab/newline inside and spaces around the href are dropped by every client
	ix, err := ParseIndex([]byte("<a href=\" /packages/demo-1.\n0.tar.gz \">x</a>"), FormatHTML, "demo")
	if err != nil || ix.Files[0].ParseErr != nil || ix.Files[0].Filename != "demo-1.0.tar.gz" {
		t.Errorf("whitespace href: %v %+v", err, ix)
	}
	// a bare href is a file that cannot be parsed
	ix, err = ParseIndex([]byte("<a href>x</a>"), FormatHTML, "demo")
	if err != nil || len(ix.Files) != 1 || ix.Files[0].ParseErr == nil {
		t.Errorf("bare href: %v %+v", err, ix)
	}
	out, _ := ix.Render(nil, nil, mapFunc(func(string) (string, bool) { return "/x", true }))
	if string(out) != `<a href="/x">x</a>` {
		t.Errorf("bare href mapped: %s", out)
	}
}

func TestHTMLRefused(t *testing.T) {
	cases := []struct{ name, page string }{
		{"NUL", "<a href=\"demo-1.0.tar.gz\">x\x00</a>"},
		{"unterminated tag", `<a href="demo-1.0.tar.gz"`},
		{"unterminated quote", `<a href="demo-1.0.tar.gz>x</a>`},
		{"quote in attribute name", `<img alt"='<a href=evil-1.0.tar.gz>'><a href=demo-1.0.tar.gz>x</a>`},
		{"lt in attribute name", `<img <a href=demo-1.0.tar.gz>`},
		{"quote in unquoted value", `<a href=demo-1.0.tar.gz" title=x>x</a>`},
		{"equals in unquoted value", `<a href==demo-1.0.tar.gz>x</a>`},
		{"backtick in unquoted value", "<a href=`demo-1.0.tar.gz`>x</a>"},
		{"control in tag", "<a\x0bhref=demo-1.0.tar.gz>x</a>"},
		{"non-ascii space in tag", "<a href=demo-1.0.tar.gz\u00a0data-yanked>x</a>"},
		{"duplicate href", `<a href="good-1.0.tar.gz" href="evil-1.0.tar.gz">x</a>`},
		{"duplicate href case", `<a href="good-1.0.tar.gz" HREF="evil-1.0.tar.gz">x</a>`},
		{"duplicate yanked", `<a href="demo-1.0.tar.gz" data-yanked data-yanked="x">x</a>`},
		{"duplicate metadata", `<a href="demo-1.0.tar.gz" data-core-metadata="true" data-core-metadata="false">x</a>`},
		{"abrupt comment", `<!--><a href="demo-1.0.tar.gz">x</a>-->`},
		{"abrupt comment 2", `<!---><a href="demo-1.0.tar.gz">x</a>-->`},
		{"bang comment end", `<!-- x --!><a href="demo-1.0.tar.gz">x</a>-->`},
		{"spaced comment end", `<!-- x -- ><a href="demo-1.0.tar.gz">x</a>-->`},
		{"nested comment", `<!-- <!-- --><a href="demo-1.0.tar.gz">x</a>`},
		{"markup in comment", `<!-- <a href="demo-1.0.tar.gz">x</a> -->`},
		{"unterminated comment", `<!-- x`},
		{"cdata", `<![CDATA[<a href="demo-1.0.tar.gz">]]>`},
		{"markup in title", `<title><a href="demo-1.0.tar.gz">x</a></title>`},
		{"markup in script", `<script>"<a href='demo-1.0.tar.gz'>"</script>`},
		{"markup in textarea", `<textarea><a href="demo-1.0.tar.gz">x</a></textarea>`},
		{"unterminated style", `<style>a{}`},
		{"plaintext", `<plaintext><a href="demo-1.0.tar.gz">x</a>`},
		{"end tag attributes", `</p foo=">"><a href="demo-1.0.tar.gz">x</a>`},
		{"bogus end tag", `</ a><a href="demo-1.0.tar.gz">x</a>`},
		{"empty end tag", `</><a href="demo-1.0.tar.gz">x</a>`},
		{"lt in declaration", `<!DOCTYPE <a href="demo-1.0.tar.gz">>`},
		{"lt in pi", `<?xml <a href="demo-1.0.tar.gz">?>`},
		{"weird tag name", `<a"x href="demo-1.0.tar.gz">x</a>`},
	}
	for _, c := range cases {
		ix, err := ParseIndex([]byte(c.page), FormatHTML, "demo")
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("%s: accepted (%d files), want a *ParseError", c.name, len(ix.Files))
		}
	}
}

func TestHTMLMarkVariants(t *testing.T) {
	cases := []struct{ name, page, want string }{
		{"bare yanked replaced", `<a href="demo-1.0.tar.gz" data-yanked>x</a>`, `<a href="demo-1.0.tar.gz" data-yanked="r">x</a>`},
		{"metadata dropped, order kept", `<a data-core-metadata="true" href=demo-1.0.tar.gz data-dist-info-metadata=true rel=x>x</a>`,
			`<a href=demo-1.0.tar.gz data-yanked="r" rel=x>x</a>`},
		{"unquoted href before slash", `<a href=demo-1.0.tar.gz/>x</a>`, `<a href=demo-1.0.tar.gz/ data-yanked="r">x</a>`},
		{"deleted attribute keeps values apart", `<a href=demo-1.0.tar.gz x=0 data-core-metadata=""y="1" data-dist-info-metadata="t"/>x</a>`,
			`<a href=demo-1.0.tar.gz data-yanked="r" x=0 y="1" />x</a>`},
	}
	for _, c := range cases {
		ix, err := ParseIndex([]byte(c.page), FormatHTML, "demo")
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		out, _ := ix.Render(nil, []Edit{{Action: Mark, Reason: "r"}}, nil)
		if string(out) != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, out, c.want)
		}
	}
}

func TestHTMLProjectStatus(t *testing.T) {
	page := `<meta name="pypi:project-status" content="archived"><meta name="pypi:project-status" content="quarantined">`
	ix, err := ParseIndex([]byte(page), FormatHTML, "demo")
	if err != nil || ix.ProjectStatus != "quarantined" || len(ix.Files) != 0 {
		t.Fatalf("%v %+v", err, ix)
	}
}

// The strings a caller keeps beyond the request do not point into the body
// (ParseIndex does not copy it): overwriting the body leaves them intact.
func TestParseIndexDetachesKeptStrings(t *testing.T) {
	html := `<meta name="pypi:project-status" content="quarantined"><a href="https://f.example/demo-1.0.tar.gz#sha256=` + strings.Repeat("ab", 32) + `">demo-1.0.tar.gz</a>` +
		`<a href="https://f.example/demo-2.0-py3-none-any.whl">w</a><a href="https://f.example/other-3.0.tar.gz">bad</a><a href="demo%2D4.0.zip">p</a>`
	json := `{"meta":{"api-version":"1.1"},"name":"demo","project-status":{"status":"archived"},"files":[{"filename":"demo-1.0.tar.gz","url":"https://f.example/demo-1.0.tar.gz","hashes":{"sha256":"` + strings.Repeat("cd", 32) + `"}},` +
		`{"filename":"demo-\u0032.0.tar.gz","url":"https://f.example/demo-2.0.tar.gz","hashes":{}}],"versions":["1.0","2.0"]}`
	for _, c := range []struct {
		f    Format
		body string
	}{{FormatHTML, html}, {FormatJSON, json}} {
		want, err := ParseIndex([]byte(c.body), c.f, "demo")
		if err != nil {
			t.Fatal(err)
		}
		if want.ProjectStatus == "" || want.Files[0].Sha256 == "" || want.Files[0].Version != "1.0" {
			t.Fatalf("test page not parsed as expected: %+v", want)
		}
		checkDetached(t, []byte(c.body), c.f, want)
	}
}

// hasControlOrSpace reads 8 bytes at a time: compare it with the plain loop
// for every byte value at every position of strings up to 20 bytes long.
func TestHasControlOrSpace(t *testing.T) {
	naive := func(s string) bool {
		for i := 0; i < len(s); i++ {
			if s[i] <= ' ' || s[i] == 0x7f {
				return true
			}
		}
		return false
	}
	for n := 0; n <= 20; n++ {
		for pos := 0; pos < n; pos++ {
			for c := 0; c < 256; c++ {
				for _, fill := range []byte{'a', 0x80, 0xff, 0x7e, '!'} {
					b := bytes.Repeat([]byte{fill}, n)
					b[pos] = byte(c)
					if got, want := hasControlOrSpace(string(b)), naive(string(b)); got != want {
						t.Fatalf("%q: %v, want %v", b, got, want)
					}
					if want := string(appendHTMLEscaped(nil, string(b))) != string(b); hasHTMLSpecial(string(b)) != want {
						t.Fatalf("hasHTMLSpecial %q: %v, want %v", b, !want, want)
					}
				}
			}
		}
	}
}

// TestAmbiguousRefs: only complete references are read alike by HTML5
// attribute decoding and Python's html.unescape (pip).
func TestAmbiguousRefs(t *testing.T) {
	for s, want := range map[string]bool{
		"/x/demo-1.0.tar.gz":                false,
		"/x/demo-1.0.tar.gz?a=1&amp;b=2":    false,
		"/x/demo&#45;1.0.tar.gz":            false,
		"/x/demo&#x2D;1.0.tar.gz":           false,
		"/x/demo&hyphen;1.0.tar.gz":         false, // a whole HTML5 name
		"/x/demo&NotEqualTilde;1.0.tar.gz":  false,
		"&gty;":                             true, // "&gt" + "y;" to Python, kept by HTML5
		"&ampx;":                            true,
		"&notit;":                           true,
		"&notit":                            true,
		"&amp":                              true,
		"& x":                               true,
		"&;":                                true,
		"&#;":                               true,
		"&#65y;":                            true,
		"&#xfg;":                            true,
		"&#x;":                              true,
		"&#65":                              true,
		"/x/demo-1.0.tar.gz#sha256=ab&amp;": false,
	} {
		if got := ambiguousRefs(s); got != want {
			t.Errorf("ambiguousRefs(%q) = %v, want %v", s, got, want)
		}
	}
}

// TestAppendHrefValue: the shortcuts (a head found plain before, a tail the
// parser found plain) write exactly what escaping both parts writes.
func TestAppendHrefValue(t *testing.T) {
	links := []mappedLink{
		{head: "https://proxy/pypi/files/", tail: "a/b/demo-1.0.tar.gz#sha256=ab"},
		{head: "https://proxy/pypi/files/", tail: "x/demo-1.0.tar.gz?a=1&b=<2>"},
		{head: "https://proxy/p&q/files/", tail: "a/demo-2.0.tar.gz"},
		{head: "https://proxy/pypi/files/", tail: "c/demo-'3'.tar.gz"},
		{head: "https://proxy/p\"q/", tail: ""},
		{head: "", tail: "https://files.example/demo-4.0.tar.gz"},
	}
	plainHead := ""
	for i, l := range links {
		for _, bare := range []bool{false, true} {
			want := ""
			if bare {
				want = "="
			}
			want += `"` + string(appendHTMLEscaped(appendHTMLEscaped(nil, l.head), l.tail)) + `"`
			got := string(appendHrefValue(nil, l, bare, !hasHTMLSpecial(l.tail), &plainHead))
			if got != want {
				t.Fatalf("link %d: %s, want %s", i, got, want)
			}
		}
	}
}
