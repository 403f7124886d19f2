package pypi

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	xhtml "golang.org/x/net/html"
)

// editsFrom derives deterministic edits from a mask.
func editsFrom(n int, mask uint64) []Edit {
	edits := make([]Edit, n)
	for i := range edits {
		switch (mask >> (2 * uint(i%32))) & 3 {
		case 1:
			edits[i] = Edit{Action: Remove}
		case 2:
			edits[i] = Edit{Action: Mark, Reason: "fuzz <&\"'> reason"}
		}
	}
	return edits
}

func checkIndexInvariants(t *testing.T, data []byte, f Format, mask uint64) {
	ix, err := ParseIndex(data, f, "demo")
	if err != nil {
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Fatalf("error is not a *ParseError: %T %v", err, err)
		}
		return
	}
	if f == FormatJSON {
		jsonDifferential(t, data, ix)
	}
	checkDetached(t, data, f, ix)
	// The page parsed again with its own memo, and with the memo of a
	// page whose files are shifted by one, parses the same.
	for _, memo := range []*NameMemo{NewNameMemo(ix), {project: "demo", files: append([]memoName{{}}, NewNameMemo(ix).files...)}} {
		again := new(Index)
		if err := ParseIndexWith(again, bytes.Clone(data), f, "demo", memo, nil); err != nil {
			t.Fatalf("parse with a memo: %v", err)
		}
		sameParse(t, "with a memo", again, ix)
	}
	// Links split while parsing render as links split at render time.
	{
		sp := &countingSplitter{origin: "https://files.pythonhosted.org", head: "/p", skip: "1.0"}
		pre := new(Index)
		if err := ParseIndexWith(pre, bytes.Clone(data), f, "demo", nil, sp); err != nil {
			t.Fatalf("parse with a splitter: %v", err)
		}
		ed := make([]Edit, len(ix.Files))
		for i := range ed {
			ed[i].Action = Action(mask >> (i % 64) & 1) // Keep or Remove
		}
		a, errA := pre.Render(nil, ed, sp)
		b, errB := ix.Render(nil, ed, &countingSplitter{origin: "https://files.pythonhosted.org", head: "/p", skip: "1.0"})
		if (errA == nil) != (errB == nil) || !bytes.Equal(a, b) {
			t.Fatalf("parse-time splits render differently (%v, %v)", errA, errB)
		}
	}
	// identity
	for _, links := range []LinkMapper{nil, identity} {
		out, err := ix.Render(nil, make([]Edit, len(ix.Files)), links)
		if err != nil || !bytes.Equal(out, data) {
			t.Fatalf("all-Keep identity render differs (err %v)", err)
		}
	}
	// remove all: nothing left, still parseable
	all := make([]Edit, len(ix.Files))
	for i := range all {
		all[i].Action = Remove
	}
	out, err := ix.Render(nil, all, nil)
	if err != nil {
		t.Fatal(err)
	}
	ix2, err := ParseIndex(out, f, "demo")
	if err != nil {
		t.Fatalf("remove-all output does not parse: %v\n%q", err, out)
	}
	if len(ix2.Files) != 0 {
		t.Fatalf("remove-all left %d files:\n%q", len(ix2.Files), out)
	}
	if f == FormatJSON && !json.Valid(out) {
		t.Fatalf("remove-all output is not JSON")
	}
	// mixed edits with a rewriting mapper: kept and marked files remain, in order
	edits := editsFrom(len(ix.Files), mask)
	mapper := mapFunc(func(h string) (string, bool) { return "/p/" + h, true })
	out, err = ix.Render(nil, edits, mapper)
	if err != nil {
		t.Fatal(err)
	}
	ix3, err := ParseIndex(out, f, "demo")
	if err != nil {
		t.Fatalf("edited output does not parse: %v\n%q", err, out)
	}
	var want []int
	for i, e := range edits {
		if e.Action != Remove {
			want = append(want, i)
		}
	}
	if len(ix3.Files) != len(want) {
		t.Fatalf("edited output has %d files, want %d:\n%q", len(ix3.Files), len(want), out)
	}
	for k, i := range want {
		g, o := ix3.Files[k], ix.Files[i]
		if g.URL != "/p/"+o.URL {
			t.Fatalf("file %d: url %q, want %q", k, g.URL, "/p/"+o.URL)
		}
		if edits[i].Action == Mark && (!g.Yanked || g.YankedReason != edits[i].Reason || g.HasMetadata) {
			t.Fatalf("file %d not marked: %+v", k, g)
		}
		if edits[i].Action == Keep && (g.Yanked != o.Yanked || g.HasMetadata != o.HasMetadata) {
			t.Fatalf("file %d changed: %+v", k, g)
		}
	}
}

func FuzzParseIndexHTML(f *testing.F) {
	f.Add([]byte(warehouseHTML), uint64(0x9))
	f.Add([]byte(`<a href=demo-1.0.tar.gz data-yanked>x</a><<a href='demo-2.0.zip'>y</a>a href=z>`), uint64(0x5))
	f.Fuzz(func(t *testing.T, data []byte, mask uint64) {
		if len(data) > 1<<16 {
			return
		}
		checkIndexInvariants(t, data, FormatHTML, mask)
	})
}

func FuzzParseIndexJSON(f *testing.F) {
	f.Add([]byte(warehouseJSON), uint64(0x6))
	f.Add([]byte(`{"files":[{"filename":"demo-1.0.tar.gz","url":"demo-1.0.tar.gz"}],"versions":["1.0"]}`), uint64(1))
	f.Fuzz(func(t *testing.T, data []byte, mask uint64) {
		if len(data) > 1<<16 {
			return
		}
		checkIndexInvariants(t, data, FormatJSON, mask)
	})
}

func FuzzParseFilename(f *testing.F) {
	for _, s := range []string{"python-dateutil-2.8.2.tar.gz", "foo-1.0-1.tar.gz", "torch-2.1.0+cpu-cp311-cp311-linux_x86_64.whl",
		"numpy-1.0.1.dev3460.win32-py2.4.exe", "pkgwithmpkg-1.0-py2.7-macosx10.7.mpkg.zip", "foo_bar-1.0-py2.7-linux-x86_64.egg"} {
		f.Add(s, "")
	}
	f.Fuzz(func(t *testing.T, name, project string) {
		fi, err := ParseFilename(name, project)
		if err == nil {
			if fi.Filename != name || fi.Version == "" || !IsNormalized(fi.Project) || !validVersionText(fi.Version) {
				t.Fatalf("ParseFilename(%q, %q) = %+v", name, project, fi)
			}
			if project != "" && fi.Project != NormalizeName(project) {
				t.Fatalf("project %q != %q", fi.Project, NormalizeName(project))
			}
		}
		for _, c := range FilenameCandidates(name) {
			if c.Filename != name || c.Version == "" || !IsNormalized(c.Project) {
				t.Fatalf("candidate %+v", c)
			}
			if c.Type == TypeSdist || c.Type == TypeOther {
				// With the project known, the split is pip's: the first dash
				// whose prefix normalizes to the project. A shorter prefix
				// can normalize to the same name ("0.-" and "0." are both
				// "0-"); only then may the version differ, or be invalid.
				again, err := ParseFilename(name, c.Project)
				if (err != nil || again.Version != c.Version) && !ambiguousSplit(name, c.Project) {
					t.Fatalf("candidate %+v does not reparse: %+v %v", c, again, err)
				}
			}
		}
		if n := NormalizeName(name); NormalizeName(n) != n || !IsNormalized(n) || !equalNormalized(name, n) {
			t.Fatalf("NormalizeName(%q) = %q is not stable", name, n)
		}
	})
}

func printable(s string) bool {
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return utf8.ValidString(s)
}

func FuzzParseContext(f *testing.F) {
	f.Add(EncodeContext(RepoContext{RepoManagerHost: "artifactory.example.com", RepoName: "pypi"}))
	f.Add("eyJyZXBvTmFtZSI6Ij4-Pj8ifQ")
	f.Add("e30%3D")
	f.Fuzz(func(t *testing.T, seg string) {
		rc, err := ParseContext(seg)
		if err != nil {
			if !printable(err.Error()) || strings.Contains(err.Error(), seg) && len(seg) > 8 {
				t.Fatalf("error echoes input or is not printable: %q", err)
			}
			return
		}
		if !cleanText(rc.RepoName) || !cleanText(rc.RepoManagerHost) {
			t.Fatalf("control characters accepted: %+v", rc)
		}
		back, err := ParseContext(EncodeContext(rc))
		if err != nil || back != rc {
			t.Fatalf("round trip %+v: %+v %v", rc, back, err)
		}
	})
}

func FuzzClassify(f *testing.F) {
	for _, s := range []string{"/simple/", "/simple/Foo_Bar", hashPath + "/requests-2.31.0.tar.gz.metadata",
		"/packages/source/r/requests/requests-2.31.0.tar.gz", "/pypi/Django/1.0/json/", "/x/k/whl/torch-2.1.0%2Bcpu-cp311-cp311-linux_x86_64.whl",
		"/packages/%2e%2e/x.tar.gz", "/simple/%252e/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		r, err := Classify(p, []string{"k"})
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || (e.Status != 400 && e.Status != 404) || !printable(e.Msg) {
				t.Fatalf("bad error %#v", err)
			}
			return
		}
		if r.Redirect != "" {
			r2, err := Classify(r.Redirect, []string{"k"})
			if err != nil || r2.Redirect != "" || r2.Op == "" {
				t.Fatalf("redirect %q from %q is not canonical: %+v %v", r.Redirect, p, r2, err)
			}
			return
		}
		u := r.UpstreamPath
		if !strings.HasPrefix(u, "/") || strings.Contains(u, "//") || strings.Contains(u, "/../") || strings.Contains(u, "/./") ||
			strings.HasSuffix(u, "/..") || strings.ContainsAny(u, "\\?#;\x00") {
			t.Fatalf("unsafe upstream path %q from %q", u, p)
		}
		for i := 0; i < len(u); i++ {
			if u[i] < 0x21 || u[i] >= 0x7f {
				t.Fatalf("raw byte %#x in upstream path %q", u[i], u)
			}
		}
		// The upstream path is canonical: classifying it again (as a
		// packages or simple path) gives the same segments.
		if r.Upstream.Kind != UpstreamAdditional {
			r2, err := Classify(u, nil)
			if err != nil || r2.UpstreamPath != u || r2.Filename != r.Filename || r2.Op != r.Op {
				t.Fatalf("upstream path %q does not reclassify: %+v %v", u, r2, err)
			}
		}
		if r.Filename != "" && len(FilenameCandidates(r.Filename)) == 0 {
			t.Fatalf("route to a non-distribution file %q", r.Filename)
		}
	})
}

func FuzzProjectList(f *testing.F) {
	f.Add([]byte("<body>\n    <a href=\"/simple/a/\">A</a>\n    <a href=\"b/\">b</a><br/>\n</body>"), false, uint8(3))
	f.Add([]byte(`{"meta":{"_last-serial":1},"projects":[{"_last-serial":1,"name":"A"},{"_last-serial":2,"name":"b.c"}]}`), true, uint8(5))
	f.Add([]byte("<body>\n    <a href=\"/simple/foo-bar/\">Foo_Bar</a>\n    <a href=\"/simple/zope-interface/\">zope.interface</a>\n"+
		"    <a href=\"/simple/Zope_.Interface/\">Zope_.Interface</a><br />\n    <a href=\"/simple/simple/\">simple</a>\n</body>"), false, uint8(7))
	f.Add([]byte("<body>\n    <a href=\"/simple/abcdefgh-ijklmnop-q/\">Abcdefgh_Ijklmnop.Q</a>\n    <a href=\"/simple/abcdefg--h/\">x</a>\n"+
		"    <a href=\"/simple/a0123456789/\">a</a><br/>\n    <a href=\"/simple/abcdefghijklmno-/\">a</a>\n</body>"), false, uint8(11))
	f.Fuzz(func(t *testing.T, data []byte, isJSON bool, chunk uint8) {
		if len(data) > 1<<16 {
			return
		}
		format := FormatHTML
		if isJSON {
			format = FormatJSON
		}
		drop := func(n string) bool { return len(n)%2 == 0 }
		run := func(n int) ([]byte, error) {
			var out bytes.Buffer
			w := NewProjectListFilter(&out, format, "/p", drop)
			for i := 0; i < len(data); i += n {
				if _, err := w.Write(data[i:min(i+n, len(data))]); err != nil {
					return nil, err
				}
			}
			err := w.Close()
			return out.Bytes(), err
		}
		whole, errWhole := run(len(data) + 1)
		parts, errParts := run(int(chunk%32) + 1)
		if (errWhole == nil) != (errParts == nil) {
			t.Fatalf("errors differ: %v vs %v", errWhole, errParts)
		}
		if errWhole == nil && !bytes.Equal(whole, parts) {
			t.Fatalf("chunked output differs:\n%q\n%q", whole, parts)
		}
		if errWhole == nil && isJSON && json.Valid(data) && !json.Valid(whole) {
			t.Fatalf("valid JSON became invalid: %q", whole)
		}
		// The same output, and the same questions to drop, as the filter
		// before the byte-scanner rewrite (projectlist_ref_test.go).
		var cuts []int
		for i := int(chunk%32) + 1; i < len(data); i += int(chunk%32) + 1 {
			cuts = append(cuts, i)
		}
		for dk := range 3 {
			comparePL(t, data, format, "/p", dk, nil)
			comparePL(t, data, format, "/p", dk, cuts)
		}
	})
}

// html5Hrefs lists the href of every <a> start tag as golang.org/x/net/html's
// HTML5 tokenizer sees it (first href attribute wins, as in tree building).
func html5Hrefs(data []byte) []string {
	z := xhtml.NewTokenizer(bytes.NewReader(data))
	var out []string
	for {
		tt := z.Next()
		if tt == xhtml.ErrorToken {
			return out
		}
		if tt != xhtml.StartTagToken && tt != xhtml.SelfClosingTagToken {
			continue
		}
		tok := z.Token()
		if tok.Data != "a" {
			continue
		}
		for _, a := range tok.Attr {
			if a.Key == "href" && a.Namespace == "" {
				out = append(out, a.Val)
				break
			}
		}
	}
}

// FuzzHTMLDifferential checks that every page ParseIndex accepts has
// exactly the links an HTML5 tokenizer finds, in the same order: a link the
// filter does not see could never be removed.
func FuzzHTMLDifferential(f *testing.F) {
	f.Add([]byte(warehouseHTML))
	f.Add([]byte(`<A HREF='../x/demo-1.0.tar.gz' DATA-YANKED>demo</A><a href=demo-1.1.zip>x</a><br>`))
	f.Add([]byte(`<img alt='<a href="x' ><a href=demo-1.0.tar.gz>demo</a>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		ix, err := ParseIndex(data, FormatHTML, "demo")
		if err != nil {
			return
		}
		want := html5Hrefs(data)
		var got []string
		for _, f := range ix.Files {
			if f.flags&flagHrefBare != 0 {
				got = append(got, "")
				continue
			}
			got = append(got, f.URL)
		}
		if len(got) != len(want) {
			t.Fatalf("filter sees %d links %q, HTML5 sees %d %q", len(got), got, len(want), want)
		}
		for i := range got {
			raw := data[ix.Files[i].hrefStart:ix.Files[i].hrefEnd]
			if ambiguousRefs(string(raw)) {
				if ix.Files[i].ParseErr == nil {
					t.Fatalf("ambiguous href %q without ParseErr", raw)
				}
				continue
			}
			if got[i] != cleanURL(want[i]) {
				t.Fatalf("link %d: filter %q, HTML5 %q", i, got[i], want[i])
			}
		}
	})
}

// jsonDifferential checks an accepted JSON page against encoding/json: the
// document is valid and has the same files with the same filename and url.
func jsonDifferential(t *testing.T, data []byte, ix *Index) {
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("accepted JSON that encoding/json refuses: %v", err)
	}
	files, _ := doc["files"].([]any)
	if len(files) != len(ix.Files) {
		t.Fatalf("%d files, encoding/json sees %d", len(ix.Files), len(files))
	}
	for i, fv := range files {
		m := fv.(map[string]any)
		if m["filename"] != ix.Files[i].Filename || cleanURL(m["url"].(string)) != ix.Files[i].URL {
			t.Fatalf("file %d: %q %q, encoding/json: %q %q", i, ix.Files[i].Filename, ix.Files[i].URL, m["filename"], m["url"])
		}
		y := m["yanked"]
		if y == nil {
			y = false
		}
		if (y != false) != ix.Files[i].Yanked {
			t.Fatalf("file %d: yanked %v, encoding/json %v", i, ix.Files[i].Yanked, y)
		}
	}
	if v, ok := doc["versions"].([]any); ok && len(v) != len(ix.Versions) {
		t.Fatalf("versions %d, encoding/json %d", len(ix.Versions), len(v))
	}
}

// checkDetached parses a copy of data, overwrites the copy, and checks that
// the strings ParseIndex promises to own (Filename, Version, ProjectStatus,
// a FilenameError's filename) did not change with it.
func checkDetached(t *testing.T, data []byte, f Format, want *Index) {
	body := bytes.Clone(data)
	ix, err := ParseIndex(body, f, "demo")
	if err != nil {
		t.Fatalf("a copy of the page does not parse: %v", err)
	}
	for i := range body {
		body[i] = 0xff
	}
	if ix.ProjectStatus != want.ProjectStatus || len(ix.Files) != len(want.Files) {
		t.Fatalf("project status %q (want %q), %d files (want %d)", ix.ProjectStatus, want.ProjectStatus, len(ix.Files), len(want.Files))
	}
	for i := range ix.Files {
		g, w := &ix.Files[i], &want.Files[i]
		if g.Filename != w.Filename || g.Version != w.Version {
			t.Fatalf("file %d: %q %q after the body changed, want %q %q", i, g.Filename, g.Version, w.Filename, w.Version)
		}
		var ge, we *FilenameError
		if errors.As(g.ParseErr, &ge) != errors.As(w.ParseErr, &we) || ge != nil && ge.Filename != we.Filename {
			t.Fatalf("file %d: parse error %v, want %v", i, g.ParseErr, w.ParseErr)
		}
	}
}

// ambiguousSplit reports whether two or more dashes of a filename's stem
// follow a prefix that normalizes to project.
func ambiguousSplit(name, project string) bool {
	ext, typ := DistributionExt(name)
	stem := name[:len(name)-len(ext)]
	if typ == TypeOther {
		stem = stripInstallerSuffixes(stem)
	}
	n := 0
	for i := 0; i < len(stem); i++ {
		if stem[i] == '-' && equalNormalized(stem[:i], project) {
			n++
		}
	}
	return n >= 2
}
