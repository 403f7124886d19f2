package pypi

import (
	"bytes"
	"strings"
	"testing"

	"github.com/osaproxy/caddy-osaproxy/internal/pagegen"
)

// without returns a copy of p without the files drop reports, and without
// the versions that lose all their files (what pypi.org would render).
func without(p *pagegen.Project, drop func(pagegen.File) bool) *pagegen.Project {
	q := *p
	q.Files = nil
	left := map[string]bool{}
	had := map[string]bool{}
	for _, f := range p.Files {
		had[f.Version] = true
		if !drop(f) {
			q.Files = append(q.Files, f)
			left[f.Version] = true
		}
	}
	q.Versions = nil
	for _, v := range p.Versions {
		if left[v] || !had[v] {
			q.Versions = append(q.Versions, v)
		}
	}
	return &q
}

func TestGeneratedPagesRender(t *testing.T) {
	p := pagegen.NewProject(11, "Zope.Interface", 120, 4)
	badVersions := map[string]bool{"0.0.1": true, "0.1.5": true, "1.1.9": true}
	dropRule := func(f pagegen.File) bool {
		return badVersions[f.Version] || strings.HasSuffix(f.Filename, "win32.whl")
	}
	want := without(p, dropRule)
	for _, format := range []Format{FormatHTML, FormatJSON} {
		_, ix := parsedPage(t, p, format, "zope-interface")
		wantBody := pageBody(want, format)
		if len(ix.Files) != len(p.Files) || ix.ProjectStatus != "active" {
			t.Fatalf("format %d: %d files", format, len(ix.Files))
		}
		edits := make([]Edit, len(ix.Files))
		for i, f := range ix.Files {
			g := p.Files[i]
			if f.Filename != g.Filename || f.Version != g.Version || f.Sha256 != g.Sha256 || f.Yanked != g.Yanked ||
				f.YankedReason != g.YankedReason || f.RequiresPython != g.RequiresPython || f.HasMetadata != (g.MetadataSha256 != "") || f.ParseErr != nil {
				t.Fatalf("format %d file %d: %+v\nwant %+v", format, i, f, g)
			}
			if format == FormatJSON && (!f.UploadTime.Equal(g.UploadTime) || f.Size != g.Size) {
				t.Fatalf("file %d: time %v size %d", i, f.UploadTime, f.Size)
			}
			if dropRule(g) {
				edits[i].Action = Remove
			}
		}
		out, err := ix.Render(nil, edits, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, wantBody) {
			t.Fatalf("format %d: filtered page differs from pypi.org's rendering without the files", format)
		}
		// Link rewriting equals rendering with rewritten URLs.
		mapped, _ := ix.Render(nil, edits, prefixMapper{})
		rewritten := strings.ReplaceAll(string(wantBody), "https://files.pythonhosted.org/packages/", "/packages/")
		if string(mapped) != rewritten {
			t.Fatalf("format %d: mapped page differs", format)
		}
	}
}

// Zero allocations per kept file: parsing and rendering a page with ten
// times more files allocates (almost) nothing more.
func TestAllocationsIndependentOfFiles(t *testing.T) {
	small := pagegen.NewProject(1, "demo", 20, 5)
	large := pagegen.NewProject(1, "demo", 200, 5)
	for _, format := range []Format{FormatHTML, FormatJSON} {
		count := func(p *pagegen.Project) float64 {
			body := pageBody(p, format)
			dst := make([]byte, 0, 2*len(body))
			edits := make([]Edit, len(p.Files))
			for i := range edits {
				if i%9 == 0 {
					edits[i].Action = Remove
				}
			}
			return testing.AllocsPerRun(5, func() {
				ix, err := ParseIndex(body, format, "demo")
				if err != nil {
					t.Fatal(err)
				}
				if _, err := ix.Render(dst[:0], edits, prefixMapper{}); err != nil {
					t.Fatal(err)
				}
			})
		}
		a, b := count(small), count(large)
		// growth of the Files/Versions slices and per-render bookkeeping only
		if b-a > 20 {
			t.Errorf("format %d: %v allocations for 100 files, %v for 1000", format, a, b)
		}
	}
}
