package policy

import (
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/osaproxy/caddy-osaproxy/intel"
)

// benchSnapshot is the real PyPA and malicious records plus renamed copies
// of them up to 30,000 records, the size of a real PyPI OSV export.
func benchSnapshot(b *testing.B) *intel.Snapshot {
	b.Helper()
	benchOnce.Do(func() { benchSnap = buildBenchSnapshot(b) })
	if benchSnap == nil {
		b.Fatal("snapshot failed earlier")
	}
	return benchSnap
}

var (
	benchOnce sync.Once
	benchSnap *intel.Snapshot
)

func buildBenchSnapshot(b *testing.B) *intel.Snapshot {
	real := append(loadPyPA(b), loadMalicious(b)...)
	recs := make([]*intel.Vuln, 0, 30000)
	recs = append(recs, real...)
	for k := 1; len(recs) < 30000; k++ {
		for _, v := range real {
			if len(recs) >= 30000 {
				break
			}
			suffix := "-syn" + strconv.Itoa(k)
			cp := &intel.Vuln{
				ID: v.ID + suffix, Summary: v.Summary, Published: v.Published, Modified: v.Modified, Withdrawn: v.Withdrawn,
				CWEs: v.CWEs, Malicious: v.Malicious, CVSS3: v.CVSS3, HasCVSS3: v.HasCVSS3, Severity: v.Severity,
			}
			for _, a := range v.Affected {
				a.Name += suffix
				cp.Affected = append(cp.Affected, a)
			}
			recs = append(recs, cp)
		}
	}
	return intel.Build(recs)
}

// benchConfig is ten policies of the kinds a deployment uses.
func benchConfig() Config {
	return Config{Policies: []PolicyConfig{
		{Name: "Malware", Blocker: true, Conditions: []ConditionConfig{{Type: "dependency_is_dangerous"}}},
		{Name: "Critical", Blocker: true, Conditions: []ConditionConfig{{Type: "cvss3_score", Op: ">=", Value: "9.0"}}},
		{Name: "High with fix", Blocker: true, Delay: "14d", Conditions: []ConditionConfig{
			{Type: "severity_in", Values: []string{"HIGH", "CRITICAL"}}, {Type: "vulnerability_has_fix"}}},
		{Name: "Listed CVEs", Blocker: true, Conditions: []ConditionConfig{{Type: "vulnerability_id_in", Values: []string{"CVE-2018-18074", "CVE-2023-43364"}}}},
		{Name: "Cooldown", Blocker: true, Conditions: []ConditionConfig{{Type: "dependency_age", Op: "<", Value: "7d",
			MissingUploadTime: "treat_as_old", AllowSecurityFixes: true}}},
		{Name: "Reserved", Blocker: true, Conditions: []ConditionConfig{{Type: "reserved_names", Values: []string{"acme-*", "internal-*"}}}},
		{Name: "Yanked", Conditions: []ConditionConfig{{Type: "upstream_yanked"}}},
		{Name: "Many vulns", Conditions: []ConditionConfig{{Type: "vulnerability_count", Op: ">=", Value: "5"}}},
		{Name: "Old versions", Conditions: []ConditionConfig{{Any: []ConditionConfig{
			{Type: "purl_in", Values: []string{"pkg:pypi/pyyaml@5.3"}},
			{All: []ConditionConfig{{Type: "dependency_name_in", Values: []string{"django"}}, {Type: "dependency_version", Values: []string{"<3.2"}}}},
		}}}},
		{Name: "Sdist from archived", Repositories: []string{"internet-pypi"}, Conditions: []ConditionConfig{
			{Type: "package_type_in", Values: []string{"sdist"}}, {Not: &ConditionConfig{Type: "project_status_in", Values: []string{"active"}}}}},
	}}
}

func benchEvaluate(b *testing.B, c Component, want Outcome) {
	snap := benchSnapshot(b)
	e, err := Compile(benchConfig())
	if err != nil {
		b.Fatal(err)
	}
	env := &Env{Now: testNow, Intel: snap, FirstTrigger: func(string, time.Time) (time.Time, error) { return testNow.Add(-day(30)), nil }}
	if d := e.Evaluate(&c, env); d.Outcome != want || d.Err != nil {
		b.Fatalf("outcome %v err %v %+v", d.Outcome, d.Err, d.Matches)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			cc := c
			e.Evaluate(&cc, env)
		}
	})
	b.StopTimer()
	// p50/p99 from individually timed calls (the target is a p50).
	lat := make([]time.Duration, 20000)
	for i := range lat {
		t0 := time.Now()
		e.Evaluate(&c, env)
		lat[i] = time.Since(t0)
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
}

// BenchmarkEvaluateAllowClean: a package no record names.
func BenchmarkEvaluateAllowClean(b *testing.B) {
	c := withUpload(comp("my-clean-lib", "3.0.3"), day(60))
	c.Repository, c.PackageType = "internet-pypi", "wheel"
	benchEvaluate(b, c, Allow)
}

// BenchmarkEvaluateAllowKnown: a package with many records (django), none
// affecting this version; the time is intel's Affecting.
func BenchmarkEvaluateAllowKnown(b *testing.B) {
	c := withUpload(comp("django", "5.1.2"), day(60))
	c.Repository, c.PackageType = "internet-pypi", "wheel"
	benchEvaluate(b, c, Allow)
}

// BenchmarkEvaluateBlock: a vulnerable version matching several policies.
func BenchmarkEvaluateBlock(b *testing.B) {
	c := withUpload(comp("requests", "2.19.0"), day(60))
	c.Repository, c.PackageType = "internet-pypi", "sdist"
	benchEvaluate(b, c, Block)
}
