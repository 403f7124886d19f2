package journal1m

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/osaproxy/caddy-osaproxy/console"
	"github.com/osaproxy/caddy-osaproxy/journal"
	"github.com/osaproxy/caddy-osaproxy/whatif"
)

// storeBackend serves the console from a journal store alone (the osa app's
// adapter also flushes its write queue first; nothing is queued here).
type storeBackend struct{ st journal.Store }

func (b storeBackend) Requests(ctx context.Context, f journal.Filter) (journal.Page, error) {
	return b.st.Query(ctx, f)
}

func (b storeBackend) Package(ctx context.Context, name string) (journal.PackageSummary, error) {
	return b.st.Package(ctx, name)
}

func (storeBackend) Intel() console.IntelInfo              { return console.IntelInfo{} }
func (storeBackend) Policies() console.PolicyInfo          { return console.PolicyInfo{} }
func (storeBackend) Advisory(string) *console.AdvisoryInfo { return nil }
func (storeBackend) WhatIf(context.Context, string, string, string) (*whatif.Result, error) {
	return nil, errors.New("what-if is not part of this benchmark")
}

// loop runs op b.N times and reports ms/op (the README's unit) and the
// benchmark process's CPU milliseconds per op (all of the work on SQLite;
// the client side only on PostgreSQL, whose server is another process).
func loop(b *testing.B, op func() error) {
	cpu0 := cpuTime()
	for b.Loop() {
		if err := op(); err != nil {
			b.Fatal(err)
		}
	}
	cpu := cpuTime() - cpu0
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/op")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRequests1M measures, on a 1,000,000-row journal in SQLite and in
// PostgreSQL, the console's Requests page (server-rendered HTML of the first
// 50 rows, newest first, unfiltered and filtered; the same with the total
// counted; its JSON API) and the journal query API (Store.Query with limit
// 100 and the total, filtered queries, the bare count). Every case checks
// its answer before it is timed.
func BenchmarkRequests1M(b *testing.B) {
	n := benchRows()
	html := []struct {
		name, query string
		// minRows is the fewest rows the answer must carry.
		minRows int
		// want is text the page must contain.
		want string
	}{
		{"page-newest", "", 50, "Requests"},
		{"page-newest-total", "?total=1", 50, "Requests"},
		{"page-blocked", "?status=blocked", 50, "Blocked"},
		{"page-blocked-total", "?status=blocked&total=1", 50, "Blocked"},
		{"page-package", "?package=pkg-3", 50, ">pkg-3</a>"},
		{"page-package-blocked", "?package=pkg-40&status=blocked", 50, ">pkg-40</a>"},
		{"page-repo-manager-timeout", "?repo_manager=nexus.corp&status=blocked_scan_timeout", 50, "nexus.corp"},
		{"page-initiator", "?initiator=user42", 50, "user42"},
		{"api-blocked", "api/requests?status=blocked", 50, `"rows_html"`},
	}
	queries := []struct {
		name string
		f    journal.Filter
	}{
		{"query-newest", journal.Filter{}},
		{"query-newest-nototal", journal.Filter{NoTotal: true}},
		{"query-blocked", journal.Filter{Status: journal.StatusBlocked}},
		{"query-package", journal.Filter{Package: "pkg-3"}},
		{"query-repository-operation", journal.Filter{Repository: "pypi-ml", Operation: "download", NoTotal: true}},
		{"query-last-day", journal.Filter{Since: genEnd.Add(-24 * time.Hour)}},
	}
	for _, driver := range []string{journal.DriverSQLite, journal.DriverPostgres} {
		b.Run(driver, func(b *testing.B) {
			db := openBenchDB(b, driver, n)
			b.Cleanup(func() { _ = db.store.Close() })
			h, err := console.New(storeBackend{db.store}, console.Options{Now: func() time.Time { return genEnd }})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			for _, c := range html {
				b.Run(c.name, func(b *testing.B) {
					get := func() *httptest.ResponseRecorder {
						w := httptest.NewRecorder()
						h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/"+c.query, nil))
						return w
					}
					minRows := c.minRows
					if n < 1_000_000 {
						minRows = 1 // small journals (OSA_BENCH_ROWS) hold fewer matches
					}
					w := get() // warm the caches: measure steady state
					body := w.Body.String()
					if rows := strings.Count(body, `<tr data-id=`) + strings.Count(body, `\u003ctr data-id=`); w.Code != http.StatusOK || rows < minRows || !strings.Contains(body, c.want) {
						b.Fatalf("GET /%s: %d with %d rows, want %q:\n%.2000s", c.query, w.Code, rows, c.want, body)
					}
					loop(b, func() error {
						if w := get(); w.Code != http.StatusOK {
							return fmt.Errorf("GET /%s: %d", c.query, w.Code)
						}
						return nil
					})
				})
			}
			for _, c := range queries {
				b.Run(c.name, func(b *testing.B) {
					f := c.f
					f.Limit = 100
					p, err := db.store.Query(ctx, f)
					if err != nil {
						b.Fatal(err)
					}
					if len(p.Requests) != 100 || (!f.NoTotal && p.Total < 100) {
						b.Fatalf("%+v: %d rows, total %d", f, len(p.Requests), p.Total)
					}
					loop(b, func() error {
						_, err := db.store.Query(ctx, f)
						return err
					})
					if !f.NoTotal {
						b.ReportMetric(float64(p.Total), "total")
					}
				})
			}
			b.Run("count-all", func(b *testing.B) {
				loop(b, func() error {
					got, err := countRows(ctx, db.store)
					if err == nil && got != int64(n) {
						err = fmt.Errorf("count %d, want %d", got, n)
					}
					return err
				})
			})
		})
	}
}
