package osaproxy

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/osaproxy/caddy-osaproxy/internal/pagegen"
)

// BenchmarkIndexPage6000 measures one request for a 6,000-file project page
// through an in-process Caddy with osa_proxy (strict, the bench/run policy
// set over the real OSV data in ../shared/osv), sequentially, so ns/op is
// the whole request's cost without contention: uncached (the upstream sends
// no ETag: fetch, parse, decide 6,000 files, render) and revalidated (304
// from upstream, cached filtered page). The upstream is an httptest server
// in the same process; its share is the plain-proxy baseline's order.
//
//	go test -run XXX -bench IndexPage6000 -benchtime 20x -cpuprofile cpu.out .
func BenchmarkIndexPage6000(b *testing.B) {
	osv, err := filepath.Abs("../shared/osv")
	if err != nil || !exists(filepath.Join(osv, "malicious")) {
		b.Skip("../shared/osv not found")
	}
	p := pagegen.NewProject(1, "imgmatrix-analysis", 1200, 5)
	start := time.Date(2015, 3, 1, 12, 0, 0, 0, time.UTC)
	span := time.Now().Add(-30*24*time.Hour).Sub(start) / time.Duration(len(p.Files)+1)
	for i := range p.Files {
		p.Files[i].UploadTime = start.Add(span * time.Duration(i+1)).Truncate(time.Microsecond)
	}
	var base string
	pages := map[string][]byte{}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := "html"
		if strings.Contains(r.Header.Get("Accept"), "json") {
			f = "json"
		}
		body := pages[f]
		if r.URL.Path == "/pypi/imgmatrix-analysis/json" {
			body, f = pages["legacy"], "legacy"
		} else if r.URL.Path != "/simple/imgmatrix-analysis/" {
			http.NotFound(w, r)
			return
		}
		sum := sha256.Sum256(body)
		etag := `"` + hex.EncodeToString(sum[:8]) + `"`
		w.Header().Set("Content-Type", map[string]string{"html": "text/html", "json": "application/vnd.pypi.simple.v1+json", "legacy": "application/json"}[f])
		if r.Header.Get("X-Bench-No-ETag") == "" {
			w.Header().Set("ETag", etag)
			if r.Header.Get("If-None-Match") == etag {
				w.WriteHeader(http.StatusNotModified)
				return
			}
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		_, _ = w.Write(body)
	}))
	defer up.Close()
	base = up.URL
	old, repl := []byte("https://files.pythonhosted.org/"), []byte(base+"/")
	pages["html"] = bytes.ReplaceAll(p.HTML(), old, repl)
	pages["json"] = bytes.ReplaceAll(p.JSON(), old, repl)
	var legacy strings.Builder
	legacy.WriteString(`{"info":{"name":"imgmatrix-analysis"},"releases":{`)
	for i, f := range p.Files {
		if i > 0 {
			legacy.WriteByte(',')
		}
		// one release per file keeps the document simple and valid
		fmt.Fprintf(&legacy, `"%s-%d":[{"filename":%q,"upload_time_iso_8601":%q}]`, f.Version, i, f.Filename, f.UploadTime.Format(time.RFC3339Nano))
	}
	legacy.WriteString(`},"urls":[]}`)
	pages["legacy"] = []byte(legacy.String())

	dir := b.TempDir()
	b.Setenv("XDG_DATA_HOME", filepath.Join(dir, "data"))
	b.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "config"))
	port := freePort(b)
	cfg := fmt.Sprintf(`{
	admin off
	persist_config off
	auto_https off
	osa {
		intel osv %[1]s/malicious
		intel osv %[1]s/pypa-advisories.zip
		policy "Dangerous dependency" {
			blocker
			condition dependency_is_dangerous
		}
		policy "Critical vulnerabilities" {
			blocker
			any {
				condition cvss3_score >= 9.0
				condition vulnerability_id_in CVE-2018-18074
			}
		}
		policy "Cooldown" {
			blocker
			condition dependency_age < 7d {
				allow_security_fixes
				missing_upload_time treat_as_old
			}
		}
		policy "Internal names" {
			blocker
			delay 14d
			condition reserved_names acme-* internal-*
		}
		policy "Report sdists" {
			all {
				condition package_type_in sdist
				not {
					condition dependency_name_in setuptools
				}
			}
		}
		waiver "reviewed" {
			package example-lib
			version ==1.2.3
			expires 2099-12-31T00:00:00Z
			justification "bench"
			approved_by bench
		}
		journal sqlite %[2]s
	}
}
http://127.0.0.1:%[3]d {
	osa_proxy {
		work_mode strict
		pypi pypi {
			registry %[4]s
		}
	}
}`, osv, filepath.Join(dir, "journal.db"), port, base)
	loadCaddy(b, cfg)
	url := fmt.Sprintf("http://127.0.0.1:%d/pypi/simple/imgmatrix-analysis/", port)
	get := func(accept string, noETag bool) (int, int) {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("Accept", accept)
		if noETag {
			req.Header.Set("X-Bench-No-ETag", "1")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, int(n)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if code, _ := get("text/html", true); code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			b.Fatal("proxy not ready")
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, c := range []struct {
		name, accept string
		noETag       bool
	}{
		{"html-uncached", "text/html", true},
		{"json-uncached", "application/vnd.pypi.simple.v1+json", true},
		{"html-revalidated", "text/html", false},
		{"json-revalidated", "application/vnd.pypi.simple.v1+json", false},
	} {
		b.Run(c.name, func(b *testing.B) {
			code, n := get(c.accept, c.noETag)
			if code != http.StatusOK {
				b.Fatalf("status %d", code)
			}
			b.SetBytes(int64(n))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				get(c.accept, c.noETag)
			}
		})
	}
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }
