package intel

import (
	"context"
	"path/filepath"
	"testing"
)

// The per-package class index must answer exactly what evaluating every
// record one by one answers: on the real data, for every version the
// records mention, versions just around them, and versions that are not
// PEP 440.
func TestPkgIndexAgreesWithRecords(t *testing.T) {
	dir := sharedOSV(t)
	recs, err := LoadPath(context.Background(), KindOSV, filepath.Join(dir, "pypa-advisories.zip"))
	if err != nil {
		t.Fatal(err)
	}
	mal, err := LoadPath(context.Background(), KindOSV, filepath.Join(dir, "malicious"))
	if err != nil {
		t.Fatal(err)
	}
	s := Build(append(recs, mal...))
	queries, hits := 0, 0
	for name, pi := range s.byName {
		seen := map[string]bool{}
		var versions []string
		add := func(v string) {
			if !seen[v] {
				seen[v] = true
				versions = append(versions, v)
			}
		}
		for _, b := range pi.bounds {
			for _, suffix := range []string{"", ".post1", "rc1", "+local"} {
				add(b.canon + suffix)
			}
		}
		for _, v := range pi.recs {
			for _, a := range v.Affected {
				for _, ver := range a.Versions {
					add(ver)
				}
			}
		}
		if len(versions) > 200 { // keep big packages to a sample
			k := len(versions) / 200
			sampled := versions[:0]
			for i := 0; i < len(versions); i += k {
				sampled = append(sampled, versions[i])
			}
			versions = sampled
		}
		add("0")
		add("0.0.0.dev0")
		add("999.0")
		add("not a version")
		for _, q := range versions {
			got := s.Affecting(name, q)
			var want []*Vuln
			for _, v := range pi.recs {
				if v.Affects(name, q) {
					want = append(want, v)
				}
			}
			queries++
			hits += len(want)
			if len(got) != len(want) {
				t.Errorf("%s@%s: index gives %d records, records give %d", name, q, len(got), len(want))
				continue
			}
			for i := range got {
				if got[i] != want[i] {
					t.Errorf("%s@%s: index gives %s, records give %s", name, q, got[i].ID, want[i].ID)
				}
			}
		}
	}
	if queries < 10000 || hits < 10000 {
		t.Fatalf("too little covered: %d queries, %d hits", queries, hits)
	}
	t.Logf("%d packages, %d queries, %d hits", len(s.byName), queries, hits)
}

// Tricky ranges checked both ways too (multiple limits, last_affected and
// introduced at one version, ranges that re-open).
func TestPkgIndexTrickyRanges(t *testing.T) {
	ranges := [][]Event{
		{ev("i", "1.0"), ev("l", "1.0"), ev("i", "1.0.1")},
		{ev("i", "0"), ev("lim", "2.0"), ev("lim", "1.5"), ev("f", "1.2")},
		{ev("i", "1.0rc1"), ev("f", "1.0"), ev("i", "1.0.post1"), ev("l", "1.1")},
		{ev("f", "3"), ev("i", "2"), ev("i", "1"), ev("f", "1.5")},
		{ev("l", "1.0")},
		{ev("i", "2.0"), ev("lim", "1.0")},
	}
	var recs []*Vuln
	for i, evs := range ranges {
		recs = append(recs, &Vuln{ID: "R" + string(rune('a'+i)), Affected: []Affected{{Name: "p", Ranges: []Range{{Events: evs}}}}})
	}
	recs = append(recs, &Vuln{ID: "V", Affected: []Affected{{Name: "p", Versions: []string{"1.0", "weird"}}}})
	s := Build(recs)
	qs := []string{"0", "0.5", "1.0rc0", "1.0rc1", "1.0", "1.0.0", "1.0.post0", "1.0.post1", "1.0.1", "1.1", "1.1.post1",
		"1.2", "1.4", "1.5", "1.9", "2.0", "2.5", "3", "4", "weird", "odd"}
	for _, q := range qs {
		got := s.Affecting("p", q)
		var want []*Vuln
		for _, v := range s.ForName("p") {
			if v.Affects("p", q) {
				want = append(want, v)
			}
		}
		if len(got) != len(want) {
			t.Errorf("p@%s: index %d, records %d", q, len(got), len(want))
			continue
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("p@%s: %s vs %s", q, got[i].ID, want[i].ID)
			}
		}
	}
	// spot values worked out by hand from the OSV rules.
	for q, want := range map[string]string{
		"1.0":       "RaRbRdV", // Ra: last_affected 1.0 still covers 1.0
		"1.0.post1": "RbRcRd",  // Ra ended after 1.0; Rc re-opened at 1.0.post1
		"1.3":       "RaRd",    // Ra re-opened at 1.0.1; Rb stopped by fixed 1.2
		"2.5":       "RaRd",
		"0.5":       "Rb",
		"weird":     "V", // not PEP 440: only the explicit text matches (Rb has an end)
	} {
		got := ""
		for _, v := range s.Affecting("p", q) {
			got += v.ID
		}
		if got != want {
			t.Errorf("p@%s = %s, want %s", q, got, want)
		}
	}
}
