package osaproxy

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/osaproxy/caddy-osaproxy/intel"
	"github.com/osaproxy/caddy-osaproxy/internal/clock"
	"github.com/osaproxy/caddy-osaproxy/policy"
	"github.com/osaproxy/caddy-osaproxy/pypi"
)

// decideTestApp is an App with the given policies over a directory of OSV
// records (one malicious record for demo 1.0, plus extra), loaded.
func decideTestApp(t *testing.T, cfg policy.Config, extra ...string) *App {
	t.Helper()
	registerMetrics(nil)
	dir := t.TempDir()
	recs := append([]string{`{"id":"MAL-TEST-1","modified":"2026-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"PyPI","name":"demo"},"versions":["1.0"]}]}`}, extra...)
	for i, r := range recs {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("r%d.json", i)), []byte(r), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	feed := intel.NewFeed(intel.FeedConfig{Sources: []intel.SourceConfig{{Kind: "osv", Location: dir}}})
	if err := feed.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	eng, err := policy.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &App{engine: eng, feed: &pooledFeed{feed: feed}, verdicts: newVerdictCache(1 << 10), pages: newPageDecisionCache()}
}

func decideTestExchange(a *App) *exchange {
	return &exchange{
		h:    &Handler{app: a},
		repo: &Repository{Name: "pypi"},
		opts: modeOpts{Mode: ModeStrict, BlockOnErrors: true},
		r:    httptest.NewRequest("GET", "/pypi/simple/demo/", nil),
	}
}

// decideTestPage is a page of demo: 1.0 is malicious, 2.0 was uploaded a
// day before now (inside a 7-day cooldown), 3.0 is old; each release has a
// wheel and an sdist.
func decideTestPage(now time.Time) *pypi.Index {
	ix := &pypi.Index{Format: pypi.FormatJSON, Project: "demo", ProjectStatus: "active"}
	ages := map[string]time.Duration{"1.0": 400 * 24 * time.Hour, "2.0": 24 * time.Hour, "3.0": 300 * 24 * time.Hour}
	for _, v := range []string{"1.0", "2.0", "3.0"} {
		for _, f := range []struct {
			name string
			typ  pypi.PackageType
		}{{"demo-" + v + "-py3-none-any.whl", pypi.TypeWheel}, {"demo-" + v + ".tar.gz", pypi.TypeSdist}} {
			ix.Files = append(ix.Files, pypi.IndexFile{Filename: f.name, Version: v, Type: f.typ,
				Sha256: strings.Repeat(v[:1], 64), UploadTime: now.Add(-ages[v])})
		}
	}
	return ix
}

var decideTestPolicies = policy.Config{
	Policies: []policy.PolicyConfig{
		{Name: "Dangerous", Blocker: true, Conditions: []policy.ConditionConfig{{Type: "dependency_is_dangerous"}}},
		{Name: "Cooldown", Blocker: true, Conditions: []policy.ConditionConfig{{Type: "dependency_age", Op: "<", Value: "7d", MissingUploadTime: "treat_as_young"}}},
		{Name: "Report sdists", Conditions: []policy.ConditionConfig{{Type: "package_type_in", Values: []string{"sdist"}}}},
	},
}

type decided struct {
	edits []pypi.Edit
	sum   *indexSummary
}

func decidePage(x *exchange, ix *pypi.Index) decided {
	e, s := x.decideIndex(ix)
	return decided{e, s}
}

// TestPageDecisionsReuseOnlyEqualInputs: a page with the same decision
// inputs reuses the verdicts (and they equal fresh ones); any change of an
// input a decision reads misses and decides afresh, with the result an
// empty cache gives.
func TestPageDecisionsReuseOnlyEqualInputs(t *testing.T) {
	defer clock.Reset()
	a := decideTestApp(t, decideTestPolicies)
	now := clock.Now()
	first := decidePage(decideTestExchange(a), decideTestPage(now))
	if first.sum.removed != 4 { // 1.0 (malicious) and 2.0 (cooldown), wheel and sdist
		t.Fatalf("removed %d files, want 4; edits %+v", first.sum.removed, first.edits)
	}
	again := decidePage(decideTestExchange(a), decideTestPage(now))
	if again.sum != first.sum {
		t.Fatal("the same page was decided again instead of reusing its decisions")
	}

	fresh := func(x *exchange, ix *pypi.Index) decided {
		saved := x.h.app.pages
		x.h.app.pages = newPageDecisionCache()
		defer func() { x.h.app.pages = saved }()
		return decidePage(x, ix)
	}
	mutations := []struct {
		name string
		page func(*pypi.Index)
		x    func(*exchange)
	}{
		{name: "file renamed", page: func(ix *pypi.Index) { ix.Files[5].Filename = "demo-3.0.zip" }},
		{name: "type changed", page: func(ix *pypi.Index) { ix.Files[4].Type = pypi.TypeSdist }},
		{name: "sha256 changed", page: func(ix *pypi.Index) { ix.Files[4].Sha256 = strings.Repeat("f", 64) }},
		{name: "yanked", page: func(ix *pypi.Index) { ix.Files[4].Yanked = true }},
		{name: "upload time moved into the cooldown", page: func(ix *pypi.Index) { ix.Files[4].UploadTime = now.Add(-time.Hour) }},
		{name: "upload time moved within its class", page: func(ix *pypi.Index) { ix.Files[4].UploadTime = ix.Files[4].UploadTime.Add(time.Second) }},
		{name: "upload time unknown (the release time of its version applies)", page: func(ix *pypi.Index) { ix.Files[4].UploadTime = time.Time{} }},
		{name: "unreadable name", page: func(ix *pypi.Index) { ix.Files[4].ParseErr = fmt.Errorf("bad") }},
		{name: "version changed", page: func(ix *pypi.Index) { ix.Files[4].Version = "1.0" }},
		{name: "file dropped", page: func(ix *pypi.Index) { ix.Files = ix.Files[:5] }},
		{name: "file added", page: func(ix *pypi.Index) {
			ix.Files = append(ix.Files, pypi.IndexFile{Filename: "demo-4.0.tar.gz", Version: "4.0", Type: pypi.TypeSdist, UploadTime: now})
		}},
		{name: "project status", page: func(ix *pypi.Index) { ix.ProjectStatus = "quarantined" }},
		{name: "fields shifted between files", page: func(ix *pypi.Index) {
			ix.Files[0].Filename, ix.Files[0].Version = ix.Files[0].Filename+"1", "."+ix.Files[0].Version
		}},
		{name: "work mode", x: func(x *exchange) { x.opts.Mode = ModeSpectator }},
		{name: "block on errors", x: func(x *exchange) { x.opts.BlockOnErrors = false }},
		{name: "repository", x: func(x *exchange) { x.repo = &Repository{Name: "other"} }},
		{name: "repository manager host", x: func(x *exchange) { x.rc.RepoManagerHost = "art.example" }},
		{name: "repository manager repository", x: func(x *exchange) { x.rc.RepoName = "pypi-remote" }},
		{name: "mark instead of remove", x: func(x *exchange) {
			f := false
			x.h = &Handler{app: x.h.app, RemoveBlockedVersions: &f}
		}},
	}
	for _, m := range mutations {
		t.Run(m.name, func(t *testing.T) {
			// The original page is what the cache holds for this context.
			base := decidePage(decideTestExchange(a), decideTestPage(now))
			if again := decidePage(decideTestExchange(a), decideTestPage(now)); again.sum != base.sum {
				t.Fatal("the original page was not reused")
			}
			x := decideTestExchange(a)
			ix := decideTestPage(now)
			if m.page != nil {
				m.page(ix)
			}
			if m.x != nil {
				m.x(x)
			}
			got := decidePage(x, ix)
			if got.sum == base.sum || got.sum == first.sum {
				t.Fatal("changed inputs reused the first page's decisions")
			}
			if want := fresh(x, ix); !reflect.DeepEqual(got, want) {
				t.Fatalf("decisions differ from an empty cache's:\n got %+v %+v\nwant %+v %+v", got.edits, *got.sum, want.edits, *want.sum)
			}
			// and the changed page is now reused in its turn
			if again := decidePage(x, ix); again.sum != got.sum {
				t.Fatal("the changed page was not reused")
			}
		})
	}
}

// TestPageDecisionsExpire: under time-dependent policies a page's decisions
// live timeDependentIndexTTL on the proxy clock; under a policy set whose
// decisions depend on the component alone they live until evicted. A new
// intelligence snapshot or policy generation misses at once.
func TestPageDecisionsExpire(t *testing.T) {
	defer clock.Reset()
	timed := decideTestApp(t, decideTestPolicies)
	static := decideTestApp(t, policy.Config{Policies: decideTestPolicies.Policies[:1]})
	if timed.engine.Cacheable() || !static.engine.Cacheable() {
		t.Fatal("test premise: the cooldown engine is time-dependent, the other one is not")
	}
	now := clock.Now()
	dt, ds := decidePage(decideTestExchange(timed), decideTestPage(now)), decidePage(decideTestExchange(static), decideTestPage(now))
	clock.Advance(timeDependentIndexTTL - time.Millisecond)
	if decidePage(decideTestExchange(timed), decideTestPage(now)).sum != dt.sum {
		t.Fatal("time-bound decisions expired before their TTL")
	}
	clock.Advance(time.Millisecond)
	if decidePage(decideTestExchange(timed), decideTestPage(now)).sum == dt.sum {
		t.Fatal("time-bound decisions outlived their TTL")
	}
	clock.Advance(365 * 24 * time.Hour)
	if decidePage(decideTestExchange(static), decideTestPage(now)).sum != ds.sum {
		t.Fatal("decisions of a time-independent policy set expired")
	}

	// A snapshot with one more record: the same page misses and 3.0 is now
	// removed too.
	dir := t.TempDir()
	for i, r := range []string{
		`{"id":"MAL-TEST-1","modified":"2026-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"PyPI","name":"demo"},"versions":["1.0"]}]}`,
		`{"id":"MAL-TEST-2","modified":"2026-01-02T00:00:00Z","affected":[{"package":{"ecosystem":"PyPI","name":"demo"},"versions":["3.0"]}]}`,
	} {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("r%d.json", i)), []byte(r), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	feed := intel.NewFeed(intel.FeedConfig{Sources: []intel.SourceConfig{{Kind: "osv", Location: dir}}})
	if err := feed.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	static.feed = &pooledFeed{feed: feed}
	got := decidePage(decideTestExchange(static), decideTestPage(now))
	if got.sum == ds.sum || got.sum.removed != 4 {
		t.Fatalf("new snapshot: removed %d (reused: %v), want 4 decided afresh", got.sum.removed, got.sum == ds.sum)
	}
	// A new policy generation (a second blocker) misses as well.
	eng, err := policy.Compile(policy.Config{Policies: append(decideTestPolicies.Policies[:1:1],
		policy.PolicyConfig{Name: "Sdists", Blocker: true, Conditions: []policy.ConditionConfig{{Type: "package_type_in", Values: []string{"sdist"}}}})})
	if err != nil {
		t.Fatal(err)
	}
	static.engine = eng
	if got2 := decidePage(decideTestExchange(static), decideTestPage(now)); got2.sum == got.sum || got2.sum.removed != 5 {
		t.Fatalf("new policies: removed %d (reused: %v), want 5 decided afresh", got2.sum.removed, got2.sum == got.sum)
	}
}

// TestPageDecisionsNotReusedWithoutIntel: without a snapshot while
// policies need one, verdicts (unscanned) are never stored.
func TestPageDecisionsNotReusedWithoutIntel(t *testing.T) {
	eng, err := policy.Compile(decideTestPolicies)
	if err != nil {
		t.Fatal(err)
	}
	registerMetrics(nil)
	a := &App{engine: eng, feed: &pooledFeed{feed: intel.NewFeed(intel.FeedConfig{})}, verdicts: newVerdictCache(16), pages: newPageDecisionCache()}
	now := clock.Now()
	d1 := decidePage(decideTestExchange(a), decideTestPage(now))
	if !d1.sum.allBlocked {
		t.Fatalf("strict mode without intelligence should block every file: %+v", *d1.sum)
	}
	if d2 := decidePage(decideTestExchange(a), decideTestPage(now)); d2.sum == d1.sum {
		t.Fatal("unscanned verdicts were reused")
	}
	if n := len(a.pages.m); n != 0 {
		t.Fatalf("%d pages stored", n)
	}
}

func TestPageDecisionCacheBounds(t *testing.T) {
	c := newPageDecisionCache()
	now := time.Now()
	big := (pageDecisionBudget/8 - 1000) / 2 // a key counts twice (map key and order)
	for i := 0; i < 40; i++ {
		c.put(&pageDecision{key: fmt.Sprintf("%d%s", i, strings.Repeat("k", big)), created: now, sum: &indexSummary{}})
		if c.bytes > pageDecisionBudget {
			t.Fatalf("after %d puts: %d bytes > %d", i+1, c.bytes, pageDecisionBudget)
		}
	}
	if c.get([]byte(fmt.Sprintf("%d%s", 39, strings.Repeat("k", big))), now) == nil {
		t.Fatal("the newest entry was evicted")
	}
	if c.get([]byte(fmt.Sprintf("%d%s", 0, strings.Repeat("k", big))), now) != nil {
		t.Fatal("the oldest entry survived past the budget")
	}
	// Too big for the cache: not stored, nothing evicted.
	n := len(c.m)
	c.put(&pageDecision{key: strings.Repeat("x", pageDecisionBudget/16+1), created: now, sum: &indexSummary{}})
	if len(c.m) != n {
		t.Fatal("an oversized entry changed the cache")
	}
	// Many small entries: the count bound holds and the order list stays bounded.
	c = newPageDecisionCache()
	for i := 0; i < 3*pageDecisionEntries; i++ {
		c.put(&pageDecision{key: fmt.Sprint(i % (pageDecisionEntries + 7)), created: now, sum: &indexSummary{}})
	}
	if len(c.m) > pageDecisionEntries || len(c.order) > 2*pageDecisionEntries+1 {
		t.Fatalf("%d entries, %d order slots", len(c.m), len(c.order))
	}
	total := 0
	for _, d := range c.m {
		total += d.size
	}
	if total != c.bytes {
		t.Fatalf("accounted %d bytes, entries hold %d", c.bytes, total)
	}
}

// TestPageDecisionsClassChangeWithinTTL: the same page a moment later, when
// a file crossed a cooldown threshold in between, is decided afresh even
// though its entry has not expired.
func TestPageDecisionsClassChangeWithinTTL(t *testing.T) {
	defer clock.Reset()
	a := decideTestApp(t, decideTestPolicies)
	now := clock.Now()
	page := func() *pypi.Index {
		ix := decideTestPage(now)
		ix.Files[2].UploadTime = now.Add(-7*24*time.Hour + time.Second) // 2.0's wheel: old in one second
		ix.Files[3].UploadTime = ix.Files[2].UploadTime
		return ix
	}
	d1 := decidePage(decideTestExchange(a), page())
	if d1.sum.removed != 4 {
		t.Fatalf("removed %d, want 4", d1.sum.removed)
	}
	clock.Advance(2 * time.Second) // within the TTL
	d2 := decidePage(decideTestExchange(a), page())
	if d2.sum == d1.sum || d2.sum.removed != 2 {
		t.Fatalf("after the threshold: removed %d (reused: %v), want 2 decided afresh", d2.sum.removed, d2.sum == d1.sum)
	}
}
