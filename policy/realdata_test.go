package policy

import (
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/osaproxy/caddy-osaproxy/intel"
)

var (
	pypaOnce sync.Once
	pypaSnap *intel.Snapshot
	pypaN    int
)

// pypaSnapshot builds (once per test binary) a snapshot of the real PyPA
// advisories plus the real malicious-package records.
func pypaSnapshot(t testing.TB) *intel.Snapshot {
	t.Helper()
	pypaOnce.Do(func() {
		recs := append(loadPyPA(t), loadMalicious(t)...)
		pypaN = len(recs)
		pypaSnap = intel.Build(recs)
	})
	if pypaSnap == nil {
		t.Fatal("real snapshot failed to load earlier")
	}
	return pypaSnap
}

// TestRealMalicious: every real malicious record blocks every version it
// lists through dependency_is_dangerous, and withdrawn ones block nothing.
func TestRealMalicious(t *testing.T) {
	recs := loadMalicious(t)
	snap := intel.Build(recs)
	e := mustCompile(t, onePolicy(ConditionConfig{Type: "dependency_is_dangerous"}))
	var checked, withdrawn int
	for _, v := range recs {
		if len(v.Affected) != 1 {
			t.Fatalf("%s: want exactly one PyPI affected entry, got %d", v.ID, len(v.Affected))
		}
		a := v.Affected[0]
		if len(a.Versions) == 0 {
			t.Fatalf("%s: no explicit versions", v.ID)
		}
		for _, ver := range a.Versions {
			c := comp(a.Name, ver)
			d := e.Evaluate(&c, &Env{Now: testNow, Intel: snap})
			if !v.Withdrawn.IsZero() {
				withdrawn++
				if d.Outcome != Allow || len(d.Matches) != 0 {
					t.Errorf("withdrawn %s blocks %s %s: %+v", v.ID, a.Name, ver, d.Matches)
				}
				continue
			}
			checked++
			if d.Outcome != Block {
				t.Errorf("%s %s (%s): %v", a.Name, ver, v.ID, d.Outcome)
				continue
			}
			m := d.Matches[0]
			if !slices.Contains(m.Advisories, v.ID) || !strings.HasPrefix(m.Reasons[0], a.Name+" "+ver+" is known malicious: ") ||
				!strings.Contains(m.Reasons[0], v.ID) {
				t.Errorf("%s %s: reasons %q advisories %q", a.Name, ver, m.Reasons, m.Advisories)
			}
		}
	}
	if checked < 150 || withdrawn == 0 {
		t.Fatalf("checked %d versions, %d withdrawn: the data set looks incomplete", checked, withdrawn)
	}

	cases := []struct {
		name, version string
		reason        string
	}{
		{"3web", "1.0.0", "3web 1.0.0 is known malicious: MAL-2024-9933"},
		// introduced "0" without end: every version, future ones too.
		{"inlifegram", "99.0", "inlifegram 99.0 is known malicious: MAL-2026-6516"},
	}
	for _, tc := range cases {
		c := comp(tc.name, tc.version)
		d := e.Evaluate(&c, &Env{Now: testNow, Intel: snap})
		if tc.reason == "" {
			if d.Outcome != Allow {
				t.Errorf("%s %s: %v", tc.name, tc.version, d.Outcome)
			}
			continue
		}
		if d.Outcome != Block || d.Matches[0].Reasons[0] != tc.reason {
			t.Errorf("%s %s: %v %+v", tc.name, tc.version, d.Outcome, d.Matches)
		}
	}
	// A listed-versions-only record does not cover other versions.
	c := comp("a1rn", "999")
	if d := e.Evaluate(&c, &Env{Now: testNow, Intel: snap}); d.Outcome != Allow {
		t.Errorf("a1rn 999: %v %+v", d.Outcome, d.Matches)
	}
}

func TestReal3webVersion(t *testing.T) {
	for _, v := range loadMalicious(t) {
		if v.ID == "MAL-2024-9933" {
			if len(v.Affected) != 1 || v.Affected[0].Name != "3web" || !slices.Contains(v.Affected[0].Versions, "1.0.0") {
				t.Fatalf("MAL-2024-9933 is not 3web 1.0.0: %+v", v.Affected)
			}
			return
		}
	}
	t.Fatal("MAL-2024-9933 not found")
}

// TestRealPyPA evaluates conditions on the real PyPA advisory database.
func TestRealPyPA(t *testing.T) {
	snap := pypaSnapshot(t)
	if snap.Records < 2500 {
		t.Fatalf("only %d records", snap.Records)
	}
	young := func(c Component) Component { c.UploadTime = testNow.Add(-day(1)); return c }
	requestsProject := &Project{Versions: []string{"2.18.4", "2.19.0", "2.19.1", "2.20.0", "2.20.1", "2.21.0"}}
	cases := []struct {
		name    string
		cond    ConditionConfig
		c       Component
		project *Project
		reason  string // "" = no match
		adv     string // an advisory the match must list
		note    string // a substring of the note
	}{
		{name: "CVE alias of PYSEC-2018-28", cond: ConditionConfig{Type: "vulnerability_id_in", Values: []string{"CVE-2018-18074"}},
			c: comp("requests", "2.19.0"), reason: "requests 2.19.0 has listed vulnerability CVE-2018-18074 (PYSEC-2018-28)", adv: "PYSEC-2018-28"},
		{name: "GHSA alias", cond: ConditionConfig{Type: "vulnerability_id_in", Values: []string{"ghsa-x84v-xcm2-53pg"}},
			c: comp("Requests", "2.19.1"), reason: "requests 2.19.1 has listed vulnerability GHSA-x84v-xcm2-53pg (PYSEC-2018-28)", adv: "PYSEC-2018-28"},
		{name: "fixed in 2.20.0", cond: ConditionConfig{Type: "vulnerability_id_in", Values: []string{"CVE-2018-18074"}},
			c: comp("requests", "2.20.0")},
		{name: "CVSS 3.1 vector", cond: ConditionConfig{Type: "cvss3_score", Op: ">=", Value: "9.0"},
			c: comp("searchor", "2.4.0"), reason: "searchor 2.4.0 has CVE-2023-43364, CVSS 3.x 9.8 >= 9.0", adv: "PYSEC-2023-262"},
		{name: "CVSS fixed version", cond: ConditionConfig{Type: "cvss3_score", Op: ">=", Value: "9.0"}, c: comp("searchor", "2.4.2")},
		{name: "record without vector never matches CVSS", cond: ConditionConfig{Type: "cvss3_score", Op: ">=", Value: "0"},
			c: comp("requests", "2.19.0")},
		{name: "has fix", cond: ConditionConfig{Type: "vulnerability_has_fix"}, c: comp("searchor", "2.4.0"),
			reason: "searchor 2.4.0 has CVE-2023-43364, fixed in 2.4.2", adv: "PYSEC-2023-262"},
		{name: "cooldown bypass for the security fix", cond: ConditionConfig{Type: "dependency_age", Op: "<", Value: "7d", MissingUploadTime: "treat_as_old", AllowSecurityFixes: true},
			c: young(comp("requests", "2.20.0")), project: requestsProject,
			note: "requests 2.20.0 was uploaded 1d ago (< 7d cooldown) but is allowed: it fixes CVE-2018-18074 (PYSEC-2018-28) which affects the previous version 2.19.1"},
		{name: "cooldown holds for a release that fixes nothing", cond: ConditionConfig{Type: "dependency_age", Op: "<", Value: "7d", MissingUploadTime: "treat_as_old", AllowSecurityFixes: true},
			c: young(comp("requests", "2.20.1")), project: requestsProject, reason: "requests 2.20.1 was uploaded 1d ago (< 7d cooldown)"},
		{name: "cooldown holds for a still vulnerable release", cond: ConditionConfig{Type: "dependency_age", Op: "<", Value: "7d", MissingUploadTime: "treat_as_old", AllowSecurityFixes: true},
			c: young(comp("requests", "2.19.1")), project: requestsProject, reason: "requests 2.19.1 was uploaded 1d ago (< 7d cooldown)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := mustCompile(t, onePolicy(tc.cond))
			c := tc.c
			d := e.Evaluate(&c, &Env{Now: testNow, Intel: snap, Project: tc.project})
			if d.Err != nil {
				t.Fatal(d.Err)
			}
			if tc.reason == "" {
				if d.Outcome != Allow {
					t.Fatalf("want allow, got %v %+v", d.Outcome, d.Matches)
				}
			} else {
				if d.Outcome != Block || !slices.Equal(d.Matches[0].Reasons, []string{tc.reason}) {
					t.Fatalf("got %v %+v\nwant reason %q", d.Outcome, d.Matches, tc.reason)
				}
				if tc.adv != "" && !slices.Contains(d.Advisories, tc.adv) {
					t.Fatalf("advisories %q lack %s", d.Advisories, tc.adv)
				}
			}
			if tc.note == "" && len(d.Notes) > 0 || tc.note != "" && !slices.Equal(d.Notes, []string{tc.note}) {
				t.Fatalf("notes %q want %q", d.Notes, tc.note)
			}
		})
	}
}

// TestRealCountAndSeverity cross-checks count and severity conditions with
// the snapshot's own answers on a package with many advisories.
func TestRealCountAndSeverity(t *testing.T) {
	snap := pypaSnapshot(t)
	affecting := snap.Affecting("django", "2.2.0")
	if len(affecting) < 10 {
		t.Fatalf("django 2.2.0: only %d records", len(affecting))
	}
	n := len(affecting)
	e := mustCompile(t, onePolicy(ConditionConfig{Type: "vulnerability_count", Op: ">=", Value: "10"}))
	c := comp("django", "2.2.0")
	d := e.Evaluate(&c, &Env{Now: testNow, Intel: snap})
	want := "django 2.2.0 has " + strconv.Itoa(n) + " known vulnerabilities (" + strconv.Itoa(n) + " >= 10)"
	if d.Outcome != Block || d.Matches[0].Reasons[0] != want || len(d.Advisories) != n {
		t.Fatalf("got %v %+v (%d advisories), want %q", d.Outcome, d.Matches, len(d.Advisories), want)
	}
	old := mustCompile(t, onePolicy(ConditionConfig{Type: "vulnerability_age", Op: "<", Value: "1d"}))
	if d := old.Evaluate(&c, &Env{Now: testNow, Intel: snap}); d.Outcome != Allow {
		t.Fatalf("no django advisory was published the day before the snapshot: %+v", d.Matches)
	}
}
