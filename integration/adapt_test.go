package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddytest"

	_ "github.com/caddyserver/caddy/v2/modules/standard"
	_ "github.com/osaproxy/caddy-osaproxy"
)

// TestCaddyfileAdapt checks that each Caddyfile in caddyfile_adapt/ adapts
// to exactly the JSON after the "----------" line, or, when that part is not
// JSON, fails with an error containing it (golden tests, as in Caddy itself).
func TestCaddyfileAdapt(t *testing.T) {
	files, err := filepath.Glob("caddyfile_adapt/*.caddyfiletest")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			parts := strings.SplitN(string(data), "----------", 2)
			if len(parts) != 2 {
				t.Fatalf("%s: missing ---------- separator", f)
			}
			caddyfile, expected := strings.TrimSpace(parts[0])+"\n", strings.TrimSpace(parts[1])
			if strings.HasPrefix(expected, "{") {
				if !caddytest.CompareAdapt(t, f, caddyfile, "caddyfile", expected) {
					t.Errorf("adapted JSON differs for %s", f)
				}
				return
			}
			adapter := caddyfileAdapter()
			_, _, err = adapter.Adapt([]byte(caddyfile), nil)
			if err == nil {
				t.Fatalf("expected an adapt error containing %q, got none", expected)
			}
			if !strings.Contains(err.Error(), expected) {
				t.Fatalf("adapt error %q does not contain %q", err, expected)
			}
		})
	}
}
