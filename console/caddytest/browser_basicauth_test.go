package caddytest

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/chromedp/cdproto/network"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"golang.org/x/crypto/bcrypt"

	"github.com/osaproxy/caddy-osaproxy/integration/fakepypi"
	"github.com/osaproxy/caddy-osaproxy/internal/browsertest"
	"github.com/osaproxy/caddy-osaproxy/internal/testdata"
	"github.com/osaproxy/caddy-osaproxy/journal"
)

// maliciousOSV locates the real OSV records of malicious packages
// (shared/osv/malicious above the working directory).
func maliciousOSV(t *testing.T) string {
	return filepath.Join(testdata.SharedOSV(t), "malicious")
}

// wheelOnly is a release with one wheel (no sdist, no build tools needed).
func wheelOnly(v string) fakepypi.Release { return fakepypi.NewRelease(v, fakepypi.FileSpec{}) }

const dangerPolicy = "Dangerous dependency at the proxy stage"

// TestBrowserBehindBasicAuth drives the console in headless Chromium, served
// by a real Caddy behind Caddy's own basic_auth, over a journal written by a
// real osa_proxy in front of a fake pypi.org: without credentials the
// console answers 401 (to a plain client and to the browser); with them the
// Requests page lists the proxy's decisions, the block-status filter keeps
// the blocked ones, a package page shows the real advisory and the policy
// that fired, and a what-if run shows who would be newly blocked and newly
// allowed. It saves a screenshot of each step in $OSA_ARTIFACTS (or a temp
// dir) and fails when Chromium is missing, unless OSA_SKIP_BROWSER=1.
func TestBrowserBehindBasicAuth(t *testing.T) {
	browsertest.Chromium(t) // skip or fail before any setup
	osv := maliciousOSV(t)
	fake := fakepypi.StartT(t, fakepypi.Options{})
	fake.AddProject("goodpkg", wheelOnly("1.0"), wheelOnly("2.0"))
	// MAL-2026-4194 lists libhmac 1.1.0; MAL-2026-6516 covers every inlifegram.
	fake.AddProject("libhmac", wheelOnly("1.0.0"), wheelOnly("1.1.0"), wheelOnly("1.2.0"))
	fake.AddProject("inlifegram", wheelOnly("3.0"))

	const user, password = "admin", "correct horse battery staple"
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	port, adminPort := freePort(t), freePort(t)
	caddyfile := fmt.Sprintf(`{
	admin 127.0.0.1:%d
	persist_config off
	storage file_system %s
	grace_period 1s
	osa {
		intel osv %s
		policy "%s" {
			stages proxy
			blocker
			condition dependency_is_dangerous
		}
		journal sqlite %s
	}
}
http://127.0.0.1:%d {
	redir /console /console/
	handle_path /console/* {
		basic_auth {
			%s %s
		}
		osa_console
	}
	handle {
		osa_proxy {
			work_mode strict
			pypi internet-pypi {
				registry %s
				packages_registry %s
			}
		}
	}
}
`, adminPort, filepath.Join(dir, "storage"), osv, dangerPolicy, filepath.Join(dir, "journal.db"), port, user, hash, fake.IndexURL(), fake.FilesURL())
	cfg, err := adapt(t, caddyfile)
	if err != nil {
		t.Fatal(err)
	}
	if err := caddy.Load(cfg, true); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = caddy.Stop() }()
	site := fmt.Sprintf("http://127.0.0.1:%d", port)
	admin := fmt.Sprintf("http://127.0.0.1:%d", adminPort)
	get := func(u string, hdr map[string]string) (int, http.Header, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, u, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, resp.Header, string(b)
	}

	// The intelligence loads in the background; strict mode blocks until then.
	deadline := time.Now().Add(60 * time.Second)
	for {
		code, _, body := get(admin+"/osa/ready", nil)
		if code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the proxy never became ready: %d %s", code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Real traffic through the proxy: allowed and blocked index pages and downloads.
	pip := map[string]string{"Accept": "application/vnd.pypi.simple.v1+json", "User-Agent": "pip/24.0"}
	traffic := []struct {
		path string
		code int
	}{
		{"/internet-pypi/simple/goodpkg/", 200},
		{"/internet-pypi" + fake.File("goodpkg-2.0-py3-none-any.whl").Path, 200},
		{"/internet-pypi/simple/libhmac/", 200},
		{"/internet-pypi" + fake.File("libhmac-1.1.0-py3-none-any.whl").Path, 403},
		{"/internet-pypi" + fake.File("libhmac-1.2.0-py3-none-any.whl").Path, 200},
		{"/internet-pypi/simple/inlifegram/", 403},
	}
	for _, tr := range traffic {
		if code, _, body := get(site+tr.path, pip); code != tr.code {
			t.Fatalf("GET %s through the proxy: %d, want %d\n%s", tr.path, code, tr.code, body)
		}
	}
	code, _, body := get(admin+"/osa/requests?limit=100", nil)
	var jp journal.Page
	if code != 200 || json.Unmarshal([]byte(body), &jp) != nil || jp.Total != int64(len(traffic)) {
		t.Fatalf("journal after the traffic: %d (total %d, want %d)\n%s", code, jp.Total, len(traffic), body)
	}

	// Caddy's basic_auth guards the console.
	good := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
	bad := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":wrong"))
	for _, c := range []struct {
		path string
		hdr  map[string]string
		want int
	}{
		{"/console/", nil, http.StatusUnauthorized},
		{"/console/", map[string]string{"Authorization": bad}, http.StatusUnauthorized},
		{"/console/api/requests", nil, http.StatusUnauthorized},
		{"/console/package/libhmac", nil, http.StatusUnauthorized},
		{"/console/what-if", nil, http.StatusUnauthorized},
		{"/console/", map[string]string{"Authorization": good}, http.StatusOK},
	} {
		code, hdr, body := get(site+c.path, c.hdr)
		if code != c.want {
			t.Fatalf("GET %s (auth %v): %d, want %d", c.path, c.hdr != nil, code, c.want)
		}
		if code == http.StatusUnauthorized && (!strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Basic") || strings.Contains(body, "libhmac")) {
			t.Fatalf("GET %s: 401 without a Basic challenge or with console content: %q\n%s", c.path, hdr.Get("WWW-Authenticate"), body)
		}
	}

	// The browser.
	shots := browsertest.ArtifactsDir(t)
	ctx := browsertest.NewTab(t, 90*time.Second)

	var (
		mu       sync.Mutex
		problems []string
		authed   atomic.Bool // console errors count once the browser has credentials
	)
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if (m.Type == chromedp.ConsoleError || m.IsException()) && authed.Load() {
				mu.Lock()
				problems = append(problems, m.String())
				mu.Unlock()
			}
		}
	}()
	must := func(step string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		must("screenshot "+name, err)
		must("saving "+name, os.WriteFile(filepath.Join(shots, name), png, 0o644))
	}
	evalStrings := func(js string) []string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](js))
		must(js, err)
		return v
	}
	bodyText := func() string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
		must("body text", err)
		return s
	}
	clickAndLoad := func(sel string) {
		t.Helper()
		_, err := chromedp.Run(ctx, chromedp.WaitEvent(cdppage.LoadEventFired, nil, chromedp.Click(chromedp.CSS(sel))))
		must("click "+sel, err)
	}
	root := site + "/console/"

	// 1. Without credentials the browser gets no console: headless Chromium
	// answers the Basic challenge (no one to type a password) by failing
	// the load with ERR_INVALID_AUTH_CREDENTIALS, or shows the 401.
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(root))
	var loadErr *chromedp.LoadError
	switch {
	case errors.As(err, &loadErr) && strings.Contains(loadErr.ErrorText, "ERR_INVALID_AUTH_CREDENTIALS"):
	case err != nil:
		t.Fatalf("unauthenticated navigation: %v", err)
	case resp == nil || resp.Status != http.StatusUnauthorized:
		t.Fatalf("unauthenticated browser: response %+v, want 401", resp)
	}
	if text := bodyText(); strings.Contains(text, "libhmac") || strings.Contains(text, "Requests") {
		t.Fatalf("the 401 page shows console content:\n%s", text)
	}

	// 2. With credentials (on every request of the tab): the Requests page.
	_, err = chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Authorization": good}})
	must("extra headers", err)
	authed.Store(true)
	resp, err = chromedp.Run(ctx, chromedp.NavigateResponse(root))
	must("open console", err)
	if resp == nil || resp.Status != http.StatusOK {
		t.Fatalf("authenticated browser: response %+v, want 200", resp)
	}
	must("rows", chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#requests tbody tr"))))
	text := bodyText()
	for _, want := range []string{"Requests", "goodpkg", "libhmac", "inlifegram", "libhmac-1.1.0-py3-none-any.whl", "Blocked by policies", "internet-pypi", "strict", dangerPolicy} {
		if !strings.Contains(text, want) {
			t.Fatalf("Requests page does not show %q:\n%s", want, text)
		}
	}
	if ids := evalStrings(`Array.from(document.querySelectorAll('#requests tbody tr')).map(r => r.dataset.id)`); len(ids) != len(traffic) {
		t.Fatalf("Requests page shows %d rows, want the %d requests", len(ids), len(traffic))
	}
	shot("basicauth-requests.png")

	// 3. Filter by block status.
	must("choose status", chromedp.Do(ctx, chromedp.SetValue(chromedp.CSS(`select[name=status]`), "blocked")))
	clickAndLoad(`form.filters button[type=submit]`)
	loc, err := chromedp.Run(ctx, chromedp.Location())
	must("location", err)
	if !strings.HasPrefix(loc, root+"?") || !strings.Contains(loc, "status=blocked") {
		t.Fatalf("filtered location %q", loc)
	}
	badges := evalStrings(`Array.from(document.querySelectorAll('#requests tbody .badge')).map(e => e.textContent)`)
	if len(badges) != 2 {
		t.Fatalf("blocked filter shows %d rows (%v), want the libhmac 1.1.0 download and the inlifegram index", len(badges), badges)
	}
	for _, bd := range badges {
		if bd != "Blocked by policies" {
			t.Fatalf("blocked filter shows a %q row", bd)
		}
	}
	pkgs := evalStrings(`Array.from(document.querySelectorAll('#requests tbody td.pkg')).map(e => e.textContent.trim())`)
	if strings.Join(pkgs, ",") != "inlifegram,libhmac" {
		t.Fatalf("blocked rows are for %v, want inlifegram (newest) then libhmac", pkgs)
	}
	shot("basicauth-blocked.png")

	// 4. The package page of libhmac, from its row.
	clickAndLoad(`#requests tbody a[href$="package/libhmac"]`)
	if h1 := evalStrings(`[document.querySelector('h1').textContent]`)[0]; h1 != "libhmac" {
		t.Fatalf("package page title %q", h1)
	}
	text = bodyText()
	for _, want := range []string{"MAL-2026-4194", dangerPolicy, "Verdict history", "1.1.0", "1.2.0"} {
		if !strings.Contains(text, want) {
			t.Fatalf("package page does not show %q:\n%s", want, text)
		}
	}
	if osvLinks := evalStrings(`Array.from(document.querySelectorAll('.advisory h3 a')).map(a => a.href)`); len(osvLinks) == 0 || osvLinks[0] != "https://osv.dev/vulnerability/MAL-2026-4194" {
		t.Fatalf("advisory links %v", osvLinks)
	}
	shot("basicauth-package.png")

	// 5. What-if: ban goodpkg instead of blocking dangerous packages.
	clickAndLoad(`header nav a[href$="what-if"]`)
	must("policies", chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS("#policies"), "policy \"Ban goodpkg\" {\n\tstages proxy\n\tblocker\n\tcondition dependency_name_in goodpkg\n}\n"),
		chromedp.SetValue(chromedp.CSS(`input[name=since]`), "24h")))
	clickAndLoad(`#run`)
	text = bodyText()
	for _, want := range []string{"Result", "Newly blocked", "Newly allowed", "Ban goodpkg", "goodpkg", "libhmac", "newly blocked", "newly allowed"} {
		if !strings.Contains(text, want) {
			t.Fatalf("what-if result does not show %q:\n%s", want, text)
		}
	}
	blockedPkgs := evalStrings(`Array.from(document.querySelectorAll('#result h3')).filter(h => h.textContent === 'Newly blocked').map(h => h.nextElementSibling.innerText)`)
	allowedPkgs := evalStrings(`Array.from(document.querySelectorAll('#result h3')).filter(h => h.textContent === 'Newly allowed').map(h => h.nextElementSibling.innerText)`)
	if len(blockedPkgs) != 1 || !strings.Contains(blockedPkgs[0], "goodpkg") || strings.Contains(blockedPkgs[0], "libhmac") {
		t.Fatalf("newly blocked: %q", blockedPkgs)
	}
	if len(allowedPkgs) != 1 || !strings.Contains(allowedPkgs[0], "libhmac") || strings.Contains(allowedPkgs[0], "goodpkg") {
		t.Fatalf("newly allowed: %q", allowedPkgs)
	}
	shot("basicauth-whatif.png")

	mu.Lock()
	defer mu.Unlock()
	if len(problems) > 0 {
		t.Fatalf("browser console errors (CSP violations, script errors):\n%s", strings.Join(problems, "\n"))
	}
	t.Logf("screenshots in %s", shots)
}
