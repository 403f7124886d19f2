package integration

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
)

// Fuzz targets of the Caddyfile syntax of the osa global option and the
// osa_proxy directive: any text adapts or fails with an error, never
// panics, and what adapts is valid JSON. Seed corpora are checked in under
// testdata/fuzz/<target>/ (run: go test -run '^$' -fuzz FuzzCaddyfileOsaProxy ./integration).
//
// Inputs are bounded (8 KiB per part) and may not use Caddy's import
// directive (it reads files and globs from disk, Caddy's code, not ours),
// so every run does bounded work and memory.

const fuzzMaxPart = 8 << 10

func fuzzAdapt(t *testing.T, caddyfile string) {
	adapter := caddyconfig.GetAdapter("caddyfile")
	if adapter == nil {
		t.Fatal("no caddyfile adapter")
	}
	out, _, err := adapter.Adapt([]byte(caddyfile), nil)
	if err != nil {
		if err.Error() == "" {
			t.Fatalf("empty error for %q", caddyfile)
		}
		return
	}
	var v map[string]any
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("adapted to invalid JSON: %v\n%s", err, out)
	}
}

func fuzzUsable(parts ...string) bool {
	for _, p := range parts {
		if len(p) > fuzzMaxPart || strings.Contains(p, "import") {
			return false
		}
	}
	return true
}

// FuzzCaddyfileOsaProxy fuzzes the body of an osa_proxy block (and of its
// pypi repository block).
func FuzzCaddyfileOsaProxy(f *testing.F) {
	f.Add("work_mode strict\nblock_status 451\nstatus_line\nmax_index_size 1MB", "registry https://pypi.org\npackages_registry https://files.pythonhosted.org")
	f.Add("remove_blocked_versions false\nblock_on_errors false\nscan_timeout 5s", "registry http://127.0.0.1:1\nadditional_packages_registry x.example https://x.example\nurl_encoded_config\nwork_mode spectator")
	f.Add("", "registry https://pypi.org\ntransport http {\n\tdial_timeout 1s\n\ttls_trust_pool file /dev/null\n}")
	f.Add("work_mode", "registry")
	f.Add("block_status 200", "registry ftp://x")
	f.Add("}", "{")
	f.Fuzz(func(t *testing.T, handler, repo string) {
		if !fuzzUsable(handler, repo) {
			t.Skip()
		}
		fuzzAdapt(t, ":8080 {\n\tosa_proxy {\n"+handler+"\n\t\tpypi r {\n"+repo+"\n\t\t}\n\t}\n}\n")
	})
}

// FuzzCaddyfileOsaGlobal fuzzes the body of the osa global option.
func FuzzCaddyfileOsaGlobal(f *testing.F) {
	f.Add("intel osv /tmp/osv\nintel_refresh 30m\nintel_max_age 48h\njournal sqlite /tmp/j.db {\n\tretention 30d\n\tqueue_size 10\n}")
	f.Add("policy \"P\" {\n\tstages proxy\n\tblocker\n\tcondition dependency_is_dangerous\n}")
	f.Add("policy \"C\" {\n\tcondition dependency_age < 7d {\n\t\tmissing_upload_time block\n\t}\n\tany {\n\t\tcondition cvss3_score >= 9\n\t\tnot {\n\t\t\tcondition dependency_name_in safe-*\n\t\t}\n\t}\n}")
	f.Add("waiver \"W\" {\n\texpires 2030-01-01\n\tpackages requests\n}")
	f.Add("journal postgres \"postgres://u@h/db\"\nretention -1s")
	f.Add("policy {")
	f.Fuzz(func(t *testing.T, body string) {
		if !fuzzUsable(body) {
			t.Skip()
		}
		fuzzAdapt(t, "{\n\tosa {\n"+body+"\n\t}\n}\n:8080 {\n\tosa_proxy {\n\t\tpypi r {\n\t\t\tregistry https://pypi.org\n\t\t}\n\t}\n}\n")
	})
}
