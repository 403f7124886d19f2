package intel

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// refLoad is the reference loader: one record at a time, in file order,
// with the general JSON decoder and the process-wide version cache.
func refLoad(t *testing.T, path string) []*Vuln {
	t.Helper()
	var out []*Vuln
	add := func(name string, b []byte) {
		v, err := parseOSVGeneral(b, path, globalVersions{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out = append(out, v)
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		err := filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(strings.ToLower(p), ".json") {
				return err
			}
			b, err := os.ReadFile(p)
			if err == nil {
				add(p, b)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return keepPyPI(out)
	}
	eachZipEntry(t, path, func(name string) bool { return strings.HasSuffix(strings.ToLower(name), ".json") }, add)
	return keepPyPI(out)
}

// mixedZip writes a zip of the real PyPA records twice (the second
// time under new ids and package names), plus records that exercise
// Build's merging: twins aliasing a record (merged by alias, each adding a
// package), and records repeating an id with the same modified time (the
// later one in file order wins).
func mixedZip(t *testing.T) string {
	t.Helper()
	real := realRecords(t)
	ids := make([]string, 0, len(real))
	for id := range real {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	files := map[string][]byte{}
	put := func(name string, m map[string]any) {
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		files[name] = b
	}
	decode := func(id string) map[string]any {
		var m map[string]any
		if err := json.Unmarshal(real[id], &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	for c := 0; c < 2; c++ {
		for _, id := range ids {
			m := decode(id)
			if c > 0 {
				m["id"] = fmt.Sprintf("%s-c%d", id, c)
				for _, a := range m["affected"].([]any) {
					pkg := a.(map[string]any)["package"].(map[string]any)
					pkg["name"] = fmt.Sprintf("%s-c%d", pkg["name"], c)
				}
			}
			put(fmt.Sprintf("c%d/%s.json", c, m["id"]), m)
		}
	}
	twins, dups := 0, 0
	for i, id := range ids {
		m := decode(id)
		aliases, _ := m["aliases"].([]any)
		if twins < 60 && len(aliases) > 0 {
			twin := decode(id)
			twin["id"] = aliases[0]
			twin["aliases"] = []any{id}
			if twins%2 == 0 {
				twin["modified"] = "2030-01-01T00:00:00Z" // newer than the original
			}
			for _, a := range twin["affected"].([]any) {
				pkg := a.(map[string]any)["package"].(map[string]any)
				pkg["name"] = fmt.Sprintf("twin-%d", twins)
			}
			put(fmt.Sprintf("twins/%v.json", twin["id"]), twin)
			twins++
		}
		if i%40 == 0 && dups < 40 {
			m["details"] = "same id, same modified: the later file wins"
			put(fmt.Sprintf("dups/%s.json", id), m)
			dups++
		}
	}
	p := filepath.Join(t.TempDir(), "mixed.zip")
	if err := os.WriteFile(p, makeZip(t, files), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestLoadParallelMatchesSequential: loading with parallel workers and the
// fast decoder gives the same records, in the same order, the same
// snapshot (id, merges by id and alias) and the same query answers as the
// reference sequential load with the general decoder.
func TestLoadParallelMatchesSequential(t *testing.T) {
	dir := sharedOSV(t)
	for _, path := range []string{
		filepath.Join(dir, "pypa-advisories.zip"),
		filepath.Join(dir, "malicious"),
		mixedZip(t),
	} {
		t.Run(filepath.Base(path), func(t *testing.T) {
			ref := refLoad(t, path)
			refText := make([]string, len(ref))
			for i, v := range ref {
				refText[i] = vulnText(v)
			}
			want := Build(ref)
			if strings.HasSuffix(path, "mixed.zip") && want.Records > len(ref)-100 {
				t.Fatalf("%d records from %d: the twins and repeated ids did not merge", want.Records, len(ref))
			}
			wantText := make([]string, len(want.All()))
			for i, v := range want.All() {
				wantText[i] = vulnText(v)
			}
			for _, workers := range []int{1, 3} {
				recs, err := loadPath(context.Background(), KindOSV, path, workers)
				if err != nil {
					t.Fatal(err)
				}
				if len(recs) != len(ref) {
					t.Fatalf("workers %d: %d records, want %d", workers, len(recs), len(ref))
				}
				for i := range recs {
					if a, b := vulnText(recs[i]), refText[i]; a != b {
						t.Fatalf("workers %d: record %d differs:\n%s\nwant\n%s", workers, i, a, b)
					}
				}
				got := Build(recs)
				compareSnapshots(t, got, want, wantText)
			}
		})
	}
}

func compareSnapshots(t *testing.T, got, want *Snapshot, wantText []string) {
	t.Helper()
	if got.ID != want.ID || got.Records != want.Records || got.Packages() != want.Packages() ||
		!got.NewestModified.Equal(want.NewestModified) {
		t.Fatalf("snapshot %s %d records %d packages, want %s %d %d",
			got.ID, got.Records, got.Packages(), want.ID, want.Records, want.Packages())
	}
	ga, wa := got.All(), want.All()
	for i := range wa {
		if a, b := vulnText(ga[i]), wantText[i]; a != b {
			t.Fatalf("merged record %d differs:\n%s\nwant\n%s", i, a, b)
		}
	}
	ids := func(vs []*Vuln) string {
		var s []string
		for _, v := range vs {
			s = append(s, v.ID)
		}
		return strings.Join(s, ",")
	}
	queries, hits := 0, 0
	for i, v := range wa {
		for _, id := range append([]string{v.ID}, v.Aliases...) {
			if a, b := got.Lookup(id), want.Lookup(id); (a == nil) != (b == nil) || (a != nil && a.ID != b.ID) {
				t.Fatalf("Lookup(%s) differs", id)
			}
		}
		if i%5 != 0 {
			continue // a sample of the packages' versions is enough
		}
		for _, a := range v.Affected {
			vers := append(append([]string{"0", "0.0.1", "99999", "not-a-version"}, a.Versions...), a.Fixed...)
			for _, r := range a.Ranges {
				for _, e := range r.Events {
					if e.Introduced != "" {
						vers = append(vers, e.Introduced, e.Introduced+".post1")
					}
					if e.LastAffected != "" {
						vers = append(vers, e.LastAffected, e.LastAffected+".1")
					}
				}
			}
			for _, ver := range vers {
				g, w := ids(got.Affecting(a.Name, ver)), ids(want.Affecting(a.Name, ver))
				if g != w {
					t.Fatalf("Affecting(%s, %s) = %s, want %s", a.Name, ver, g, w)
				}
				queries++
				if w != "" {
					hits++
				}
			}
			if g, w := ids(got.ForName(a.Name)), ids(want.ForName(a.Name)); g != w {
				t.Fatalf("ForName(%s) differs", a.Name)
			}
		}
	}
	if hits == 0 || hits == queries {
		t.Fatalf("%d of %d queries matched: not a useful sample", hits, queries)
	}
}

// TestLoadErrorIsFirstInFileOrder: with several invalid records the error
// names the first one in file order, whatever the number of workers.
func TestLoadErrorIsFirstInFileOrder(t *testing.T) {
	good := realRecords(t)["PYSEC-2018-28"]
	dir := t.TempDir()
	for i := 0; i < 200; i++ {
		b := good
		if i == 37 || i == 38 || i == 150 {
			b = []byte(`{"id": "BROKEN", "affected": [`)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("r%03d.json", i)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, workers := range []int{1, 2, 4, 16} {
		for n := 0; n < 5; n++ {
			_, err := loadPath(context.Background(), KindOSV, dir, workers)
			if err == nil || !strings.Contains(err.Error(), "r037.json") {
				t.Fatalf("workers %d: error %v, want the one of r037.json", workers, err)
			}
		}
	}
}
