package pypi

import (
	"testing"

	"github.com/osaproxy/caddy-osaproxy/internal/pagegen"
)

// pageBody renders p as its index page in format f.
func pageBody(p *pagegen.Project, f Format) []byte {
	if f == FormatJSON {
		return p.JSON()
	}
	return p.HTML()
}

// parsedPage renders p in format f and parses it for project; the test
// fails if the page does not parse.
func parsedPage(t testing.TB, p *pagegen.Project, f Format, project string) ([]byte, *Index) {
	t.Helper()
	body := pageBody(p, f)
	ix, err := ParseIndex(body, f, project)
	if err != nil {
		t.Fatalf("%v page of %s: %v", f, p.Name, err)
	}
	return body, ix
}
