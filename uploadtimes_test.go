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
