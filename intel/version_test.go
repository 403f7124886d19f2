package intel

import (
	"math/rand"
	"path/filepath"
	"testing"

	pep440 "github.com/aquasecurity/go-pep440-version"
)

func TestNormalizeName(t *testing.T) {
	cases := []struct{ in, want string }{
		{"requests", "requests"},
		{"Requests", "requests"},
		{"zope.interface", "zope-interface"},
		{"Foo__Bar--baz..Qux", "foo-bar-baz-qux"},
		{"a-_.b", "a-b"},
		{" Django ", "django"},
		{"-x-", "-x-"},
		{"x--y", "x-y"},
	}
	for _, c := range cases {
		if got := NormalizeName(c.in); got != c.want {
			t.Errorf("NormalizeName(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestVersionNormalizeAndCompare(t *testing.T) {
	norm := []struct{ in, want string }{
		{"1.0", "1.0"},
		{"0.12.01", "0.12.1"},
		{"1.0RC1", "1.0rc1"},
		{"1.0-1", "1.0.post1"},
		{"v2.0", "2.0"},
		{"1.0.dev0", "1.0.dev0"},
		{"not a version", "not a version"},
	}
	for _, c := range norm {
		if got := NormalizeVersion(c.in); got != c.want {
			t.Errorf("NormalizeVersion(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	order := []struct {
		a, b string
		want int
	}{
		{"1.0", "1.0.0", 0},
		{"1.0.1", "1.0", 1},
		{"1.9", "1.10", -1},
		{"2.20.0rc1", "2.20.0", -1},
		{"2.20.0", "2.20.0.post1", -1},
		{"1.0.dev1", "1.0a1", -1},
		{"1!0.1", "2.0", 1},
		{"1.0+local", "1.0", 1},
		{"0.12.01", "0.12.1", 0},
	}
	for _, c := range order {
		got, ok := CompareVersions(c.a, c.b)
		if !ok || got != c.want {
			t.Errorf("CompareVersions(%s, %s) = %d %v, want %d", c.a, c.b, got, ok, c.want)
		}
		if back, _ := CompareVersions(c.b, c.a); back != -c.want {
			t.Errorf("CompareVersions(%s, %s) = %d, want %d", c.b, c.a, back, -c.want)
		}
	}
	if _, ok := CompareVersions("1.0", "banana"); ok {
		t.Error("a non PEP 440 version must not compare")
	}
}

// The plain-release fast path must order exactly like the library on the
// versions real records list.
func TestFastPathAgreesWithLibrary(t *testing.T) {
	recs := readZipRecords(t, filepath.Join(sharedOSV(t), "pypa-advisories.zip"))
	seen := map[string]bool{}
	var vs []string
	for _, r := range recs {
		for _, a := range r.Affected {
			for _, v := range a.Versions {
				if !seen[v] {
					seen[v] = true
					vs = append(vs, v)
				}
			}
		}
	}
	rng := rand.New(rand.NewSource(1))
	checked := 0
	for i := 0; i < 20000; i++ {
		a, b := vs[rng.Intn(len(vs))], vs[rng.Intn(len(vs))]
		la, errA := pep440.Parse(a)
		lb, errB := pep440.Parse(b)
		got, ok := CompareVersions(a, b)
		if (errA == nil && errB == nil) != ok {
			t.Fatalf("%s vs %s: validity differs from the library", a, b)
		}
		if !ok {
			continue
		}
		if want := la.Compare(lb); got != want {
			t.Errorf("compare(%s, %s) = %d, library says %d", a, b, got, want)
		}
		if NormalizeVersion(a) != la.String() {
			t.Errorf("NormalizeVersion(%s) = %s, library says %s", a, NormalizeVersion(a), la.String())
		}
		checked++
	}
	if checked < 10000 {
		t.Fatalf("only %d comparable pairs", checked)
	}
}

// Every pair of variants around a few releases (pre, post, dev, local,
// epoch, trailing zeros) orders exactly as the library orders them.
func TestVersionVariantsAgreeWithLibrary(t *testing.T) {
	var vs []string
	for _, base := range []string{"0", "1.0", "1.0.0", "1.0.1", "2", "2.0rc0", "10.2.3"} {
		for _, suffix := range []string{"", "a1", "a10", "b2", "b0", "rc1", "rc2", "c3", "rc1.post1", "rc1.dev1", ".post1",
			".post10", ".post1.dev2", ".dev1", ".dev0", ".dev12", "+local.1", "+abc", ".post2+x", "a1+x", "-1", "rc1-1",
			"rc", ".post", ".dev", "alpha2", "pre1", ".rc3"} {
			vs = append(vs, base+suffix)
		}
		vs = append(vs, "1!"+base, "v"+base, "0!"+base)
	}
	for _, a := range vs {
		la, errA := pep440.Parse(a)
		for _, b := range vs {
			lb, errB := pep440.Parse(b)
			got, ok := CompareVersions(a, b)
			if (errA == nil && errB == nil) != ok {
				t.Fatalf("%s vs %s: validity differs from the library", a, b)
			}
			if ok && got != la.Compare(lb) {
				t.Errorf("compare(%s, %s) = %d, library says %d", a, b, got, la.Compare(lb))
			}
			if pa, pb := parseVersion(a), parseVersion(b); ok && (pa.eq == pb.eq) != (got == 0) {
				t.Errorf("%s (eq %s) vs %s (eq %s): equal texts disagree with compare %d", a, pa.eq, b, pb.eq, got)
			}
		}
	}
}
