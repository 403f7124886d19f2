package intel

import (
	"strings"
	"testing"
	"time"
)

func TestParseOSVFields(t *testing.T) {
	rec := `{
  "schema_version": "1.6.0",
  "id": "GHSA-aaaa-bbbb-cccc",
  "aliases": ["CVE-2024-0001", "CVE-2024-0001", "PYSEC-2024-1"],
  "summary": "s", "details": "d",
  "published": "2024-01-02T03:04:05Z",
  "modified": "2024-02-03T04:05:06.123456Z",
  "severity": [
    {"type": "CVSS_V3", "score": "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"},
    {"type": "CVSS_V4", "score": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"},
    {"type": "CVSS_V2", "score": "AV:N/AC:L/Au:N/C:P/I:P/A:P"},
    {"type": "CVSS_V3", "score": "CVSS:3.1/garbage"},
    {"type": "Ubuntu", "score": "high"}
  ],
  "affected": [
    {"package": {"ecosystem": "pypi", "name": "Foo_Bar"},
     "ranges": [
       {"type": "GIT", "repo": "x", "events": [{"introduced": "0"}, {"fixed": "abc123"}]},
       {"type": "ECOSYSTEM", "events": [{"introduced": "1.0"}, {"fixed": "1.5"}, {"introduced": "2.0"}, {"fixed": "2.1"}]}
     ],
     "versions": ["1.0", "1.4"],
     "database_specific": {"cwe_ids": ["CWE-79"]}},
    {"package": {"ecosystem": "npm", "name": "foo-bar"}, "versions": ["1.0"]}
  ],
  "references": [{"type": "WEB", "url": "https://example.org/a"}, {"type": "WEB", "url": ""}],
  "database_specific": {"cwe_ids": ["CWE-22", "cwe-79"], "severity": "moderate", "github_reviewed": true}
}`
	v, err := ParseOSV([]byte(rec), "test")
	if err != nil {
		t.Fatal(err)
	}
	if v.ID != "GHSA-aaaa-bbbb-cccc" || strings.Join(v.Aliases, ",") != "CVE-2024-0001,PYSEC-2024-1" {
		t.Errorf("id/aliases: %s %v", v.ID, v.Aliases)
	}
	if !v.Published.Equal(time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)) ||
		!v.Modified.Equal(time.Date(2024, 2, 3, 4, 5, 6, 123456000, time.UTC)) || !v.Withdrawn.IsZero() {
		t.Errorf("times: %v %v %v", v.Published, v.Modified, v.Withdrawn)
	}
	if !v.HasCVSS3 || v.CVSS3 != 7.5 || v.CVSS3Vector != "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N" {
		t.Errorf("cvss3: %v %v %q", v.HasCVSS3, v.CVSS3, v.CVSS3Vector)
	}
	if !v.HasCVSS2 || v.CVSS2 != 7.5 {
		t.Errorf("cvss2: %v %v", v.HasCVSS2, v.CVSS2)
	}
	if !v.HasCVSS4 || v.CVSS4 != 9.3 {
		t.Errorf("cvss4: %v %v", v.HasCVSS4, v.CVSS4)
	}
	if v.Severity != "MODERATE" { // given by the database wins over the scores
		t.Errorf("severity %q", v.Severity)
	}
	if strings.Join(v.CWEs, ",") != "CWE-22,CWE-79" || v.Malicious {
		t.Errorf("cwes %v malicious %v", v.CWEs, v.Malicious)
	}
	if len(v.Affected) != 1 {
		t.Fatalf("affected: %+v", v.Affected)
	}
	a := v.Affected[0]
	if a.Name != "foo-bar" || len(a.Ranges) != 1 || len(a.Ranges[0].Events) != 4 ||
		strings.Join(a.Fixed, ",") != "1.5,2.1" || strings.Join(a.Versions, ",") != "1.0,1.4" {
		t.Errorf("affected: %+v", a)
	}
	if strings.Join(v.References, ",") != "https://example.org/a" {
		t.Errorf("references: %v", v.References)
	}
	for ver, want := range map[string]bool{"0.9": false, "1.0": true, "1.4.9": true, "1.5": false, "2.0.1": true, "2.1": false} {
		if got := v.Affects("FOO.bar", ver); got != want {
			t.Errorf("Affects(foo-bar, %s) = %v, want %v", ver, got, want)
		}
	}
	if v.Affects("other", "1.0") {
		t.Error("matched another package")
	}
}

func TestParseOSVSeverityAndMalice(t *testing.T) {
	cases := []struct {
		name, rec string
		severity  string
		malicious bool
		cwes      string
	}{
		{"derived critical", `{"id":"X-1","severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]}`, "CRITICAL", false, ""},
		{"derived high", `{"id":"X-2","severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"}]}`, "HIGH", false, ""},
		{"derived moderate", `{"id":"X-3","severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:L/A:N"}]}`, "MODERATE", false, ""},
		{"derived low", `{"id":"X-4","severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N"}]}`, "LOW", false, ""},
		{"none", `{"id":"X-5","severity":[{"type":"CVSS_V3","score":"not a vector"}]}`, "", false, ""},
		{"wrong type for vector", `{"id":"X-6","severity":[{"type":"CVSS_V2","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]}`, "", false, ""},
		{"MAL id", `{"id":"MAL-2024-1"}`, "", true, ""},
		{"MAL alias", `{"id":"GHSA-x","aliases":["MAL-2025-9"]}`, "", true, ""},
		{"malware CWE", `{"id":"GHSA-y","database_specific":{"cwe_ids":["CWE-506"]}}`, "", true, "CWE-506"},
		{"CWE in affected", `{"id":"GHSA-z","affected":[{"package":{"ecosystem":"PyPI","name":"p"},"database_specific":{"cwe_ids":["CWE-912"]}}]}`, "", true, "CWE-912"},
		{"top-level cwe_ids", `{"id":"X-7","cwe_ids":["CWE-79", 89]}`, "", false, "CWE-79,CWE-89"},
		{"cwes objects", `{"id":"X-8","cwes":[{"cweId":"CWE-507","name":"Trojan"}]}`, "", true, "CWE-507"},
		{"odd database_specific", `{"id":"X-9","database_specific":"weird"}`, "", false, ""},
		{"odd severity shape", `{"id":"X-10","database_specific":{"severity":{"x":1},"cwe_ids":"CWE-20"}}`, "", false, "CWE-20"},
	}
	for _, c := range cases {
		v, err := ParseOSV([]byte(c.rec), "t")
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if v.Severity != c.severity || v.Malicious != c.malicious || strings.Join(v.CWEs, ",") != c.cwes {
			t.Errorf("%s: severity %q malicious %v cwes %v", c.name, v.Severity, v.Malicious, v.CWEs)
		}
	}
}

func TestParseOSVErrors(t *testing.T) {
	for name, rec := range map[string]string{
		"not json":      `{"id": "X`,
		"no id":         `{"summary":"x"}`,
		"bad modified":  `{"id":"X","modified":"yesterday"}`,
		"wrong shape":   `{"id":"X","affected":{"package":1}}`,
		"versions type": `{"id":"X","affected":[{"package":{"ecosystem":"PyPI","name":"p"},"versions":[{"v":1}]}]}`,
	} {
		if _, err := ParseOSV([]byte(rec), "t"); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestParsePyPAYAML(t *testing.T) {
	rec := `id: PYSEC-2099-1
aliases:
- CVE-2099-1
modified: 2024-01-01T00:00:00.5Z
published: 2023-12-31T00:00:00Z
details: A YAML advisory.
affected:
- package:
    name: Some.Package
    ecosystem: PyPI
  ranges:
  - type: ECOSYSTEM
    events:
    - introduced: 0
    - fixed: 1.10
  - type: GIT
    repo: https://example.org/x
    events:
    - introduced: "0"
    - fixed: deadbeef
  versions:
  - 1.0
  - 1.9
severity:
- type: CVSS_V3
  score: CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H
`
	v, err := ParsePyPAYAML([]byte(rec), "y")
	if err != nil {
		t.Fatal(err)
	}
	if v.ID != "PYSEC-2099-1" || v.Aliases[0] != "CVE-2099-1" || v.CVSS3 != 9.8 || v.Severity != "CRITICAL" ||
		!v.Modified.Equal(time.Date(2024, 1, 1, 0, 0, 0, 500000000, time.UTC)) {
		t.Errorf("fields: %+v", v)
	}
	a := v.Affected[0]
	if a.Name != "some-package" || strings.Join(a.Versions, ",") != "1.0,1.9" || strings.Join(a.Fixed, ",") != "1.10" {
		t.Errorf("affected: %+v", a)
	}
	// "1.10" must stay the string 1.10 (not the float 1.1).
	for ver, want := range map[string]bool{"1.9": true, "1.9.5": true, "1.10": false, "1.1": true} {
		if got := v.Affects("some_package", ver); got != want {
			t.Errorf("Affects(%s) = %v, want %v", ver, got, want)
		}
	}
}
