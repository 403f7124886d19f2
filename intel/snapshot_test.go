package intel

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func mkVuln(id string, modified string, aliases []string, pkg string, versions ...string) *Vuln {
	t, err := time.Parse(time.RFC3339, modified)
	if err != nil {
		panic(err)
	}
	return &Vuln{ID: id, Modified: t, Aliases: aliases, Affected: []Affected{{Name: pkg, Versions: versions}}}
}

func TestBuildMerge(t *testing.T) {
	older := mkVuln("PYSEC-1", "2024-01-01T00:00:00Z", []string{"CVE-1"}, "pkg", "1.0")
	newer := mkVuln("PYSEC-1", "2024-06-01T00:00:00Z", []string{"CVE-1"}, "pkg", "1.0", "1.1")
	ghsa := mkVuln("GHSA-1", "2024-03-01T00:00:00Z", []string{"CVE-1", "PYSEC-1"}, "pkg", "1.0")
	ghsaNewest := mkVuln("GHSA-2", "2025-01-01T00:00:00Z", []string{"PYSEC-2", "CVE-2"}, "pkg", "2.0")
	pysec2 := mkVuln("PYSEC-2", "2024-01-01T00:00:00Z", []string{"CVE-2", "GHSA-2"}, "other", "9.0")
	unrelated := mkVuln("PYSEC-3", "2024-01-01T00:00:00Z", []string{"CVE-1"}, "third", "1.0") // shares a CVE only

	cases := []struct {
		name    string
		records []*Vuln
		check   func(t *testing.T, s *Snapshot)
	}{
		{"same id newest modified wins (either order)", []*Vuln{newer, older}, func(t *testing.T, s *Snapshot) {
			if s.Records != 1 || len(s.Affecting("pkg", "1.1")) != 1 {
				t.Errorf("records %d, newest version not in force", s.Records)
			}
		}},
		{"same id newest modified wins (reverse)", []*Vuln{older, newer}, func(t *testing.T, s *Snapshot) {
			if s.Records != 1 || s.Lookup("PYSEC-1").Modified != newer.Modified {
				t.Errorf("records %d", s.Records)
			}
		}},
		{"aliases of each other count once", []*Vuln{older, newer, ghsa}, func(t *testing.T, s *Snapshot) {
			if s.Records != 1 {
				t.Fatalf("records = %d, want 1", s.Records)
			}
			v := s.Lookup("GHSA-1")
			if v == nil || v.ID != "PYSEC-1" || s.Lookup("CVE-1") != v || s.Lookup("PYSEC-1") != v {
				t.Fatalf("lookup: %+v", v)
			}
			if strings.Join(v.Aliases, ",") != "CVE-1,GHSA-1" {
				t.Errorf("aliases %v", v.Aliases)
			}
			if got := s.Affecting("pkg", "1.0"); len(got) != 1 {
				t.Errorf("Affecting counted %d records", len(got))
			}
		}},
		{"newest twin kept, other packages preserved", []*Vuln{pysec2, ghsaNewest}, func(t *testing.T, s *Snapshot) {
			v := s.Lookup("PYSEC-2")
			if s.Records != 1 || v == nil || v.ID != "GHSA-2" {
				t.Fatalf("records %d kept %+v", s.Records, v)
			}
			if strings.Join(v.Aliases, ",") != "PYSEC-2,CVE-2" {
				t.Errorf("aliases %v", v.Aliases)
			}
			if !containsID(s.Affecting("other", "9.0"), "GHSA-2") || !containsID(s.Affecting("pkg", "2.0"), "GHSA-2") {
				t.Error("a package of the merged record was lost")
			}
			if len(pysec2.Aliases) != 2 || len(ghsaNewest.Affected) != 1 {
				t.Error("Build modified its input records")
			}
		}},
		{"a shared CVE alone does not merge", []*Vuln{newer, unrelated}, func(t *testing.T, s *Snapshot) {
			if s.Records != 2 || s.Lookup("CVE-1") == nil {
				t.Errorf("records %d", s.Records)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.check(t, Build(c.records)) })
	}
}

func TestSnapshotID(t *testing.T) {
	a := mkVuln("A", "2024-01-01T00:00:00Z", nil, "p", "1")
	b := mkVuln("B", "2024-05-06T07:08:09Z", nil, "p", "1")
	s1, s2 := Build([]*Vuln{a, b}), Build([]*Vuln{b, a})
	re := regexp.MustCompile(`^sha256:[0-9a-f]{12}/2/2024-05-06T07:08:09Z$`)
	if !re.MatchString(s1.ID) || s1.ID != s2.ID {
		t.Errorf("ids %q %q", s1.ID, s2.ID)
	}
	if !s1.NewestModified.Equal(b.Modified) || s1.LoadedAt.IsZero() {
		t.Errorf("newest %v loaded %v", s1.NewestModified, s1.LoadedAt)
	}
	c := mkVuln("B", "2024-05-06T07:08:10Z", nil, "p", "1")
	if s3 := Build([]*Vuln{a, c}); s3.ID == s1.ID {
		t.Error("a modified record must change the id")
	}
	var nilSnap *Snapshot
	if nilSnap.Affecting("p", "1") != nil || nilSnap.Lookup("A") != nil || nilSnap.ForName("p") != nil {
		t.Error("nil snapshot must answer nothing")
	}
}

// Two real sources together: PyPA advisories and malicious packages.
func TestBuildTwoRealSources(t *testing.T) {
	dir := sharedOSV(t)
	ctx := context.Background()
	pypa, err := LoadPath(ctx, KindOSV, filepath.Join(dir, "pypa-advisories.zip"))
	if err != nil {
		t.Fatal(err)
	}
	mal, err := LoadPath(ctx, KindOSV, filepath.Join(dir, "malicious"))
	if err != nil {
		t.Fatal(err)
	}
	s := Build(append(append([]*Vuln{}, pypa...), mal...))
	if s.Records != len(pypa)+len(mal) || len(pypa) != 2661 {
		t.Fatalf("records %d = %d + %d?", s.Records, len(pypa), len(mal))
	}
	if !containsID(s.Affecting("requests", "2.19.0"), "PYSEC-2018-28") || s.Lookup("MAL-2026-6516") == nil {
		t.Error("a source is missing from the merged snapshot")
	}
}
