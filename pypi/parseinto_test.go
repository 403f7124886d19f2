package pypi

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/osaproxy/caddy-osaproxy/internal/pagegen"
)

// TestParseIndexIntoReuse: parsing into a used Index gives exactly what a
// fresh ParseIndex gives, whatever the previous page was (bigger, smaller,
// the other format, or refused), and keeps its storage.
func TestParseIndexIntoReuse(t *testing.T) {
	big := pagegen.NewProject(1, "botocore", 200, 5)
	small := pagegen.NewProject(2, "botocore", 3, 2)
	pages := []struct {
		name string
		body []byte
		f    Format
	}{
		{"big html", big.HTML(), FormatHTML},
		{"small json", small.JSON(), FormatJSON},
		{"refused html", []byte("<a href=\"x\x00\">"), FormatHTML},
		{"big html refused at its end", append(big.HTML(), `<a href="x" href="y">x</a>`...), FormatHTML},
		{"small html", small.HTML(), FormatHTML},
		{"big json", big.JSON(), FormatJSON},
		{"empty html", []byte("<html><body></body></html>"), FormatHTML},
		{"big html again", big.HTML(), FormatHTML},
	}
	ix := new(Index)
	for _, p := range pages {
		body := bytes.Clone(p.body)
		want, wantErr := ParseIndex(bytes.Clone(p.body), p.f, "botocore")
		capBefore := cap(ix.Files)
		err := ParseIndexInto(ix, body, p.f, "botocore")
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("%s: error %v, fresh parse %v", p.name, err, wantErr)
		}
		if err != nil {
			if len(ix.Files) != 0 || ix.Project != "" {
				t.Fatalf("%s: a refused page left %d files, project %q", p.name, len(ix.Files), ix.Project)
			}
			continue
		}
		if len(want.Files) <= capBefore && cap(ix.Files) != capBefore {
			t.Errorf("%s: storage for %d files not reused (cap %d -> %d)", p.name, len(want.Files), capBefore, cap(ix.Files))
		}
		if len(want.Files) != len(ix.Files) {
			t.Fatalf("%s: %d files, fresh parse %d", p.name, len(ix.Files), len(want.Files))
		}
		for i := range want.Files {
			if !reflect.DeepEqual(want.Files[i], ix.Files[i]) {
				t.Fatalf("%s: file %d differs:\n got %+v\nwant %+v", p.name, i, ix.Files[i], want.Files[i])
			}
		}
		if !reflect.DeepEqual(want.Versions, ix.Versions) || want.Name != ix.Name || want.BaseHref != ix.BaseHref || want.ProjectStatus != ix.ProjectStatus {
			t.Fatalf("%s: page fields differ", p.name)
		}
		edits := make([]Edit, len(want.Files))
		if len(edits) > 1 {
			edits[1] = Edit{Action: Remove}
		}
		a, err1 := want.Render(nil, edits, nil)
		b, err2 := ix.Render(nil, edits, nil)
		if err1 != nil || err2 != nil || !bytes.Equal(a, b) {
			t.Fatalf("%s: rendering differs (%v, %v)", p.name, err1, err2)
		}
		// Spare capacity holds no reference to an earlier page.
		spare := ix.Files[len(ix.Files):cap(ix.Files)]
		for i := range spare {
			if !reflect.DeepEqual(spare[i], IndexFile{}) {
				t.Fatalf("%s: spare file %d still holds %q", p.name, i, spare[i].Filename)
			}
		}
	}
}
