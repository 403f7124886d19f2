package policy

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestCompileErrors(t *testing.T) {
	okW := func(mod func(*WaiverConfig)) Config {
		w := WaiverConfig{Name: "w", Package: "foo", Expires: testNow, Justification: "j", ApprovedBy: "a"}
		mod(&w)
		return Config{Policies: []PolicyConfig{{Name: "P", Conditions: []ConditionConfig{condYanked}}}, Waivers: []WaiverConfig{w}}
	}
	pol := func(mod func(*PolicyConfig)) Config {
		p := PolicyConfig{Name: "X", Conditions: []ConditionConfig{condYanked}}
		mod(&p)
		return Config{Policies: []PolicyConfig{p}}
	}
	cond := func(c ConditionConfig) Config {
		return pol(func(p *PolicyConfig) { p.Conditions = []ConditionConfig{c} })
	}
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{"cooldown without missing_upload_time", Config{Policies: []PolicyConfig{{Name: "Cooldown", Conditions: []ConditionConfig{{Type: "dependency_age", Op: "<", Value: "7d"}}}}},
			`policy "Cooldown": condition dependency_age: missing_upload_time is required (treat_as_old or treat_as_young)`},
		{"bad missing_upload_time", cond(ConditionConfig{Type: "dependency_age", Op: "<", Value: "7d", MissingUploadTime: "old"}),
			`policy "X": condition dependency_age: invalid missing_upload_time "old"`},
		{"security fixes need a cooldown", cond(ConditionConfig{Type: "dependency_age", Op: ">", Value: "7d", MissingUploadTime: "treat_as_old", AllowSecurityFixes: true}),
			`policy "X": condition dependency_age: allow_security_fixes needs a cooldown comparison (< or <=)`},
		{"options on another type", cond(ConditionConfig{Type: "cvss3_score", Op: ">", Value: "7", AllowSecurityFixes: true}),
			`policy "X": condition cvss3_score: allow_security_fixes and missing_upload_time apply only to dependency_age`},
		{"no name", Config{Policies: []PolicyConfig{{Conditions: []ConditionConfig{condYanked}}}}, `policy #1: name is required`},
		{"duplicate", Config{Policies: []PolicyConfig{{Name: "A", Conditions: []ConditionConfig{condYanked}}, {Name: "A", Conditions: []ConditionConfig{condYanked}}}},
			`policy "A": duplicate policy name`},
		{"no conditions", pol(func(p *PolicyConfig) { p.Conditions = nil }), `policy "X": no conditions`},
		{"unknown type", cond(ConditionConfig{Type: "license_in", Values: []string{"MIT"}}), `policy "X": condition license_in: unknown condition type`},
		{"bad operator", cond(ConditionConfig{Type: "cvss3_score", Op: "=>", Value: "7"}), `policy "X": condition cvss3_score: bad operator "=>"`},
		{"missing operator", cond(ConditionConfig{Type: "cvss3_score", Value: "7"}), `policy "X": condition cvss3_score: missing comparison operator`},
		{"missing value", cond(ConditionConfig{Type: "cvss3_score", Op: ">"}), `policy "X": condition cvss3_score: missing value`},
		{"score out of range", cond(ConditionConfig{Type: "cvss4_score", Op: ">", Value: "11"}), `policy "X": condition cvss4_score: invalid score "11"`},
		{"bad count", cond(ConditionConfig{Type: "vulnerability_count", Op: ">", Value: "1.5"}), `policy "X": condition vulnerability_count: invalid count "1.5"`},
		{"bad age", cond(ConditionConfig{Type: "vulnerability_age", Op: ">", Value: "1y"}), `policy "X": condition vulnerability_age: invalid duration "1y"`},
		{"op condition with list", cond(ConditionConfig{Type: "cvss3_score", Op: ">", Values: []string{"7"}}), `policy "X": condition cvss3_score: takes an operator and one value, not a list`},
		{"list condition with op", cond(ConditionConfig{Type: "purl_in", Op: "==", Value: "pkg:pypi/a"}), `policy "X": condition purl_in: takes a list of values`},
		{"list condition empty", cond(ConditionConfig{Type: "severity_in"}), `policy "X": condition severity_in: needs at least one value`},
		{"flag condition with value", cond(ConditionConfig{Type: "upstream_yanked", Values: []string{"true"}}), `policy "X": condition upstream_yanked: takes no operand`},
		{"bad severity", cond(ConditionConfig{Type: "severity_in", Values: []string{"SEVERE"}}), `policy "X": condition severity_in: unknown severity "SEVERE"`},
		{"bad package type", cond(ConditionConfig{Type: "package_type_in", Values: []string{"zip"}}), `policy "X": condition package_type_in: unknown value "zip" (one of sdist, wheel, egg, other)`},
		{"bad status", cond(ConditionConfig{Type: "project_status_in", Values: []string{"dead"}}), `policy "X": condition project_status_in: unknown value "dead"`},
		{"bad purl", cond(ConditionConfig{Type: "purl_in", Values: []string{"pkg:npm/left-pad"}}), `policy "X": condition purl_in: invalid purl "pkg:npm/left-pad"`},
		{"bad specifier", cond(ConditionConfig{Type: "dependency_version", Values: []string{"~>1.0"}}), `policy "X": condition dependency_version: invalid PEP 440 version specifier "~>1.0"`},
		{"bad name glob", cond(ConditionConfig{Type: "reserved_names", Values: []string{"acme corp"}}), `policy "X": condition reserved_names: invalid name or glob "acme corp"`},
		{"two kinds at once", cond(ConditionConfig{Type: "upstream_yanked", Any: []ConditionConfig{condYanked}}), `policy "X": a condition needs exactly one of all, any, not or type (has 2)`},
		{"nothing set", cond(ConditionConfig{}), `policy "X": a condition needs exactly one of all, any, not or type (has 0)`},
		{"empty group", cond(ConditionConfig{Any: []ConditionConfig{}}), `policy "X": any group: empty`},
		{"group with operand", cond(ConditionConfig{All: []ConditionConfig{condYanked}, Op: ">"}), `policy "X": all group: a group takes no operator`},
		{"nested path", cond(ConditionConfig{Any: []ConditionConfig{condYanked, {Not: &ConditionConfig{Type: "cvss3_score", Op: ">"}}}}),
			`policy "X": any group: not group: condition cvss3_score: missing value`},
		{"bad delay", pol(func(p *PolicyConfig) { p.Delay = "2 weeks" }), `policy "X": delay: invalid duration "2 weeks"`},
		{"bad stage", pol(func(p *PolicyConfig) { p.Stages = []string{"qa"} }), `policy "X": unknown stage "qa"`},
		{"bad component", pol(func(p *PolicyConfig) { p.Components = []string{"npm"} }), `policy "X": unknown component kind "npm"`},
		{"empty repository", pol(func(p *PolicyConfig) { p.Repositories = []string{" "} }), `policy "X": empty repository name`},
		{"waiver without expiry", okW(func(w *WaiverConfig) { w.Expires = time.Time{} }), `waiver "w": expires is required`},
		{"waiver without justification", okW(func(w *WaiverConfig) { w.Justification = " " }), `waiver "w": justification is required`},
		{"waiver without approver", okW(func(w *WaiverConfig) { w.ApprovedBy = "" }), `waiver "w": approved_by is required`},
		{"waiver without package", okW(func(w *WaiverConfig) { w.Package = "" }), `waiver "w": package is required`},
		{"waiver without name", okW(func(w *WaiverConfig) { w.Name = "" }), `waiver #1: name is required`},
		{"waiver bad sha", okW(func(w *WaiverConfig) { w.Sha256 = "xyz" }), `waiver "w": sha256 "xyz" is not 64 hex digits`},
		{"waiver bad version", okW(func(w *WaiverConfig) { w.Version = "latest" }), `waiver "w": version: invalid PEP 440 version specifier "latest"`},
		{"waiver unknown policy", okW(func(w *WaiverConfig) { w.Policies = []string{"Q"} }), `waiver "w": unknown policy "Q"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compile(tc.cfg)
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			if !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("error\n %q\ndoes not start with\n %q", err, tc.want)
			}
		})
	}
	dup := okW(func(*WaiverConfig) {})
	dup.Waivers = append(dup.Waivers, dup.Waivers[0])
	if _, err := Compile(dup); err == nil || err.Error() != `waiver "w": duplicate waiver name` {
		t.Fatalf("duplicate waiver: %v", err)
	}
}

func TestCompileAcceptsExpiredWaiver(t *testing.T) {
	e := mustCompile(t, Config{
		Policies: []PolicyConfig{{Name: "P", Blocker: true, Conditions: []ConditionConfig{condYanked}}},
		Waivers:  []WaiverConfig{{Name: "old", Package: "foo", Expires: time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC), Justification: "j", ApprovedBy: "a"}},
	})
	ws := e.Waivers()
	if len(ws) != 1 || !ws[0].Expired {
		t.Fatalf("%+v", ws)
	}
	c := comp("foo", "1")
	c.Yanked = true
	if d := e.Evaluate(&c, &Env{}); d.Outcome != Block || d.Waiver != "" {
		t.Fatalf("expired waiver applied: %v %q", d.Outcome, d.Waiver)
	}
}

func TestEngineFlags(t *testing.T) {
	age := ConditionConfig{Type: "dependency_age", Op: "<", Value: "7d", MissingUploadTime: "treat_as_young"}
	ageFix := age
	ageFix.AllowSecurityFixes = true
	name := ConditionConfig{Type: "dependency_name_in", Values: []string{"x"}}
	w := WaiverConfig{Name: "w", Package: "x", Expires: testNow, Justification: "j", ApprovedBy: "a"}
	wsha := w
	wsha.Sha256 = strings.Repeat("0", 64)
	type flags struct{ intel, file, upload, cacheable bool }
	cases := []struct {
		name string
		cfg  Config
		want flags
	}{
		{"names only", onePolicy(name), flags{false, false, false, true}},
		{"cvss", onePolicy(condCVSS7), flags{true, false, false, true}},
		{"nested intel", onePolicy(ConditionConfig{Not: &ConditionConfig{Any: []ConditionConfig{name, {Type: "vulnerability_count", Op: ">", Value: "0"}}}}), flags{true, false, false, true}},
		{"inactive intel", Config{Policies: []PolicyConfig{{Name: "P", Inactive: true, Conditions: []ConditionConfig{condCVSS7, condYanked, age}}}}, flags{false, false, false, true}},
		{"other stage", Config{Policies: []PolicyConfig{{Name: "P", Stages: []string{"build"}, Conditions: []ConditionConfig{condCVSS7}}}}, flags{false, false, false, true}},
		{"cooldown", onePolicy(age), flags{false, true, true, false}},
		{"cooldown with fixes", onePolicy(ageFix), flags{true, true, true, false}},
		{"package type", onePolicy(ConditionConfig{Type: "package_type_in", Values: []string{"sdist"}}), flags{false, true, false, true}},
		{"yanked", onePolicy(condYanked), flags{false, true, false, true}},
		{"vulnerability age", onePolicy(ConditionConfig{Type: "vulnerability_age", Op: "<", Value: "1d"}), flags{true, false, false, false}},
		{"delay", Config{Policies: []PolicyConfig{{Name: "P", Blocker: true, Delay: "1d", Conditions: []ConditionConfig{name}}}}, flags{false, false, false, false}},
		{"waiver", Config{Policies: onePolicy(name).Policies, Waivers: []WaiverConfig{w}}, flags{false, false, false, false}},
		{"sha waiver", Config{Policies: onePolicy(name).Policies, Waivers: []WaiverConfig{wsha}}, flags{false, true, false, false}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := mustCompile(t, tc.cfg)
			got := flags{e.NeedsIntel(), e.FileSensitive(), e.NeedsUploadTime(), e.Cacheable()}
			if got != tc.want {
				t.Fatalf("got %+v want %+v", got, tc.want)
			}
		})
	}
}

func TestGeneration(t *testing.T) {
	a := mustCompile(t, onePolicy(condCVSS7))
	b := mustCompile(t, onePolicy(condCVSS7))
	c := mustCompile(t, onePolicy(ConditionConfig{Type: "cvss3_score", Op: ">=", Value: "7.1"}))
	if !regexp.MustCompile(`^[0-9a-f]{12}$`).MatchString(a.Generation()) {
		t.Fatalf("generation %q", a.Generation())
	}
	if a.Generation() != b.Generation() || a.Generation() == c.Generation() {
		t.Fatalf("generations %s %s %s", a.Generation(), b.Generation(), c.Generation())
	}
	empty := mustCompile(t, Config{})
	if empty.Generation() == a.Generation() || empty.NeedsIntel() {
		t.Fatal("empty config")
	}
	x := comp("requests", "2.19.0")
	if d := empty.Evaluate(&x, &Env{}); d.Outcome != Allow || d.Err != nil {
		t.Fatalf("empty engine: %+v", d)
	}
}

func TestDurations(t *testing.T) {
	good := []struct {
		in   string
		want time.Duration
		text string
	}{
		{"14d", day(14), "14d"},
		{"12h", 12 * time.Hour, "12h"},
		{"30m", 30 * time.Minute, "30m"},
		{"1d12h", day(1) + 12*time.Hour, "1d12h"},
		{"90m", 90 * time.Minute, "1h30m"},
		{"0d", 0, "0s"},
		{"45s", 45 * time.Second, "45s"},
	}
	for _, g := range good {
		d, err := ParseDuration(g.in)
		if err != nil || d != g.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", g.in, d, err, g.want)
		}
		if s := FormatDuration(d); s != g.text {
			t.Errorf("FormatDuration(%v) = %q want %q", d, s, g.text)
		}
	}
	for _, bad := range []string{"", "d", "-1d", "1.5d", "7 days", "-3h", "1w", "3dd"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) accepted", bad)
		}
	}
	if s := FormatDuration(-(day(2) + 3*time.Hour)); s != "-2d3h" {
		t.Errorf("negative: %q", s)
	}
}

func TestNamesAndGlobs(t *testing.T) {
	for in, want := range map[string]string{
		"Requests": "requests", "zope.interface": "zope-interface", "A__B--c..D": "a-b-c-d", "already-normal": "already-normal",
		"trailing_": "trailing-",
	} {
		if got := NormalizeName(in); got != want {
			t.Errorf("NormalizeName(%q) = %q want %q", in, got, want)
		}
	}
	cases := []struct {
		p, s string
		want bool
	}{
		{"*", "", true}, {"*", "anything", true}, {"a*", "a", true}, {"a*c", "abbbc", true}, {"a*c", "abbbd", false},
		{"*-utils", "acme-utils", true}, {"a?c", "abc", true}, {"a?c", "ac", false}, {"**x", "yx", true},
		{"a*b*c", "a-b-b-c", true}, {"a*b*c", "a-c-b", false}, {"exact", "exact", true}, {"exact", "exact2", false},
	}
	for _, c := range cases {
		if got := globMatch(c.p, c.s); got != c.want {
			t.Errorf("globMatch(%q, %q) = %v", c.p, c.s, got)
		}
	}
}
