package policy

import (
	"archive/zip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/osaproxy/caddy-osaproxy/intel"
	"github.com/osaproxy/caddy-osaproxy/internal/testdata"
)

// testNow is the fixed evaluation instant of the synthetic tests.
var testNow = time.Date(2024, 10, 10, 0, 0, 0, 0, time.UTC)

func day(n int) time.Duration { return time.Duration(n) * Day }

// rangeFixed is an ECOSYSTEM range [introduced, fixed).
func rangeFixed(introduced, fixed string) intel.Range {
	r := intel.Range{Events: []intel.Event{{Introduced: introduced}}}
	if fixed != "" {
		r.Events = append(r.Events, intel.Event{Fixed: fixed})
	}
	return r
}

// testRecords are hand-made records shaped like real ones.
func testRecords() []*intel.Vuln {
	return []*intel.Vuln{
		{
			ID: "PYSEC-2018-28", Aliases: []string{"CVE-2018-18074", "GHSA-x84v-xcm2-53pg"},
			Published: time.Date(2018, 10, 29, 0, 0, 0, 0, time.UTC),
			Modified:  time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC),
			CVSS3:     7.5, HasCVSS3: true, Severity: "HIGH",
			Affected: []intel.Affected{{Name: "requests", Ranges: []intel.Range{rangeFixed("0", "2.20.0")}, Fixed: []string{"2.20.0"}}},
		},
		{
			ID: "MAL-2024-9933", Malicious: true,
			Published: time.Date(2024, 10, 1, 0, 0, 0, 0, time.UTC),
			Affected:  []intel.Affected{{Name: "evil-pkg", Versions: []string{"1.0"}}},
		},
		{
			// Malicious only through its CWE (the flag is left unset on purpose).
			ID: "GHSA-aaaa-bbbb-cccc", CWEs: []string{"CWE-506"},
			Affected: []intel.Affected{{Name: "cwe-pkg", Versions: []string{"0.1"}}},
		},
		{
			ID: "MAL-2025-1", Withdrawn: time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC),
			Affected: []intel.Affected{{Name: "oops", Ranges: []intel.Range{rangeFixed("0", "")}}},
		},
		{
			ID: "PYSEC-2023-1", Aliases: []string{"CVE-2023-0001"},
			CVSS3: 9.8, HasCVSS3: true, Severity: "CRITICAL",
			Published: time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC),
			Affected:  []intel.Affected{{Name: "django", Ranges: []intel.Range{rangeFixed("3.0", "3.1")}, Fixed: []string{"3.1"}}},
		},
		{
			ID:    "GHSA-4444-4444-4444",
			CVSS4: 9.3, HasCVSS4: true, Severity: "CRITICAL",
			Published: time.Date(2024, 10, 5, 0, 0, 0, 0, time.UTC),
			Affected:  []intel.Affected{{Name: "django", Versions: []string{"3.0"}}},
		},
		{
			ID:    "PYSEC-2019-2",
			CVSS2: 5.0, HasCVSS2: true, Severity: "MEDIUM",
			Published: time.Date(2019, 6, 1, 0, 0, 0, 0, time.UTC),
			Affected:  []intel.Affected{{Name: "django", Versions: []string{"2.2", "3.0"}}},
		},
	}
}

func testSnapshot(t testing.TB) *intel.Snapshot {
	t.Helper()
	s := intel.Build(testRecords())
	if s == nil || s.Records == 0 {
		t.Fatal("intel.Build returned no snapshot")
	}
	return s
}

// mustCompile compiles cfg or fails the test.
func mustCompile(t testing.TB, cfg Config) *Engine {
	t.Helper()
	e, err := Compile(cfg)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return e
}

// onePolicy is a blocker policy "P" with the given conditions.
func onePolicy(conds ...ConditionConfig) Config {
	return Config{Policies: []PolicyConfig{{Name: "P", Blocker: true, Conditions: conds}}}
}

// sharedOSV is internal/testdata.SharedOSV.
func sharedOSV(t testing.TB) string { return testdata.SharedOSV(t) }

// loadMalicious parses every record of shared/osv/malicious.
func loadMalicious(t testing.TB) []*intel.Vuln {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(sharedOSV(t), "malicious", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no malicious records: %v", err)
	}
	var out []*intel.Vuln
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		v, err := intel.ParseOSV(b, f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out = append(out, v)
	}
	return out
}

// loadPyPA parses every record of shared/osv/pypa-advisories.zip.
func loadPyPA(t testing.TB) []*intel.Vuln {
	t.Helper()
	path := filepath.Join(sharedOSV(t), "pypa-advisories.zip")
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var out []*intel.Vuln
	for _, f := range zr.File {
		if !strings.HasSuffix(f.Name, ".json") {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		v, err := intel.ParseOSV(b, f.Name)
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		out = append(out, v)
	}
	return out
}
