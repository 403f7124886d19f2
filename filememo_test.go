package osaproxy

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/osaproxy/caddy-osaproxy/pypi"
)

func TestFileMemoLearnPage(t *testing.T) {
	up := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	ix := &pypi.Index{Project: "demo", ProjectStatus: "active", Files: []pypi.IndexFile{
		{Filename: "demo-1.0.tar.gz", Version: "1.0", Type: pypi.TypeSdist, Sha256: "aa", UploadTime: up},
		{Filename: "demo-1.1-py3-none-any.whl", Version: "1.1", Type: pypi.TypeWheel, Sha256: "bb", Yanked: true},
		{Filename: "unparsable.zip"}, // no version: not learned
	}}
	m := newFileMemo(100)
	m.learnPage(ix)
	tests := []struct {
		file string
		ok   bool
		want fileMeta
	}{
		{"demo-1.0.tar.gz", true, fileMeta{project: "demo", version: "1.0", sha256: "aa", status: "active", typ: pypi.TypeSdist, uploaded: up}},
		{"demo-1.1-py3-none-any.whl", true, fileMeta{project: "demo", version: "1.1", sha256: "bb", status: "active", typ: pypi.TypeWheel, yanked: true}},
		{"unparsable.zip", false, fileMeta{}},
	}
	for _, tc := range tests {
		got, ok := m.get(tc.file)
		if ok != tc.ok || got != tc.want {
			t.Errorf("%s: %+v %v, want %+v %v", tc.file, got, ok, tc.want, tc.ok)
		}
	}
	// A changed fact (the file got yanked) replaces the entry.
	ix.Files[0].Yanked = true
	m.learnPage(ix)
	if got, _ := m.get("demo-1.0.tar.gz"); !got.yanked {
		t.Errorf("change not learned: %+v", got)
	}
}

func TestFileMemoLearnPageBounded(t *testing.T) {
	m := newFileMemo(64)
	for p := 0; p < 20; p++ {
		ix := &pypi.Index{Project: "p" + strconv.Itoa(p)}
		for i := 0; i < 10; i++ {
			ix.Files = append(ix.Files, pypi.IndexFile{Filename: ix.Project + "-" + strconv.Itoa(i) + ".tar.gz", Version: strconv.Itoa(i)})
		}
		m.learnPage(ix)
		if len(m.m) > m.max {
			t.Fatalf("memo grew to %d > %d", len(m.m), m.max)
		}
	}
	if _, ok := m.get("p19-9.tar.gz"); !ok {
		t.Fatal("the newest file was evicted")
	}
}

func TestGrowExact(t *testing.T) {
	tests := []struct {
		name          string
		len, cap, ask int
		wantCap       int
	}{
		{"room enough: untouched", 10, 100, 50, 100},
		{"empty buffer: exactly the size asked", 0, 0, 3_400_000, 3_400_000},
		{"small pooled buffer: exactly len+n, not twice its capacity", 0, 3_000_000, 3_400_000, 3_400_000},
		{"content kept", 5, 8, 10, 15},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := bytes.NewBuffer(make([]byte, 0, tc.cap))
			b.Write(bytes.Repeat([]byte{'x'}, tc.len))
			growExact(b, tc.ask)
			if b.Cap() != tc.wantCap || b.Len() != tc.len || !bytes.Equal(b.Bytes(), bytes.Repeat([]byte{'x'}, tc.len)) {
				t.Fatalf("cap %d len %d, want cap %d len %d", b.Cap(), b.Len(), tc.wantCap, tc.len)
			}
		})
	}
}

// TestFileMemoEpoch: a page stays wholly known while nothing learned is
// replaced or evicted; new files of other pages do not disturb it.
func TestFileMemoEpoch(t *testing.T) {
	m := newFileMemo(64)
	page := func(p string, n int) *pypi.Index {
		ix := &pypi.Index{Project: p}
		for i := 0; i < n; i++ {
			ix.Files = append(ix.Files, pypi.IndexFile{Filename: p + "-" + strconv.Itoa(i) + ".tar.gz", Version: strconv.Itoa(i)})
		}
		return ix
	}
	a := page("a", 4)
	e := m.learnPage(a)
	if !m.learnedAt(e) || m.learnPage(a) != e {
		t.Fatal("learning the same page again changed the epoch")
	}
	m.learnPage(page("b", 4)) // new entries only
	m.put("c-1.tar.gz", fileMeta{project: "c", version: "1"})
	if !m.learnedAt(e) {
		t.Fatal("new entries of other pages invalidated page a")
	}
	b := page("b", 4)
	b.Files[0].Yanked = true // a replacement
	m.learnPage(b)
	if m.learnedAt(e) {
		t.Fatal("a replaced entry did not move the epoch")
	}
	e = m.learnPage(a)
	for p := 0; p < 20 && m.learnedAt(e); p++ {
		m.learnPage(page("z"+strconv.Itoa(p), 10)) // eventually evicts
	}
	if m.learnedAt(e) {
		t.Fatal("evictions did not move the epoch")
	}
}

// TestFileMemoOwnsSha256: a learned sha256 does not change with the page
// body it was parsed from (ParseIndex does not detach it).
func TestFileMemoOwnsSha256(t *testing.T) {
	sha := strings.Repeat("ab", 32)
	body := []byte(`<a href="https://files.example/demo-1.0.tar.gz#sha256=` + sha + `">demo-1.0.tar.gz</a>`)
	ix, err := pypi.ParseIndex(body, pypi.FormatHTML, "demo")
	if err != nil {
		t.Fatal(err)
	}
	m := newFileMemo(16)
	m.learnPage(ix)
	body2 := bytes.Clone(body)
	for i := range body {
		body[i] = 'z'
	}
	if got, _ := m.get("demo-1.0.tar.gz"); got.sha256 != sha {
		t.Fatalf("sha256 learned from a page changed with the body: %q", got.sha256)
	}
	ix, err = pypi.ParseIndex(body2, pypi.FormatHTML, "demo")
	if err != nil {
		t.Fatal(err)
	}
	m.put("demo-1.0.tar.gz", pageFileMeta(&ix.Files[0], "demo", "x")) // a replacement through put
	for i := range body2 {
		body2[i] = 'z'
	}
	if got, _ := m.get("demo-1.0.tar.gz"); got.sha256 != sha || got.status != "x" {
		t.Fatalf("sha256 put changed with the body: %+v", got)
	}
}
