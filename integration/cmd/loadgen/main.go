// Command loadgen drives mixed pip-like traffic against an osa_proxy
// repository on this machine, for scripts/soak.
//
// Usage:
//
//	loadgen -url http://127.0.0.1:9080/r [-clients 500] [-duration 60s]
//	        [-max-requests 2000000] [-projects 200] [-prefix proj-]
//
// Each client loops until the duration or the request budget is spent:
// it fetches a random project's index page (PEP 691 JSON as pip asks for
// it, HTML one time in four), then downloads one listed file (or its
// .metadata, or a HEAD), and checks the file's SHA-256 against the index.
// Only loopback URLs are accepted.
//
// It prints one JSON summary line and exits 1 when any request failed:
//
//	{"requests":N,"errors":E,"blocked":B,"statuses":{"200":...},"p50_ms":..,"p99_ms":..,"first_errors":[...]}
//
// A request is an error when it fails at the transport, answers 5xx or an
// unexpected status, or serves a file whose hash differs from the index.
// A 403 with an X-OSA-Status header (a version that became blocked after the
// index was fetched, when the intelligence changes) counts as blocked.
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const pipAccept = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01"

// Summary is what a run reports.
type Summary struct {
	Requests    int64            `json:"requests"`
	Errors      int64            `json:"errors"`
	Blocked     int64            `json:"blocked"`
	Statuses    map[string]int64 `json:"statuses"`
	P50Ms       float64          `json:"p50_ms"`
	P99Ms       float64          `json:"p99_ms"`
	MaxMs       float64          `json:"max_ms"`
	Seconds     float64          `json:"seconds"`
	FirstErrors []string         `json:"first_errors,omitempty"`
}

type gen struct {
	base     string
	client   *http.Client
	projects int
	prefix   string
	budget   atomic.Int64
	deadline time.Time

	requests, errs, blocked atomic.Int64
	mu                      sync.Mutex
	statuses                map[int]int64
	lat                     []time.Duration
	firstErr                []string
}

func main() {
	base := flag.String("url", "", "proxy repository base URL, e.g. http://127.0.0.1:9080/r")
	clients := flag.Int("clients", 500, "concurrent clients")
	duration := flag.Duration("duration", 60*time.Second, "how long to run")
	maxReq := flag.Int64("max-requests", 2000000, "stop after this many requests")
	projects := flag.Int("projects", 200, "projects proj-0000 .. proj-<n-1>")
	prefix := flag.String("prefix", "proj-", "project name prefix")
	flag.Parse()
	if err := checkLoopback(*base); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(2)
	}
	if *clients < 1 || *clients > 5000 || *duration <= 0 || *duration > time.Hour || *maxReq < 1 || *projects < 1 {
		fmt.Fprintln(os.Stderr, "loadgen: -clients 1..5000, -duration up to 1h, -max-requests and -projects positive")
		os.Exit(2)
	}
	s := run(strings.TrimRight(*base, "/"), *clients, *duration, *maxReq, *projects, *prefix)
	b, _ := json.Marshal(s)
	fmt.Println(string(b))
	if s.Errors > 0 || s.Requests == 0 {
		os.Exit(1)
	}
}

// checkLoopback refuses anything but http(s) on 127.0.0.1, ::1 or localhost.
func checkLoopback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("-url %q: want http://127.0.0.1:<port>/<repo>", raw)
	}
	switch u.Hostname() {
	case "127.0.0.1", "::1", "localhost":
		return nil
	}
	return fmt.Errorf("-url %q: only loopback hosts are allowed", raw)
}

func run(base string, clients int, d time.Duration, maxReq int64, projects int, prefix string) Summary {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        clients * 2,
		MaxIdleConnsPerHost: clients * 2,
		IdleConnTimeout:     30 * time.Second,
		DisableCompression:  true,
	}
	g := &gen{
		base:     base,
		client:   &http.Client{Transport: tr, Timeout: 60 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		projects: projects,
		prefix:   prefix,
		deadline: time.Now().Add(d),
		statuses: map[int]int64{},
	}
	g.budget.Store(maxReq)
	start := time.Now()
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, seed*7919+1))
			for time.Now().Before(g.deadline) && g.budget.Load() > 0 {
				g.session(rng)
			}
		}(uint64(c) + 1)
	}
	wg.Wait()
	tr.CloseIdleConnections()
	return g.summary(time.Since(start))
}

func (g *gen) fail(format string, args ...any) {
	g.errs.Add(1)
	g.mu.Lock()
	if len(g.firstErr) < 20 {
		g.firstErr = append(g.firstErr, fmt.Sprintf(format, args...))
	}
	g.mu.Unlock()
}

// do sends one request and returns status, headers and body.
func (g *gen) do(method, u, accept string) (int, http.Header, []byte, error) {
	if g.budget.Add(-1) < 0 {
		return 0, nil, nil, errBudget
	}
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("User-Agent", "osa-loadgen/1 pip/23.2")
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	t0 := time.Now()
	resp, err := g.client.Do(req)
	if err != nil {
		g.requests.Add(1)
		return 0, nil, nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	el := time.Since(t0)
	g.requests.Add(1)
	g.mu.Lock()
	g.statuses[resp.StatusCode]++
	g.lat = append(g.lat, el)
	g.mu.Unlock()
	return resp.StatusCode, resp.Header, body, err
}

var errBudget = errors.New("request budget spent")

type indexFile struct {
	Filename string            `json:"filename"`
	URL      string            `json:"url"`
	Hashes   map[string]string `json:"hashes"`
}

func (g *gen) session(rng *rand.Rand) {
	name := fmt.Sprintf("%s%04d", g.prefix, rng.IntN(g.projects))
	accept := pipAccept
	html := rng.IntN(4) == 0
	if html {
		accept = "text/html"
	}
	code, hdr, body, err := g.do("GET", g.base+"/simple/"+name+"/", accept)
	switch {
	case errors.Is(err, errBudget):
		return
	case err != nil:
		g.fail("index %s: %v", name, err)
		return
	case code == http.StatusForbidden && hdr.Get("X-OSA-Status") != "":
		g.blocked.Add(1) // every version blocked
		return
	case code != http.StatusOK:
		g.fail("index %s: status %d: %.200s", name, code, body)
		return
	}
	files, err := parseIndex(body, html)
	if err != nil {
		g.fail("index %s: %v", name, err)
		return
	}
	if len(files) == 0 {
		g.fail("index %s: no files listed", name)
		return
	}
	f := files[rng.IntN(len(files))]
	link, err := url.Parse(g.base)
	if err != nil {
		g.fail("%v", err)
		return
	}
	ref, err := url.Parse(f.URL)
	if err != nil || ref.Host != "" {
		g.fail("index %s: file link %q is not a path inside the proxy", name, f.URL)
		return
	}
	target := link.ResolveReference(ref)
	target.Fragment = ""
	method, suffix := "GET", ""
	switch r := rng.IntN(10); {
	case r == 0:
		method = "HEAD"
	case r == 1:
		suffix = ".metadata"
	}
	code, hdr, data, err := g.do(method, target.String()+suffix, "")
	switch {
	case errors.Is(err, errBudget):
	case err != nil:
		g.fail("download %s: %v", f.Filename, err)
	case code == http.StatusForbidden && hdr.Get("X-OSA-Status") != "":
		g.blocked.Add(1) // became blocked since the index was fetched
	case code != http.StatusOK:
		g.fail("download %s%s: status %d: %.200s", f.Filename, suffix, code, data)
	case method == "GET" && suffix == "" && f.Hashes["sha256"] != "":
		sum := sha256.Sum256(data)
		if hex.EncodeToString(sum[:]) != f.Hashes["sha256"] {
			g.fail("download %s: sha256 mismatch (%d bytes)", f.Filename, len(data))
		}
	}
}

// parseIndex reads the files of a PEP 691 JSON page, or the anchors of an
// HTML page (href and #sha256= fragment).
func parseIndex(body []byte, html bool) ([]indexFile, error) {
	if !html {
		var doc struct {
			Files []indexFile `json:"files"`
		}
		if err := json.Unmarshal(body, &doc); err != nil {
			return nil, fmt.Errorf("JSON page: %v", err)
		}
		return doc.Files, nil
	}
	var out []indexFile
	s := string(body)
	for {
		i := strings.Index(s, `href="`)
		if i < 0 {
			break
		}
		s = s[i+6:]
		j := strings.IndexByte(s, '"')
		if j < 0 {
			return nil, errors.New("HTML page: unterminated href")
		}
		href := strings.ReplaceAll(s[:j], "&amp;", "&")
		s = s[j:]
		f := indexFile{URL: href, Hashes: map[string]string{}}
		if k := strings.Index(href, "#sha256="); k >= 0 {
			f.Hashes["sha256"] = href[k+8:]
		}
		f.Filename = href[strings.LastIndexByte(strings.SplitN(href, "#", 2)[0], '/')+1:]
		out = append(out, f)
	}
	return out, nil
}

func (g *gen) summary(d time.Duration) Summary {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := Summary{Requests: g.requests.Load(), Errors: g.errs.Load(), Blocked: g.blocked.Load(),
		Statuses: map[string]int64{}, Seconds: d.Seconds(), FirstErrors: g.firstErr}
	for k, v := range g.statuses {
		s.Statuses[fmt.Sprint(k)] = v
	}
	if n := len(g.lat); n > 0 {
		sort.Slice(g.lat, func(i, j int) bool { return g.lat[i] < g.lat[j] })
		ms := func(q float64) float64 { return float64(g.lat[min(n-1, int(q*float64(n)))].Microseconds()) / 1000 }
		s.P50Ms, s.P99Ms, s.MaxMs = ms(0.5), ms(0.99), float64(g.lat[n-1].Microseconds())/1000
	}
	return s
}
