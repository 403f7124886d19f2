package intel

import (
	"archive/zip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sharedOSV locates the shared/osv test data: walking up from the test's
// working directory, the first "shared/osv" found (this sandbox keeps it
// at /work/shared; CI checks out ../shared beside the module). A missing
// directory fails the test: these tests prove behaviour on real data.
func sharedOSV(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		cand := filepath.Join(dir, "shared", "osv")
		if st, err := os.Stat(cand); err == nil && st.IsDir() {
			return cand
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("shared/osv not found above the working directory; put the shared data beside the checkout (../shared)")
		}
		dir = parent
	}
}

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
