package policy

import (
	"slices"
	"testing"
	"time"
)

type condCase struct {
	name    string
	cond    ConditionConfig
	comp    Component
	project *Project
	// reasons are the exact reasons of the match; nil means no match.
	reasons    []string
	advisories []string
	notes      []string
}

func comp(name, version string) Component {
	return Component{Ecosystem: "pypi", Name: name, Version: version}
}

func notOf(c ConditionConfig) ConditionConfig { return ConditionConfig{Not: &c} }

func withUpload(c Component, ago time.Duration) Component {
	c.UploadTime = testNow.Add(-ago)
	return c
}

func runCondCases(t *testing.T, cases []condCase) {
	t.Helper()
	snap := testSnapshot(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := mustCompile(t, onePolicy(tc.cond))
			c := tc.comp
			d := e.Evaluate(&c, &Env{Now: testNow, Intel: snap, Project: tc.project})
			if d.Err != nil {
				t.Fatalf("unexpected error: %v", d.Err)
			}
			if tc.reasons == nil {
				if d.Outcome != Allow || len(d.Matches) != 0 {
					t.Fatalf("want no match, got %v %+v", d.Outcome, d.Matches)
				}
			} else {
				if d.Outcome != Block || len(d.Matches) != 1 {
					t.Fatalf("want one blocking match, got %v %+v", d.Outcome, d.Matches)
				}
				m := d.Matches[0]
				if !slices.Equal(m.Reasons, tc.reasons) {
					t.Errorf("reasons:\n got %q\nwant %q", m.Reasons, tc.reasons)
				}
				if !slices.Equal(m.Advisories, tc.advisories) {
					t.Errorf("advisories: got %q want %q", m.Advisories, tc.advisories)
				}
				if !slices.Equal(d.Advisories, tc.advisories) {
					t.Errorf("decision advisories: got %q want %q", d.Advisories, tc.advisories)
				}
			}
			if !slices.Equal(d.Notes, tc.notes) {
				t.Errorf("notes:\n got %q\nwant %q", d.Notes, tc.notes)
			}
		})
	}
}

func TestConditionDangerous(t *testing.T) {
	c := ConditionConfig{Type: "dependency_is_dangerous"}
	runCondCases(t, []condCase{
		{name: "MAL id", cond: c, comp: comp("evil-pkg", "1.0"),
			reasons: []string{"evil-pkg 1.0 is known malicious: MAL-2024-9933"}, advisories: []string{"MAL-2024-9933"}},
		{name: "malware CWE", cond: c, comp: comp("cwe-pkg", "0.1"),
			reasons: []string{"cwe-pkg 0.1 is known malicious: GHSA-aaaa-bbbb-cccc"}, advisories: []string{"GHSA-aaaa-bbbb-cccc"}},
		{name: "other version", cond: c, comp: comp("evil-pkg", "1.1")},
		{name: "ordinary vulnerability", cond: c, comp: comp("requests", "2.19.0")},
		{name: "withdrawn record", cond: c, comp: comp("oops", "1.0")},
	})
}

func TestConditionVulnerabilityIDIn(t *testing.T) {
	runCondCases(t, []condCase{
		{name: "alias", cond: ConditionConfig{Type: "vulnerability_id_in", Values: []string{"CVE-2018-18074"}},
			comp:    comp("requests", "2.19.0"),
			reasons: []string{"requests 2.19.0 has listed vulnerability CVE-2018-18074 (PYSEC-2018-28)"}, advisories: []string{"PYSEC-2018-28"}},
		{name: "alias, other case", cond: ConditionConfig{Type: "vulnerability_id_in", Values: []string{"ghsa-X84V-xcm2-53pg"}},
			comp:    comp("requests", "2.19.0"),
			reasons: []string{"requests 2.19.0 has listed vulnerability GHSA-x84v-xcm2-53pg (PYSEC-2018-28)"}, advisories: []string{"PYSEC-2018-28"}},
		{name: "record id", cond: ConditionConfig{Type: "vulnerability_id_in", Values: []string{"CVE-1999-1", "pysec-2018-28"}},
			comp:    comp("requests", "2.19.0"),
			reasons: []string{"requests 2.19.0 has listed vulnerability PYSEC-2018-28"}, advisories: []string{"PYSEC-2018-28"}},
		{name: "fixed version", cond: ConditionConfig{Type: "vulnerability_id_in", Values: []string{"CVE-2018-18074"}},
			comp: comp("requests", "2.20.0")},
		{name: "not listed", cond: ConditionConfig{Type: "vulnerability_id_in", Values: []string{"CVE-2020-1"}},
			comp: comp("requests", "2.19.0")},
	})
}

func TestConditionCVSS(t *testing.T) {
	cv := func(typ, o, v string) ConditionConfig { return ConditionConfig{Type: typ, Op: o, Value: v} }
	runCondCases(t, []condCase{
		{name: "cvss3 >=", cond: cv("cvss3_score", ">=", "7.0"), comp: comp("requests", "2.19.0"),
			reasons: []string{"requests 2.19.0 has CVE-2018-18074, CVSS 3.x 7.5 >= 7.0"}, advisories: []string{"PYSEC-2018-28"}},
		{name: "cvss3 > miss", cond: cv("cvss3_score", ">", "7.5"), comp: comp("requests", "2.19.0")},
		{name: "cvss3 == ", cond: cv("cvss3_score", "==", "7.5"), comp: comp("requests", "2.19.0"),
			reasons: []string{"requests 2.19.0 has CVE-2018-18074, CVSS 3.x 7.5 == 7.5"}, advisories: []string{"PYSEC-2018-28"}},
		{name: "cvss3 != miss", cond: cv("cvss3_score", "!=", "7.5"), comp: comp("requests", "2.19.0")},
		// django 3.0: PYSEC-2023-1 has CVSS3 9.8, the others no CVSS3 at all:
		// they must not count as a score of 0.
		{name: "records without cvss3 never match", cond: cv("cvss3_score", "<", "5"), comp: comp("django", "3.0")},
		{name: "cvss3 <=", cond: cv("cvss3_score", "<=", "9.8"), comp: comp("django", "3.0"),
			reasons: []string{"django 3.0 has CVE-2023-0001, CVSS 3.x 9.8 <= 9.8"}, advisories: []string{"PYSEC-2023-1"}},
		{name: "cvss4", cond: cv("cvss4_score", ">=", "9"), comp: comp("django", "3.0"),
			reasons: []string{"django 3.0 has GHSA-4444-4444-4444, CVSS 4.0 9.3 >= 9"}, advisories: []string{"GHSA-4444-4444-4444"}},
		{name: "cvss4 missing", cond: cv("cvss4_score", ">=", "0"), comp: comp("requests", "2.19.0")},
		{name: "cvss2", cond: cv("cvss2_score", ">=", "5"), comp: comp("django", "2.2"),
			reasons: []string{"django 2.2 has PYSEC-2019-2, CVSS 2.0 5.0 >= 5"}, advisories: []string{"PYSEC-2019-2"}},
		{name: "no records", cond: cv("cvss3_score", ">=", "0"), comp: comp("clean-pkg", "1.0")},
	})
}

func TestConditionSeverityIn(t *testing.T) {
	runCondCases(t, []condCase{
		{name: "several hits", cond: ConditionConfig{Type: "severity_in", Values: []string{"critical", "moderate"}}, comp: comp("django", "3.0"),
			reasons:    []string{"django 3.0 has GHSA-4444-4444-4444, severity CRITICAL (and 2 more)"},
			advisories: []string{"GHSA-4444-4444-4444", "PYSEC-2019-2", "PYSEC-2023-1"}},
		{name: "MODERATE matches MEDIUM", cond: ConditionConfig{Type: "severity_in", Values: []string{"MODERATE"}}, comp: comp("django", "2.2"),
			reasons: []string{"django 2.2 has PYSEC-2019-2, severity MODERATE"}, advisories: []string{"PYSEC-2019-2"}},
		{name: "MEDIUM", cond: ConditionConfig{Type: "severity_in", Values: []string{"Medium"}}, comp: comp("django", "2.2"),
			reasons: []string{"django 2.2 has PYSEC-2019-2, severity MODERATE"}, advisories: []string{"PYSEC-2019-2"}},
		{name: "miss", cond: ConditionConfig{Type: "severity_in", Values: []string{"LOW", "CRITICAL"}}, comp: comp("requests", "2.19.0")},
	})
}

func TestConditionHasFix(t *testing.T) {
	c := ConditionConfig{Type: "vulnerability_has_fix"}
	runCondCases(t, []condCase{
		{name: "fixed", cond: c, comp: comp("requests", "2.19.0"),
			reasons: []string{"requests 2.19.0 has CVE-2018-18074, fixed in 2.20.0"}, advisories: []string{"PYSEC-2018-28"}},
		{name: "only unfixed records", cond: c, comp: comp("evil-pkg", "1.0")},
		{name: "django mixes", cond: c, comp: comp("django", "3.0"),
			reasons: []string{"django 3.0 has CVE-2023-0001, fixed in 3.1"}, advisories: []string{"PYSEC-2023-1"}},
	})
}

func TestConditionVulnerabilityAge(t *testing.T) {
	runCondCases(t, []condCase{
		{name: "old", cond: ConditionConfig{Type: "vulnerability_age", Op: ">", Value: "365d"}, comp: comp("requests", "2.19.0"),
			reasons: []string{"requests 2.19.0 has CVE-2018-18074, published 2173d ago (> 365d)"}, advisories: []string{"PYSEC-2018-28"}},
		{name: "young miss", cond: ConditionConfig{Type: "vulnerability_age", Op: "<", Value: "30d"}, comp: comp("requests", "2.19.0")},
		{name: "young hit", cond: ConditionConfig{Type: "vulnerability_age", Op: "<=", Value: "7d"}, comp: comp("django", "3.0"),
			reasons: []string{"django 3.0 has GHSA-4444-4444-4444, published 5d ago (<= 7d)"}, advisories: []string{"GHSA-4444-4444-4444"}},
		{name: "no published date", cond: ConditionConfig{Type: "vulnerability_age", Op: ">=", Value: "0d"}, comp: comp("cwe-pkg", "0.1")},
	})
}

func TestConditionVulnerabilityCount(t *testing.T) {
	runCondCases(t, []condCase{
		{name: "three", cond: ConditionConfig{Type: "vulnerability_count", Op: ">=", Value: "3"}, comp: comp("django", "3.0"),
			reasons:    []string{"django 3.0 has 3 known vulnerabilities (3 >= 3)"},
			advisories: []string{"GHSA-4444-4444-4444", "PYSEC-2019-2", "PYSEC-2023-1"}},
		{name: "one", cond: ConditionConfig{Type: "vulnerability_count", Op: "==", Value: "1"}, comp: comp("django", "2.2"),
			reasons: []string{"django 2.2 has 1 known vulnerability (1 == 1)"}, advisories: []string{"PYSEC-2019-2"}},
		{name: "zero", cond: ConditionConfig{Type: "vulnerability_count", Op: "==", Value: "0"}, comp: comp("clean-pkg", "1.0"),
			reasons: []string{"clean-pkg 1.0 has 0 known vulnerabilities (0 == 0)"}},
		{name: "withdrawn does not count", cond: ConditionConfig{Type: "vulnerability_count", Op: ">", Value: "0"}, comp: comp("oops", "1.0")},
		{name: "miss", cond: ConditionConfig{Type: "vulnerability_count", Op: ">", Value: "3"}, comp: comp("django", "3.0")},
	})
}

func TestConditionNames(t *testing.T) {
	in := func(v ...string) ConditionConfig { return ConditionConfig{Type: "dependency_name_in", Values: v} }
	rs := func(v ...string) ConditionConfig { return ConditionConfig{Type: "reserved_names", Values: v} }
	runCondCases(t, []condCase{
		{name: "glob normalized", cond: in("Acme_*", "requests"), comp: comp("acme-utils", "1.0"),
			reasons: []string{"acme-utils matches dependency name Acme_*"}},
		{name: "exact normalized", cond: in("Zope.Interface"), comp: comp("zope-interface", "5.0"),
			reasons: []string{"zope-interface matches dependency name Zope.Interface"}},
		{name: "unnormalized component name", cond: in("zope-interface"), comp: comp("Zope_Interface", "5.0"),
			reasons: []string{"zope-interface matches dependency name zope-interface"}},
		{name: "question mark", cond: in("fo?"), comp: comp("foo", "1"), reasons: []string{"foo matches dependency name fo?"}},
		{name: "question mark is one char", cond: in("fo?"), comp: comp("fooo", "1")},
		{name: "star in the middle", cond: in("py*-utils"), comp: comp("pytest-utils", "1"), reasons: []string{"pytest-utils matches dependency name py*-utils"}},
		{name: "miss", cond: in("acme-*"), comp: comp("requests", "2.19.0")},
		{name: "reserved", cond: rs("acme-*"), comp: comp("acme-utils", "9.9"),
			reasons: []string{"acme-utils matches reserved internal name acme-* (dependency confusion: an internal package name must never be fetched from a public registry)"}},
		{name: "reserved miss", cond: rs("acme-*"), comp: comp("acmeutils", "9.9")},
	})
}

func TestConditionDependencyVersion(t *testing.T) {
	v := func(s ...string) ConditionConfig { return ConditionConfig{Type: "dependency_version", Values: s} }
	runCondCases(t, []condCase{
		{name: "less", cond: v("<2.20.0"), comp: comp("requests", "2.19.0"), reasons: []string{"requests 2.19.0 matches version specifier <2.20.0"}},
		{name: "less miss", cond: v("<2.20.0"), comp: comp("requests", "2.20.0")},
		{name: "range from values", cond: v(">=1.0", "<2.0"), comp: comp("foo", "1.5"), reasons: []string{"foo 1.5 matches version specifier >=1.0,<2.0"}},
		{name: "range miss", cond: v(">=1.0,<2.0"), comp: comp("foo", "2.0")},
		{name: "wildcard", cond: v("==1.2.*"), comp: comp("foo", "1.2.7"), reasons: []string{"foo 1.2.7 matches version specifier ==1.2.*"}},
		{name: "compatible", cond: v("~=1.4"), comp: comp("foo", "1.9"), reasons: []string{"foo 1.9 matches version specifier ~=1.4"}},
		{name: "pre-release compares", cond: v("<2.0"), comp: comp("foo", "1.0rc1"), reasons: []string{"foo 1.0rc1 matches version specifier <2.0"}},
		{name: "non PEP 440 never matches", cond: v(">=0"), comp: comp("foo", "not-a-version")},
		{name: "not equal on non PEP 440 never matches", cond: v("!=1.0"), comp: comp("foo", "banana")},
	})
}

func TestConditionPURL(t *testing.T) {
	p := func(s ...string) ConditionConfig { return ConditionConfig{Type: "purl_in", Values: s} }
	runCondCases(t, []condCase{
		{name: "exact", cond: p("pkg:pypi/Requests@2.19.0"), comp: comp("requests", "2.19.0"),
			reasons: []string{"pkg:pypi/requests@2.19.0 matches listed purl pkg:pypi/Requests@2.19.0"}},
		{name: "every version", cond: p("pkg:pypi/requests"), comp: comp("requests", "2.31.0"),
			reasons: []string{"pkg:pypi/requests@2.31.0 matches listed purl pkg:pypi/requests"}},
		{name: "PEP 440 equal", cond: p("pkg:pypi/requests@2.19"), comp: comp("requests", "2.19.0"),
			reasons: []string{"pkg:pypi/requests@2.19.0 matches listed purl pkg:pypi/requests@2.19"}},
		{name: "qualifiers ignored", cond: p("pkg:pypi/requests@2.19.0?file_name=x.whl"), comp: comp("requests", "2.19.0"),
			reasons: []string{"pkg:pypi/requests@2.19.0 matches listed purl pkg:pypi/requests@2.19.0?file_name=x.whl"}},
		{name: "other version", cond: p("pkg:pypi/requests@2.19.0"), comp: comp("requests", "2.20.0")},
		{name: "other name", cond: p("pkg:pypi/requests"), comp: comp("requests-oauthlib", "1.0")},
	})
}

func TestConditionComponentAttributes(t *testing.T) {
	sdist := comp("foo", "1.0")
	sdist.Filename, sdist.PackageType = "foo-1.0.tar.gz", "sdist"
	wheel := comp("foo", "1.0")
	wheel.Filename, wheel.PackageType = "foo-1.0-py3-none-any.whl", "wheel"
	yanked := sdist
	yanked.Yanked = true
	quarantined := comp("foo", "1.0")
	quarantined.ProjectStatus = "quarantined"
	runCondCases(t, []condCase{
		{name: "package type", cond: ConditionConfig{Type: "package_type_in", Values: []string{"sdist", "EGG"}}, comp: sdist,
			reasons: []string{"foo 1.0 file foo-1.0.tar.gz package type is sdist (in sdist, egg)"}},
		{name: "package type miss", cond: ConditionConfig{Type: "package_type_in", Values: []string{"sdist"}}, comp: wheel},
		{name: "package type unknown", cond: ConditionConfig{Type: "package_type_in", Values: []string{"other"}}, comp: comp("foo", "1.0")},
		{name: "yanked", cond: ConditionConfig{Type: "upstream_yanked"}, comp: yanked,
			reasons: []string{"foo 1.0 (foo-1.0.tar.gz) is yanked upstream"}},
		{name: "not yanked", cond: ConditionConfig{Type: "upstream_yanked"}, comp: sdist},
		{name: "status", cond: ConditionConfig{Type: "project_status_in", Values: []string{"Quarantined", "archived"}}, comp: quarantined,
			reasons: []string{"foo 1.0 project status is quarantined (in quarantined, archived)"}},
		{name: "status unknown is active", cond: ConditionConfig{Type: "project_status_in", Values: []string{"active"}}, comp: sdist,
			reasons: []string{"foo 1.0 project status is active (in active)"}},
		{name: "status miss", cond: ConditionConfig{Type: "project_status_in", Values: []string{"archived"}}, comp: quarantined},
	})
}

func TestConditionDependencyAge(t *testing.T) {
	cool := func(missing string, fixes bool) ConditionConfig {
		return ConditionConfig{Type: "dependency_age", Op: "<", Value: "7d", MissingUploadTime: missing, AllowSecurityFixes: fixes}
	}
	requestsProject := &Project{Versions: []string{"2.18.4", "2.19.0", "2.20.0rc1", "2.19.1", "2.20.0", "2.21.0"}}
	runCondCases(t, []condCase{
		{name: "young file", cond: cool("treat_as_old", false), comp: withUpload(comp("foo", "2.0.1"), day(2)+3*time.Hour),
			reasons: []string{"foo 2.0.1 was uploaded 2d3h ago (< 7d cooldown)"}},
		{name: "old file", cond: cool("treat_as_old", false), comp: withUpload(comp("foo", "2.0.1"), day(8))},
		{name: "release time fallback", cond: cool("treat_as_old", false), comp: comp("foo", "2.0.1"),
			project: &Project{ReleaseTimes: map[string]time.Time{"2.0.1": testNow.Add(-5 * time.Hour)}},
			reasons: []string{"foo 2.0.1 was uploaded 5h ago (< 7d cooldown)"}},
		{name: "missing treated as old", cond: cool("treat_as_old", false), comp: comp("foo", "2.0.1")},
		{name: "missing treated as young", cond: cool("treat_as_young", false), comp: comp("foo", "2.0.1"),
			reasons: []string{"foo 2.0.1 has no known upload time (treated as young, < 7d cooldown)"}},
		{name: "older than", cond: ConditionConfig{Type: "dependency_age", Op: ">", Value: "365d", MissingUploadTime: "treat_as_young"},
			comp: withUpload(comp("foo", "0.1"), day(400)), reasons: []string{"foo 0.1 was uploaded 400d ago (> 365d)"}},
		{name: "missing treated as old is old", cond: ConditionConfig{Type: "dependency_age", Op: ">", Value: "365d", MissingUploadTime: "treat_as_old"},
			comp: comp("foo", "0.1"), reasons: []string{"foo 0.1 has no known upload time (treated as old, > 365d)"}},
		{name: "security fix bypasses cooldown", cond: cool("treat_as_old", true), comp: withUpload(comp("requests", "2.20.0"), day(1)),
			project: requestsProject,
			notes:   []string{"requests 2.20.0 was uploaded 1d ago (< 7d cooldown) but is allowed: it fixes CVE-2018-18074 (PYSEC-2018-28) which affects the previous version 2.19.1"}},
		{name: "no fix, cooldown applies", cond: cool("treat_as_old", true), comp: withUpload(comp("requests", "2.21.0"), day(1)),
			project: requestsProject, reasons: []string{"requests 2.21.0 was uploaded 1d ago (< 7d cooldown)"}},
		{name: "still vulnerable, cooldown applies", cond: cool("treat_as_old", true), comp: withUpload(comp("requests", "2.19.1"), day(1)),
			project: requestsProject, reasons: []string{"requests 2.19.1 was uploaded 1d ago (< 7d cooldown)"}},
		{name: "fix without project context", cond: cool("treat_as_old", true), comp: withUpload(comp("requests", "2.20.0"), day(1)),
			reasons: []string{"requests 2.20.0 was uploaded 1d ago (< 7d cooldown)"}},
		{name: "fix not allowed", cond: cool("treat_as_old", false), comp: withUpload(comp("requests", "2.20.0"), day(1)),
			project: requestsProject, reasons: []string{"requests 2.20.0 was uploaded 1d ago (< 7d cooldown)"}},
	})
}

func TestGroups(t *testing.T) {
	name := func(v ...string) ConditionConfig { return ConditionConfig{Type: "dependency_name_in", Values: v} }
	cvss := ConditionConfig{Type: "cvss3_score", Op: ">=", Value: "7.0"}
	yanked := ConditionConfig{Type: "upstream_yanked"}
	reqY := comp("requests", "2.19.0")
	reqY.Yanked = true
	runCondCases(t, []condCase{
		{name: "any: one fires", cond: ConditionConfig{Any: []ConditionConfig{name("foo"), cvss}}, comp: comp("requests", "2.19.0"),
			reasons: []string{"requests 2.19.0 has CVE-2018-18074, CVSS 3.x 7.5 >= 7.0"}, advisories: []string{"PYSEC-2018-28"}},
		{name: "any: both fire", cond: ConditionConfig{Any: []ConditionConfig{name("requests"), cvss}}, comp: comp("requests", "2.19.0"),
			reasons:    []string{"requests matches dependency name requests", "requests 2.19.0 has CVE-2018-18074, CVSS 3.x 7.5 >= 7.0"},
			advisories: []string{"PYSEC-2018-28"}},
		{name: "any: none", cond: ConditionConfig{Any: []ConditionConfig{name("foo"), cvss}}, comp: comp("requests", "2.20.0")},
		{name: "all: both", cond: ConditionConfig{All: []ConditionConfig{name("requests"), cvss}}, comp: comp("requests", "2.19.0"),
			reasons:    []string{"requests matches dependency name requests", "requests 2.19.0 has CVE-2018-18074, CVSS 3.x 7.5 >= 7.0"},
			advisories: []string{"PYSEC-2018-28"}},
		{name: "all: one missing", cond: ConditionConfig{All: []ConditionConfig{name("requests"), cvss}}, comp: comp("requests", "2.20.0")},
		{name: "not fires", cond: ConditionConfig{Not: &ConditionConfig{Any: []ConditionConfig{name("safe-*"), yanked}}}, comp: comp("requests", "2.19.0"),
			reasons: []string{"requests 2.19.0: not (any(dependency_name_in safe-*, upstream_yanked))"}},
		{name: "not holds back", cond: ConditionConfig{Not: &ConditionConfig{Any: []ConditionConfig{name("safe-*"), yanked}}}, comp: comp("safe-lib", "1")},
		{name: "nested three levels", cond: ConditionConfig{All: []ConditionConfig{
			{Any: []ConditionConfig{cvss, notOf(name("requests"))}},
			{Not: &ConditionConfig{All: []ConditionConfig{name("requests"), {Not: &yanked}}}},
		}}, comp: reqY,
			reasons: []string{
				"requests 2.19.0 has CVE-2018-18074, CVSS 3.x 7.5 >= 7.0",
				"requests 2.19.0: not (all(dependency_name_in requests, not(upstream_yanked)))",
			}, advisories: []string{"PYSEC-2018-28"}},
		{name: "nested three levels, inner not blocks", cond: ConditionConfig{All: []ConditionConfig{
			{Any: []ConditionConfig{cvss, notOf(name("requests"))}},
			{Not: &ConditionConfig{All: []ConditionConfig{name("requests"), {Not: &yanked}}}},
		}}, comp: comp("requests", "2.19.0")},
	})
}

func TestPolicyConditionsAreAnded(t *testing.T) {
	snap := testSnapshot(t)
	e := mustCompile(t, onePolicy(
		ConditionConfig{Type: "dependency_name_in", Values: []string{"requests"}},
		ConditionConfig{Type: "cvss3_score", Op: ">=", Value: "7"},
	))
	for _, tc := range []struct {
		version string
		want    Outcome
	}{{"2.19.0", Block}, {"2.20.0", Allow}} {
		c := comp("requests", tc.version)
		if d := e.Evaluate(&c, &Env{Now: testNow, Intel: snap}); d.Outcome != tc.want {
			t.Errorf("%s: got %v want %v", tc.version, d.Outcome, tc.want)
		} else if tc.want == Block && len(d.Matches[0].Reasons) != 2 {
			t.Errorf("want two reasons, got %q", d.Matches[0].Reasons)
		}
	}
	c := comp("flask", "1.0")
	if d := e.Evaluate(&c, &Env{Now: testNow, Intel: snap}); d.Outcome != Allow || len(d.Matches) != 0 {
		t.Errorf("flask: %+v", d)
	}
}
