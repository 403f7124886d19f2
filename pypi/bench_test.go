package pypi

import (
	"io"
	"runtime"
	"testing"

	"github.com/osaproxy/caddy-osaproxy/internal/pagegen"
)

// benchProject is about the size of botocore's page: 1000 releases x 5 files.
var benchProject = pagegen.NewProject(42, "botocore", 1000, 5)

// prefixMapper makes files.pythonhosted.org links host-relative (the proxy
// serves /packages/...) without allocating, so the benchmarks' allocation
// counts are the filter's own.
type prefixMapper struct{}

func (prefixMapper) MapLink(h string) (string, bool) {
	const host = "https://files.pythonhosted.org"
	if len(h) > len(host) && h[:len(host)] == host {
		return h[len(host):], true
	}
	return "", false
}

// cpuMeter reports MB per CPU second (user+system time of the process,
// which includes the garbage collector) next to Go's wall-clock MB/s.
type cpuMeter struct {
	b     *testing.B
	bytes int64
	start float64
}

func startCPU(b *testing.B, bytes int) *cpuMeter {
	b.SetBytes(int64(bytes))
	b.ReportAllocs()
	return &cpuMeter{b: b, bytes: int64(bytes), start: processCPU()}
}

func (m *cpuMeter) stop() {
	if d := processCPU() - m.start; d > 0 && m.start > 0 {
		m.b.ReportMetric(float64(m.bytes)*float64(m.b.N)/d/1e6, "MB/cpu-s")
	}
}

func benchIndex(b *testing.B, f Format, body []byte, links LinkMapper, removeEvery int) {
	m := startCPU(b, len(body))
	defer m.stop()
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
	m := startCPU(b, len(body))
	defer m.stop()
	for b.Loop() {
		if _, err := ParseIndex(body, FormatHTML, "botocore"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseIndexJSON(b *testing.B) {
	body := benchProject.JSON()
	m := startCPU(b, len(body))
	defer m.stop()
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

// 700k projects: the size of pypi.org's /simple/ list.
const benchProjects = 700_000

var (
	listHTML, listJSON []byte
)

func benchProjectList(b *testing.B, f Format, drop func(string) bool) {
	if listHTML == nil {
		listHTML = pagegen.ProjectListHTML(1, benchProjects)
		listJSON = pagegen.ProjectListJSON(1, benchProjects)
	}
	body := listHTML
	if f == FormatJSON {
		body = listJSON
	}
	const chunk = 32 << 10
	m := startCPU(b, len(body))
	defer m.stop()
	for b.Loop() {
		w := NewProjectListFilter(io.Discard, f, "/repo/ctx", drop)
		for i := 0; i < len(body); i += chunk {
			if _, err := w.Write(body[i:min(i+chunk, len(body))]); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
	// Live memory held by a filter that has consumed the whole list.
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	w := NewProjectListFilter(io.Discard, f, "/repo/ctx", drop)
	for i := 0; i < len(body); i += chunk {
		_, _ = w.Write(body[i:min(i+chunk, len(body))])
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	_ = w.Close()
	b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/1024, "live-KB")
	b.ReportMetric(float64(len(body))/(1<<20), "list-MB")
}

func dropSome(n string) bool { return len(n)%7 == 0 }

func BenchmarkProjectListHTML(b *testing.B)       { benchProjectList(b, FormatHTML, dropSome) }
func BenchmarkProjectListJSON(b *testing.B)       { benchProjectList(b, FormatJSON, dropSome) }
func BenchmarkProjectListJSONNoDrop(b *testing.B) { benchProjectList(b, FormatJSON, nil) }

// The root package's use: no drop function, every anchor rewritten.
func BenchmarkProjectListHTMLNoDrop(b *testing.B) { benchProjectList(b, FormatHTML, nil) }
