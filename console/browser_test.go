package console

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/osaproxy/caddy-osaproxy/internal/browsertest"
	"github.com/osaproxy/caddy-osaproxy/journal"
)

// TestBrowser drives the console in headless Chromium, mounted under a
// stripped prefix like Caddy's handle_path: the Requests page, a status
// filter, live update, the PURL toggle, a package page, a what-if run (and a
// rejected one) and the intel page. It saves a screenshot of each step;
// OSA_UPDATE_SCREENSHOT=1 also rewrites docs/console.png. It fails when
// Chromium is missing, unless OSA_SKIP_BROWSER=1.
func TestBrowser(t *testing.T) {
	browsertest.Chromium(t) // skip or fail before any setup
	b := realisticBackend()
	h := newConsole(t, b, Options{PollInterval: 300 * time.Millisecond})
	mux := http.NewServeMux()
	mux.Handle("/console/", http.StripPrefix("/console", h))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	root := srv.URL + "/console/"
	dir := browsertest.ArtifactsDir(t)

	ctx := browsertest.NewTab(t, 60*time.Second)

	var mu sync.Mutex
	var problems []string
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			// The rejected what-if is meant to answer 400.
			expected := strings.HasSuffix(m.URL, "/what-if") && strings.Contains(m.String(), "400")
			if (m.Type == chromedp.ConsoleError || m.IsException()) && !expected {
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
	shot := func(name string) []byte {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		must("screenshot "+name, err)
		must("saving "+name, os.WriteFile(filepath.Join(dir, name), png, 0o644))
		return png
	}
	evalStrings := func(js string) []string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](js))
		must(js, err)
		return v
	}
	bodyText := func() string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
		must("body text", err)
		return s
	}
	clickAndLoad := func(sel string) {
		t.Helper()
		_, err := chromedp.Run(ctx, chromedp.WaitEvent(cdppage.LoadEventFired, nil, chromedp.Click(chromedp.CSS(sel))))
		must("click "+sel, err)
	}

	// 1. The Requests page, unfiltered.
	must("open console", chromedp.Do(ctx, chromedp.Navigate(root), chromedp.WaitVisible(chromedp.CSS("#requests tbody tr"))))
	text := bodyText()
	for _, want := range []string{"Requests", "colourama", "Blocked by policies", "Would block", "Delayed block", "nexus.example.com/pypi-proxy"} {
		if !strings.Contains(text, want) {
			t.Fatalf("Requests page does not show %q:\n%s", want, text)
		}
	}
	if n := len(evalStrings(`Array.from(document.querySelectorAll('#requests tbody tr')).map(r => r.dataset.id)`)); n != 10 {
		t.Fatalf("Requests page shows %d rows, want 10", n)
	}
	png := shot("requests.png")
	if os.Getenv("OSA_UPDATE_SCREENSHOT") == "1" {
		must("docs screenshot", os.WriteFile(filepath.Join("..", "docs", "console.png"), png, 0o644))
	}

	// 2. Filter by block status "blocked" (any blocked status).
	must("choose status", chromedp.Do(ctx, chromedp.SetValue(chromedp.CSS(`select[name=status]`), "blocked")))
	clickAndLoad(`form.filters button[type=submit]`)
	loc, err := chromedp.Run(ctx, chromedp.Location())
	must("location", err)
	if !strings.HasPrefix(loc, root+"?") || !strings.Contains(loc, "status=blocked") {
		t.Fatalf("filtered location %q", loc)
	}
	badges := evalStrings(`Array.from(document.querySelectorAll('#requests tbody .badge')).map(e => e.textContent)`)
	if len(badges) != 3 {
		t.Fatalf("blocked filter shows %d rows (%v), want 3", len(badges), badges)
	}
	for _, bd := range badges {
		if !strings.HasPrefix(bd, "Blocked") {
			t.Fatalf("blocked filter shows a %q row", bd)
		}
	}

	// 3. Live update: a new blocked record appears without a reload; a
	// record outside the filter does not.
	b.add(journal.Record{Time: testNow.Add(time.Second), Repository: "internet-pypi", Package: "not-blocked-pkg", Version: "1.0",
		Operation: "download", WorkMode: "strict", Status: journal.StatusNotBlocked, Initiator: "dave"},
		journal.Record{Time: testNow.Add(2 * time.Second), Repository: "internet-pypi", Package: "evil-pkg", Version: "6.6.6",
			File: "evil_pkg-6.6.6.tar.gz", Purl: "pkg:pypi/evil-pkg@6.6.6", Operation: "download", WorkMode: "strict", Status: journal.StatusBlockedByPolicies,
			Policies: []string{"Dangerous dependency at the proxy stage"}, Advisories: []string{"MAL-2024-1234"}, Initiator: "dave"})
	_, err = chromedp.Run(ctx, chromedp.Poll[bool](`(() => { const r = document.querySelector('#requests tbody tr'); return !!r && r.textContent.includes('evil-pkg'); })()`,
		chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(10*time.Second)))
	must("live row", err)
	if strings.Contains(bodyText(), "not-blocked-pkg") {
		t.Fatal("live update added a row outside the filter")
	}
	href := evalStrings(`[document.querySelector('#requests tbody tr a').href]`)[0]
	if href != root+"package/evil-pkg" {
		t.Fatalf("live row links to %q, want %q", href, root+"package/evil-pkg")
	}
	if loc2, _ := chromedp.Run(ctx, chromedp.Location()); loc2 != loc {
		t.Fatalf("the page navigated during the live update: %q", loc2)
	}

	// 4. The PURL column toggles without a reload.
	must("purl toggle", chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#purl-toggle"))))
	disp := evalStrings(`[getComputedStyle(document.querySelector('#requests tbody td.col-purl')).display]`)[0]
	if disp == "none" {
		t.Fatal("PURL column still hidden after the toggle")
	}
	if purl := evalStrings(`[document.querySelector('#requests tbody td.col-purl').innerText]`)[0]; purl != "pkg:pypi/evil-pkg@6.6.6" {
		t.Fatalf("PURL cell %q", purl)
	}
	shot("requests-blocked.png")

	// 5. A package page.
	clickAndLoad(`#requests tbody a[href$="package/colourama"]`)
	h1 := evalStrings(`[document.querySelector('h1').textContent]`)[0]
	if h1 != "colourama" {
		t.Fatalf("package page title %q", h1)
	}
	text = bodyText()
	for _, want := range []string{"MAL-2024-1234", "Malicious code in colourama (PyPI)", "Dangerous dependency at the proxy stage", "Verdict history", "FIRST REQUESTED"} {
		if !strings.Contains(text, want) {
			t.Fatalf("package page does not show %q:\n%s", want, text)
		}
	}
	if osv := evalStrings(`Array.from(document.querySelectorAll('.advisory h3 a')).map(a => a.href)`); len(osv) == 0 || osv[0] != "https://osv.dev/vulnerability/MAL-2024-1234" {
		t.Fatalf("advisory links %v", osv)
	}
	shot("package.png")

	// 6. What-if: run the prefilled policies, then a rejected block.
	clickAndLoad(`header nav a[href$="what-if"]`)
	pre, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS("#policies")))
	must("textarea", err)
	if !strings.Contains(pre, "dependency_is_dangerous") {
		t.Fatalf("what-if form is not prefilled: %q", pre)
	}
	must("policies", chromedp.Do(ctx, chromedp.SetValue(chromedp.CSS("#policies"), "policy \"Critical vulnerabilities\" {\n\tstages proxy\n\tblocker\n\tcondition cvss3_score >= 9.0\n}\n")))
	clickAndLoad(`#run`)
	text = bodyText()
	for _, want := range []string{"Newly blocked", "Newly allowed", "requests", "2.28.0", "Critical vulnerabilities", "1 newly blocked"} {
		if !strings.Contains(text, want) {
			t.Fatalf("what-if result does not show %q:\n%s", want, text)
		}
	}
	shot("whatif.png")
	must("bad policies", chromedp.Do(ctx, chromedp.SetValue(chromedp.CSS("#policies"), "policy \"x\" {\n\tcondition syntax error\n}\n")))
	clickAndLoad(`#run`)
	errText := evalStrings(`[document.querySelector('.error') ? document.querySelector('.error').textContent : '']`)[0]
	if !strings.Contains(errText, "unknown condition") || strings.Contains(bodyText(), "Newly blocked") {
		t.Fatalf("rejected what-if: error %q", errText)
	}
	if kept, _ := chromedp.Run(ctx, chromedp.Value(chromedp.CSS("#policies"))); !strings.Contains(kept, "syntax error") {
		t.Fatalf("the rejected text was not kept: %q", kept)
	}

	// 7. Intel & policies.
	clickAndLoad(`header nav a[href$="intel"]`)
	text = bodyText()
	for _, want := range []string{"sha256:3f9a1c2b7d4e", "permission denied", "old-urllib3", "expired", "report only"} {
		if !strings.Contains(text, want) {
			t.Fatalf("intel page does not show %q:\n%s", want, text)
		}
	}
	shot("intel.png")

	mu.Lock()
	defer mu.Unlock()
	if len(problems) > 0 {
		t.Fatalf("browser console errors (CSP violations, script errors):\n%s", strings.Join(problems, "\n"))
	}
	t.Logf("screenshots in %s", dir)
}
