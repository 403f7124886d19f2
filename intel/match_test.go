package intel

import (
	"path/filepath"
	"testing"
)

func TestPyPAZipCore(t *testing.T) {
	recs := readZipRecords(t, filepath.Join(sharedOSV(t), "pypa-advisories.zip"))
	if len(recs) != 2661 {
		t.Fatalf("records = %d, want 2661", len(recs))
	}
	s := Build(recs)
	if s.Records != 2661 {
		t.Fatalf("snapshot records = %d", s.Records)
	}
	cases := []struct {
		name, version string
		id            string
		want          bool
	}{
		{"requests", "2.19.0", "PYSEC-2018-28", true},
		{"Requests", "2.19.1", "PYSEC-2018-28", true},
		{"requests", "2.20.0", "PYSEC-2018-28", false},
		{"requests", "2.31.0", "PYSEC-2018-28", false},
		{"requests", "0.12.01", "PYSEC-2018-28", true},
		{"requests", "0.12.1", "PYSEC-2018-28", true},
		{"requests", "1.0", "PYSEC-2018-28", true},
		{"requests", "2.20.0rc1", "PYSEC-2018-28", true}, // pre-release of the fix is still before it
		{"searchor", "2.4.1", "PYSEC-2023-262", true},
		{"searchor", "2.4.2", "PYSEC-2023-262", false},
	}
	for _, c := range cases {
		got := false
		for _, v := range s.Affecting(c.name, c.version) {
			if v.ID == c.id {
				got = true
			}
		}
		if got != c.want {
			t.Errorf("Affecting(%s, %s) contains %s = %v, want %v", c.name, c.version, c.id, got, c.want)
		}
		if v := s.Lookup(c.id); v == nil || v.Affects(c.name, c.version) != c.want {
			t.Errorf("Lookup(%s).Affects(%s, %s) wrong", c.id, c.name, c.version)
		}
	}
	for _, alias := range []string{"CVE-2018-18074", "GHSA-x84v-xcm2-53pg", "ghsa-x84v-xcm2-53pg"} {
		if v := s.Lookup(alias); v == nil || v.ID != "PYSEC-2018-28" {
			t.Errorf("Lookup(%s) = %v", alias, v)
		}
	}
	v := s.Lookup("PYSEC-2023-262")
	if !v.HasCVSS3 || v.CVSS3 != 9.8 || v.Severity != "CRITICAL" {
		t.Errorf("PYSEC-2023-262: cvss3 %v %v severity %q", v.HasCVSS3, v.CVSS3, v.Severity)
	}
	n := 0
	for _, v := range s.All() {
		if v.HasCVSS3 {
			n++
		}
	}
	if n != 202 {
		t.Errorf("records with CVSS3 = %d, want 202", n)
	}
}
