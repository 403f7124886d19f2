package pagegen

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestDeterministic(t *testing.T) {
	a, b := NewProject(5, "Foo.Bar", 30, 4), NewProject(5, "Foo.Bar", 30, 4)
	if !bytes.Equal(a.HTML(), b.HTML()) || !bytes.Equal(a.JSON(), b.JSON()) {
		t.Fatal("same seed, different pages")
	}
	if c := NewProject(6, "Foo.Bar", 30, 4); bytes.Equal(a.JSON(), c.JSON()) {
		t.Fatal("different seeds, same page")
	}
	if !bytes.Equal(ProjectListJSON(3, 100), ProjectListJSON(3, 100)) {
		t.Fatal("project list not deterministic")
	}
}

func TestProjectShape(t *testing.T) {
	p := NewProject(1, "Foo.Bar", 40, 3)
	if p.Normalized != "foo-bar" || len(p.Files) != 120 || len(p.Versions) != 40 {
		t.Fatalf("project: %s %d files %d versions", p.Normalized, len(p.Files), len(p.Versions))
	}
	yanked, meta, prov := 0, 0, 0
	for i, f := range p.Files {
		if len(f.Sha256) != 64 || !strings.HasPrefix(f.URL, "https://files.pythonhosted.org/packages/") || !strings.HasSuffix(f.URL, "/"+f.Filename) {
			t.Fatalf("file %d: %+v", i, f)
		}
		if parts := strings.Split(strings.TrimPrefix(f.URL, "https://files.pythonhosted.org/packages/"), "/"); len(parts) != 4 || len(parts[0]) != 2 || len(parts[1]) != 2 || len(parts[2]) != 60 {
			t.Fatalf("blake2 path: %s", f.URL)
		}
		if !strings.HasPrefix(f.Filename, "foo_bar-"+f.Version) {
			t.Fatalf("filename %s for %s", f.Filename, f.Version)
		}
		if i > 0 && !f.UploadTime.After(p.Files[i-1].UploadTime) {
			t.Fatal("upload times not increasing")
		}
		if f.Yanked {
			yanked++
		}
		if f.MetadataSha256 != "" {
			meta++
		}
		if f.Provenance != "" {
			prov++
		}
	}
	if yanked == 0 || meta == 0 || prov == 0 || meta == len(p.Files) {
		t.Fatalf("yanked %d, metadata %d, provenance %d", yanked, meta, prov)
	}
	var doc struct {
		Files []struct {
			Filename string `json:"filename"`
			Yanked   any    `json:"yanked"`
		} `json:"files"`
		Versions []string `json:"versions"`
		Meta     struct {
			API string `json:"api-version"`
		} `json:"meta"`
	}
	js := p.JSON()
	if err := json.Unmarshal(js, &doc); err != nil || len(doc.Files) != 120 || doc.Meta.API != "1.4" || js[len(js)-1] != '\n' {
		t.Fatalf("JSON: %v", err)
	}
	html := string(p.HTML())
	if !strings.HasPrefix(html, "<!DOCTYPE html>\n<html lang=\"en\">\n  <head>\n    <meta name=\"pypi:repository-version\" content=\"1.4\">") ||
		!strings.HasSuffix(html, "  </body>\n</html>\n<!--SERIAL "+itoa(p.Serial)+"-->") || strings.Count(html, "<br />\n") != 120 {
		t.Fatalf("HTML layout:\n%s", html[:300])
	}
	if !strings.Contains(html, `data-requires-python="&gt;=3.8"`) {
		t.Fatal("requires-python not escaped")
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestProjectList(t *testing.T) {
	names := ProjectNames(2, 500)
	seen := map[string]bool{}
	for i, n := range names {
		norm := normalize(n)
		if seen[norm] || (i > 0 && normalize(names[i-1]) >= norm) {
			t.Fatalf("names not unique and sorted at %d: %q", i, n)
		}
		seen[norm] = true
	}
	var doc struct {
		Projects []struct {
			Name string `json:"name"`
		} `json:"projects"`
	}
	if err := json.Unmarshal(ProjectListJSON(2, 500), &doc); err != nil || len(doc.Projects) != 500 || doc.Projects[7].Name != names[7] {
		t.Fatalf("JSON list: %v", err)
	}
	html := string(ProjectListHTML(2, 500))
	if strings.Count(html, "<a href=\"/simple/") != 500 || !strings.Contains(html, `<a href="/simple/`+normalize(names[3])+`/">`+names[3]+"</a>\n") {
		t.Fatal("HTML list")
	}
}
