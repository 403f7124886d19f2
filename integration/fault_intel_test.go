package integration

// Threat-intelligence faults: what each work mode does when the OSV source
// is missing, corrupt or partial at start, and that a refresh that fails
// keeps the previous snapshot in force.
//
// | Intelligence at start (missing, corrupt, truncated zip, one invalid record) | warmup    | spectator            | moderate             | strict                          | strict_wait                                  |
// |-----------------------------------------------------------------------------|-----------|----------------------|----------------------|---------------------------------|----------------------------------------------|
// | index page / download of any package                                        | 200, no row | 200, not_blocked (unscanned) | 200, not_blocked (unscanned) | block_status, blocked_unscanned | block_status after scan_timeout, blocked_scan_timeout |
// | GET /osa/ready                                                              | 503       | 503                  | 503                  | 503                             | 503                                          |
//
// At refresh (intel_refresh) a source that became missing, corrupt or
// truncated, or holds one invalid record, fails as a whole: the previous
// snapshot stays in force (same id, same blocks) and /osa/intel reports the
// error; a later good file is picked up and a newly dangerous version is
// blocked on its next request. Intelligence older than intel_max_age counts
// as none: strict modes block unscanned, moderate lets through.

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/osaproxy/caddy-osaproxy/integration/fakepypi"
)

// rsMALRecord returns a malicious-package OSV record as JSON.
func rsMALRecord(id, pkg string, versions ...string) []byte {
	rec := map[string]any{
		"schema_version": "1.6.0", "id": id, "modified": "2025-01-02T03:04:05Z", "published": "2025-01-02T03:04:05Z",
		"summary": "Malicious code in " + pkg + " (PyPI)",
		"affected": []any{map[string]any{
			"package":  map[string]any{"ecosystem": "PyPI", "name": pkg},
			"versions": versions,
		}},
	}
	b, _ := json.Marshal(rec)
	return b
}

// rsWriteZip atomically replaces path with a zip of the given files.
func rsWriteZip(t testing.TB, path string, files map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, data := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	rsWriteFileAtomic(t, path, buf.Bytes())
	return buf.Bytes()
}

func rsWriteFileAtomic(t testing.TB, path string, data []byte) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// rsGet sends a GET to the proxy and returns status, headers and body.
func rsGet(t testing.TB, path string, hdr ...string) (int, http.Header, []byte) {
	t.Helper()
	resp, err := rsRawRequest("GET", path, hdr...)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return resp.Status, resp.Header, resp.Body
}

func TestFaultIntelAtStart(t *testing.T) {
	fake := fakepypi.StartT(t, fakepypi.Options{})
	fake.AddProject("okpkg", fakepypi.NewRelease("1.0", fakepypi.FileSpec{}))
	okWheel := fake.ProjectFiles("okpkg", "1.0")[0]
	dir := t.TempDir()
	good := rsWriteZip(t, filepath.Join(dir, "good.zip"), map[string][]byte{"MAL-2099-0301.json": rsMALRecord("MAL-2099-0301", "badpkg", "1.0")})

	sources := []struct {
		name  string
		write func(path string)
	}{
		{"missing", func(string) {}},
		{"corrupt", func(p string) { rsWriteFileAtomic(t, p, []byte("this is not a zip file\x00\x01")) }},
		{"truncated zip", func(p string) { rsWriteFileAtomic(t, p, good[:len(good)/2]) }},
		{"one invalid record", func(p string) {
			rsWriteZip(t, p, map[string][]byte{
				"MAL-2099-0301.json": rsMALRecord("MAL-2099-0301", "badpkg", "1.0"),
				"MAL-2099-0302.json": []byte(`{"id": "MAL-2099-0302", "affected": [{"package": {"ecosystem": "PyPI", "name": "x"}, "versions": [`),
			})
		}},
	}
	modes := []struct {
		mode        string
		status      int    // client status for the index and the download
		record      string // journal status ("" = no row)
		slowAtLeast time.Duration
	}{
		{"warmup", 200, "", 0},
		{"spectator", 200, "not_blocked", 0},
		{"moderate", 200, "not_blocked", 0},
		{"strict", 403, "blocked_unscanned", 0},
		{"strict_wait", 403, "blocked_scan_timeout", time.Second},
	}
	for i, src := range sources {
		path := filepath.Join(dir, fmt.Sprintf("src%d.zip", i))
		src.write(path)
		for _, m := range modes {
			t.Run(src.name+"/"+m.mode, func(t *testing.T) {
				rsLoadProxy(t, rsProxyCfg{Mode: m.mode, Handler: "scan_timeout 1s", Registry: fake.IndexURL(), Packages: fake.FilesURL(),
					Intel: []string{path}, Dir: t.TempDir()})
				resp, err := http.Get(rsAdminBase + "/osa/ready")
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusServiceUnavailable {
					t.Errorf("/osa/ready: %d, want 503", resp.StatusCode)
				}
				if st := rsIntelSnapshot(t); st != "" {
					t.Fatalf("a snapshot is in force from a %s source: %s", src.name, st)
				}
				for _, target := range []string{"/r/simple/okpkg/", "/r" + okWheel.Path} {
					_, before := rsJournalRows(t, "")
					t0 := time.Now()
					code, hdr, body := rsGet(t, target, "Accept: "+pipAcceptRS)
					took := time.Since(t0)
					if code != m.status {
						t.Errorf("%s: status %d, want %d\n%s", target, code, m.status, truncateStr(body, 300))
					}
					if m.status == 403 && hdr.Get("X-OSA-Status") != m.record {
						t.Errorf("%s: X-OSA-Status %q, want %q", target, hdr.Get("X-OSA-Status"), m.record)
					}
					if m.status == 403 && (bytes.Contains(body, okWheel.Data[:64]) || bytes.Contains(body, []byte(okWheel.SHA256))) {
						t.Errorf("%s: BYPASS: the blocked answer carries the file", target)
					}
					if took < m.slowAtLeast {
						t.Errorf("%s: answered after %s, before scan_timeout", target, took)
					}
					rows, after := rsJournalRows(t, "")
					if m.record == "" {
						if after != before {
							t.Errorf("%s: %d journal rows in warmup", target, after-before)
						}
						continue
					}
					if after != before+1 || rows[0].Status != m.record || rows[0].HTTPStatus != code {
						t.Errorf("%s: journal %d new rows, newest %+v; want one %s", target, after-before, rows[0], m.record)
					}
				}
			})
		}
	}
}

func TestFaultIntelAtRefresh(t *testing.T) {
	fake := fakepypi.StartT(t, fakepypi.Options{})
	fake.AddProject("badpkg", fakepypi.NewRelease("1.0", fakepypi.FileSpec{}), fakepypi.NewRelease("2.0", fakepypi.FileSpec{}))
	fake.AddProject("okpkg", fakepypi.NewRelease("1.0", fakepypi.FileSpec{}), fakepypi.NewRelease("2.0", fakepypi.FileSpec{}))
	badWheel := fake.ProjectFiles("badpkg", "1.0")[0]
	okWheel := fake.ProjectFiles("okpkg", "1.0")[0]
	dir := t.TempDir()
	src := filepath.Join(dir, "osv.zip")
	first := map[string][]byte{"MAL-2099-0401.json": rsMALRecord("MAL-2099-0401", "badpkg", "1.0")}
	good := rsWriteZip(t, src, first)

	rsLoadProxy(t, rsProxyCfg{Mode: "strict", Registry: fake.IndexURL(), Packages: fake.FilesURL(),
		Intel: []string{src}, Global: "intel_refresh 300ms", Dir: dir})
	rsWaitReady(t, 30*time.Second)
	snap := rsIntelSnapshot(t)
	if snap == "" {
		t.Fatal("no snapshot")
	}
	expectBlocked := func(what string, f *fakepypi.File, blocked bool) {
		t.Helper()
		code, hdr, body := rsGet(t, "/r"+f.Path)
		switch {
		case blocked && (code != 403 || hdr.Get("X-OSA-Status") != "blocked_by_policies"):
			t.Errorf("%s: %s: status %d %s, want 403 blocked_by_policies", what, f.Filename, code, hdr.Get("X-OSA-Status"))
		case !blocked && (code != 200 || sha256hexRS(body) != f.SHA256):
			t.Errorf("%s: %s: status %d, want the file", what, f.Filename, code)
		}
	}
	expectBlocked("initial", badWheel, true)
	expectBlocked("initial", okWheel, false)

	damage := []struct {
		name  string
		write func()
	}{
		{"corrupt", func() { rsWriteFileAtomic(t, src, []byte("garbage, not a zip")) }},
		{"truncated", func() { rsWriteFileAtomic(t, src, good[:len(good)-40]) }},
		{"one invalid record", func() {
			rsWriteZip(t, src, map[string][]byte{
				"MAL-2099-0401.json": rsMALRecord("MAL-2099-0401", "badpkg", "1.0"),
				"MAL-2099-0402.json": rsMALRecord("MAL-2099-0402", "okpkg", "1.0"),
				"MAL-2099-0403.json": []byte(`{"id": 7}`),
			})
		}},
		{"empty zip", func() { rsWriteZip(t, src, map[string][]byte{}) }},
		{"deleted", func() { os.Remove(src) }},
	}
	for _, d := range damage {
		d.write()
		// Several refresh periods pass; the damaged source must be noticed.
		deadline := time.Now().Add(10 * time.Second)
		var lastErr string
		for time.Now().Before(deadline) {
			var st struct {
				LastError string `json:"last_error"`
			}
			rsGetJSON(t, rsAdminBase+"/osa/intel", &st)
			if lastErr = st.LastError; lastErr != "" {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if lastErr == "" {
			t.Errorf("%s: the refresh error is not reported by /osa/intel", d.name)
		}
		time.Sleep(700 * time.Millisecond)
		if got := rsIntelSnapshot(t); got != snap {
			t.Errorf("%s: the snapshot changed from %s to %s", d.name, snap, got)
		}
		expectBlocked(d.name, badWheel, true)
		expectBlocked(d.name, okWheel, false)
		code, _, body := rsGet(t, "/r/simple/badpkg/", "Accept: "+pipAcceptRS)
		if code != 200 || bytes.Contains(body, []byte(badWheel.Filename)) || !strings.Contains(string(body), "badpkg-2.0") {
			t.Errorf("%s: index %d lists the blocked version or lost the allowed one:\n%s", d.name, code, truncateStr(body, 400))
		}
	}

	// A good update swaps the snapshot; the newly dangerous version is
	// blocked on its next request.
	rsWriteZip(t, src, map[string][]byte{
		"MAL-2099-0401.json": rsMALRecord("MAL-2099-0401", "badpkg", "1.0"),
		"MAL-2099-0402.json": rsMALRecord("MAL-2099-0402", "okpkg", "1.0"),
	})
	deadline := time.Now().Add(15 * time.Second)
	for rsIntelSnapshot(t) == snap && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if rsIntelSnapshot(t) == snap {
		t.Fatal("the good update was not picked up")
	}
	expectBlocked("after update", okWheel, true)
	expectBlocked("after update", badWheel, true)
	expectBlocked("after update", fake.ProjectFiles("okpkg", "2.0")[0], false)
}

func TestFaultIntelMaxAge(t *testing.T) {
	fake := fakepypi.StartT(t, fakepypi.Options{})
	fake.AddProject("okpkg", fakepypi.NewRelease("1.0", fakepypi.FileSpec{}))
	okWheel := fake.ProjectFiles("okpkg", "1.0")[0]
	dir := t.TempDir()
	src := filepath.Join(dir, "osv.zip")
	rsWriteZip(t, src, map[string][]byte{"MAL-2099-0501.json": rsMALRecord("MAL-2099-0501", "badpkg", "1.0")})
	for _, m := range []struct {
		mode   string
		status int
		record string
	}{{"strict", 403, "blocked_unscanned"}, {"moderate", 200, "not_blocked"}} {
		t.Run(m.mode, func(t *testing.T) {
			rsLoadProxy(t, rsProxyCfg{Mode: m.mode, Registry: fake.IndexURL(), Packages: fake.FilesURL(),
				Intel: []string{src}, Global: "intel_refresh 200ms\n\t\tintel_max_age 1s", Dir: t.TempDir()})
			rsWaitReady(t, 30*time.Second)
			if code, _, _ := rsGet(t, "/r"+okWheel.Path); code != 200 {
				t.Fatalf("fresh intelligence: status %d", code)
			}
			// The source breaks: no successful refresh from now on.
			rsWriteFileAtomic(t, src, []byte("broken"))
			defer rsWriteZip(t, src, map[string][]byte{"MAL-2099-0501.json": rsMALRecord("MAL-2099-0501", "badpkg", "1.0")})
			time.Sleep(1800 * time.Millisecond)
			code, hdr, _ := rsGet(t, "/r"+okWheel.Path)
			if code != m.status || (m.status == 403 && hdr.Get("X-OSA-Status") != m.record) {
				t.Errorf("stale intelligence: status %d %s, want %d %s", code, hdr.Get("X-OSA-Status"), m.status, m.record)
			}
			rows, _ := rsJournalRows(t, "")
			if len(rows) == 0 || rows[0].Status != m.record {
				t.Errorf("journal: %+v, want %s", rows, m.record)
			}
			resp, err := http.Get(rsAdminBase + "/osa/ready")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusServiceUnavailable {
				t.Errorf("/osa/ready with stale intelligence: %d", resp.StatusCode)
			}
		})
	}
}

const pipAcceptRS = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01"

func sha256hexRS(b []byte) string { return rsSha256hex(b) }
