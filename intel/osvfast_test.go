package intel

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	jsonv2 "github.com/go-json-experiment/json"
)

// vulnText renders everything a record carries, exported fields and the
// compiled matcher, so that two records can be compared exactly.
func vulnText(v *Vuln) string {
	if v == nil {
		return "<nil>"
	}
	c := *v
	c.m = nil
	var b strings.Builder
	fmt.Fprintf(&b, "%#v\n", c)
	for _, a := range v.compiled().affected {
		fmt.Fprintf(&b, "ca %q odd=%q", a.name, a.odd)
		for _, p := range a.versions {
			fmt.Fprintf(&b, " %q/%q/%v", p.canon, p.eq, p.ok)
		}
		for _, r := range a.ranges {
			fmt.Fprintf(&b, " R(open=%v usable=%v", r.open, r.usable)
			for _, e := range r.events {
				ev := "-"
				if e.v != nil {
					ev = e.v.canon
				}
				fmt.Fprintf(&b, " %d:%v:%q", e.kind, e.zero, ev)
			}
			for _, l := range r.limits {
				fmt.Fprintf(&b, " L%q", l.canon)
			}
			b.WriteString(")")
		}
		b.WriteString("\n")
	}
	return b.String()
}

// checkFastAgainstGeneral decodes data with the fast path and with the
// general decoder (JSON v2) and fails when the fast path accepted a
// document the general decoder rejects or decodes differently. It reports
// whether the fast path accepted data.
func checkFastAgainstGeneral(t *testing.T, data []byte) bool {
	t.Helper()
	var fr osvRecord
	fastOK := decodeOSVFast(data, &fr, newLocalVersions())
	var gr osvRecord
	gerr := jsonv2.Unmarshal(data, &gr, osvJSONOptions)
	if !fastOK {
		// the fallback is the general decoder itself: parseOSV must agree.
		v, err := parseOSV(data, "t", newLocalVersions())
		g, gerr2 := parseOSVGeneral(data, "t", globalVersions{})
		if (err == nil) != (gerr2 == nil) || vulnText(v) != vulnText(g) {
			t.Fatalf("fallback differs from the general decoder: %v / %v", err, gerr2)
		}
		return false
	}
	if gerr != nil {
		t.Fatalf("fast path accepted a document the general decoder rejects (%v):\n%q", gerr, data)
	}
	fv, ferr := fr.toVuln("t", newLocalVersions())
	gv, gerr := gr.toVuln("t", globalVersions{})
	if (ferr == nil) != (gerr == nil) {
		t.Fatalf("toVuln errors differ: fast %v, general %v\n%q", ferr, gerr, data)
	}
	if ft, gt := vulnText(fv), vulnText(gv); ft != gt {
		t.Fatalf("fast path decodes differently:\nfast:    %s\ngeneral: %s\ninput: %q", ft, gt, data)
	}
	return true
}

// TestOSVFastMatchesGeneral: every real record takes the fast path and
// decodes exactly as with the general decoder.
func TestOSVFastMatchesGeneral(t *testing.T) {
	recs := realRecords(t)
	ids := make([]string, 0, len(recs))
	for id := range recs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var docs [][]byte
	for _, id := range ids {
		docs = append(docs, recs[id])
	}
	mal, _ := filepath.Glob(filepath.Join(sharedOSV(t), "malicious", "*.json"))
	for _, p := range mal {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, b)
	}
	if len(docs) < 2700 {
		t.Fatalf("only %d real records", len(docs))
	}
	for _, d := range docs {
		if !checkFastAgainstGeneral(t, d) {
			t.Errorf("a real record fell back to the general decoder: %.200s", d)
		}
	}
}

// TestOSVFastEdgeCases: shapes the fast path reads, and shapes it leaves
// to the general decoder; either way the result is the general decoder's.
func TestOSVFastEdgeCases(t *testing.T) {
	const aff = `"affected": [{"package": {"ecosystem": "PyPI", "name": "Foo"}, "versions": ["1.0"]}]`
	rec := func(members string) string { return `{"id": "X-1", ` + aff + `, ` + members + `}` }
	cases := []struct {
		doc  string
		fast bool
	}{
		{rec(`"details": "a\nb\t\"q\" \\ \/ \b\f\r \u00e9 \u2028 é 日本"`), true},
		{rec(`"details": "\ud83d\ude00"`), false}, // surrogates: general decoder
		{rec("\"details\": \"bad \xff utf8\""), false},
		{rec("\"details\": \"ctl \x01\""), false},
		{rec(`"details": "bad escape \x"`), false},
		{rec(`"details": "\u00g0"`), false},
		{`{"id": null, ` + aff + `}`, false},
		{`{"id": 5, ` + aff + `}`, false},
		{`{"id": "A", "id": "B", ` + aff + `}`, false},
		{`{"\u0069d": "X-2", ` + aff + `}`, true},
		{`{"ID": "X-2", "id": "X-3", ` + aff + `}`, true},
		{rec(`"x": {"a": [1, -2.5e+3, 0.1E-2, true, false, null, {"b": []}], "c": {}}`), true},
		{rec(`"x": 01`), false},
		{rec(`"x": 1.`), false},
		{rec(`"x": -`), false},
		{rec(`"x": tru`), false},
		{rec(`"x": [1,]`), false},
		{rec(`"x": {"a": 1,}`), false},
		{rec(`"x": ` + strings.Repeat("[", 100) + strings.Repeat("]", 100)), false},
		{rec(`"x": ` + strings.Repeat("[", 20) + strings.Repeat("]", 20)), true},
		{rec(`"x": 1`) + ` x`, false},
		{rec(`"x": 1`) + " \r\n\t", true},
		{"\ufeff" + rec(`"x": 1`), false},
		{`[]`, false},
		{``, false},
		{`{}`, true},
		{`{"id": "X-1"}`, true},
		{`{"id": " ", ` + aff + `}`, true},
		{rec(`"published": "2024-01-02T03:04:05Z", "modified": "2024-01-02 03:04:05", "withdrawn": ""`), true},
		{rec(`"modified": "yesterday"`), true},
		{rec(`"aliases": ["A", "A", " ", "X-1", "B"]`), true},
		{rec(`"aliases": ["A", null]`), false},
		{rec(`"aliases": "A"`), false},
		{`{"id": "X-1", "affected": [{"package": {"ecosystem": "PyPI", "name": "x"}, "versions": [" 1.0 ", "", " ", "1.0.0", "01.0", "not a version", "1!2.0rc1"]}]}`, true},
		{`{"id": "X-1", "affected": [{"package": {"ecosystem": "PyPI", "name": "x"}, "versions": []}]}`, true},
		{`{"id": "X-1", "affected": [{"package": {"ecosystem": "PyPI", "name": "x"}, "versions": ["", " "]}]}`, true},
		{`{"id": "X-1", "affected": [{"package": {"ecosystem": "PyPI", "name": "x"}, "versions": [1]}]}`, false},
		{`{"id": "X-1", "affected": [{"package": {"ecosystem": "PyPI", "name": "x"}, "versions": null}]}`, false},
		{`{"id": "X-1", "affected": [{"versions": ["1.0"], "package": {"name": "x", "ecosystem": "pypi", "purl": "pkg:pypi/x"}}]}`, true},
		{`{"id": "X-1", "affected": [{"package": {"ecosystem": "PyPI", "name": "x"}, "package": {"name": "y"}}]}`, false},
		{`{"id": "X-1", "affected": null}`, false},
		{`{"id": "X-1", "affected": [null]}`, false},
		{`{"id": "X-1", "affected": [{"package": {"ecosystem": "npm", "name": "x"}}, {"package": {"ecosystem": "PyPI", "name": ""}}]}`, true},
		{`{"id": "X-1", "affected": [{"package": {"ecosystem": "PyPI", "name": "x"}, "ranges": [
			{"type": "GIT", "repo": "r", "events": [{"introduced": "0"}, {"fixed": "abc"}]},
			{"type": "ecosystem", "events": [{"introduced": "0", "fixed": "1.0"}, {"introduced": " "}, {"fixed": " 2.0 "},
				{"last_affected": "3"}, {"limit": "4"}, {}, {"other": 1}]},
			{"type": "ECOSYSTEM", "events": []}, {"type": "ECOSYSTEM"}, {}]}]}`, true},
		{`{"id": "X-1", "affected": [{"package": {"ecosystem": "PyPI", "name": "x"}, "ranges": [{"type": "ECOSYSTEM", "events": [{"fixed": 1}]}]}]}`, false},
		{`{"id": "X-1", "affected": [{"package": {"ecosystem": "PyPI", "name": "x"}, "ranges": [{"type": "ECOSYSTEM", "events": [{"fixed": "1", "fixed": "2"}]}]}]}`, false},
		{rec(`"severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}, {"type": "CVSS_V2", "score": "AV:N/AC:L/Au:N/C:P/I:P/A:P"}, {"score": "x"}, {}]`), true},
		{rec(`"severity": [{"type": "CVSS_V3", "score": 9.8}]`), false},
		{rec(`"references": [{"type": "WEB", "url": " https://a "}, {"url": ""}, {"type": "X"}]`), true},
		{rec(`"references": [{"url": 1}]`), false},
		{rec(`"database_specific": {"severity": "high", "cwe_ids": ["CWE-79", "cwe-22", 506, true, {"a": 1}, [1]], "github_reviewed": true}`), true},
		{rec(`"database_specific": {"severity": 5}`), true},
		{rec(`"database_specific": {"severity": -1.5e3}`), true},
		{rec(`"database_specific": {"severity": true}`), true},
		{rec(`"database_specific": {"severity": ["HIGH"]}`), true},
		{rec(`"database_specific": {"severity": null}`), false},
		{rec(`"database_specific": {"Severity": "HIGH"}`), false},
		{rec(`"database_specific": {"CWE_IDS": ["CWE-506"]}`), false},
		{rec(`"database_specific": {"ſeverity": "HIGH"}`), false},
		{rec(`"database_specific": {"severity": "LOW", "severity": "HIGH"}`), false},
		{rec(`"database_specific": {"cwe_ids": "CWE-506"}`), true},
		{rec(`"database_specific": {"cwe_ids": 506}`), true},
		{rec(`"database_specific": {"cwe_ids": ["CWE-1", null]}`), false},
		{rec(`"database_specific": {"cwe_ids": {"a": "CWE-506"}}`), true},
		{rec(`"database_specific": "x"`), false},
		{rec(`"database_specific": null`), false},
		{rec(`"database_specific": {"severity": "HIGH", "x": 01}`), false},
		{rec(`"cwe_ids": ["CWE-506"]`), true},
		{rec(`"cwe_ids": "506"`), true},
		{rec(`"cwe_ids": null`), false},
		{rec(`"cwes": [{"cweId": "CWE-506", "name": "x"}, {"cweId": 79}]`), true},
		{rec(`"cwes": ["CWE-512", 912]`), true},
		{rec(`"cwes": "CWE-506"`), true},
		{rec(`"cwes": null`), false},
		{rec(`"cwes": [1, 2]`), true},
		{`{"id": "MAL-2024-1", "affected": [{"package": {"ecosystem": "PyPI", "name": "x"}, "database_specific": {"cwe_ids": ["CWE-506"]}}]}`, true},
		{`{"id": "X-1", "affected": [{"package": {"ecosystem": "PyPI", "name": "x"}, "database_specific": {"cwe_ids": ["CWE-506"]}, "database_specific": {}}]}`, false},
		{rec(`"schema_version": "1.6.0", "summary": "s", "withdrawn": "2024-01-01T00:00:00Z"`), true},
		{rec(`"schema_version": 1`), false},
		{rec(`"summary": "a", "summary": "b"`), false},
	}
	for i, c := range cases {
		got := checkFastAgainstGeneral(t, []byte(c.doc))
		if got != c.fast {
			t.Errorf("case %d: fast path taken %v, want %v: %s", i, got, c.fast, c.doc)
		}
	}
}

// FuzzOSVFastDecode: whatever the input, the fast path either declines it
// or decodes it exactly as the general decoder does.
func FuzzOSVFastDecode(f *testing.F) {
	seeds := []string{
		`{"id": "X-1", "aliases": ["A"], "details": "a\nb\u00e9", "modified": "2024-01-02T03:04:05Z",
		  "affected": [{"package": {"ecosystem": "PyPI", "name": "Foo_Bar"}, "versions": ["1.0", " 2.0 ", ""],
		    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.5"}, {"limit": "3"}]}],
		    "database_specific": {"cwe_ids": ["CWE-79", 506]}}],
		  "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
		  "references": [{"type": "WEB", "url": "https://x"}],
		  "database_specific": {"severity": "HIGH", "x": [1, true, null, {"y": -0.5e1}]},
		  "cwes": [{"cweId": "CWE-506"}], "cwe_ids": "CWE-22"}`,
		`{"id": "MAL-1", "affected": [{"package": {"ecosystem": "PyPI", "name": "x"}, "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]}]}`,
		`{"\u0069d": "X", "id2": null}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	recs := realRecords(f)
	for _, id := range []string{"PYSEC-2018-28", "PYSEC-2023-262", "PYSEC-2021-335", "PYSEC-2021-370"} {
		f.Add(recs[id])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkFastAgainstGeneral(t, data)
	})
}
