package intel

import (
	"path/filepath"
	"sync"
	"testing"
	"time"
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

func ev(kind, v string) Event {
	switch kind {
	case "i":
		return Event{Introduced: v}
	case "f":
		return Event{Fixed: v}
	case "l":
		return Event{LastAffected: v}
	}
	return Event{Limit: v}
}

func TestRangeSemantics(t *testing.T) {
	cases := []struct {
		name     string
		events   []Event
		versions []string
		yes, no  []string
	}{
		{"introduced 0 no end", []Event{ev("i", "0")}, nil,
			[]string{"0", "0.0.1", "1.0", "999.0", "1.0rc1", "not-pep440"}, nil},
		{"introduced 0 fixed", []Event{ev("i", "0"), ev("f", "2.0")}, nil,
			[]string{"0.1", "1.9.9", "2.0rc1", "2.0.dev1"}, []string{"2.0", "2.0.0", "2.0.post1", "3", "not-pep440"}},
		{"last_affected", []Event{ev("i", "1.0"), ev("l", "1.4")}, nil,
			[]string{"1.0", "1.4", "1.4.0"}, []string{"0.9", "1.4.1", "1.4.post1", "1.5"}},
		{"two ranges in one, unsorted", []Event{ev("f", "2.1"), ev("i", "2.0"), ev("f", "1.5"), ev("i", "1.0")}, nil,
			[]string{"1.0", "1.2", "2.0", "2.0.5"}, []string{"0.5", "1.5", "1.9", "2.1", "5"}},
		{"introduced no end", []Event{ev("i", "3.0")}, nil,
			[]string{"3.0", "3.1", "999"}, []string{"2.9", "3.0rc1", "weird"}},
		{"limit", []Event{ev("i", "1.0"), ev("lim", "1.2")}, nil,
			[]string{"1.0", "1.1.9"}, []string{"1.2", "2.0", "0.1"}},
		{"versions list only", nil, []string{"1.0", "2.0.1", "odd-version", "0.12.01"},
			[]string{"1.0", "2.0.1", "odd-version", "0.12.1", "0.12.01"}, []string{"1.0.1", "2.0", "odd", "1.0.0.1"}},
		{"list matches PEP 440 equal versions", nil, []string{"1.0", "2.0.0rc1", "1!3.0"},
			[]string{"1", "1.0.0", "2rc1", "2.0c1", "1!3"}, []string{"1.0.post0", "2.0", "3.0", "1.0+local"}},
		{"list and range", []Event{ev("i", "0"), ev("f", "1.0")}, []string{"5.0"},
			[]string{"0.5", "5.0"}, []string{"1.0", "4.0"}},
		{"unparseable event: list only", []Event{ev("i", "0"), ev("f", "abc-def")}, []string{"1.0"},
			[]string{"1.0"}, []string{"0.5", "2.0"}},
		{"epoch", []Event{ev("i", "0"), ev("f", "1!1.0")}, nil,
			[]string{"5.0", "1!0.5"}, []string{"1!1.0", "2!0"}},
	}
	for _, c := range cases {
		v := &Vuln{ID: "T", Affected: []Affected{{Name: "Pkg", Versions: c.versions}}}
		if c.events != nil {
			v.Affected[0].Ranges = []Range{{Events: c.events}}
		}
		s := Build([]*Vuln{v})
		for _, ver := range c.yes {
			if !v.Affects("pkg", ver) || len(s.Affecting("PKG", ver)) != 1 {
				t.Errorf("%s: %s should be affected", c.name, ver)
			}
		}
		for _, ver := range c.no {
			if v.Affects("pkg", ver) || len(s.Affecting("pkg", ver)) != 0 {
				t.Errorf("%s: %s should not be affected", c.name, ver)
			}
		}
	}
	w := &Vuln{ID: "W", Withdrawn: time.Now(), Affected: []Affected{{Name: "pkg", Ranges: []Range{{Events: []Event{ev("i", "0")}}}}}}
	if w.Affects("pkg", "1.0") || len(Build([]*Vuln{w}).Affecting("pkg", "1.0")) != 0 {
		t.Error("withdrawn record matched")
	}
}

// Matching is used from many request goroutines at once; run with -race.
// Versions with pre-releases and trailing zeros go through the PEP 440
// library (whose Compare writes into shared slices) rather than the fast path.
func TestConcurrentAffecting(t *testing.T) {
	s := Build(readZipRecords(t, filepath.Join(sharedOSV(t), "pypa-advisories.zip")))
	queries := []struct {
		name, version string
		want          bool
	}{
		{"requests", "2.0.0rc1", true},
		{"requests", "2.20.0rc1", true},
		{"requests", "2.20.0.post1", false},
		{"searchor", "2.4.0.dev0", true},
		{"searchor", "2.4.2", false},
	}
	var wg sync.WaitGroup
	errs := make(chan string, 100)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				q := queries[i%len(queries)]
				id := "PYSEC-2018-28"
				if q.name == "searchor" {
					id = "PYSEC-2023-262"
				}
				if got := containsID(s.Affecting(q.name, q.version), id); got != q.want {
					select {
					case errs <- q.name + "@" + q.version:
					default:
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("wrong answer under concurrency: %s", e)
	}
}
