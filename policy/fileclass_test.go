package policy

import (
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestFileClassDecidesAlike checks the promise of AppendFileClass: files of
// one name and version whose classes are equal get the same outcome,
// policies and advisories, over engines using every file attribute.
func TestFileClassDecidesAlike(t *testing.T) {
	snap := testSnapshot(t)
	sha := strings.Repeat("ab", 32)
	cfg := Config{
		Policies: []PolicyConfig{
			{Name: "Cooldown", Blocker: true, Conditions: []ConditionConfig{{Type: "dependency_age", Op: "<", Value: "7d", MissingUploadTime: "treat_as_young"}}},
			{Name: "Fresh report", Conditions: []ConditionConfig{{Type: "dependency_age", Op: "<=", Value: "30d", MissingUploadTime: "treat_as_old", AllowSecurityFixes: true}}},
			{Name: "Sdists", Blocker: true, Conditions: []ConditionConfig{{Type: "package_type_in", Values: []string{"sdist"}}}},
			{Name: "Yanked", Conditions: []ConditionConfig{condYanked}},
			{Name: "Malware", Blocker: true, Conditions: []ConditionConfig{{Type: "dependency_is_dangerous"}}},
			{Name: "CVSS", Blocker: true, Conditions: []ConditionConfig{condCVSS7}},
		},
		Waivers: []WaiverConfig{{Name: "one file", Package: "requests", Sha256: sha, Expires: testNow.Add(24 * time.Hour), Justification: "j", ApprovedBy: "a"}},
	}
	e := mustCompile(t, cfg)
	if !e.FileSensitive() {
		t.Fatal("engine should be file sensitive")
	}
	project := &Project{Versions: []string{"2.18.0", "2.19.0", "2.20.0"}, ReleaseTimes: map[string]time.Time{"2.19.0": testNow.Add(-10 * 24 * time.Hour)}}
	env := &Env{Now: testNow, Intel: snap, Project: project}
	rng := rand.New(rand.NewSource(1))
	ages := []time.Duration{0, time.Hour, 6 * 24 * time.Hour, 7*24*time.Hour - time.Second, 7 * 24 * time.Hour, 8 * 24 * time.Hour, 30 * 24 * time.Hour, 31 * 24 * time.Hour, -1}
	type result struct{ outcome, policies, advisories string }
	seen := map[string]result{}
	classes := map[string]bool{}
	for i := 0; i < 4000; i++ {
		c := comp([]string{"requests", "evil-pkg", "flask"}[rng.Intn(3)], []string{"2.19.0", "2.20.0", "1.0"}[rng.Intn(3)])
		c.PackageType = []string{"sdist", "wheel", "egg", ""}[rng.Intn(4)]
		c.Yanked = rng.Intn(2) == 0
		c.Filename = fmt.Sprintf("%s-%s-%d.whl", c.Name, c.Version, i)
		if a := ages[rng.Intn(len(ages))]; a >= 0 {
			c.UploadTime = testNow.Add(-a)
		}
		if rng.Intn(3) == 0 {
			c.Sha256 = sha
		} else {
			c.Sha256 = fmt.Sprintf("%064x", rng.Int63())
		}
		key := c.Name + " " + c.Version + " " + string(e.AppendFileClass(nil, &c, env))
		classes[key] = true
		d := e.Evaluate(&c, env)
		if d.Err != nil {
			t.Fatal(d.Err)
		}
		r := result{d.Outcome.String(), strings.Join(d.Policies(), ","), strings.Join(d.Advisories, ",")}
		if prev, ok := seen[key]; ok && prev != r {
			t.Fatalf("class %q: %+v then %+v (file %+v)", key, prev, r, c)
		}
		seen[key] = r
	}
	// the classes must actually separate files: more than one per version
	if len(classes) < 100 {
		t.Fatalf("only %d classes", len(classes))
	}
	// and a file-insensitive engine appends nothing
	plain := mustCompile(t, Config{Policies: []PolicyConfig{{Name: "Malware", Blocker: true, Conditions: []ConditionConfig{{Type: "dependency_is_dangerous"}}}}})
	c := comp("requests", "2.19.0")
	if got := plain.AppendFileClass([]byte("x"), &c, env); !slices.Equal(got, []byte("x")) {
		t.Fatalf("file-insensitive engine appended %q", got)
	}
}
