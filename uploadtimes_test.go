package osaproxy

import (
	"strconv"
	"testing"
	"time"

	"github.com/osaproxy/caddy-osaproxy/pypi"
)

func TestUploadTimeMemo(t *testing.T) {
	t1 := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	t2 := time.Date(2025, 6, 2, 11, 0, 0, 0, time.UTC)
	page := func(names ...string) *pypi.Index {
		ix := &pypi.Index{}
		for _, n := range names {
			ix.Files = append(ix.Files, pypi.IndexFile{Filename: n})
		}
		return ix
	}
	tests := []struct {
		name        string
		learnRepo   string
		learn       map[string]time.Time
		fillRepo    string
		page        *pypi.Index
		wantMissing bool
		want        []time.Time
	}{
		{"all known", "pypi", map[string]time.Time{"a-1.tar.gz": t1, "a-2.tar.gz": t2}, "pypi",
			page("a-1.tar.gz", "a-2.tar.gz"), false, []time.Time{t1, t2}},
		{"a new file is missing, the others filled", "pypi", map[string]time.Time{"a-1.tar.gz": t1}, "pypi",
			page("a-1.tar.gz", "a-3.tar.gz"), true, []time.Time{t1, {}}},
		{"another repository's times are not used", "internal", map[string]time.Time{"a-1.tar.gz": t1}, "pypi",
			page("a-1.tar.gz"), true, []time.Time{{}}},
		{"zero times are not remembered", "pypi", map[string]time.Time{"a-1.tar.gz": {}}, "pypi",
			page("a-1.tar.gz"), true, []time.Time{{}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := newUploadTimeMemo(100)
			u.learn(tc.learnRepo, tc.learn)
			if got := u.fill(tc.fillRepo, tc.page); got != tc.wantMissing {
				t.Errorf("missing = %v, want %v", got, tc.wantMissing)
			}
			for i, w := range tc.want {
				if !tc.page.Files[i].UploadTime.Equal(w) {
					t.Errorf("file %d: %v, want %v", i, tc.page.Files[i].UploadTime, w)
				}
			}
		})
	}
}

func TestUploadTimeMemoKeepsTimeFromPage(t *testing.T) {
	u := newUploadTimeMemo(100)
	u.learn("pypi", map[string]time.Time{"a-1.tar.gz": time.Unix(1, 0)})
	own := time.Unix(2, 0)
	ix := &pypi.Index{Files: []pypi.IndexFile{{Filename: "a-1.tar.gz", UploadTime: own}}}
	if u.fill("pypi", ix) || !ix.Files[0].UploadTime.Equal(own) {
		t.Fatalf("page's own upload time replaced: %v", ix.Files[0].UploadTime)
	}
}

func TestUploadTimeMemoBounded(t *testing.T) {
	u := newUploadTimeMemo(64)
	for i := 0; i < 1000; i++ {
		u.learn("pypi", map[string]time.Time{"f-" + strconv.Itoa(i) + ".tar.gz": time.Unix(int64(i+1), 0)})
		held := 0
		for _, m := range u.m {
			held += len(m)
		}
		if held > u.max || held != u.n {
			t.Fatalf("memo holds %d (counted %d), bound %d", held, u.n, u.max)
		}
	}
	// the newest is always kept
	ix := &pypi.Index{Files: []pypi.IndexFile{{Filename: "f-999.tar.gz"}}}
	if u.fill("pypi", ix) || !ix.Files[0].UploadTime.Equal(time.Unix(1000, 0)) {
		t.Fatalf("newest time lost: %v", ix.Files[0].UploadTime)
	}
}

// TestUploadTimeMemoPageFastPath: a page whose times were all known is
// filled again from its page entry (even once the per-file memo forgot
// them); any other list of files, or another repository, takes the
// per-file path.
func TestUploadTimeMemoPageFastPath(t *testing.T) {
	t1, t2 := time.Unix(100, 0), time.Unix(200, 0)
	page := func(names ...string) *pypi.Index {
		ix := &pypi.Index{Project: "a"}
		for _, n := range names {
			ix.Files = append(ix.Files, pypi.IndexFile{Filename: n})
		}
		return ix
	}
	u := newUploadTimeMemo(100)
	u.learn("pypi", map[string]time.Time{"a-1.tar.gz": t1, "a-2.tar.gz": t2})
	if u.fill("pypi", page("a-1.tar.gz", "a-2.tar.gz")) {
		t.Fatal("all times are known")
	}
	u.m = map[string]map[string]time.Time{} // the per-file memo forgets
	ix := page("a-1.tar.gz", "a-2.tar.gz")
	if u.fill("pypi", ix) || !ix.Files[0].UploadTime.Equal(t1) || !ix.Files[1].UploadTime.Equal(t2) {
		t.Fatalf("the same page was not filled from its entry: %v %v", ix.Files[0].UploadTime, ix.Files[1].UploadTime)
	}
	for name, p := range map[string]*pypi.Index{
		"a file added":    page("a-1.tar.gz", "a-2.tar.gz", "a-3.tar.gz"),
		"files reordered": page("a-2.tar.gz", "a-1.tar.gz"),
		"a file dropped":  page("a-1.tar.gz"),
	} {
		if !u.fill("pypi", p) {
			t.Errorf("%s: filled from the entry of a different page", name)
		}
	}
	if !u.fill("internal", page("a-1.tar.gz", "a-2.tar.gz")) {
		t.Error("another repository used this repository's page entry")
	}
}

func TestUploadTimeMemoPagesBounded(t *testing.T) {
	u := newUploadTimeMemo(50)
	for p := 0; p < 40; p++ {
		ix := &pypi.Index{Project: "p" + strconv.Itoa(p)}
		times := map[string]time.Time{}
		for i := 0; i < 7; i++ {
			n := ix.Project + "-" + strconv.Itoa(i) + ".tar.gz"
			ix.Files = append(ix.Files, pypi.IndexFile{Filename: n})
			times[n] = time.Unix(int64(i+1), 0)
		}
		u.learn("pypi", times)
		u.m = map[string]map[string]time.Time{"pypi": times} // all known (the per-file bound is tested above)
		if u.fill("pypi", ix) {
			t.Fatalf("page %d: times missing", p)
		}
		held := 0
		for _, pt := range u.pages {
			held += len(pt.names)
		}
		if held > u.max || held != u.pageFiles {
			t.Fatalf("page entries hold %d files (counted %d), bound %d", held, u.pageFiles, u.max)
		}
	}
	if u.pages["pypi\x00p39"] == nil {
		t.Fatal("the newest page entry was not kept")
	}
}
