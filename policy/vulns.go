package policy

import (
	"strconv"
	"strings"
	"time"

	"github.com/osaproxy/caddy-osaproxy/intel"
)

// maliciousCWEs are the CWE ids that mark a record as malicious code.
var maliciousCWEs = map[string]bool{
	"CWE-506": true, "CWE-507": true, "CWE-509": true, "CWE-510": true,
	"CWE-511": true, "CWE-512": true, "CWE-912": true,
}

// IsMalicious reports whether a record describes malicious code: the
// loader's flag, a MAL- id or alias, or a malicious-code CWE.
func IsMalicious(v *intel.Vuln) bool {
	if v.Malicious || hasPrefixFold(v.ID, "MAL-") {
		return true
	}
	for _, a := range v.Aliases {
		if hasPrefixFold(a, "MAL-") {
			return true
		}
	}
	for _, c := range v.CWEs {
		if maliciousCWEs[strings.ToUpper(c)] {
			return true
		}
	}
	return false
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// displayID is the id shown in reasons: the CVE id when the record has one
// (developers search for CVEs), otherwise the record id.
func displayID(v *intel.Vuln) string {
	if hasPrefixFold(v.ID, "CVE-") {
		return v.ID
	}
	for _, a := range v.Aliases {
		if hasPrefixFold(a, "CVE-") {
			return a
		}
	}
	return v.ID
}

// recordSeverity is the record's severity, MEDIUM folded into MODERATE,
// derived from the highest CVSS score when the record states none.
func recordSeverity(v *intel.Vuln) string {
	s := strings.ToUpper(strings.TrimSpace(v.Severity))
	if s == "MEDIUM" {
		return "MODERATE"
	}
	if s != "" {
		return s
	}
	var best float64
	var has bool
	for _, sc := range []struct {
		ok bool
		s  float64
	}{{v.HasCVSS3, v.CVSS3}, {v.HasCVSS4, v.CVSS4}, {v.HasCVSS2, v.CVSS2}} {
		if sc.ok && (!has || sc.s > best) {
			best, has = sc.s, true
		}
	}
	switch {
	case !has:
		return ""
	case best >= 9:
		return "CRITICAL"
	case best >= 7:
		return "HIGH"
	case best >= 4:
		return "MODERATE"
	case best > 0:
		return "LOW"
	}
	return "NONE"
}

// fixedVersions lists the fixed versions the record gives for name.
func fixedVersions(v *intel.Vuln, name string) []string {
	var out []string
	add := func(f string) {
		if f == "" {
			return
		}
		for _, o := range out {
			if o == f {
				return
			}
		}
		out = append(out, f)
	}
	for i := range v.Affected {
		a := &v.Affected[i]
		if NormalizeName(a.Name) != name {
			continue
		}
		for _, f := range a.Fixed {
			add(f)
		}
		for _, r := range a.Ranges {
			for _, e := range r.Events {
				add(e.Fixed)
			}
		}
	}
	return out
}

// hasFixed reports whether the record gives a fixed version for name.
func hasFixed(v *intel.Vuln, name string) bool {
	for i := range v.Affected {
		a := &v.Affected[i]
		if NormalizeName(a.Name) != name {
			continue
		}
		for _, f := range a.Fixed {
			if f != "" {
				return true
			}
		}
		for _, r := range a.Ranges {
			for _, e := range r.Events {
				if e.Fixed != "" {
					return true
				}
			}
		}
	}
	return false
}

// recordCond fires when some affecting record satisfies pred.
type recordCond struct {
	typ  string
	text string
	pred func(x *evalCtx, v *intel.Vuln) bool
	// describe renders the reason from the records that satisfy pred.
	describe func(x *evalCtx, hits []*intel.Vuln) string
}

func (r *recordCond) eval(x *evalCtx) tri {
	vulns, err := x.affecting()
	if err != nil {
		return x.fail(r.typ, err)
	}
	for _, v := range vulns {
		if r.pred(x, v) {
			return triTrue
		}
	}
	return triFalse
}

func (r *recordCond) explain(x *evalCtx) {
	vulns, _ := x.affecting()
	var hits []*intel.Vuln
	for _, v := range vulns {
		if r.pred(x, v) {
			hits = append(hits, v)
			x.advisories = append(x.advisories, v.ID)
		}
	}
	if len(hits) > 0 {
		x.reasons = append(x.reasons, r.describe(x, hits))
	}
}

func (r *recordCond) summary() string  { return r.text }
func (r *recordCond) kind() string     { return r.typ }
func (r *recordCond) children() []cond { return nil }

// more renders " (and N more)" for the records a reason does not name.
func more(n int) string {
	if n <= 0 {
		return ""
	}
	return " (and " + strconv.Itoa(n) + " more)"
}

func newDangerous() cond {
	return &recordCond{
		typ:  "dependency_is_dangerous",
		text: "dependency_is_dangerous",
		pred: func(_ *evalCtx, v *intel.Vuln) bool { return IsMalicious(v) },
		describe: func(x *evalCtx, hits []*intel.Vuln) string {
			ids := make([]string, len(hits))
			for i, v := range hits {
				ids[i] = v.ID
			}
			return x.pkg() + " is known malicious: " + strings.Join(ids, ", ")
		},
	}
}

func newIDIn(values []string, text string) cond {
	ids := make([]string, 0, len(values))
	for _, v := range values {
		ids = append(ids, strings.TrimSpace(v))
	}
	listed := func(id string) bool {
		for _, l := range ids {
			if strings.EqualFold(l, id) {
				return true
			}
		}
		return false
	}
	matched := func(v *intel.Vuln) string {
		if listed(v.ID) {
			return v.ID
		}
		for _, a := range v.Aliases {
			if listed(a) {
				return a
			}
		}
		return ""
	}
	return &recordCond{
		typ:  "vulnerability_id_in",
		text: text,
		pred: func(_ *evalCtx, v *intel.Vuln) bool { return matched(v) != "" },
		describe: func(x *evalCtx, hits []*intel.Vuln) string {
			parts := make([]string, len(hits))
			for i, v := range hits {
				id := matched(v)
				if strings.EqualFold(id, v.ID) {
					parts[i] = v.ID
				} else {
					parts[i] = id + " (" + v.ID + ")"
				}
			}
			return x.pkg() + " has listed vulnerability " + strings.Join(parts, ", ")
		},
	}
}

// cvssGetter returns the score of one CVSS version and whether the record has it.
type cvssGetter func(v *intel.Vuln) (float64, bool)

func newCVSS(typ string, o op, threshold float64, raw, text string) cond {
	var get cvssGetter
	var label string
	switch typ {
	case "cvss2_score":
		get, label = func(v *intel.Vuln) (float64, bool) { return v.CVSS2, v.HasCVSS2 }, "CVSS 2.0"
	case "cvss3_score":
		get, label = func(v *intel.Vuln) (float64, bool) { return v.CVSS3, v.HasCVSS3 }, "CVSS 3.x"
	default:
		get, label = func(v *intel.Vuln) (float64, bool) { return v.CVSS4, v.HasCVSS4 }, "CVSS 4.0"
	}
	return &recordCond{
		typ:  typ,
		text: text,
		pred: func(_ *evalCtx, v *intel.Vuln) bool {
			s, ok := get(v)
			return ok && cmpOrdered(o, s, threshold)
		},
		describe: func(x *evalCtx, hits []*intel.Vuln) string {
			best := hits[0]
			bs, _ := get(best)
			for _, v := range hits[1:] {
				if s, _ := get(v); s > bs {
					best, bs = v, s
				}
			}
			return x.pkg() + " has " + displayID(best) + ", " + label + " " +
				strconv.FormatFloat(bs, 'f', 1, 64) + " " + o.String() + " " + raw + more(len(hits)-1)
		},
	}
}

func newSeverityIn(values []string, text string) cond {
	set := make(map[string]bool, len(values))
	for _, v := range values {
		set[normSeverity(v)] = true
	}
	return &recordCond{
		typ:  "severity_in",
		text: text,
		pred: func(_ *evalCtx, v *intel.Vuln) bool { return set[recordSeverity(v)] },
		describe: func(x *evalCtx, hits []*intel.Vuln) string {
			return x.pkg() + " has " + displayID(hits[0]) + ", severity " + recordSeverity(hits[0]) + more(len(hits)-1)
		},
	}
}

func normSeverity(s string) string {
	s = strings.ToUpper(strings.TrimSpace(s))
	if s == "MEDIUM" {
		return "MODERATE"
	}
	return s
}

func newHasFix() cond {
	return &recordCond{
		typ:  "vulnerability_has_fix",
		text: "vulnerability_has_fix",
		pred: func(x *evalCtx, v *intel.Vuln) bool { return hasFixed(v, x.name) },
		describe: func(x *evalCtx, hits []*intel.Vuln) string {
			return x.pkg() + " has " + displayID(hits[0]) + ", fixed in " +
				strings.Join(fixedVersions(hits[0], x.name), ", ") + more(len(hits)-1)
		},
	}
}

func newVulnAge(o op, d time.Duration, raw, text string) cond {
	return &recordCond{
		typ:  "vulnerability_age",
		text: text,
		pred: func(x *evalCtx, v *intel.Vuln) bool {
			return !v.Published.IsZero() && cmpOrdered(o, x.now.Sub(v.Published), d)
		},
		describe: func(x *evalCtx, hits []*intel.Vuln) string {
			v := hits[0]
			return x.pkg() + " has " + displayID(v) + ", published " + FormatDuration(x.now.Sub(v.Published)) +
				" ago (" + o.String() + " " + raw + ")" + more(len(hits)-1)
		},
	}
}

// countCond compares the number of affecting records.
type countCond struct {
	o    op
	n    int
	raw  string
	text string
}

func (c *countCond) eval(x *evalCtx) tri {
	vulns, err := x.affecting()
	if err != nil {
		return x.fail("vulnerability_count", err)
	}
	if cmpOrdered(c.o, len(vulns), c.n) {
		return triTrue
	}
	return triFalse
}

func (c *countCond) explain(x *evalCtx) {
	vulns, _ := x.affecting()
	for _, v := range vulns {
		x.advisories = append(x.advisories, v.ID)
	}
	word := " known vulnerabilities"
	if len(vulns) == 1 {
		word = " known vulnerability"
	}
	x.reasons = append(x.reasons, x.pkg()+" has "+strconv.Itoa(len(vulns))+word+" ("+
		strconv.Itoa(len(vulns))+" "+c.o.String()+" "+c.raw+")")
}

func (c *countCond) summary() string  { return c.text }
func (c *countCond) kind() string     { return "vulnerability_count" }
func (c *countCond) children() []cond { return nil }
