package policy

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"

	version "github.com/aquasecurity/go-pep440-version"
)

// The compiled PEP 440 evaluation (pep440.go) must agree with
// github.com/aquasecurity/go-pep440-version, which the policy used before
// (Specifiers.Check with WithPreRelease(true), Parse, Compare), on every
// input: these tests compare the two over tricky hand-picked inputs,
// generated ones and fuzzed ones.

// trickyVersions are spellings that exercise every part of the grammar and
// the library's quirks.
var trickyVersions = []string{
	"0", "0.0", "1", "1.0", "1.0.0", "01.0", "1.00", "1.2", "1.2.0", "1.2.3", "1.10", "2", "2.0", "3.1", "3.2", "3.2.0",
	"v1.0", "V1.0", " 1.0 ", "\t1.0\n", "1!1.0", "0!1.0", "1!2.0.*", "2!0",
	"1.0a1", "1.0A1", "1.0a", "1.0alpha1", "1.0Alpha", "1.0-a1", "1.0_a1", "1.0.a1", "1.0a-1", "1.0a.1", "1.0a_", "1.0a-",
	"1.0b2", "1.0beta2", "1.0c1", "1.0rc1", "1.0RC1", "1.0pre1", "1.0preview1", "1.0-pre", "1.0rc", "1.0rc0",
	"1.0.post1", "1.0post1", "1.0-post1", "1.0-1", "1.0-0", "1.0.post", "1.0.rev1", "1.0r1", "1.0r", "1.0.r", "1.0-r-1", "1.0.post.",
	"1.0.dev1", "1.0dev1", "1.0.dev", "1.0-dev", "1.0_dev_2", "1.0.DEV3", "1.0.dev.",
	"1.0a1.dev1", "1.0a1.post1", "1.0a1.post1.dev1", "1.0.post1.dev1", "1.0rc1-1", "1.0-1-dev",
	"1.0+local", "1.0+LOCAL", "1.0+abc.1", "1.0+abc.2", "1.0+abc.01", "1.0+1", "1.0+2", "1.0+a-b", "1.0+a_b", "1.0+a.b",
	"1.0+ubuntu1", "1.0+ubuntu.1.2", "1.0.post1+x", "1.0a1+x", "1.0+99999999999999999999", "1.0+18446744073709551615",
	"1.0+18446744073709551616", "1.0+abc.99999999999999999999",
	"18446744073709551615", "18446744073709551616", "9223372036854775807", "9223372036854775808", "1.9223372036854775808",
	"1.0a18446744073709551616", "99999999999999999999!1",
	"3.2rc1", "3.2.dev0", "3.2a1", "3.2.post1", "3.2+x", "3.1.9", "3.1.post5", "4", "1.4", "1.4.5", "1.4.5a4", "1.5", "1.9",
	"", " ", "a", "1.", ".1", "1..0", "1.0.", "1.0+", "1.0+a..b", "1.0+.a", "1.0+a.", "1.0-", "1.0ab", "1.0prev", "1.0alph",
	"1.0-1.2", "1.0-1-1", "v", "v 1.0", "1.0 a1", "not-a-version", "banana", "1.0.x", "*", "1.*", "1.0.poſt1", "1.0.poſt",
	"1.0+K", "1.0+ſ", "1.0+k", "1.0+aKb", "1.0\x00", "1.0\xff",
}

// trickySpecs are specifiers the library accepts (and a few it refuses).
var trickySpecs = []string{
	"<3.2", "<=3.2", ">3.2", ">=3.2", "==3.2", "!=3.2", "~=3.2", "===3.2", "=3.2", "3.2",
	"<3.2rc1", "<3.2.dev0", ">3.1", ">3.1.post1", ">1.0", ">=1.0a1", "<=1.0+x",
	"==1.0", "==1.0.0", "==1.0+local", "==1.0+LOCAL", "!=1.0+local", "==1", "==01.0",
	"==1.*", "==1.0.*", "==1.0a1.*", "==1.0rc1.*", "==1.0.post1.*", "!=1.0.*", "==v1.0.*", "==1!2.*", "==1!2.0.*", "==01.*",
	"==1.0RC1.*", "==1.2.*", "==3.*", "!=3.*", "==0.*", "== 1.0.*",
	"~=1.4", "~=1.4.5", "~=1.4.5a4", "~=1.4.5.post1", "~=1.4.5.dev1", "~=2.2.post3", "~=1!1.0", "~=v1.4", "~=1.0.0",
	"===1.0", "===1.0+local", "===1.0.*", "===V1.0", "===banana",
	">=1.0,<2.0", ">=1.0, <2.0", ">= 1.0 , < 2.0", "<2,>=1||==3.*", "==1.0||==2.0", "*", " * ", ">=1.0 <2.0", "1.0 2.0",
	"<3.2,!=3.1.*", ">1.0a1,<1.0", "~=3.1,!=3.1.2",
	"~>1.0", "==1.0+local.*", "~=1", "~=1.*", "<1.0.*", ">=1.0+local", "==1.0.dev1.*", "", "||", ",", "<", "==",
	"<1.0.poſt1", "==1.0+K", "===1.0+k", "==1.0.poſt1.*",
}

// libCheck evaluates spec on ver with the library as the policy used to:
// ok is false when ver is not PEP 440; panicked reports a library panic.
func libCheck(spec version.Specifiers, ver string) (match, ok bool, panicked any) {
	v, err := version.Parse(ver)
	if err != nil {
		return false, false, nil
	}
	defer func() {
		if r := recover(); r != nil {
			panicked = r
		}
	}()
	return spec.Check(v), true, nil
}

// fastCheck evaluates the compiled spec as versionCond does.
func fastCheck(spec *pep440Spec, ver string) bool {
	c := pepCandidate{raw: ver}
	c.ok = parsePEP440(ver, &c.v)
	return spec.check(&c)
}

// diffSpec reports a difference between the compiled check and the
// library's for one specifier and version.
func diffSpec(t *testing.T, specText, ver string) {
	t.Helper()
	lib, libErr := pep440Specifiers(specText)
	fast, fastErr := compilePEP440Spec(specText)
	if (libErr == nil) != (fastErr == nil) {
		t.Fatalf("spec %q: library error %v, compiled error %v", specText, libErr, fastErr)
	}
	if libErr != nil {
		return
	}
	if fast.libOnly {
		t.Fatalf("spec %q (library %q): not compiled, left to the library", specText, lib.String())
	}
	want, _, panicked := libCheck(lib, ver)
	if panicked != nil {
		t.Fatalf("library panics on spec %q version %q: %v", specText, ver, panicked)
	}
	if got := fastCheck(fast, ver); got != want {
		t.Fatalf("spec %q version %q: compiled %v, library %v", specText, ver, got, want)
	}
}

// diffVersion reports a difference in validity, canonical text or
// pre-release status between parsePEP440 and version.Parse.
func diffVersion(t *testing.T, s string) {
	t.Helper()
	lv, err := version.Parse(s)
	var v pepVer
	ok := parsePEP440(s, &v)
	if ok != (err == nil) {
		t.Fatalf("version %q: parsed %v, library error %v", s, ok, err)
	}
	if !ok {
		return
	}
	if got, want := v.String(), lv.String(); got != want {
		t.Fatalf("version %q: text %q, library %q", s, got, want)
	}
	if got, want := string(v.appendText(nil, true)), lv.Public(); got != want {
		t.Fatalf("version %q: public %q, library %q", s, got, want)
	}
	if v.isPre() != lv.IsPreRelease() {
		t.Fatalf("version %q: pre-release %v, library %v", s, v.isPre(), lv.IsPreRelease())
	}
}

// diffCompare reports a difference between cmpVer and Version.Compare.
func diffCompare(t *testing.T, a, b string) {
	t.Helper()
	la, errA := version.Parse(a)
	lb, errB := version.Parse(b)
	if errA != nil || errB != nil {
		return
	}
	var va, vb pepVer
	if !parsePEP440(a, &va) || !parsePEP440(b, &vb) {
		t.Fatalf("%q or %q not parsed", a, b)
	}
	want := sign(la.Compare(lb))
	if got := cmpVer(&va, &vb, false); got != want {
		t.Fatalf("compare %q %q: %d, library %d", a, b, got, want)
	}
	pa, pb := version.MustParse(la.Public()), version.MustParse(lb.Public())
	if got, want := cmpVer(&va, &vb, true), sign(pa.Compare(pb)); got != want {
		t.Fatalf("compare public %q %q: %d, library %d", a, b, got, want)
	}
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

func TestParsePEP440Differential(t *testing.T) {
	for _, s := range append(trickyVersions, genVersions(rand.New(rand.NewSource(1)), 3000)...) {
		diffVersion(t, s)
	}
}

func TestCompareDifferential(t *testing.T) {
	vs := append([]string(nil), trickyVersions...)
	vs = append(vs, genVersions(rand.New(rand.NewSource(2)), 150)...)
	for _, a := range vs {
		for _, b := range vs {
			diffCompare(t, a, b)
		}
	}
}

// TestSpecifierDifferentialTable: every tricky specifier against every
// tricky version, then generated specifiers against generated versions.
func TestSpecifierDifferentialTable(t *testing.T) {
	accepted := 0
	for _, sp := range trickySpecs {
		if _, err := pep440Specifiers(sp); err == nil {
			accepted++
		}
		for _, v := range trickyVersions {
			diffSpec(t, sp, v)
		}
	}
	if accepted < 60 {
		t.Fatalf("only %d tricky specifiers accepted by the library", accepted)
	}
	r := rand.New(rand.NewSource(3))
	n := 0
	for n < 60000 {
		sp := genSpec(r)
		if _, err := pep440Specifiers(sp); err != nil {
			continue
		}
		vs := genVersions(r, 20)
		for _, v := range vs {
			diffSpec(t, sp, v)
			n++
		}
		// Versions near the specifier's own.
		for _, v := range nearVersions(sp) {
			diffSpec(t, sp, v)
			n++
		}
	}
}

// TestSpecifierExamples pins a few library behaviours the policy relies on
// (and some quirks it keeps for equivalence).
func TestSpecifierExamples(t *testing.T) {
	for _, c := range []struct {
		spec, ver string
		want      bool
	}{
		{"<3.2", "3.1.9", true},
		{"<3.2", "3.2", false},
		{"<3.2", "3.2rc1", true}, // pre-releases compare like any version
		{"<3.2", "3.2.dev0", true},
		{">3.1", "3.1.post1", false},
		{">3.1", "3.1+local", false},
		{">3.1", "3.1.1", true},
		{"<=3.2", "3.2+local", true},
		{"==3.2", "3.2.0+local", true},
		{"==3.2+local", "3.2", false},
		{"==1.2.*", "1.2.7", true},
		{"==1.2.*", "1.3", false},
		{"!=1.2.*", "1.3", true},
		{"~=1.4", "1.9", true},
		{"~=1.4", "2.0", false},
		{"~=1.4.5", "1.4.9", true},
		{"~=1.4.5", "1.5", false},
		{"===1.0", "1.0", true},
		{">=0", "not-a-version", false},
		{"!=1.0", "banana", false},
		{"==1.0a1.*", "1.0b1", true},       // library quirk: pre segments are not compared
		{"==1!2.0.*", "5!7.0", true},       // library quirk: the epoch is not compared
		{"<1.0,>=0.5||==2.*", "2.1", true}, // "||" is an alternative
	} {
		fast, err := compilePEP440Spec(c.spec)
		if err != nil {
			t.Fatalf("%q: %v", c.spec, err)
		}
		if got := fastCheck(fast, c.ver); got != c.want {
			t.Errorf("%q on %q: %v, want %v", c.spec, c.ver, got, c.want)
		}
		diffSpec(t, c.spec, c.ver)
	}
}

// FuzzSpecifierDifferential compares the compiled check with the library's
// Check (and parse and order with the library's) on fuzzed inputs. op picks
// an operator put before text ("" leaves text as the whole specifier); the
// candidate is also checked the other way round (text as the candidate,
// candidate as the specifier's version).
func FuzzSpecifierDifferential(f *testing.F) {
	for i, sp := range trickySpecs {
		f.Add(uint8(0), sp, trickyVersions[i%len(trickyVersions)])
	}
	for i, v := range trickyVersions {
		f.Add(uint8(i), v, trickyVersions[(i*7+3)%len(trickyVersions)])
	}
	f.Fuzz(func(t *testing.T, op uint8, text, cand string) {
		ops := fuzzOps
		o := ops[int(op)%len(ops)]
		diffVersion(t, cand)
		diffVersion(t, text)
		diffCompare(t, cand, text)
		diffSpec(t, o+text, cand)
		if o != "" {
			diffSpec(t, o+cand, text)
			if op&0x80 != 0 {
				diffSpec(t, o+text+".*", cand)
			}
		}
	})
}

var fuzzOps = []string{"", "==", "!=", "<", ">", "<=", ">=", "~=", "===", "=", "== ", "<,>=0||"}

// genVersions makes n random version strings from the grammar's pieces
// (mostly valid, some not).
func genVersions(r *rand.Rand, n int) []string {
	out := make([]string, 0, n)
	for len(out) < n {
		out = append(out, genVersion(r))
	}
	return out
}

func pick(r *rand.Rand, list ...string) string { return list[r.Intn(len(list))] }

func genNumber(r *rand.Rand) string {
	switch r.Intn(12) {
	case 0:
		return pick(r, "00", "01", "007", "18446744073709551615", "18446744073709551616", "9223372036854775808", "99999999999999999999")
	case 1, 2:
		return "0"
	}
	return fmt.Sprint(r.Intn(12))
}

func genVersion(r *rand.Rand) string {
	var b strings.Builder
	if r.Intn(20) == 0 {
		b.WriteString(pick(r, " ", "\t", "v", "V"))
	}
	if r.Intn(12) == 0 {
		b.WriteString(genNumber(r) + "!")
	}
	parts := 1 + r.Intn(4)
	for i := 0; i < parts; i++ {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(genNumber(r))
	}
	sep := func() string { return pick(r, "", "", "", ".", "-", "_") }
	num := func() string {
		if r.Intn(4) == 0 {
			return ""
		}
		return genNumber(r)
	}
	if r.Intn(3) == 0 {
		b.WriteString(sep() + pick(r, "a", "b", "c", "rc", "alpha", "beta", "pre", "preview", "A", "RC", "Beta") + sep() + num())
	}
	if r.Intn(3) == 0 {
		if r.Intn(3) == 0 {
			b.WriteString("-" + genNumber(r))
		} else {
			b.WriteString(sep() + pick(r, "post", "rev", "r", "POST") + sep() + num())
		}
	}
	if r.Intn(3) == 0 {
		b.WriteString(sep() + pick(r, "dev", "DEV") + sep() + num())
	}
	if r.Intn(4) == 0 {
		b.WriteByte('+')
		segs := 1 + r.Intn(3)
		for i := 0; i < segs; i++ {
			if i > 0 {
				b.WriteString(pick(r, ".", ".", "-", "_"))
			}
			b.WriteString(pick(r, "abc", "1", "2", "01", "ubuntu", "X", "99999999999999999999", genNumber(r)))
		}
	}
	if r.Intn(30) == 0 {
		b.WriteString(pick(r, " ", ".", "-", "+", "x", "..", "*"))
	}
	return b.String()
}

func genSpec(r *rand.Rand) string {
	n := 1 + r.Intn(2)
	parts := make([]string, n)
	for i := range parts {
		op := pick(r, "", "=", "==", "!=", "<", ">", "<=", ">=", "~=", "===", "==", "<", ">")
		v := genVersion(r)
		if (op == "==" || op == "!=" || op == "") && r.Intn(3) == 0 {
			v = strings.TrimSpace(v) + ".*"
		}
		parts[i] = op + pick(r, "", "", " ") + strings.TrimSpace(v)
	}
	sep := pick(r, ",", ",", ", ", "||", " ")
	return strings.Join(parts, sep)
}

// nearVersions are versions around the release of a specifier: the same
// release with pre, post, dev and local parts, and neighbours.
func nearVersions(spec string) []string {
	var out []string
	for _, one := range strings.FieldsFunc(spec, func(r rune) bool { return r == ',' || r == '|' }) {
		v := strings.TrimLeft(one, "=<>!~ ")
		v = strings.TrimSuffix(v, ".*")
		var p pepVer
		if !parsePEP440(v, &p) {
			continue
		}
		base := string((&pepVer{epoch: p.epoch, rel: p.rel}).appendText(nil, true))
		out = append(out, v, base, base+".0", base+"a1", base+"rc1", base+".dev0", base+".post1", base+"+x", base+".post1+x",
			base+".1", base+"1")
		if len(p.rel) > 0 {
			q := pepVer{epoch: p.epoch, rel: append([]uint64(nil), p.rel...)}
			q.rel[len(q.rel)-1]++
			out = append(out, q.String())
		}
	}
	return out
}

// libNewestOlder is securityFix's selection as it was written with the library.
func libNewestOlder(curRaw string, versions []string) string {
	cur, err := version.Parse(curRaw)
	if err != nil {
		return ""
	}
	curPre := cur.IsPreRelease()
	var best version.Version
	var bestRaw string
	for _, raw := range versions {
		v, err := version.Parse(raw)
		if err != nil || !v.LessThan(cur) || (!curPre && v.IsPreRelease()) {
			continue
		}
		if bestRaw == "" || v.GreaterThan(best) {
			best, bestRaw = v, raw
		}
	}
	return bestRaw
}

func TestNewestOlderDifferential(t *testing.T) {
	r := rand.New(rand.NewSource(4))
	var a, b pepVer
	for i := 0; i < 5000; i++ {
		versions := genVersions(r, r.Intn(30))
		if r.Intn(4) == 0 {
			versions = append(versions, trickyVersions[r.Intn(len(trickyVersions))])
		}
		cur := genVersion(r)
		if r.Intn(3) == 0 && len(versions) > 0 {
			cur = versions[r.Intn(len(versions))]
		}
		var cv pepVer
		got := ""
		if parsePEP440(cur, &cv) {
			got = newestOlder(&cv, versions, &a, &b)
		}
		if want := libNewestOlder(cur, versions); got != want {
			t.Fatalf("newest older than %q in %q: %q, library %q", cur, versions, got, want)
		}
	}
}

// BenchmarkSpecifierCheck: one candidate version checked against common
// specifier shapes, compiled (parsed once per candidate, as Evaluate does)
// and with the library (Parse + Check, as the policy did before).
func BenchmarkSpecifierCheck(b *testing.B) {
	const ver = "5.1.2"
	for _, sp := range []string{"<3.2", ">=1.0,<2.0", "==5.1.*", "~=5.1", "!=5.1.2+local"} {
		fast, err := compilePEP440Spec(sp)
		if err != nil {
			b.Fatal(err)
		}
		lib, _ := pep440Specifiers(sp)
		b.Run(sp+"/compiled", func(b *testing.B) {
			b.ReportAllocs()
			c := pepCandidate{raw: ver}
			for i := 0; i < b.N; i++ {
				c = pepCandidate{raw: ver, v: pepVer{rel: c.v.rel[:0]}}
				c.ok = parsePEP440(ver, &c.v)
				fast.check(&c)
			}
		})
		b.Run(sp+"/library", func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				v, _ := version.Parse(ver)
				lib.Check(v)
			}
		})
	}
}
