package integration

// Upstream fault battery: what a client gets and what the journal records
// when the upstream misbehaves, in every work mode and with block_on_errors
// on and off.
//
// | Upstream fault (index page unless noted)          | Client gets                                   | Journal: warmup | spectator   | moderate, strict, strict_wait: block_on_errors true | block_on_errors false |
// |---------------------------------------------------|-----------------------------------------------|-----------------|-------------|------------------------------------------------------|-----------------------|
// | 5xx (index or JSON API)                           | 502 text/plain, never the upstream page      | no row          | not_blocked | blocked_on_error                                     | not_blocked           |
// | closed port (connection refused)                  | 502 at once                                   | no row          | not_blocked | blocked_on_error                                     | not_blocked           |
// | connect timeout (listener that never accepts)     | 502 after dial_timeout                        | no row          | not_blocked | blocked_on_error                                     | not_blocked           |
// | read timeout (response_header_timeout 1s)         | 502 after response_header_timeout             | no row          | not_blocked | blocked_on_error                                     | not_blocked           |
// | connection reset mid-body                         | 502                                           | no row          | not_blocked | blocked_on_error                                     | not_blocked           |
// | truncated gzip                                    | 502                                           | no row          | not_blocked | blocked_on_error                                     | not_blocked           |
// | invalid HTML, invalid JSON (index or JSON API)    | 502                                           | no row          | not_blocked | blocked_on_error                                     | not_blocked           |
// | gzip bomb (256 MiB inflated)                      | 502; memory bounded by max_index_size         | no row          | not_blocked | blocked_on_error                                     | not_blocked           |
// | index larger than max_index_size                  | 502                                           | no row          | not_blocked | blocked_on_error                                     | not_blocked           |
// | wrong Content-Type                                | 502                                           | no row          | not_blocked | blocked_on_error                                     | not_blocked           |
// | redirect to a foreign host (or the files host)    | 502, no Location                              | no row          | not_blocked | blocked_on_error                                     | not_blocked           |
// | redirect within the registry                      | 301 to the same page inside the proxy         | no row          | not_blocked | not_blocked                                          | not_blocked           |
// | slow trickle (headers at once, body slowly)       | 200; filtered in blocking modes only          | no row          | would_block | not_blocked, removed=1                               | not_blocked, removed=1|
// | download: files host 5xx                          | that 5xx, no file bytes                       | no row          | not_blocked | not_blocked (allowed; http_status 5xx)               | not_blocked           |
// | download: closed port, read timeout               | 502                                           | no row          | not_blocked | not_blocked (allowed; http_status 502)               | not_blocked           |
// | download: redirect to a foreign host              | 502, no Location                              | no row          | not_blocked | not_blocked (allowed; http_status 502)               | not_blocked           |
// | download: connection reset mid-body               | 200 whose body breaks off (client error)      | no row          | not_blocked | not_blocked                                          | not_blocked           |
//
// In moderate, strict and strict_wait no unfiltered index is ever served
// and no client is ever redirected to an upstream host. block_on_errors
// does not change what the client gets for an upstream fault (an index that
// could not be fetched or filtered is never served); it changes the status
// recorded. (It changes the client's answer for decision errors, covered by
// the intel and journal fault tests.)

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/osaproxy/caddy-osaproxy/integration/fakepypi"
)

// rsBlackhole returns the address of a listener that never accepts and
// whose accept queue is full, so a new connection attempt times out (the
// kernel drops the SYN) instead of being refused.
func rsBlackhole(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
	var conns []net.Conn
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
		syscall.Close(fd)
	})
	for i := 0; i < 8; i++ {
		c, err := net.DialTimeout("tcp", addr, 300*time.Millisecond)
		if err != nil {
			return addr // the queue is full: connection attempts now hang
		}
		conns = append(conns, c)
	}
	t.Fatalf("the blackhole listener %s kept accepting connections", addr)
	return ""
}

// rsClosedPort returns an address nothing listens on.
func rsClosedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// rsExpect is the expected outcome of one fault.
type rsExpect struct {
	status int // exact client status (0: any 5xx)
	// record is the journal status in blocking modes with block_on_errors
	// true; "" means not_blocked everywhere.
	record string
	// filtered: a 200 must not list the blocked version in blocking modes.
	filtered bool
	// truncated: the client must see an incomplete body.
	truncated bool
}

type rsFault struct {
	name   string
	target string // after /r (or the full path when it starts with /dead or /hole)
	accept string
	prefix string // fault prefix on the fake ("" = none)
	fault  fakepypi.Fault
	expect rsExpect
}

func TestFaultBattery(t *testing.T) {
	fake := fakepypi.StartT(t, fakepypi.Options{})
	fake.AddProject("okpkg", fakepypi.NewRelease("1.0", fakepypi.FileSpec{}), fakepypi.NewRelease("2.0", fakepypi.FileSpec{}))
	fake.AddProject("badpkg", fakepypi.NewRelease("1.0", fakepypi.FileSpec{}), fakepypi.NewRelease("2.0", fakepypi.FileSpec{}))
	dir := t.TempDir()
	rsWriteMAL(t, dir+"/osv", "MAL-2099-0201", "badpkg", "1.0")
	okWheel := fake.ProjectFiles("okpkg", "1.0")[0]
	badWheel := fake.ProjectFiles("badpkg", "1.0")[0]
	hole := rsBlackhole(t)
	closed := rsClosedPort(t)

	json := "application/vnd.pypi.simple.v1+json"
	html := "text/html"
	page := fake.ProjectFiles("okpkg", "")
	htmlPage := `<!DOCTYPE html><html><body><a href="` + fake.FileURL(page[0]) + `#sha256=` + page[0].SHA256 + `">` + page[0].Filename + "</a>\n"
	big := []byte(htmlPage + "<!-- " + strings.Repeat("x", 2<<20) + " --></body></html>\n")
	e502 := rsExpect{status: 502, record: "blocked_on_error"}
	faults := []rsFault{
		{name: "upstream 500", target: "/simple/okpkg/", accept: json, prefix: "/simple/okpkg/", fault: fakepypi.Fault{Status: 500}, expect: e502},
		{name: "upstream 503 json api", target: "/pypi/okpkg/json", prefix: "/pypi/okpkg/", fault: fakepypi.Fault{Status: 503}, expect: e502},
		{name: "files host 503", target: okWheel.Path, prefix: "/packages/", fault: fakepypi.Fault{Host: "files", Status: 503}, expect: rsExpect{status: 503}},
		{name: "closed port", target: "/dead/simple/okpkg/", accept: json, expect: e502},
		{name: "closed port download", target: "/dead" + okWheel.Path, expect: rsExpect{status: 502}},
		{name: "connect timeout", target: "/hole/simple/okpkg/", accept: json, expect: e502},
		{name: "read timeout", target: "/simple/okpkg/", accept: json, prefix: "/simple/okpkg/", fault: fakepypi.Fault{Delay: 3 * time.Second}, expect: e502},
		{name: "read timeout download", target: okWheel.Path, prefix: "/packages/", fault: fakepypi.Fault{Host: "files", Delay: 3 * time.Second}, expect: rsExpect{status: 502}},
		{name: "reset mid-body", target: "/simple/okpkg/", accept: json, prefix: "/simple/okpkg/", fault: fakepypi.Fault{ResetMidBody: true}, expect: e502},
		{name: "reset mid-body download", target: okWheel.Path, prefix: "/packages/", fault: fakepypi.Fault{Host: "files", ResetMidBody: true}, expect: rsExpect{truncated: true}},
		{name: "truncated gzip", target: "/simple/okpkg/", accept: json, prefix: "/simple/okpkg/", fault: fakepypi.Fault{TruncateGzip: true}, expect: e502},
		{name: "invalid html", target: "/simple/okpkg/", accept: html, prefix: "/simple/okpkg/", fault: fakepypi.Fault{Body: []byte("<html><body><a href=\"x\x00\">okpkg-1.0.tar.gz</a"), ContentType: "text/html"}, expect: e502},
		{name: "invalid json", target: "/simple/okpkg/", accept: json, prefix: "/simple/okpkg/", fault: fakepypi.Fault{Body: []byte(`{"meta": {"api-version": "1.1"}, "name": "okpkg", "files": [{"filename": "okpkg-1.0.tar.gz", "url": `), ContentType: json}, expect: e502},
		{name: "invalid json api", target: "/pypi/okpkg/json", prefix: "/pypi/okpkg/", fault: fakepypi.Fault{Body: []byte(`{"info": {"version": "1.0"}, "releases": {"1.0": [`), ContentType: "application/json"}, expect: e502},
		{name: "gzip bomb", target: "/simple/okpkg/", accept: json, prefix: "/simple/okpkg/", fault: fakepypi.Fault{GzipBomb: true, BombSize: 256 << 20}, expect: e502},
		{name: "oversized index", target: "/simple/okpkg/", accept: html, prefix: "/simple/okpkg/", fault: fakepypi.Fault{Body: big, ContentType: "text/html"}, expect: e502},
		{name: "wrong content type", target: "/simple/okpkg/", accept: html, prefix: "/simple/okpkg/", fault: fakepypi.Fault{Body: []byte(htmlPage + "</body></html>"), ContentType: "application/octet-stream"}, expect: e502},
		{name: "redirect to foreign host", target: "/simple/okpkg/", accept: json, prefix: "/simple/okpkg/", fault: fakepypi.Fault{RedirectTo: "https://evil.example/simple/okpkg/"}, expect: e502},
		{name: "redirect to the files host page", target: "/simple/okpkg/", accept: json, prefix: "/simple/okpkg/", fault: fakepypi.Fault{RedirectTo: fake.FilesURL() + "/simple/okpkg/"}, expect: e502},
		{name: "redirect download to foreign host", target: okWheel.Path, prefix: "/packages/", fault: fakepypi.Fault{Host: "files", RedirectTo: "http://evil.example" + okWheel.Path}, expect: rsExpect{status: 502}},
		{name: "redirect within the registry", target: "/simple/okpkg/", accept: json, prefix: "/simple/okpkg/", fault: fakepypi.Fault{Status: 301, RedirectTo: fake.IndexURL() + "/simple/okpkg/", Times: 1}, expect: rsExpect{status: 301}},
		{name: "slow trickle", target: "/simple/badpkg/", accept: json, prefix: "/simple/badpkg/", fault: fakepypi.Fault{Trickle: 15 * time.Millisecond, TrickleBytes: 48}, expect: rsExpect{status: 200, filtered: true}},
	}

	// Warm the fake's bomb cache so the memory check measures the proxy.
	fake.SetFault("/simple/okpkg/", fakepypi.Fault{GzipBomb: true, BombSize: 256 << 20})
	if resp, err := http.Get(fake.IndexURL() + "/simple/okpkg/"); err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	fake.ClearFaults()

	type modeCfg struct {
		mode string
		boe  string
	}
	var mcs []modeCfg
	for _, m := range []string{"warmup", "spectator", "moderate", "strict", "strict_wait"} {
		for _, boe := range []string{"true", "false"} {
			mcs = append(mcs, modeCfg{m, boe})
		}
	}
	transport := "transport http {\n\t\t\t\tdial_timeout 1s\n\t\t\t\tresponse_header_timeout 1s\n\t\t\t}"
	for _, mc := range mcs {
		t.Run(mc.mode+"/block_on_errors_"+mc.boe, func(t *testing.T) {
			cfg := rsProxyCfg{
				Mode: mc.mode, BlockOnErrors: mc.boe, Handler: "max_index_size 1MB\n\t\tscan_timeout 2s",
				Registry: fake.IndexURL(), Packages: fake.FilesURL(), Repo: transport,
				Intel: []string{dir + "/osv"}, Dir: t.TempDir(),
				ExtraRepos: fmt.Sprintf("pypi dead {\n\t\t\tregistry http://%s\n\t\t\t%s\n\t\t}\n\t\tpypi hole {\n\t\t\tregistry http://%s\n\t\t\t%s\n\t\t}", closed, transport, hole, transport),
			}
			rsLoadProxy(t, cfg)
			rsWaitReady(t, 30*time.Second)
			blocking := mc.mode == "moderate" || mc.mode == "strict" || mc.mode == "strict_wait"
			for _, f := range faults {
				fake.ClearFaults()
				if f.prefix != "" {
					fake.SetFault(f.prefix, f.fault)
				}
				target := "/r" + f.target
				if strings.HasPrefix(f.target, "/dead") || strings.HasPrefix(f.target, "/hole") {
					target = f.target
				}
				_, before := rsJournalRows(t, "")
				var ms0 runtime.MemStats
				runtime.ReadMemStats(&ms0)
				t0 := time.Now()
				req, _ := http.NewRequest("GET", rsProxyBase+target, nil)
				if f.accept != "" {
					req.Header.Set("Accept", f.accept)
				}
				resp, err := rsNoRedirect.Do(req)
				var body []byte
				var readErr error
				if err == nil {
					body, readErr = io.ReadAll(resp.Body)
					resp.Body.Close()
				}
				took := time.Since(t0)
				var ms1 runtime.MemStats
				runtime.ReadMemStats(&ms1)
				where := fmt.Sprintf("[%s boe=%s] %s (GET %s)", mc.mode, mc.boe, f.name, target)
				fake.ClearFaults()
				if err != nil {
					t.Errorf("%s: %v", where, err)
					continue
				}
				if took > 8*time.Second {
					t.Errorf("%s: took %s", where, took)
				}
				switch {
				case f.expect.truncated:
					if readErr == nil && int64(len(body)) == int64(okWheel.Size()) {
						t.Errorf("%s: the client got a complete body despite the reset", where)
					}
					if bytes.Equal(body, okWheel.Data) {
						t.Errorf("%s: complete file served", where)
					}
				case f.expect.status != 0 && resp.StatusCode != f.expect.status:
					t.Errorf("%s: status %d, want %d\n%s", where, resp.StatusCode, f.expect.status, truncateStr(body, 300))
				}
				if f.expect.status == 502 {
					if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") || !bytes.HasPrefix(body, []byte("osa_proxy: ")) {
						t.Errorf("%s: 502 is not the proxy's text/plain explanation: %q %q", where, ct, truncateStr(body, 200))
					}
					if bytes.Contains(body, []byte("okpkg-1.0")) || bytes.Contains(body, []byte("<a ")) {
						t.Errorf("%s: the 502 carries the upstream page", where)
					}
				}
				if loc := resp.Header.Get("Location"); loc != "" && !strings.HasPrefix(loc, "/") {
					t.Errorf("%s: client redirected to %s", where, loc)
				}
				for _, h := range append(rsUpstreamHosts(fake), "evil.example") {
					if loc := resp.Header.Get("Location"); strings.Contains(loc, h) {
						t.Errorf("%s: client redirected to upstream host %s", where, loc)
					}
				}
				if f.expect.filtered && resp.StatusCode == 200 {
					listed := bytes.Contains(body, []byte(badWheel.Filename))
					if blocking && listed {
						t.Errorf("%s: BYPASS: the blocked version is listed in %s", where, mc.mode)
					}
					if !blocking && !listed {
						t.Errorf("%s: %s must not filter", where, mc.mode)
					}
				}
				if f.name == "gzip bomb" {
					if grown := int64(ms1.TotalAlloc - ms0.TotalAlloc); grown > 64<<20 {
						t.Errorf("%s: the bomb allocated %d MiB", where, grown>>20)
					}
				}
				// The journal.
				rows, after := rsJournalRows(t, "")
				if mc.mode == "warmup" {
					if after != before {
						t.Errorf("%s: warmup wrote %d journal rows", where, after-before)
					}
					continue
				}
				if after != before+1 || len(rows) == 0 {
					t.Errorf("%s: want exactly one new journal row, got %d", where, after-before)
					continue
				}
				want := "not_blocked"
				if f.expect.record != "" && blocking && mc.boe == "true" {
					want = f.expect.record
				}
				if f.expect.filtered && mc.mode == "spectator" {
					want = "would_block"
				}
				if got := rows[0]; got.Status != want || (resp.StatusCode != 0 && !f.expect.truncated && got.HTTPStatus != resp.StatusCode) {
					t.Errorf("%s: journal row status %s http %d, want %s http %d (%s)", where, got.Status, got.HTTPStatus, want, resp.StatusCode, got.Reason)
				}
				if f.expect.filtered && blocking && rows[0].Removed != 1 {
					t.Errorf("%s: journal removed=%d, want 1", where, rows[0].Removed)
				}
			}
		})
	}
}

var rsNoRedirect = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Timeout:       30 * time.Second,
}

func truncateStr(b []byte, n int) string { return string(rsTruncateBytes(b, n)) }
