package console

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/osaproxy/caddy-osaproxy/intel"
	"github.com/osaproxy/caddy-osaproxy/journal"
	"github.com/osaproxy/caddy-osaproxy/whatif"
)

// testNow is the fixed "now" of the tests.
var testNow = time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)

// fakeBackend is an in-memory Backend that filters like the journal does
// and records what the console asked.
type fakeBackend struct {
	mu       sync.Mutex
	recs     []journal.Record // any order; served newest first
	filters  []journal.Filter
	whatIfs  [][3]string
	intel    IntelInfo
	policies PolicyInfo
	advs     map[string]*AdvisoryInfo
	queryErr error
}

func (b *fakeBackend) add(recs ...journal.Record) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, r := range recs {
		if r.ID == 0 {
			r.ID = int64(len(b.recs) + 1)
		}
		b.recs = append(b.recs, r)
	}
}

func (b *fakeBackend) lastFilter() journal.Filter {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.filters) == 0 {
		return journal.Filter{Limit: -12345}
	}
	return b.filters[len(b.filters)-1]
}

func (b *fakeBackend) calls() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.filters)
}

func (b *fakeBackend) sorted() []journal.Record {
	out := append([]journal.Record(nil), b.recs...)
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Time.Equal(out[j].Time) {
			return out[i].Time.After(out[j].Time)
		}
		return out[i].ID > out[j].ID
	})
	return out
}

func match(f journal.Filter, r journal.Record) bool {
	eq := func(want, got string) bool { return want == "" || want == got }
	if !eq(f.Package, r.Package) || !eq(f.Repository, r.Repository) || !eq(f.Mode, r.WorkMode) ||
		!eq(f.Operation, r.Operation) || !eq(f.Initiator, r.Initiator) {
		return false
	}
	if f.RepoManager != "" && f.RepoManager != r.RepoManagerHost && f.RepoManager != r.RepoName {
		return false
	}
	switch {
	case f.Status == journal.StatusBlocked:
		if !journal.IsBlocked(r.Status) {
			return false
		}
	case f.Status != "" && f.Status != r.Status:
		return false
	}
	if !f.Since.IsZero() && r.Time.Before(f.Since) {
		return false
	}
	if !f.Until.IsZero() && !r.Time.Before(f.Until) {
		return false
	}
	return true
}

// Requests serves a page; the cursor is "after:<id>".
func (b *fakeBackend) Requests(ctx context.Context, f journal.Filter) (journal.Page, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.filters = append(b.filters, f)
	if b.queryErr != nil {
		return journal.Page{}, b.queryErr
	}
	limit := f.Limit
	if limit <= 0 {
		limit = journal.DefaultLimit
	}
	var after int64 = -1
	if f.Cursor != "" {
		s, ok := strings.CutPrefix(f.Cursor, "after:")
		n, err := strconv.ParseInt(s, 10, 64)
		if !ok || err != nil {
			return journal.Page{}, fmt.Errorf("fake: %w", journal.ErrInvalidCursor)
		}
		after = n
	}
	var all []journal.Record
	for _, r := range b.sorted() {
		if match(f, r) {
			all = append(all, r)
		}
	}
	start := 0
	if after >= 0 {
		start = len(all)
		for i, r := range all {
			if r.ID == after {
				start = i + 1
				break
			}
		}
	}
	end := min(start+limit, len(all))
	p := journal.Page{Requests: append([]journal.Record{}, all[start:end]...), Total: -1}
	if end < len(all) {
		p.NextCursor = "after:" + strconv.FormatInt(all[end-1].ID, 10)
	}
	if !f.NoTotal {
		p.Total = int64(len(all))
	}
	return p, nil
}

func (b *fakeBackend) Package(ctx context.Context, name string) (journal.PackageSummary, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.queryErr != nil {
		return journal.PackageSummary{}, b.queryErr
	}
	s := journal.PackageSummary{Package: name, Counts: map[string]int64{}}
	last := map[string]string{}
	recs := b.sorted()
	for i := len(recs) - 1; i >= 0; i-- { // oldest first
		r := recs[i]
		if r.Package != name {
			continue
		}
		if s.FirstRequested.IsZero() {
			s.FirstRequested = r.Time
		}
		s.LastRequested = r.Time
		s.Counts[r.Status]++
		if r.Version != "" && last[r.Version] != r.Status {
			last[r.Version] = r.Status
			s.Verdicts = append([]journal.Record{r}, s.Verdicts...)
		}
	}
	return s, nil
}

func (b *fakeBackend) Intel() IntelInfo                 { return b.intel }
func (b *fakeBackend) Policies() PolicyInfo             { return b.policies }
func (b *fakeBackend) Advisory(id string) *AdvisoryInfo { return b.advs[id] }

// WhatIf rejects text containing "syntax error" and otherwise reports the
// blocked records of the period as newly blocked by the first policy named.
func (b *fakeBackend) WhatIf(ctx context.Context, policies, since, until string) (*whatif.Result, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.whatIfs = append(b.whatIfs, [3]string{policies, since, until})
	if strings.Contains(policies, "syntax error") {
		return nil, errors.New(`Caddyfile:3 - Error during parsing: unknown condition "syntax"`)
	}
	name := "proposed"
	if _, rest, ok := strings.Cut(policies, `policy "`); ok {
		name, _, _ = strings.Cut(rest, `"`)
	}
	res := &whatif.Result{Since: testNow.Add(-7 * 24 * time.Hour), Until: testNow, Snapshot: b.intel.SnapshotID}
	groups := map[string]*whatif.Change{}
	var order []string
	for _, r := range b.sorted() {
		if r.Version == "" {
			continue
		}
		res.Replayed++
		if r.Status != journal.StatusWouldBlock {
			continue
		}
		res.Changed++
		res.NewlyBlocked++
		g := groups[r.Package]
		if g == nil {
			g = &whatif.Change{Package: r.Package, Policy: name, Change: "newly_blocked", LastSeen: r.Time,
				Example: r.Package + "@" + r.Version + " has " + strings.Join(r.Advisories, ", ")}
			groups[r.Package] = g
			order = append(order, r.Package)
		}
		g.Requests++
		if !contains(g.Versions, r.Version) {
			g.Versions = append(g.Versions, r.Version)
		}
	}
	for _, p := range order {
		res.Groups = append(res.Groups, *groups[p])
	}
	res.Groups = append(res.Groups, whatif.Change{Package: "urllib3", Policy: "Old waiver", Change: "newly_allowed",
		Versions: []string{"1.26.4"}, Requests: 2, LastSeen: testNow.Add(-time.Hour)})
	res.Changed += 2
	res.NewlyAllowed += 2
	return res, nil
}

// realisticBackend holds a journal that looks like a day of pip traffic.
func realisticBackend() *fakeBackend {
	b := &fakeBackend{
		intel: IntelInfo{
			SnapshotID: "sha256:3f9a1c2b7d4e/18342/2026-03-14T09:12:00Z", Records: 18342,
			NewestModified: testNow.Add(-3 * time.Hour), LoadedAt: testNow.Add(-40 * time.Minute), Age: 40 * time.Minute,
			MaxAge: 24 * time.Hour,
			Sources: []intel.SourceStatus{
				{Kind: "osv", Location: "https://osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip", Records: 18100,
					LoadedAt: testNow.Add(-40 * time.Minute), LastAttempt: testNow.Add(-10 * time.Minute)},
				{Kind: "pypa", Location: "/srv/advisory-database", Records: 242, LoadedAt: testNow.Add(-40 * time.Minute),
					LastAttempt: testNow.Add(-10 * time.Minute), LastError: "open /srv/advisory-database/vulns/x.yaml: permission denied"},
			},
		},
		policies: PolicyInfo{
			Generation: "g-7c1e",
			Policies: []PolicySummary{
				{Name: "Dangerous dependency at the proxy stage", Active: true, Blocker: true, Stages: []string{"proxy"},
					Components: []string{"packages"}, Conditions: "dependency_is_dangerous", Description: "Malicious packages (OSV MAL- records)"},
				{Name: "Critical vulnerabilities", Active: true, Blocker: false, Stages: []string{"proxy"},
					Components: []string{"packages"}, Conditions: "cvss3_score >= 9.0"},
				{Name: "Cooldown", Active: false, Skipped: "stages do not include proxy", Blocker: true, Delay: "14d",
					Stages: []string{"build"}, Conditions: "dependency_age < 7d"},
			},
			Waivers: []WaiverSummary{
				{Name: "requests-legacy", Package: "requests", Version: "==2.25.1", Expires: testNow.Add(30 * 24 * time.Hour),
					Justification: "Legacy service, migration planned", ApprovedBy: "security@example.com"},
				{Name: "old-urllib3", Package: "urllib3", Version: "<1.27", Expires: testNow.Add(-48 * time.Hour), Expired: true,
					Justification: "Temporary", ApprovedBy: "alice"},
			},
		},
		advs: map[string]*AdvisoryInfo{
			"MAL-2024-1234": {ID: "MAL-2024-1234", Summary: "Malicious code in colourama (PyPI)", Malicious: true,
				Published: testNow.Add(-400 * 24 * time.Hour), Affected: []string{"colourama: every version"},
				References: []string{"https://github.com/ossf/malicious-packages", "javascript:alert(1)"}},
			"GHSA-j8r2-6x86-q33q": {ID: "GHSA-j8r2-6x86-q33q", Aliases: []string{"CVE-2023-32681", "PYSEC-2023-74"},
				Summary: "Unintended leak of Proxy-Authorization header in requests", Severity: "MODERATE", CVSS3: 6.1, HasCVSS3: true,
				Published: testNow.Add(-300 * 24 * time.Hour), Affected: []string{"requests: >=2.3.0, <2.31.0"},
				References: []string{"https://github.com/psf/requests/security/advisories/GHSA-j8r2-6x86-q33q"}},
		},
	}
	type row struct {
		pkg, ver, file, op, status, mode, init string
		pols, advs                             []string
		ago                                    time.Duration
	}
	rows := []row{
		{"requests", "2.31.0", "requests-2.31.0-py3-none-any.whl", "download", journal.StatusNotBlocked, "strict", "ci-runner", nil, nil, 2 * time.Minute},
		{"requests", "", "", "index", journal.StatusNotBlocked, "strict", "ci-runner", nil, nil, 3 * time.Minute},
		{"colourama", "0.1.6", "colourama-0.1.6.tar.gz", "download", journal.StatusBlockedByPolicies, "strict", "alice",
			[]string{"Dangerous dependency at the proxy stage"}, []string{"MAL-2024-1234"}, 5 * time.Minute},
		{"colourama", "", "", "index", journal.StatusNotBlocked, "strict", "alice", []string{"Dangerous dependency at the proxy stage"}, []string{"MAL-2024-1234"}, 6 * time.Minute},
		{"requests", "2.28.0", "requests-2.28.0-py3-none-any.whl", "download", journal.StatusWouldBlock, "strict", "bob",
			[]string{"Critical vulnerabilities"}, []string{"GHSA-j8r2-6x86-q33q"}, 20 * time.Minute},
		{"urllib3", "2.2.1", "urllib3-2.2.1-py3-none-any.whl", "download", journal.StatusNotBlocked, "strict", "bob", nil, nil, 30 * time.Minute},
		{"numpy", "2.0.0", "numpy-2.0.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", "download", journal.StatusBlockedUnscanned, "strict_wait", "ci-runner", nil, nil, 50 * time.Minute},
		{"django", "4.2.2", "Django-4.2.2-py3-none-any.whl", "download", journal.StatusDelayedBlock, "moderate", "carol", []string{"Cooldown"}, nil, 2 * time.Hour},
		{"flask", "3.0.3", "flask-3.0.3-py3-none-any.whl", "metadata", journal.StatusNotBlocked, "spectator", "carol", nil, nil, 3 * time.Hour},
		{"colourama", "0.1.6", "colourama-0.1.6.tar.gz", "download", journal.StatusBlockedByPolicies, "strict", "ci-runner",
			[]string{"Dangerous dependency at the proxy stage"}, []string{"MAL-2024-1234"}, 26 * time.Hour},
	}
	for i := len(rows) - 1; i >= 0; i-- { // ids grow with time
		r := rows[i]
		rec := journal.Record{Time: testNow.Add(-r.ago), Repository: "internet-pypi", RepoManagerHost: "nexus.example.com",
			RepoName: "pypi-proxy", Ecosystem: "pypi", Package: r.pkg, Version: r.ver, File: r.file, Operation: r.op,
			WorkMode: r.mode, Status: r.status, Policies: r.pols, Advisories: r.advs, Initiator: r.init}
		if r.ver != "" {
			rec.Purl = "pkg:pypi/" + r.pkg + "@" + r.ver
		} else {
			rec.Purl = "pkg:pypi/" + r.pkg
		}
		if journal.IsBlocked(r.status) {
			rec.Reason = r.pkg + "@" + r.ver + " blocked"
		}
		b.add(rec)
	}
	return b
}
