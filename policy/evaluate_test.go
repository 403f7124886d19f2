package policy

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	condCVSS7   = ConditionConfig{Type: "cvss3_score", Op: ">=", Value: "7.0"}
	condYanked  = ConditionConfig{Type: "upstream_yanked"}
	condRequest = ConditionConfig{Type: "dependency_name_in", Values: []string{"requests"}}
)

func TestOutcomes(t *testing.T) {
	snap := testSnapshot(t)
	cfg := Config{Policies: []PolicyConfig{
		{Name: "Report CVSS", Conditions: []ConditionConfig{condCVSS7}},
		{Name: "Block yanked", Blocker: true, Conditions: []ConditionConfig{condYanked}},
		{Name: "Malware", Blocker: true, Conditions: []ConditionConfig{{Type: "dependency_is_dangerous"}}},
	}}
	e := mustCompile(t, cfg)
	yanked := comp("requests", "2.19.0")
	yanked.Yanked = true
	cases := []struct {
		name     string
		c        Component
		outcome  Outcome
		policies []string
		advs     []string
	}{
		{"nothing", comp("flask", "3.0"), Allow, nil, nil},
		{"report only", comp("requests", "2.19.0"), ReportOnly, []string{"Report CVSS"}, []string{"PYSEC-2018-28"}},
		{"blocker and reporter", yanked, Block, []string{"Report CVSS", "Block yanked"}, []string{"PYSEC-2018-28"}},
		{"malware", comp("evil-pkg", "1.0"), Block, []string{"Malware"}, []string{"MAL-2024-9933"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.c
			d := e.Evaluate(&c, &Env{Now: testNow, Intel: snap})
			if d.Outcome != tc.outcome || !slices.Equal(d.Policies(), tc.policies) || !slices.Equal(d.Advisories, tc.advs) || d.Err != nil {
				t.Fatalf("got %v %v %v err=%v", d.Outcome, d.Policies(), d.Advisories, d.Err)
			}
			for _, m := range d.Matches {
				if want := m.Policy != "Report CVSS"; m.Blocker != want {
					t.Errorf("%s: blocker=%v", m.Policy, m.Blocker)
				}
			}
		})
	}
}

func TestInactiveAndStages(t *testing.T) {
	snap := testSnapshot(t)
	cfg := Config{Policies: []PolicyConfig{
		{Name: "off", Blocker: true, Inactive: true, Conditions: []ConditionConfig{condRequest}},
		{Name: "build only", Blocker: true, Stages: []string{"build", "prod"}, Conditions: []ConditionConfig{condRequest}},
		{Name: "images", Blocker: true, Components: []string{"container_images"}, Conditions: []ConditionConfig{condRequest}},
		{Name: "proxy", Blocker: true, Stages: []string{"PROXY", "dev"}, Conditions: []ConditionConfig{condRequest}},
	}}
	e := mustCompile(t, cfg)
	c := comp("requests", "2.19.0")
	d := e.Evaluate(&c, &Env{Now: testNow, Intel: snap})
	if !slices.Equal(d.Policies(), []string{"proxy"}) {
		t.Fatalf("evaluated %v", d.Policies())
	}
	var got []string
	for _, p := range e.Describe() {
		got = append(got, p.Name+"="+map[bool]string{true: "active", false: "skipped: " + p.Skipped}[p.Active])
	}
	want := []string{"off=skipped: inactive", "build only=skipped: stages do not include proxy",
		"images=skipped: components do not include packages", "proxy=active"}
	if !slices.Equal(got, want) {
		t.Fatalf("describe: %q", got)
	}
	ps := e.Describe()
	if !slices.Equal(ps[3].Stages, []string{"proxy", "dev"}) || !slices.Equal(ps[0].Components, []string{"packages"}) ||
		!slices.Equal(ps[0].Stages, []string{"proxy"}) || ps[0].Conditions != "dependency_name_in requests" {
		t.Fatalf("describe details: %+v", ps)
	}
}

func TestRepositoryScope(t *testing.T) {
	e := mustCompile(t, Config{Policies: []PolicyConfig{{
		Name: "scoped", Blocker: true, Repositories: []string{"internet-pypi", "PyPI-Remote", "nexus.example.com:8081/pypi-proxy", "artifactory.local"},
		Conditions: []ConditionConfig{condRequest},
	}}})
	cases := []struct {
		name string
		repo string
		host string
		rn   string
		want bool
	}{
		{"proxy repository", "Internet-PyPI", "", "", true},
		{"repo-manager repository name", "other", "h", "pypi-remote", true},
		{"host/name", "other", "NEXUS.example.com:8081", "pypi-proxy", true},
		{"host alone", "other", "artifactory.local", "whatever", true},
		{"host/name mismatch", "other", "nexus.example.com:8081", "pypi-hosted", false},
		{"other repository", "internal", "", "", false},
		{"nothing known", "", "", "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := comp("requests", "2.19.0")
			c.Repository, c.RepoManagerHost, c.RepoName = tc.repo, tc.host, tc.rn
			d := e.Evaluate(&c, &Env{Now: testNow})
			if got := d.Outcome == Block; got != tc.want {
				t.Fatalf("blocked=%v want %v", got, tc.want)
			}
		})
	}
	all := mustCompile(t, onePolicy(condRequest))
	c := comp("requests", "1")
	c.Repository = "anything"
	if d := all.Evaluate(&c, &Env{Now: testNow}); d.Outcome != Block {
		t.Fatalf("empty repositories must cover everything: %v", d.Outcome)
	}
}

func TestNoIntel(t *testing.T) {
	cfg := Config{Policies: []PolicyConfig{
		{Name: "cvss", Blocker: true, Conditions: []ConditionConfig{condCVSS7}},
		{Name: "yanked", Blocker: true, Conditions: []ConditionConfig{condYanked}},
		{Name: "flask cvss", Blocker: true, Conditions: []ConditionConfig{{Type: "dependency_name_in", Values: []string{"flask"}}, condCVSS7}},
		{Name: "requests or cvss", Conditions: []ConditionConfig{{Any: []ConditionConfig{condRequest, condCVSS7}}}},
	}}
	e := mustCompile(t, cfg)
	if !e.NeedsIntel() {
		t.Fatal("NeedsIntel")
	}
	t.Run("undecidable policy sets Err", func(t *testing.T) {
		c := comp("django", "3.0")
		d := e.Evaluate(&c, &Env{Now: testNow})
		if !errors.Is(d.Err, ErrNoIntel) || d.Outcome != Allow || len(d.Matches) != 0 {
			t.Fatalf("%v %+v err=%v", d.Outcome, d.Matches, d.Err)
		}
		if want := `policy "cvss": condition cvss3_score: no vulnerability intelligence loaded`; d.Err.Error() != want {
			t.Fatalf("err %q want %q", d.Err, want)
		}
	})
	t.Run("other conditions still evaluate", func(t *testing.T) {
		c := comp("django", "3.0")
		c.Yanked = true
		d := e.Evaluate(&c, &Env{Now: testNow})
		if d.Outcome != Block || !slices.Equal(d.Policies(), []string{"yanked"}) || !errors.Is(d.Err, ErrNoIntel) {
			t.Fatalf("%v %v err=%v", d.Outcome, d.Policies(), d.Err)
		}
	})
	t.Run("decided without intel", func(t *testing.T) {
		// "flask cvss" is false by name, "requests or cvss" true by name; only "cvss" is undecidable.
		e2 := mustCompile(t, Config{Policies: cfg.Policies[2:]})
		c := comp("requests", "2.19.0")
		d := e2.Evaluate(&c, &Env{Now: testNow})
		if d.Err != nil || d.Outcome != ReportOnly || !slices.Equal(d.Matches[0].Reasons, []string{"requests matches dependency name requests"}) {
			t.Fatalf("%v %+v err=%v", d.Outcome, d.Matches, d.Err)
		}
	})
	t.Run("nil env", func(t *testing.T) {
		c := comp("requests", "2.19.0")
		c.Yanked = true
		d := e.Evaluate(&c, nil)
		if d.Outcome != Block || !errors.Is(d.Err, ErrNoIntel) {
			t.Fatalf("%v err=%v", d.Outcome, d.Err)
		}
	})
}

// fakeTrigger records first triggers like the journal does.
type fakeTrigger struct {
	mu    sync.Mutex
	first map[string]time.Time
	keys  []string
	err   error
}

func (f *fakeTrigger) fn(key string, now time.Time) (time.Time, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keys = append(f.keys, key)
	if f.err != nil {
		return time.Time{}, f.err
	}
	if t, ok := f.first[key]; ok {
		return t, nil
	}
	f.first[key] = now
	return now, nil
}

func TestDelayedBlock(t *testing.T) {
	snap := testSnapshot(t)
	cfg := Config{Policies: []PolicyConfig{
		{Name: "Delayed CVSS", Blocker: true, Delay: "14d", Conditions: []ConditionConfig{condCVSS7}},
		{Name: "Yanked", Blocker: true, Conditions: []ConditionConfig{condYanked}},
	}}
	e := mustCompile(t, cfg)
	ft := &fakeTrigger{first: map[string]time.Time{}}
	c := comp("requests", "2.19.0")
	c.Repository = "internet-pypi"

	d := e.Evaluate(&c, &Env{Now: testNow, Intel: snap, FirstTrigger: ft.fn})
	if d.Outcome != Delayed || !d.Matches[0].Delayed || !d.Matches[0].BlockAfter.Equal(testNow.Add(day(14))) || d.Err != nil {
		t.Fatalf("first: %v %+v err=%v", d.Outcome, d.Matches, d.Err)
	}
	if !d.BlockAfterOf().Equal(testNow.Add(day(14))) {
		t.Fatalf("BlockAfterOf %v", d.BlockAfterOf())
	}
	if want := "Delayed CVSS|pkg:pypi/requests@2.19.0"; !slices.Equal(ft.keys, []string{want}) {
		t.Fatalf("keys %q", ft.keys)
	}
	// Through another repository the clock keeps running.
	c.Repository = "other"
	d = e.Evaluate(&c, &Env{Now: testNow.Add(day(13)), Intel: snap, FirstTrigger: ft.fn})
	if d.Outcome != Delayed {
		t.Fatalf("day 13: %v", d.Outcome)
	}
	d = e.Evaluate(&c, &Env{Now: testNow.Add(day(14)), Intel: snap, FirstTrigger: ft.fn})
	if d.Outcome != Block || d.Matches[0].Delayed {
		t.Fatalf("day 14: %v %+v", d.Outcome, d.Matches)
	}
	// A non-delayed blocker wins over a delayed one.
	y := comp("requests", "2.18.0")
	y.Yanked = true
	d = e.Evaluate(&y, &Env{Now: testNow, Intel: snap, FirstTrigger: ft.fn})
	if d.Outcome != Block || !d.Matches[0].Delayed || d.Matches[1].Delayed {
		t.Fatalf("mixed: %v %+v", d.Outcome, d.Matches)
	}
	// Without FirstTrigger, delayed blocks block.
	d = e.Evaluate(&c, &Env{Now: testNow, Intel: snap})
	if d.Outcome != Block {
		t.Fatalf("no FirstTrigger: %v", d.Outcome)
	}
	// A FirstTrigger failure is an error and the match blocks.
	bad := &fakeTrigger{first: map[string]time.Time{}, err: errors.New("journal down")}
	d = e.Evaluate(&c, &Env{Now: testNow, Intel: snap, FirstTrigger: bad.fn})
	if d.Outcome != Block || d.Err == nil || d.Err.Error() != `policy "Delayed CVSS": delayed block: journal down` {
		t.Fatalf("trigger error: %v err=%v", d.Outcome, d.Err)
	}
	// A report-only policy with a delay never asks for a trigger.
	ro := mustCompile(t, Config{Policies: []PolicyConfig{{Name: "r", Delay: "1d", Conditions: []ConditionConfig{condCVSS7}}}})
	n := len(ft.keys)
	if d = ro.Evaluate(&c, &Env{Now: testNow, Intel: snap, FirstTrigger: ft.fn}); d.Outcome != ReportOnly || len(ft.keys) != n {
		t.Fatalf("report-only delay: %v keys=%d", d.Outcome, len(ft.keys)-n)
	}
}

func TestWaivers(t *testing.T) {
	snap := testSnapshot(t)
	sha := strings.Repeat("ab", 32)
	expires := testNow.Add(day(30))
	base := WaiverConfig{Expires: expires, Justification: "reviewed", ApprovedBy: "alice"}
	w := func(name, pkg string, mod func(*WaiverConfig)) WaiverConfig {
		c := base
		c.Name, c.Package = name, pkg
		if mod != nil {
			mod(&c)
		}
		return c
	}
	policies := []PolicyConfig{
		{Name: "CVSS", Blocker: true, Conditions: []ConditionConfig{condCVSS7}},
		{Name: "Yanked", Blocker: true, Conditions: []ConditionConfig{condYanked}},
		{Name: "Delayed", Blocker: true, Delay: "7d", Conditions: []ConditionConfig{{Type: "dependency_name_in", Values: []string{"slow-*"}}}},
		{Name: "Report", Conditions: []ConditionConfig{{Type: "dependency_name_in", Values: []string{"noisy"}}}},
	}
	cases := []struct {
		name   string
		waiver WaiverConfig
		c      func() Component
		now    time.Time
		want   Outcome
		waived string
	}{
		{"package and version", w("w", "Requests", func(c *WaiverConfig) { c.Version = "==2.19.0" }),
			func() Component { return comp("requests", "2.19.0") }, testNow, Allow, "w"},
		{"version mismatch", w("w", "requests", func(c *WaiverConfig) { c.Version = ">=2.19.1" }),
			func() Component { return comp("requests", "2.19.0") }, testNow, Block, ""},
		{"glob", w("w", "req*", nil), func() Component { return comp("requests", "2.19.0") }, testNow, Allow, "w"},
		{"other package", w("w", "flask", nil), func() Component { return comp("requests", "2.19.0") }, testNow, Block, ""},
		{"just before expiry", w("w", "requests", nil), func() Component { return comp("requests", "2.19.0") }, expires.Add(-time.Second), Allow, "w"},
		{"at expiry", w("w", "requests", nil), func() Component { return comp("requests", "2.19.0") }, expires, Block, ""},
		{"repository in scope", w("w", "requests", func(c *WaiverConfig) { c.Repositories = []string{"internet-pypi"} }),
			func() Component { c := comp("requests", "2.19.0"); c.Repository = "internet-pypi"; return c }, testNow, Allow, "w"},
		{"repository out of scope", w("w", "requests", func(c *WaiverConfig) { c.Repositories = []string{"internet-pypi"} }),
			func() Component { c := comp("requests", "2.19.0"); c.Repository = "other"; return c }, testNow, Block, ""},
		{"sha256 match", w("w", "requests", func(c *WaiverConfig) { c.Sha256 = strings.ToUpper(sha) }),
			func() Component { c := comp("requests", "2.19.0"); c.Sha256 = sha; return c }, testNow, Allow, "w"},
		{"sha256 mismatch", w("w", "requests", func(c *WaiverConfig) { c.Sha256 = sha }),
			func() Component { c := comp("requests", "2.19.0"); c.Sha256 = strings.Repeat("cd", 32); return c }, testNow, Block, ""},
		{"sha256 unknown", w("w", "requests", func(c *WaiverConfig) { c.Sha256 = sha }),
			func() Component { return comp("requests", "2.19.0") }, testNow, Block, ""},
		{"policies cover the blockers", w("w", "requests", func(c *WaiverConfig) { c.Policies = []string{"CVSS", "Report"} }),
			func() Component { return comp("requests", "2.19.0") }, testNow, Allow, "w"},
		{"policies miss a blocker", w("w", "requests", func(c *WaiverConfig) { c.Policies = []string{"CVSS"} }),
			func() Component { c := comp("requests", "2.19.0"); c.Yanked = true; return c }, testNow, Block, ""},
		{"delayed is waived too", w("w", "slow-lib", nil),
			func() Component { return comp("slow-lib", "1") }, testNow, Allow, "w"},
		{"report only stays report only", w("w", "noisy", nil),
			func() Component { return comp("noisy", "1") }, testNow, ReportOnly, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := mustCompile(t, Config{Policies: policies, Waivers: []WaiverConfig{tc.waiver}})
			c := tc.c()
			ft := &fakeTrigger{first: map[string]time.Time{}}
			d := e.Evaluate(&c, &Env{Now: tc.now, Intel: snap, FirstTrigger: ft.fn})
			if d.Outcome != tc.want || d.Waiver != tc.waived {
				t.Fatalf("got %v waiver=%q, want %v %q (%+v)", d.Outcome, d.Waiver, tc.want, tc.waived, d.Matches)
			}
			if len(d.Matches) == 0 {
				t.Fatal("matches must be kept for the record")
			}
		})
	}

	// The same engine stops honouring a waiver once it expires: no reload.
	e := mustCompile(t, Config{Policies: policies, Waivers: []WaiverConfig{
		w("first", "requests", func(c *WaiverConfig) { c.Expires = testNow.Add(time.Hour) }),
		w("second", "requests", func(c *WaiverConfig) { c.Expires = testNow.Add(2 * time.Hour) }),
	}})
	c := comp("requests", "2.19.0")
	for _, step := range []struct {
		at     time.Duration
		want   Outcome
		waiver string
	}{{0, Allow, "first"}, {90 * time.Minute, Allow, "second"}, {2 * time.Hour, Block, ""}} {
		d := e.Evaluate(&c, &Env{Now: testNow.Add(step.at), Intel: snap})
		if d.Outcome != step.want || d.Waiver != step.waiver {
			t.Fatalf("at +%v: %v %q", step.at, d.Outcome, d.Waiver)
		}
	}
	ws := e.WaiversAt(testNow.Add(90 * time.Minute))
	if len(ws) != 2 || !ws[0].Expired || ws[1].Expired || ws[0].ApprovedBy != "alice" {
		t.Fatalf("waivers: %+v", ws)
	}
}

func TestConcurrentEvaluate(t *testing.T) {
	snap := testSnapshot(t)
	e := mustCompile(t, Config{Policies: []PolicyConfig{
		{Name: "CVSS", Blocker: true, Conditions: []ConditionConfig{condCVSS7}},
		{Name: "Cooldown", Blocker: true, Conditions: []ConditionConfig{{Type: "dependency_age", Op: "<", Value: "7d",
			MissingUploadTime: "treat_as_old", AllowSecurityFixes: true}}},
	}})
	proj := &Project{Versions: []string{"2.19.1", "2.20.0"}}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				ver := "2.19.0"
				if (g+i)%2 == 0 {
					ver = "2.20.0"
				}
				c := withUpload(comp("requests", ver), day(1))
				d := e.Evaluate(&c, &Env{Now: testNow, Intel: snap, Project: proj})
				if ver == "2.19.0" && (d.Outcome != Block || len(d.Matches) != 2 || len(d.Notes) != 0) {
					t.Errorf("2.19.0: %v %+v %q", d.Outcome, d.Matches, d.Notes)
					return
				}
				if ver == "2.20.0" && (d.Outcome != Allow || len(d.Notes) != 1) {
					t.Errorf("2.20.0: %v %+v %q", d.Outcome, d.Matches, d.Notes)
					return
				}
			}
		}(g)
	}
	wg.Wait()
}
