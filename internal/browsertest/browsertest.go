// Package browsertest starts headless Chromium (Debian's package) for the
// console's browser tests, the same way for every test that has a page.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Chromium returns the browser's path: $OSA_CHROMIUM, then chromium,
// chromium-browser or google-chrome on PATH, then /usr/bin/chromium. The
// test is skipped when OSA_SKIP_BROWSER=1 and fails when no browser is
// found: a page test must not pass without a page.
func Chromium(t testing.TB) string {
	t.Helper()
	if os.Getenv("OSA_SKIP_BROWSER") == "1" {
		t.Skip("OSA_SKIP_BROWSER=1")
	}
	if p := os.Getenv("OSA_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	t.Fatal("Chromium is not installed (apt-get install chromium, or set OSA_CHROMIUM); set OSA_SKIP_BROWSER=1 to skip this test")
	return ""
}

// ArtifactsDir is where screenshots go: $OSA_ARTIFACTS or a test temp dir.
func ArtifactsDir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("OSA_ARTIFACTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// NewTab starts a headless Chromium (a fresh profile, 1440x900, no GPU,
// no sandbox, no background networking) bounded by timeout and returns the
// context of one tab; both are closed when the test ends.
func NewTab(t testing.TB, timeout time.Duration) context.Context {
	t.Helper()
	exe := Chromium(t)
	parent, cancelAll := context.WithTimeout(context.Background(), timeout)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1440, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(parent, opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
		cancelAll()
	})
	return ctx
}
