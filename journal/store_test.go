package journal

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

var allStatuses = []string{StatusNotBlocked, StatusBlockedByPolicies, StatusBlockedUnscanned,
	StatusBlockedTimeout, StatusBlockedOnError, StatusWouldBlock, StatusDelayedBlock}

// fixture returns n varied records; pairs of consecutive records share a
// timestamp so ordering must break ties on id. RequestID is "req-<i>".
func fixture(n int) []Record {
	packages := []string{"requests", "flask", "django", "numpy"}
	repos := []string{"pypi-remote", "pypi-internal", "pypi-mirror"}
	hosts := []string{"artifactory.corp", "py-proxy", ""} // py-proxy is also a repo name
	names := []string{"pypi-remote", "py-proxy"}
	ops := []string{"index", "download", "metadata"}
	modes := []string{"strict", "spectator", "warmup"}
	users := []string{"alice", "bob", "ci", "dave", ""}
	recs := make([]Record, n)
	for i := range n {
		recs[i] = Record{
			Time:            t0.Add(time.Duration(i/2) * time.Minute),
			Repository:      repos[i%3],
			RepoManagerHost: hosts[i%3],
			RepoName:        names[i%2],
			Ecosystem:       "pypi",
			Package:         packages[i%4],
			Version:         fmt.Sprintf("1.%d.0", i%5),
			File:            fmt.Sprintf("pkg-1.%d.0-py3-none-any.whl", i%5),
			Purl:            fmt.Sprintf("pkg:pypi/%s@1.%d.0", packages[i%4], i%5),
			Operation:       ops[i%3],
			WorkMode:        modes[i%3],
			Status:          allStatuses[i%7],
			Initiator:       users[i%5],
			RequestID:       fmt.Sprintf("req-%d", i),
			HTTPStatus:      200,
		}
		if IsBlocked(recs[i].Status) {
			recs[i].Policies = []string{"no-critical", fmt.Sprintf("p%d", i%3)}
			recs[i].Advisories = []string{"PYSEC-2024-1", "GHSA-xxxx-yyyy-zzzz"}
			recs[i].HTTPStatus = 403
		}
	}
	return recs
}

// matches is the reference model of Filter.
func matches(r Record, f Filter) bool {
	eq := func(want, got string) bool { return want == "" || want == got }
	if !eq(f.Package, r.Package) || !eq(f.Repository, r.Repository) || !eq(f.Mode, r.WorkMode) ||
		!eq(f.Operation, r.Operation) || !eq(f.Initiator, r.Initiator) {
		return false
	}
	if f.RepoManager != "" && f.RepoManager != r.RepoManagerHost && f.RepoManager != r.RepoName {
		return false
	}
	switch {
	case f.Status == "":
	case f.Status == StatusBlocked:
		if !IsBlocked(r.Status) {
			return false
		}
	case f.Status != r.Status:
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

// expectedIDs lists the RequestIDs matching f, newest first (fixture order
// is insertion order, so a later index has a larger id).
func expectedIDs(recs []Record, f Filter) []string {
	var out []string
	for i := len(recs) - 1; i >= 0; i-- {
		if matches(recs[i], f) {
			out = append(out, recs[i].RequestID)
		}
	}
	// stable by time descending; ties keep the larger index (larger id) first
	slices.SortStableFunc(out, func(a, b string) int {
		ra, rb := recs[reqIndex(a)], recs[reqIndex(b)]
		return rb.Time.Compare(ra.Time)
	})
	return out
}

func reqIndex(id string) int {
	var i int
	fmt.Sscanf(id, "req-%d", &i)
	return i
}

func requestIDs(recs []Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.RequestID
	}
	return out
}

func insertFixture(t testing.TB, s Store, recs []Record, batch int) {
	t.Helper()
	for i := 0; i < len(recs); i += batch {
		if err := s.Insert(context.Background(), recs[i:min(i+batch, len(recs))]); err != nil {
			t.Fatalf("Insert: %v", err)
		}
	}
}

func TestQueryFilters(t *testing.T) {
	eachBackend(t, func(t *testing.T, b testBackend) {
		s := newTestStore(t, b)
		recs := fixture(210)
		insertFixture(t, s, recs, 64)
		cases := []struct {
			name string
			f    Filter
		}{
			{"all", Filter{}},
			{"package", Filter{Package: "flask"}},
			{"repository", Filter{Repository: "pypi-internal"}},
			{"repo manager host", Filter{RepoManager: "artifactory.corp"}},
			{"repo manager host and name overlap", Filter{RepoManager: "py-proxy"}},
			{"repo manager and status", Filter{RepoManager: "py-proxy", Status: StatusBlocked}},
			{"repo manager host or name", Filter{RepoManager: "pypi-remote"}},
			{"status exact", Filter{Status: StatusBlockedUnscanned}},
			{"status would_block", Filter{Status: StatusWouldBlock}},
			{"status blocked meta", Filter{Status: StatusBlocked}},
			{"mode", Filter{Mode: "spectator"}},
			{"operation", Filter{Operation: "download"}},
			{"initiator", Filter{Initiator: "ci"}},
			{"since", Filter{Since: t0.Add(80 * time.Minute)}},
			{"until", Filter{Until: t0.Add(10 * time.Minute)}},
			{"since and until", Filter{Since: t0.Add(20 * time.Minute), Until: t0.Add(30 * time.Minute)}},
			{"package and blocked", Filter{Package: "django", Status: StatusBlocked}},
			{"operation, mode and since", Filter{Operation: "index", Mode: "strict", Since: t0.Add(50 * time.Minute)}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				want := expectedIDs(recs, c.f)
				if len(want) == 0 || (c.name != "all" && len(want) == len(recs)) {
					t.Fatalf("fixture does not exercise the filter: %d of %d match", len(want), len(recs))
				}
				f := c.f
				f.Limit = MaxLimit
				p, err := s.Query(context.Background(), f)
				if err != nil {
					t.Fatal(err)
				}
				if got := requestIDs(p.Requests); !slices.Equal(got, want) {
					t.Fatalf("got %d records %v\nwant %d %v", len(got), got, len(want), want)
				}
				if p.Total != int64(len(want)) {
					t.Errorf("Total = %d, want %d", p.Total, len(want))
				}
				if p.NextCursor != "" {
					t.Errorf("NextCursor = %q on the last page", p.NextCursor)
				}
				for _, r := range p.Requests {
					if !matches(r, c.f) {
						t.Errorf("record %s (%+v) does not match the filter", r.RequestID, r)
					}
				}
			})
		}
		t.Run("no match", func(t *testing.T) {
			p, err := s.Query(context.Background(), Filter{Package: "does-not-exist"})
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Requests) != 0 || p.Total != 0 || p.Requests == nil {
				t.Fatalf("got %+v, want an empty non-nil page with Total 0", p)
			}
		})
		t.Run("NoTotal", func(t *testing.T) {
			p, err := s.Query(context.Background(), Filter{Package: "flask", NoTotal: true, Limit: 5})
			if err != nil {
				t.Fatal(err)
			}
			if p.Total != -1 || len(p.Requests) != 5 {
				t.Fatalf("Total = %d, len = %d, want -1 and 5", p.Total, len(p.Requests))
			}
		})
		t.Run("limits", func(t *testing.T) {
			p, err := s.Query(context.Background(), Filter{})
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Requests) != DefaultLimit {
				t.Errorf("default limit: got %d", len(p.Requests))
			}
			p, err = s.Query(context.Background(), Filter{Limit: 5000, NoTotal: true})
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Requests) != len(recs) { // fewer than MaxLimit exist
				t.Errorf("large limit: got %d", len(p.Requests))
			}
		})
	})
}

func TestRecordRoundTrip(t *testing.T) {
	eachBackend(t, func(t *testing.T, b testBackend) {
		s := newTestStore(t, b)
		in := Record{
			Time:       time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.FixedZone("X", 3600)),
			Repository: "pypi-remote", RepoManagerHost: "art.corp", RepoName: "pypi", Ecosystem: "pypi",
			Package: "requests", Version: "2.31.0", File: "requests-2.31.0.tar.gz", Purl: "pkg:pypi/requests@2.31.0",
			Operation: "download", WorkMode: "strict", Status: StatusBlockedByPolicies,
			Policies: []string{"crit, high", "malware"}, Advisories: []string{"PYSEC-2023-74"},
			Waiver: "w1", Reason: "CVSS 9.8 >= 9", Initiator: "alice", ClientIP: "10.0.0.1",
			UserAgent: "pip/24.0", RequestID: "abc", Snapshot: "snap-7", Method: "GET",
			Path: "/packages/requests-2.31.0.tar.gz", HTTPStatus: 403, Removed: 3,
		}
		hostile := Record{Time: in.Time.Add(time.Second), Package: "evil", Status: StatusNotBlocked,
			UserAgent: "bad\x00nul\xff\xfe", Path: strings.Repeat("é", 5000)}
		if err := s.Insert(context.Background(), []Record{in, hostile}); err != nil {
			t.Fatal(err)
		}
		p, err := s.Query(context.Background(), Filter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Requests) != 2 {
			t.Fatalf("got %d records", len(p.Requests))
		}
		got := p.Requests[1]
		if got.ID == 0 || got.ID >= p.Requests[0].ID {
			t.Errorf("ids %d, %d: want positive and increasing", got.ID, p.Requests[0].ID)
		}
		if !got.Time.Equal(in.Time) || got.Time.Location() != time.UTC {
			t.Errorf("time %v, want %v in UTC", got.Time, in.Time)
		}
		want := in
		want.ID, want.Time = got.ID, got.Time
		if !reflect.DeepEqual(got, want) {
			t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
		}
		h := p.Requests[0]
		if h.UserAgent != "badnul\uFFFD" || len(h.Path) != maxFieldLen || !utf8.ValidString(h.Path) {
			t.Errorf("hostile record stored as UA %q, path len %d", h.UserAgent, len(h.Path))
		}
	})
}

func TestCursorPagination(t *testing.T) {
	eachBackend(t, func(t *testing.T, b testBackend) {
		s := newTestStore(t, b)
		recs := fixture(157)
		insertFixture(t, s, recs, 1000)
		for _, c := range []struct {
			name  string
			f     Filter
			limit int
		}{
			{"unfiltered", Filter{}, 10},
			{"odd page size over ties", Filter{}, 7},
			{"filtered", Filter{Status: StatusBlocked}, 4},
			{"filtered with time range", Filter{Operation: "download", Since: t0.Add(10 * time.Minute), Until: t0.Add(70 * time.Minute)}, 3},
		} {
			t.Run(c.name, func(t *testing.T) {
				want := expectedIDs(recs, c.f)
				if len(want) <= 2*c.limit {
					t.Fatalf("need more than two pages, have %d rows", len(want))
				}
				var got []string
				f := c.f
				f.Limit = c.limit
				pages := 0
				for {
					p, err := s.Query(context.Background(), f)
					if err != nil {
						t.Fatal(err)
					}
					pages++
					if p.Total != int64(len(want)) {
						t.Fatalf("page %d: Total = %d, want %d", pages, p.Total, len(want))
					}
					if len(p.Requests) > c.limit {
						t.Fatalf("page %d has %d records, limit %d", pages, len(p.Requests), c.limit)
					}
					got = append(got, requestIDs(p.Requests)...)
					if p.NextCursor == "" {
						break
					}
					f.Cursor = p.NextCursor
					if pages > len(want) {
						t.Fatal("pagination does not terminate")
					}
				}
				if !slices.Equal(got, want) {
					t.Fatalf("paged %v\nwant  %v", got, want)
				}
				if wantPages := (len(want) + c.limit - 1) / c.limit; pages != wantPages {
					t.Errorf("%d pages, want %d", pages, wantPages)
				}
			})
		}
		t.Run("invalid cursor", func(t *testing.T) {
			for _, cur := range []string{"not base64!", "djIuMS4y", pageCursor{1, 2}.String()[:4]} {
				if _, err := s.Query(context.Background(), Filter{Cursor: cur}); !errors.Is(err, ErrInvalidCursor) {
					t.Errorf("cursor %q: err = %v, want ErrInvalidCursor", cur, err)
				}
			}
		})
	})
}

func TestPackageSummary(t *testing.T) {
	eachBackend(t, func(t *testing.T, b testBackend) {
		s := newTestStore(t, b)
		at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
		recs := []Record{
			{Time: at(0), Package: "flask", Version: "1.0", Status: StatusNotBlocked, RequestID: "a"},                  // first of 1.0: verdict
			{Time: at(1), Package: "flask", Version: "1.0", Status: StatusNotBlocked, RequestID: "b"},                  // same
			{Time: at(2), Package: "flask", Version: "2.0", Status: StatusBlockedUnscanned, RequestID: "c"},            // first of 2.0: verdict
			{Time: at(3), Package: "flask", Version: "1.0", Status: StatusBlockedByPolicies, RequestID: "d"},           // changed: verdict
			{Time: at(4), Package: "flask", Version: "2.0", Status: StatusNotBlocked, RequestID: "e"},                  // changed: verdict
			{Time: at(5), Package: "flask", Version: "1.0", Status: StatusBlockedByPolicies, RequestID: "f"},           // same
			{Time: at(6), Package: "other", Version: "1.0", Status: StatusNotBlocked, RequestID: "x"},                  // other package
			{Time: at(7), Package: "flask", Version: "1.0", Status: StatusNotBlocked, RequestID: "g"},                  // changed back: verdict
			{Time: at(7), Package: "flask", Version: "2.0", Status: StatusNotBlocked, RequestID: "h"},                  // same
			{Time: at(9), Package: "flask", Version: "", Operation: "index", Status: StatusNotBlocked, RequestID: "i"}, // index: first of "": verdict
		}
		insertFixture(t, s, recs, 3)
		sum, err := s.Package(context.Background(), "flask")
		if err != nil {
			t.Fatal(err)
		}
		if sum.Package != "flask" || !sum.FirstRequested.Equal(at(0)) || !sum.LastRequested.Equal(at(9)) {
			t.Errorf("summary %s first %v last %v", sum.Package, sum.FirstRequested, sum.LastRequested)
		}
		wantCounts := map[string]int64{StatusNotBlocked: 6, StatusBlockedUnscanned: 1, StatusBlockedByPolicies: 2}
		if !reflect.DeepEqual(sum.Counts, wantCounts) {
			t.Errorf("counts %v, want %v", sum.Counts, wantCounts)
		}
		if got, want := requestIDs(sum.Verdicts), []string{"i", "g", "e", "d", "c", "a"}; !slices.Equal(got, want) {
			t.Errorf("verdicts %v, want %v", got, want)
		}
		// More changes than MaxVerdicts: only the newest MaxVerdicts, newest first.
		var flips []Record
		for i := range 2*MaxVerdicts + 50 {
			st := StatusNotBlocked
			if i%2 == 1 {
				st = StatusBlockedByPolicies
			}
			flips = append(flips, Record{Time: at(100 + i), Package: "flip", Version: "9", Status: st, RequestID: fmt.Sprint(i)})
			if i%3 == 0 { // a repeat of the same status is no verdict
				flips = append(flips, Record{Time: at(100 + i), Package: "flip", Version: "9", Status: st, RequestID: fmt.Sprintf("%d-again", i)})
			}
		}
		insertFixture(t, s, flips, 500)
		fl, err := s.Package(context.Background(), "flip")
		if err != nil {
			t.Fatal(err)
		}
		if len(fl.Verdicts) != MaxVerdicts {
			t.Fatalf("%d verdicts, want %d", len(fl.Verdicts), MaxVerdicts)
		}
		for i, v := range fl.Verdicts {
			if want := fmt.Sprint(2*MaxVerdicts + 49 - i); v.RequestID != want {
				t.Fatalf("verdict %d is %s, want %s", i, v.RequestID, want)
			}
		}
		if fl.Counts[StatusNotBlocked]+fl.Counts[StatusBlockedByPolicies] != int64(len(flips)) {
			t.Errorf("counts %v for %d records", fl.Counts, len(flips))
		}
		empty, err := s.Package(context.Background(), "never-seen")
		if err != nil {
			t.Fatal(err)
		}
		if !empty.FirstRequested.IsZero() || len(empty.Counts) != 0 || empty.Counts == nil || len(empty.Verdicts) != 0 {
			t.Errorf("unknown package: %+v", empty)
		}
	})
}

func TestFirstTriggerConcurrent(t *testing.T) {
	eachBackend(t, func(t *testing.T, b testBackend) {
		dsn := b.newDSN(t)
		// Two store instances on one database, as two proxies would share it.
		stores := []Store{openTest(t, b, dsn), openTest(t, b, dsn)}
		const n = 50
		results := make([]time.Time, n)
		nows := make([]time.Time, n)
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			nows[i] = t0.Add(time.Duration(i) * time.Second)
			wg.Add(1)
			go func() {
				defer wg.Done()
				got, err := stores[i%2].FirstTrigger(context.Background(), "policy:no-critical|requests@2.0", nows[i])
				if err != nil {
					errs <- err
					return
				}
				results[i] = got
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		first := results[0]
		if !slices.ContainsFunc(nows, first.Equal) {
			t.Fatalf("first trigger %v is none of the callers' times", first)
		}
		for i, r := range results {
			if !r.Equal(first) {
				t.Fatalf("caller %d got %v, caller 0 got %v", i, r, first)
			}
		}
		// Later calls keep the recorded time; another key is independent.
		again, err := stores[0].FirstTrigger(context.Background(), "policy:no-critical|requests@2.0", t0.Add(-time.Hour))
		if err != nil || !again.Equal(first) {
			t.Fatalf("later call = %v, %v; want %v", again, err, first)
		}
		other, err := stores[1].FirstTrigger(context.Background(), "other", t0.Add(time.Hour))
		if err != nil || !other.Equal(t0.Add(time.Hour)) {
			t.Fatalf("other key = %v, %v", other, err)
		}
		if _, err := stores[0].FirstTrigger(context.Background(), "", t0); err == nil {
			t.Error("empty key accepted")
		}
	})
}

func schemaVersions(t testing.TB, s Store) []int {
	t.Helper()
	st := s.(*sqlStore)
	rows, err := st.r.Query("SELECT version FROM schema_migrations ORDER BY version")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var vs []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	return vs
}

func TestMigrationsIdempotent(t *testing.T) {
	eachBackend(t, func(t *testing.T, b testBackend) {
		dsn := b.newDSN(t)
		var wantVersions []int
		for _, m := range migrationsFor(sqliteDialect) {
			wantVersions = append(wantVersions, m.version)
		}
		s1, err := Open(context.Background(), b.name, dsn)
		if err != nil {
			t.Fatal(err)
		}
		insertFixture(t, s1, fixture(10), 10)
		if err := s1.Close(); err != nil {
			t.Fatal(err)
		}
		// Reopen: nothing re-applied, data kept.
		s2 := openTest(t, b, dsn)
		if got := schemaVersions(t, s2); !slices.Equal(got, wantVersions) {
			t.Errorf("versions after reopen %v, want %v", got, wantVersions)
		}
		if n := countAll(t, s2); n != 10 {
			t.Errorf("rows after reopen: %d", n)
		}
		// Several instances opening at once (PostgreSQL: advisory lock; SQLite: BEGIN IMMEDIATE).
		fresh := b.newDSN(t)
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s, err := Open(context.Background(), b.name, fresh)
				if err == nil {
					err = s.Close()
				}
				errs[i] = err
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatalf("concurrent open: %v", err)
		}
		if got := schemaVersions(t, openTest(t, b, fresh)); !slices.Equal(got, wantVersions) {
			t.Errorf("versions after concurrent open %v, want %v", got, wantVersions)
		}
	})
}

func TestPurge(t *testing.T) {
	eachBackend(t, func(t *testing.T, b testBackend) {
		s := newTestStore(t, b)
		const old, recent = purgeBatch + 1234, 300 // more than one purge batch
		recs := make([]Record, 0, old+recent)
		for i := range old + recent {
			ts := t0.Add(time.Duration(i) * time.Millisecond)
			if i >= old {
				ts = t0.Add(time.Hour + time.Duration(i)*time.Millisecond)
			}
			recs = append(recs, Record{Time: ts, Package: "p", Status: StatusNotBlocked, RequestID: fmt.Sprint(i)})
		}
		insertFixture(t, s, recs, 2000)
		n, err := s.Purge(context.Background(), t0.Add(30*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if n != old {
			t.Errorf("purged %d, want %d", n, old)
		}
		p, err := s.Query(context.Background(), Filter{Limit: MaxLimit})
		if err != nil {
			t.Fatal(err)
		}
		if p.Total != recent {
			t.Errorf("%d left, want %d", p.Total, recent)
		}
		for _, r := range p.Requests {
			if r.Time.Before(t0.Add(30 * time.Minute)) {
				t.Errorf("old record %s survived", r.RequestID)
			}
		}
		if n, err := s.Purge(context.Background(), t0.Add(30*time.Minute)); err != nil || n != 0 {
			t.Errorf("second purge = %d, %v", n, err)
		}
	})
}

func TestStartRetention(t *testing.T) {
	eachBackend(t, func(t *testing.T, b testBackend) {
		s := newTestStore(t, b)
		now := time.Now()
		insertFixture(t, s, []Record{
			{Time: now.Add(-48 * time.Hour), Package: "old"},
			{Time: now.Add(-time.Minute), Package: "new"},
		}, 10)
		stop := StartRetention(context.Background(), s, 24*time.Hour, time.Hour, nil)
		deadline := time.Now().Add(10 * time.Second)
		for countAll(t, s) != 1 {
			if time.Now().After(deadline) {
				t.Fatal("retention did not purge the old record")
			}
			time.Sleep(10 * time.Millisecond)
		}
		stop()
		stop() // idempotent
		p, err := s.Query(context.Background(), Filter{})
		if err != nil || len(p.Requests) != 1 || p.Requests[0].Package != "new" {
			t.Fatalf("after retention: %+v, %v", p.Requests, err)
		}
	})
}

func TestPing(t *testing.T) {
	eachBackend(t, func(t *testing.T, b testBackend) {
		s := newTestStore(t, b)
		if err := s.Ping(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
}

func TestOpenSQLiteCreatesDirs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "journal.db")
	s, err := Open(context.Background(), "sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
	var mode string
	if err := s.(*sqlStore).w.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
}

func TestOpenErrors(t *testing.T) {
	for _, c := range []struct{ driver, dsn string }{
		{"mysql", "x"},
		{"sqlite", ""},
		{"sqlite", "/tmp/x?mode=ro"},
		{"postgres", "::not a dsn::"},
	} {
		if s, err := Open(context.Background(), c.driver, c.dsn); err == nil {
			s.Close()
			t.Errorf("Open(%q, %q) succeeded", c.driver, c.dsn)
		}
	}
}

func TestMemorySQLite(t *testing.T) {
	s, err := Open(context.Background(), "sqlite", ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	insertFixture(t, s, fixture(20), 20)
	if n := countAll(t, s); n != 20 {
		t.Fatalf("count %d", n)
	}
}
