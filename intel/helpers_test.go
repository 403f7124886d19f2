package intel

import (
	"archive/zip"
	"io"
	"strings"
	"testing"

	"github.com/osaproxy/caddy-osaproxy/internal/testdata"
)

// sharedOSV is internal/testdata.SharedOSV.
func sharedOSV(t testing.TB) string { return testdata.SharedOSV(t) }

// eachZipEntry calls fn with the name and bytes of every file of a zip
// whose name passes keep (nil: every file).
func eachZipEntry(t testing.TB, path string, keep func(name string) bool, fn func(name string, b []byte)) {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		if f.FileInfo().IsDir() || keep != nil && !keep(f.Name) {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		fn(f.Name, b)
	}
}

// readZipRecords parses every *.json of a zip with ParseOSV.
func readZipRecords(t testing.TB, path string) []*Vuln {
	t.Helper()
	var out []*Vuln
	eachZipEntry(t, path, func(name string) bool { return strings.HasSuffix(name, ".json") }, func(name string, b []byte) {
		v, err := ParseOSV(b, path)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out = append(out, v)
	})
	return out
}
