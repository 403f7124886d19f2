// Package testdata locates the shared test data (../shared beside the
// checkout) for the tests of every package that proves behaviour on real
// records.
package testdata

import (
	"os"
	"path/filepath"
	"testing"
)

// SharedOSV returns the shared/osv directory found first when walking up
// from the test's working directory (this sandbox keeps it in /work/shared;
// CI puts ../shared beside the fresh clone). It must hold the malicious/
// folder. A missing directory fails the test: the real-data tests must not
// be skipped.
func SharedOSV(t testing.TB) string {
	t.Helper()
	start, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for dir := start; ; {
		cand := filepath.Join(dir, "shared", "osv")
		if st, err := os.Stat(filepath.Join(cand, "malicious")); err == nil && st.IsDir() {
			return cand
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("shared/osv not found above %s; put the shared data beside the checkout (../shared)", start)
		}
		dir = parent
	}
}
