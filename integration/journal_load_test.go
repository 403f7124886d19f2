package integration

import (
	"bytes"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/osaproxy/caddy-osaproxy/integration/fakepypi"
	"github.com/osaproxy/caddy-osaproxy/journal"
)

// loadKind is one kind of request of the load mix.
type loadKind struct {
	name string
	// url returns the proxy URL of request i.
	url func(i int) string
	// code is the status the proxy must answer.
	code int
	// status is the block status the journal must record.
	status string
	// check inspects the body (nil: no check).
	check func(body []byte) error
}

// loadMix builds the request mix over fake's projects: index pages (one
// with a version removed), allowed downloads, blocked downloads, a blocked
// index and 404s (an unknown project, a file the upstream does not have).
func loadMix(fake *fakepypi.Server) []loadKind {
	index := proxyURL("/internet-pypi/simple/")
	good := fake.File(wheelName("goodpkg", "2.0"))
	bad := fake.File(wheelName("libhmac", "1.1.0"))
	missing := strings.Replace(good.Path, good.Filename, wheelName("goodpkg", "9.9"), 1)
	return []loadKind{
		{name: "index", url: func(int) string { return index + "goodpkg/" }, code: 200, status: journal.StatusNotBlocked,
			check: func(b []byte) error {
				if !bytes.Contains(b, []byte(wheelName("goodpkg", "2.0"))) {
					return fmt.Errorf("goodpkg 2.0 missing from the index")
				}
				return nil
			}},
		{name: "index-filtered", url: func(int) string { return index + "libhmac/" }, code: 200, status: journal.StatusNotBlocked,
			check: func(b []byte) error {
				if bytes.Contains(b, []byte("libhmac-1.1.0")) || !bytes.Contains(b, []byte("libhmac-1.2.0")) {
					return fmt.Errorf("libhmac index not filtered: %.300s", b)
				}
				return nil
			}},
		{name: "download", url: func(int) string { return proxyURL("/internet-pypi" + good.Path) }, code: 200, status: journal.StatusNotBlocked,
			check: func(b []byte) error {
				if !bytes.Equal(b, good.Data) {
					return fmt.Errorf("download: %d bytes, want the %d of %s", len(b), len(good.Data), good.Filename)
				}
				return nil
			}},
		{name: "download-blocked", url: func(int) string { return proxyURL("/internet-pypi" + bad.Path) }, code: 403, status: journal.StatusBlockedByPolicies,
			check: func(b []byte) error {
				if !bytes.Contains(b, []byte("MAL-2026-4194")) {
					return fmt.Errorf("block body lacks the advisory: %.300s", b)
				}
				return nil
			}},
		{name: "index-blocked", url: func(int) string { return index + "inlifegram/" }, code: 403, status: journal.StatusBlockedByPolicies},
		{name: "index-404", url: func(i int) string { return index + "no-such-project-" + strconv.Itoa(i) + "/" }, code: 404, status: journal.StatusNotBlocked},
		{name: "download-404", url: func(int) string { return proxyURL("/internet-pypi" + missing) }, code: 404, status: journal.StatusNotBlocked},
	}
}

// loadConfig is strict mode over the real malicious-package records with a
// journal in dir; description only changes the policy's description (a
// compatible configuration change).
func loadConfig(osv, dir, description string, fake *fakepypi.Server) string {
	return e2eGlobal(fmt.Sprintf(`		intel osv %s
		policy "%s" {
			description "%s"
			stages proxy
			blocker
			condition dependency_is_dangerous
		}
		journal sqlite %s
`, filepath.Join(osv, "malicious"), dangerPolicy, description, filepath.Join(dir, "journal.db"))) +
		site("\t\twork_mode strict\n"+repo("internet-pypi", fake))
}

// loadN is the number of requests per phase (OSA_LOAD_N, default 2000).
func loadN() int {
	if n, err := strconv.Atoi(os.Getenv("OSA_LOAD_N")); err == nil && n >= 50 {
		return n
	}
	return 2000
}

func cpuNow() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loadResult is what a load phase observed.
type loadResult struct {
	// kinds[i] is the kind index of request i.
	kinds []int
	// overlap counts requests in flight while the reload ran.
	overlap int64
}

// TestJournalLoad sends N concurrent mixed requests (32 clients) through the
// proxy and proves the journal holds exactly one row per request: exactly N
// rows, request i's row (found by its unique User-Agent) carries the
// status and HTTP code of its kind, none is missing or duplicated. The
// "reload" phase does the same while the configuration is replaced through
// the admin API (POST /load, only the policy description changes) in the
// middle of the load: no request fails, no row is lost across the old and
// the new osa app, and the new description is in force afterwards.
func TestJournalLoad(t *testing.T) {
	osv := sharedOSV(t)
	fake := fakepypi.StartT(t, fakepypi.Options{})
	fake.AddProject("goodpkg", wheel("1.0"), wheel("2.0"))
	// MAL-2026-4194 lists libhmac 1.1.0; MAL-2026-6516 every inlifegram.
	fake.AddProject("libhmac", wheel("1.0.0"), wheel("1.1.0"), wheel("1.2.0"))
	fake.AddProject("inlifegram", wheel("3.0"))
	mix := loadMix(fake)
	n := loadN()

	for _, phase := range []struct {
		name   string
		reload bool
	}{{"steady", false}, {"reload", true}} {
		t.Run(phase.name, func(t *testing.T) {
			dir := t.TempDir()
			p := loadProxy(t, loadConfig(osv, dir, "first description", fake), true)
			if got := journalTotal(t, nil); got != 0 {
				t.Fatalf("fresh journal holds %d rows", got)
			}
			cpu0, wall0 := cpuNow(), time.Now()
			var res loadResult
			if phase.reload {
				res = runLoad(t, mix, n, func() {
					p.reload(t, loadConfig(osv, dir, "second description", fake))
				})
			} else {
				res = runLoad(t, mix, n, nil)
			}
			t.Logf("%d requests in %v (%v CPU for proxy, fake upstream and clients)", n,
				time.Since(wall0).Round(time.Millisecond), (cpuNow() - cpu0).Round(time.Millisecond))
			if phase.reload {
				t.Logf("%d requests were in flight during the reload", res.overlap)
				if res.overlap == 0 {
					t.Error("no request was in flight during the reload")
				}
				code, _, body := httpDo(t, "GET", adminURL("/osa/policies"), nil)
				if code != 200 || !strings.Contains(body, "second description") || strings.Contains(body, "first description") {
					t.Errorf("the reloaded configuration is not in force: /osa/policies %d\n%.2000s", code, body)
				}
			}
			if t.Failed() {
				t.FailNow()
			}
			checkLoadJournal(t, mix, res.kinds)
		})
	}
}

// runLoad sends n requests of the mix from 32 clients. With reload, the
// test goroutine calls it once a quarter of the requests have started;
// requests from the half on wait until it returned, so the reload happens
// in the middle of the load.
func runLoad(t *testing.T, mix []loadKind, n int, reload func()) loadResult {
	t.Helper()
	const clients = 32
	deadline := time.Now().Add(45 * time.Second)
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
	defer tr.CloseIdleConnections()
	client := &http.Client{Timeout: 30 * time.Second, Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res := loadResult{kinds: make([]int, n)}
	rng := rand.New(rand.NewSource(int64(n)))
	for i := range res.kinds {
		res.kinds[i] = rng.Intn(len(mix))
	}
	// starts and ends of each request (Unix nanoseconds), for the overlap with the reload.
	starts, ends := make([]int64, n), make([]int64, n)
	var reloadStart, reloadEnd int64
	var (
		next, started, done atomic.Int64
		mu                  sync.Mutex
		failures            []string
		failed              atomic.Int64
		wg                  sync.WaitGroup
	)
	gate := make(chan struct{})
	if reload == nil {
		close(gate)
	}
	fail := func(format string, args ...any) {
		failed.Add(1)
		mu.Lock()
		if len(failures) < 10 {
			failures = append(failures, fmt.Sprintf(format, args...))
		}
		mu.Unlock()
	}
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if i >= n/2 {
					<-gate
				}
				if time.Now().After(deadline) {
					fail("request %d: load not done within the time bound", i)
					continue
				}
				k := mix[res.kinds[i]]
				u := k.url(i)
				req, _ := http.NewRequest("GET", u, nil)
				req.Header.Set("Accept", pipAccept)
				req.Header.Set("User-Agent", "osa-load/"+strconv.Itoa(i))
				started.Add(1)
				starts[i] = time.Now().UnixNano()
				resp, err := client.Do(req)
				if err != nil {
					ends[i] = time.Now().UnixNano()
					done.Add(1)
					fail("%s %s: %v", k.name, u, err)
					continue
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				ends[i] = time.Now().UnixNano()
				done.Add(1)
				switch {
				case err != nil:
					fail("%s %s: body: %v", k.name, u, err)
				case resp.StatusCode != k.code:
					fail("%s %s: %d, want %d: %.300s", k.name, u, resp.StatusCode, k.code, b)
				case k.check != nil:
					if err := k.check(b); err != nil {
						fail("%s %s: %v", k.name, u, err)
					}
				}
			}
		}()
	}
	if reload != nil {
		for started.Load() < int64(n/4) && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		before := done.Load()
		reloadStart = time.Now().UnixNano()
		reload()
		reloadEnd = time.Now().UnixNano()
		t.Logf("reload took %v; %d requests had completed before it, %d completed during it",
			time.Duration(reloadEnd-reloadStart).Round(time.Millisecond), before, done.Load()-before)
		close(gate)
	}
	wg.Wait()
	if reload != nil {
		for i := range n {
			if starts[i] != 0 && starts[i] < reloadEnd && ends[i] > reloadStart {
				res.overlap++
			}
		}
	}
	if failed.Load() > 0 {
		t.Errorf("%d of %d requests failed:\n%s", failed.Load(), n, strings.Join(failures, "\n"))
	}
	return res
}

// journalTotal is the total of GET /osa/requests for a filter.
func journalTotal(t *testing.T, params url.Values) int64 {
	t.Helper()
	if params == nil {
		params = url.Values{}
	}
	params.Set("limit", "1")
	return requests(t, params).Total
}

// checkLoadJournal reads the whole journal back through the admin API and
// matches it row by row against the requests sent.
func checkLoadJournal(t *testing.T, mix []loadKind, kinds []int) {
	t.Helper()
	n := len(kinds)
	if got := journalTotal(t, nil); got != int64(n) {
		t.Errorf("journal total %d, want exactly %d", got, n)
	}
	wantBlocked := 0
	for _, k := range kinds {
		if journal.IsBlocked(mix[k].status) {
			wantBlocked++
		}
	}
	if got := journalTotal(t, q("status", "blocked")); got != int64(wantBlocked) {
		t.Errorf("blocked rows %d, want %d", got, wantBlocked)
	}
	seen := make([]int, n)
	var rows int
	params := q("limit", strconv.Itoa(journal.MaxLimit))
	for pages := 0; ; pages++ {
		if pages > n/journal.MaxLimit+2 {
			t.Fatalf("the journal pages past %d rows", rows)
		}
		page := requests(t, params)
		for _, r := range page.Requests {
			rows++
			i, err := strconv.Atoi(strings.TrimPrefix(r.UserAgent, "osa-load/"))
			if err != nil || !strings.HasPrefix(r.UserAgent, "osa-load/") || i < 0 || i >= n {
				t.Errorf("row %d has a foreign user agent %q", r.ID, r.UserAgent)
				continue
			}
			seen[i]++
			k := mix[kinds[i]]
			if r.Status != k.status || r.HTTPStatus != k.code || r.Repository != "internet-pypi" || r.WorkMode != "strict" {
				t.Errorf("request %d (%s): row status %s http %d repo %s mode %s, want %s http %d",
					i, k.name, r.Status, r.HTTPStatus, r.Repository, r.WorkMode, k.status, k.code)
			}
		}
		if page.NextCursor == "" {
			break
		}
		params.Set("cursor", page.NextCursor)
	}
	var missing, dup []int
	for i, c := range seen {
		switch {
		case c == 0:
			missing = append(missing, i)
		case c > 1:
			dup = append(dup, i)
		}
	}
	if rows != n || len(missing) > 0 || len(dup) > 0 {
		t.Errorf("journal: %d rows for %d requests; missing %d (first %v), duplicated %d (first %v)",
			rows, n, len(missing), missing[:min(len(missing), 10)], len(dup), dup[:min(len(dup), 10)])
	}
}
