package policyfile

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/osaproxy/caddy-osaproxy/policy"
)

// example is the documented syntax, verbatim but for a real sha256.
const example = `
policy "Critical vulnerabilities" {
	description "Blocks critical issues"
	stages proxy
	components packages
	repositories internet-pypi
	inactive
	blocker
	delay 14d
	any {
		condition cvss3_score >= 9.0
		condition vulnerability_id_in CVE-2018-18074 GHSA-x84v-xcm2-53pg
		not {
			condition dependency_name_in safe-*
		}
	}
	condition dependency_age < 7d {
		allow_security_fixes
		missing_upload_time treat_as_old
	}
	condition dependency_is_dangerous
	condition upstream_yanked
}
waiver "false positive, reviewed" {
	package example-lib
	version ==1.2.3
	repositories internet-pypi
	sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
	policies "Critical vulnerabilities"
	expires 2026-12-31T00:00:00Z
	justification "upstream confirmed"
	approved_by alice
}
`

func TestParseStringExample(t *testing.T) {
	cfg, err := ParseString(example)
	if err != nil {
		t.Fatal(err)
	}
	want := policy.Config{
		Policies: []policy.PolicyConfig{{
			Name:         "Critical vulnerabilities",
			Description:  "Blocks critical issues",
			Stages:       []string{"proxy"},
			Components:   []string{"packages"},
			Repositories: []string{"internet-pypi"},
			Inactive:     true,
			Blocker:      true,
			Delay:        "14d",
			Conditions: []policy.ConditionConfig{
				{Any: []policy.ConditionConfig{
					{Type: "cvss3_score", Op: ">=", Value: "9.0"},
					{Type: "vulnerability_id_in", Values: []string{"CVE-2018-18074", "GHSA-x84v-xcm2-53pg"}},
					{Not: &policy.ConditionConfig{Type: "dependency_name_in", Values: []string{"safe-*"}}},
				}},
				{Type: "dependency_age", Op: "<", Value: "7d", AllowSecurityFixes: true, MissingUploadTime: "treat_as_old"},
				{Type: "dependency_is_dangerous"},
				{Type: "upstream_yanked"},
			},
		}},
		Waivers: []policy.WaiverConfig{{
			Name:          "false positive, reviewed",
			Package:       "example-lib",
			Version:       "==1.2.3",
			Repositories:  []string{"internet-pypi"},
			Sha256:        "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
			Policies:      []string{"Critical vulnerabilities"},
			Expires:       time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC),
			Justification: "upstream confirmed",
			ApprovedBy:    "alice",
		}},
	}
	if !reflect.DeepEqual(cfg, want) {
		got, _ := json.MarshalIndent(cfg, "", " ")
		exp, _ := json.MarshalIndent(want, "", " ")
		t.Fatalf("got\n%s\nwant\n%s", got, exp)
	}
}

// TestRoundTrip: parse, encode to JSON (the osa app's form), decode and
// compile; the compiled engine must describe the same policy.
func TestRoundTrip(t *testing.T) {
	cfg, err := ParseString(example)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var back policy.Config
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, cfg) {
		t.Fatalf("JSON round trip changed the config:\n%+v\n%+v", back, cfg)
	}
	e1, err := policy.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e2, err := policy.Compile(back)
	if err != nil {
		t.Fatal(err)
	}
	if e1.Generation() != e2.Generation() {
		t.Errorf("generation differs after round trip: %s vs %s", e1.Generation(), e2.Generation())
	}
	ps := e2.Describe()
	if len(ps) != 1 || ps[0].Active || ps[0].Skipped != "inactive" || ps[0].Delay != "14d" {
		t.Fatalf("describe: %+v", ps)
	}
	wantCond := "any(cvss3_score >= 9.0, vulnerability_id_in CVE-2018-18074 GHSA-x84v-xcm2-53pg, not(dependency_name_in safe-*)) and " +
		"dependency_age < 7d (allow_security_fixes, missing_upload_time treat_as_old) and dependency_is_dangerous and upstream_yanked"
	if ps[0].Conditions != wantCond {
		t.Errorf("conditions:\n got %s\nwant %s", ps[0].Conditions, wantCond)
	}
	if ws := e2.WaiversAt(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)); len(ws) != 1 || !ws[0].Expired {
		t.Errorf("waivers: %+v", ws)
	}
}

// TestParsePolicyInsideOsaBlock parses a policy the way the osa global
// option does: inside an outer block, with the dispenser on "policy".
func TestParsePolicyInsideOsaBlock(t *testing.T) {
	d := caddyfile.NewTestDispenser(`osa {
	intel osv /data/all.zip
	policy Cooldown {
		blocker
		condition dependency_age <= 3d {
			missing_upload_time treat_as_young
		}
	}
	waiver w1 {
		package acme-*
		expires 2030-01-01
		justification "internal mirror"
		approved_by bob
	}
	retention 30d
}`)
	d.Next() // osa
	var seen []string
	var p policy.PolicyConfig
	var w policy.WaiverConfig
	for d.NextBlock(0) {
		seen = append(seen, d.Val())
		switch d.Val() {
		case "policy":
			var err error
			if p, err = ParsePolicy(d); err != nil {
				t.Fatal(err)
			}
		case "waiver":
			var err error
			if w, err = ParseWaiver(d); err != nil {
				t.Fatal(err)
			}
		default:
			d.RemainingArgs()
		}
	}
	if strings.Join(seen, ",") != "intel,policy,waiver,retention" {
		t.Fatalf("outer directives seen: %v", seen)
	}
	if p.Name != "Cooldown" || !p.Blocker || len(p.Conditions) != 1 ||
		!reflect.DeepEqual(p.Conditions[0], policy.ConditionConfig{Type: "dependency_age", Op: "<=", Value: "3d", MissingUploadTime: "treat_as_young"}) {
		t.Fatalf("policy: %+v", p)
	}
	if w.Package != "acme-*" || !w.Expires.Equal(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)) || w.ApprovedBy != "bob" {
		t.Fatalf("waiver: %+v", w)
	}
}

func TestTokens(t *testing.T) {
	// Operators and specifiers are plain Caddyfile tokens.
	cfg, err := ParseString(`policy ops {
	condition cvss2_score < 4
	condition cvss4_score > 1
	condition vulnerability_count != 0
	condition vulnerability_age == 1h30m
	condition dependency_version >=1,<2 !=1.5
	condition dependency_version "< 3"
}
waiver w {
	package foo
	version ">=1.0, <2"
	expires 2030-01-01T00:00:00+02:00
	justification j
	approved_by a
}`)
	if err != nil {
		t.Fatal(err)
	}
	got := cfg.Policies[0].Conditions
	want := []policy.ConditionConfig{
		{Type: "cvss2_score", Op: "<", Value: "4"},
		{Type: "cvss4_score", Op: ">", Value: "1"},
		{Type: "vulnerability_count", Op: "!=", Value: "0"},
		{Type: "vulnerability_age", Op: "==", Value: "1h30m"},
		{Type: "dependency_version", Values: []string{">=1,<2", "!=1.5"}},
		{Type: "dependency_version", Values: []string{"< 3"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v", got)
	}
	if cfg.Waivers[0].Version != ">=1.0, <2" {
		t.Fatalf("version %q", cfg.Waivers[0].Version)
	}
}

func TestErrors(t *testing.T) {
	const waiverTail = "\texpires 2030-01-01\n\tjustification j\n\tapproved_by a\n"
	cases := []struct {
		name, src, want string
	}{
		{"unknown option", "policy Cooldown {\n\tcondition dependency_age < 7d {\n\t\tfoo\n\t}\n}",
			`policy "Cooldown": condition dependency_age: unknown option "foo", at policies:3`},
		{"missing upload time option", "policy Cooldown {\n\tcondition dependency_age < 7d\n}",
			`policy "Cooldown": condition dependency_age: missing_upload_time is required`},
		{"bad missing_upload_time", "policy C {\n\tcondition dependency_age < 7d {\n\t\tmissing_upload_time maybe\n\t}\n}",
			`policy "C": condition dependency_age: missing_upload_time: want treat_as_old or treat_as_young`},
		{"duplicate option", "policy C {\n\tcondition dependency_age < 7d {\n\t\tallow_security_fixes\n\t\tallow_security_fixes\n\t}\n}",
			`policy "C": condition dependency_age: duplicate option "allow_security_fixes"`},
		{"options on another condition", "policy C {\n\tcondition cvss3_score > 7 {\n\t\tallow_security_fixes\n\t}\n}",
			`policy "C": condition cvss3_score: takes no options block`},
		{"unknown condition", "policy C {\n\tcondition cvss_score > 7\n}",
			`policy "C": condition cvss_score: unknown condition`},
		{"missing condition name", "policy C {\n\tcondition\n}", `policy "C": condition: missing condition name`},
		{"bad op", "policy C {\n\tcondition cvss3_score => 7\n}", `policy "C": condition cvss3_score: bad operator "=>"`},
		{"op arg count", "policy C {\n\tcondition cvss3_score >= 7 8\n}", `policy "C": condition cvss3_score: want <op> <value>, got 3 arguments`},
		{"op missing value", "policy C {\n\tcondition vulnerability_age >\n}", `policy "C": condition vulnerability_age: want <op> <value>, got 1 arguments`},
		{"flag with args", "policy C {\n\tcondition upstream_yanked yes\n}", `policy "C": condition upstream_yanked: takes no arguments, got 1`},
		{"list without values", "policy C {\n\tcondition purl_in\n}", `policy "C": condition purl_in: want at least one value`},
		{"bad list value", "policy C {\n\tcondition package_type_in zip\n}", `policy "C": condition package_type_in: unknown value "zip"`},
		{"bad score", "policy C {\n\tcondition cvss3_score >= high\n}", `policy "C": condition cvss3_score: invalid score "high"`},
		{"unknown subdirective", "policy C {\n\tlevel high\n\tcondition upstream_yanked\n}", `policy "C": unknown subdirective "level"`},
		{"duplicate singleton", "policy C {\n\tdelay 1d\n\tdelay 2d\n\tcondition upstream_yanked\n}", `policy "C": duplicate delay, at policies:3`},
		{"duplicate blocker", "policy C {\n\tblocker\n\tblocker\n}", `policy "C": duplicate blocker`},
		{"blocker with arg", "policy C {\n\tblocker yes\n}", `policy "C": blocker takes no argument`},
		{"description args", "policy C {\n\tdescription a b\n}", `policy "C": description: want exactly one argument, got 2`},
		{"bad delay", "policy C {\n\tdelay soon\n\tcondition upstream_yanked\n}", `policy "C": delay: invalid duration "soon"`},
		{"bad stage", "policy C {\n\tstages qa\n\tcondition upstream_yanked\n}", `policy "C": unknown stage "qa"`},
		{"empty stages", "policy C {\n\tstages\n}", `policy "C": stages: want at least one value`},
		{"no conditions", "policy C {\n\tblocker\n}", `policy "C": no conditions`},
		{"empty group", "policy C {\n\tany {\n\t}\n}", `policy "C": any: empty group`},
		{"not with two", "policy C {\n\tnot {\n\t\tcondition upstream_yanked\n\t\tcondition dependency_is_dangerous\n\t}\n}",
			`policy "C": not: want exactly one condition or group`},
		{"group with argument", "policy C {\n\tall x {\n\t\tcondition upstream_yanked\n\t}\n}", `policy "C": all: unexpected argument "x"`},
		{"junk in group", "policy C {\n\tany {\n\t\tblocker\n\t}\n}", `policy "C": any: unknown subdirective "blocker"`},
		{"nested error", "policy C {\n\tany {\n\t\tnot {\n\t\t\tcondition severity_in URGENT\n\t\t}\n\t}\n}",
			`policy "C": any group: not group: condition severity_in: unknown severity "URGENT"`},
		{"policy without name", "policy {\n}", `policy: missing name`},
		{"policy with two names", "policy a b {\n}", `policy "a": unexpected argument "b"`},
		{"duplicate policy", "policy C {\n\tcondition upstream_yanked\n}\npolicy C {\n\tcondition upstream_yanked\n}", `policy "C" is defined twice`},
		{"top level junk", "osa {\n}", `unexpected "osa" (want policy or waiver blocks)`},
		{"waiver unknown subdirective", "waiver w {\n\tpackage foo\n\towner bob\n" + waiverTail + "}", `waiver "w": unknown subdirective "owner"`},
		{"waiver duplicate", "waiver w {\n\tpackage foo\n\tpackage bar\n" + waiverTail + "}", `waiver "w": duplicate package`},
		{"waiver arg count", "waiver w {\n\tpackage foo bar\n" + waiverTail + "}", `waiver "w": package: want exactly one argument, got 2`},
		{"waiver bad expires", "waiver w {\n\tpackage foo\n\texpires tomorrow\n\tjustification j\n\tapproved_by a\n}", `waiver "w": expires: invalid time "tomorrow"`},
		{"waiver without expiry", "waiver w {\n\tpackage foo\n\tjustification j\n\tapproved_by a\n}", `waiver "w": expires is required`},
		{"waiver without justification", "waiver w {\n\tpackage foo\n\texpires 2030-01-01\n\tapproved_by a\n}", `waiver "w": justification is required`},
		{"waiver without approver", "waiver w {\n\tpackage foo\n\texpires 2030-01-01\n\tjustification j\n}", `waiver "w": approved_by is required`},
		{"waiver bad sha", "waiver w {\n\tpackage foo\n\tsha256 abc\n" + waiverTail + "}", `waiver "w": sha256 "abc" is not 64 hex digits`},
		{"waiver bad version", "waiver w {\n\tpackage foo\n\tversion =>1\n" + waiverTail + "}", `waiver "w": version: invalid PEP 440 version specifier "=>1"`},
		{"waiver unknown policy", "policy P {\n\tcondition upstream_yanked\n}\nwaiver w {\n\tpackage foo\n\tpolicies Q\n" + waiverTail + "}", `waiver "w": unknown policy "Q"`},
		{"unterminated", "policy C {\n\tcondition upstream_yanked\n", `policy "C": unexpected end of input, missing '}'`},
		{"unterminated group", "policy C {\n\tany {\n\t\tcondition upstream_yanked\n", `policy "C": any: unexpected end of input, missing '}'`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseString(tc.src)
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func TestParsePolicyWrongToken(t *testing.T) {
	d := caddyfile.NewTestDispenser("waiver x {\n}")
	d.Next()
	if _, err := ParsePolicy(d); err == nil || !strings.Contains(err.Error(), `expected policy, got "waiver"`) {
		t.Fatalf("err = %v", err)
	}
	d = caddyfile.NewTestDispenser("policy x {\n}")
	d.Next()
	if _, err := ParseWaiver(d); err == nil || !strings.Contains(err.Error(), `expected waiver, got "policy"`) {
		t.Fatalf("err = %v", err)
	}
}

func TestParseStringEmpty(t *testing.T) {
	cfg, err := ParseString("\n# nothing but a comment\n")
	if err != nil || len(cfg.Policies) != 0 || len(cfg.Waivers) != 0 {
		t.Fatalf("cfg %+v err %v", cfg, err)
	}
}
