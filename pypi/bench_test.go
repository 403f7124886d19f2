package pypi

import (
	"testing"

	"github.com/osaproxy/caddy-osaproxy/internal/pagegen"
)

// benchProject is about the size of botocore's page: 1000 releases x 5 files.
var benchProject = pagegen.NewProject(42, "botocore", 1000, 5)

type prefixMapper struct{}

func (prefixMapper) MapLink(h string) (string, bool) {
	const host = "https://files.pythonhosted.org"
	if len(h) > len(host) && h[:len(host)] == host {
		return "/repo" + h[len(host):], true
	}
	return "", false
}

func benchIndex(b *testing.B, f Format, body []byte, links LinkMapper, removeEvery int) {
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	var dst []byte
	var edits []Edit
	for b.Loop() {
		ix, err := ParseIndex(body, f, "botocore")
		if err != nil {
			b.Fatal(err)
		}
		if cap(edits) < len(ix.Files) {
			edits = make([]Edit, len(ix.Files))
		}
		edits = edits[:len(ix.Files)]
		for i := range edits {
			edits[i] = Edit{}
			if removeEvery > 0 && i%removeEvery == 0 {
				edits[i].Action = Remove
			}
		}
		dst, err = ix.Render(dst[:0], edits, links)
		if err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseIndexHTML(b *testing.B) {
	body := benchProject.HTML()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseIndex(body, FormatHTML, "botocore"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseIndexJSON(b *testing.B) {
	body := benchProject.JSON()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseIndex(body, FormatJSON, "botocore"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFilterHTMLKeep(b *testing.B) { benchIndex(b, FormatHTML, benchProject.HTML(), nil, 0) }
func BenchmarkFilterHTMLMapped(b *testing.B) {
	benchIndex(b, FormatHTML, benchProject.HTML(), prefixMapper{}, 0)
}
func BenchmarkFilterHTMLRemove(b *testing.B) {
	benchIndex(b, FormatHTML, benchProject.HTML(), prefixMapper{}, 7)
}
func BenchmarkFilterJSONKeep(b *testing.B) { benchIndex(b, FormatJSON, benchProject.JSON(), nil, 0) }
func BenchmarkFilterJSONMapped(b *testing.B) {
	benchIndex(b, FormatJSON, benchProject.JSON(), prefixMapper{}, 0)
}
func BenchmarkFilterJSONRemove(b *testing.B) {
	benchIndex(b, FormatJSON, benchProject.JSON(), prefixMapper{}, 7)
}
