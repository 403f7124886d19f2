package integration

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/osaproxy/caddy-osaproxy/integration/fakepypi"
	"github.com/osaproxy/caddy-osaproxy/integration/piptest"
	"github.com/osaproxy/caddy-osaproxy/journal"
)

// TestE2EWorkModes checks each work mode on the same upstream and the same
// real MAL records: one repository per mode (per-repository work_mode).
func TestE2EWorkModes(t *testing.T) {
	osv := sharedOSV(t)
	fake := fakepypi.StartT(t, fakepypi.Options{})
	fake.AddProject("libhmac", wheel("1.0.0"), wheel("1.1.0"), wheel("1.2.0"))
	fake.AddProject("inlifegram", wheel("2.1.2.8"))

	modes := []string{"warmup", "spectator", "moderate", "strict", "strict_wait"}
	var repos string
	for _, m := range modes {
		repos += repo("m-"+m, fake, "work_mode "+m)
	}
	loadProxy(t, e2eGlobal(dangerOSA(filepath.Join(osv, "malicious"), t.TempDir()))+site("\t\twork_mode strict\n"+repos), true)

	bad := fake.File(wheelName("libhmac", "1.1.0"))
	v := piptest.NewVenv(t)
	for _, tc := range []struct {
		mode      string
		blocks    bool   // index filtered, downloads refused
		journal   string // status of the dangerous download's record ("" = no record at all)
		pipChecks bool   // also install the dangerous packages with pip
	}{
		{"warmup", false, "", true},
		{"spectator", false, journal.StatusWouldBlock, true},
		{"moderate", true, journal.StatusBlockedByPolicies, false},
		{"strict", true, journal.StatusBlockedByPolicies, false},
		{"strict_wait", true, journal.StatusBlockedByPolicies, false},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			fake.ResetRequests()
			base := "/m-" + tc.mode
			code, hdr, body := httpDo(t, "GET", proxyURL(base+"/simple/libhmac/"), map[string]string{"Accept": pipAccept})
			listed := strings.Contains(body, "libhmac-1.1.0")
			if code != 200 || listed == tc.blocks {
				t.Errorf("index: %d, 1.1.0 listed %v (X-OSA-Removed %q)", code, listed, hdr.Get("X-OSA-Removed"))
			}
			if (hdr.Get("X-OSA-Removed") == "1") != tc.blocks {
				t.Errorf("X-OSA-Removed %q", hdr.Get("X-OSA-Removed"))
			}
			code, _, _ = httpDo(t, "GET", proxyURL(base+"/simple/inlifegram/"), map[string]string{"Accept": pipAccept})
			if want := map[bool]int{true: 403, false: 200}[tc.blocks]; code != want {
				t.Errorf("inlifegram index: %d, want %d", code, want)
			}
			code, hdr, body = httpDo(t, "GET", proxyURL(base+bad.Path), nil)
			if tc.blocks {
				if code != 403 || hdr.Get("X-OSA-Status") != tc.journal || fetchedFile(fake, bad.Filename) {
					t.Errorf("dangerous download: %d %q, fetched upstream %v", code, hdr.Get("X-OSA-Status"), fetchedFile(fake, bad.Filename))
				}
			} else if code != 200 || body != string(bad.Data) || hdr.Get("X-OSA-Status") != "" {
				t.Errorf("dangerous download in %s: %d %q", tc.mode, code, hdr.Get("X-OSA-Status"))
			}

			if tc.pipChecks {
				if err := v.Reset(); err != nil {
					t.Fatal(err)
				}
				v.IndexURL = proxyURL(base + "/simple/")
				res, err := v.Install("libhmac==1.1.0", "inlifegram")
				if err != nil {
					t.Fatalf("%s must not block: %v\n%s", tc.mode, err, res.Output())
				}
				if got, _ := v.Installed(); got["libhmac"] != "1.1.0" || got["inlifegram"] != "2.1.2.8" {
					t.Errorf("installed %v", got)
				}
			}

			page := requests(t, q("repository", "m-"+tc.mode))
			if tc.journal == "" {
				if len(page.Requests) != 0 {
					t.Errorf("warmup wrote %d journal records:\n%s", len(page.Requests), recordSummary(page.Requests))
				}
				return
			}
			rec, ok := findRecord(page.Requests, func(r journal.Record) bool {
				return r.Operation == "download" && r.File == bad.Filename
			})
			if !ok || rec.Status != tc.journal || rec.WorkMode != tc.mode || !contains(rec.Advisories, "MAL-2026-4194") || !contains(rec.Policies, dangerPolicy) {
				t.Errorf("download record: %+v\n%s", rec, recordSummary(page.Requests))
			}
			idx, ok := findRecord(page.Requests, func(r journal.Record) bool {
				return r.Operation == "index" && r.Package == "inlifegram"
			})
			if want := map[bool]string{true: journal.StatusBlockedByPolicies, false: journal.StatusWouldBlock}[tc.blocks]; !ok || idx.Status != want {
				t.Errorf("inlifegram index record: %+v, want %s", idx, want)
			}
			if tc.mode == "spectator" {
				for _, r := range page.Requests {
					if journal.IsBlocked(r.Status) {
						t.Errorf("spectator recorded a block: %+v", r)
					}
				}
			}
		})
	}
}

// TestE2EUnscanned points the intelligence at a folder that does not exist:
// strict blocks even allowed packages as unscanned, moderate lets them pass,
// strict_wait waits scan_timeout and then blocks with blocked_scan_timeout.
func TestE2EUnscanned(t *testing.T) {
	fake := fakepypi.StartT(t, fakepypi.Options{})
	fake.AddProject("unscannedok", wheel("1.0"))
	tmp := t.TempDir()
	missing := filepath.Join(tmp, "no-such-osv-folder")
	cfg := e2eGlobal(dangerOSA(missing, tmp)) + site("\t\twork_mode strict\n\t\tscan_timeout 1s\n"+
		repo("u-strict", fake)+repo("u-moderate", fake, "work_mode moderate")+repo("u-wait", fake, "work_mode strict_wait"))
	loadProxy(t, cfg, false)

	code, _, body := httpDo(t, "GET", adminURL("/osa/ready"), nil)
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "not loaded") {
		t.Errorf("/osa/ready with missing intel: %d %s", code, body)
	}
	f := fake.File(wheelName("unscannedok", "1.0"))
	for _, tc := range []struct {
		repo, status string
		code         int
		minWait      time.Duration
	}{
		{"u-strict", journal.StatusBlockedUnscanned, 403, 0},
		{"u-moderate", journal.StatusNotBlocked, 200, 0},
		{"u-wait", journal.StatusBlockedTimeout, 403, time.Second},
	} {
		t.Run(tc.repo, func(t *testing.T) {
			fake.ResetRequests()
			for _, path := range []string{"/simple/unscannedok/", f.Path} {
				start := time.Now()
				code, hdr, body := httpDo(t, "GET", proxyURL("/"+tc.repo+path), map[string]string{"Accept": pipAccept})
				took := time.Since(start)
				if code != tc.code || took < tc.minWait {
					t.Errorf("%s: %d after %s, want %d after at least %s\n%s", path, code, took, tc.code, tc.minWait, body)
				}
				if tc.code == 403 && (hdr.Get("X-OSA-Status") != tc.status || !strings.Contains(body, "GET /osa/intel")) {
					t.Errorf("%s: X-OSA-Status %q\n%s", path, hdr.Get("X-OSA-Status"), body)
				}
			}
			if tc.code == 403 && fetchedFile(fake, f.Filename) {
				t.Errorf("an unscanned file was fetched upstream")
			}
			page := requests(t, q("repository", tc.repo))
			if len(page.Requests) != 2 {
				t.Fatalf("want 2 records:\n%s", recordSummary(page.Requests))
			}
			for _, r := range page.Requests {
				if r.Status != tc.status || r.Package != "unscannedok" {
					t.Errorf("record %+v, want status %s", r, tc.status)
				}
				if tc.status == journal.StatusNotBlocked && r.Operation == "download" && !strings.Contains(r.Reason, "unscanned") {
					t.Errorf("moderate pass-through does not say it was unscanned: %q", r.Reason)
				}
			}
		})
	}
	t.Run("pip_moderate", func(t *testing.T) {
		v := piptest.NewVenv(t)
		v.IndexURL = proxyURL("/u-moderate/simple/")
		if res, err := v.Install("unscannedok"); err != nil {
			t.Fatalf("moderate must let unscanned packages pass: %v\n%s", err, res.Output())
		}
		v.IndexURL = proxyURL("/u-strict/simple/")
		if res, err := v.Install("--force-reinstall", "unscannedok"); err == nil {
			t.Fatalf("strict installed an unscanned package:\n%s", res.Output())
		}
	})
}

// TestE2EMarkedVersions sets remove_blocked_versions false: blocked files
// stay listed, marked yanked with the reason and without their metadata
// attributes, and pip still cannot download the pinned version.
func TestE2EMarkedVersions(t *testing.T) {
	osv := sharedOSV(t)
	fake := fakepypi.StartT(t, fakepypi.Options{})
	fake.AddProject("libhmac",
		wheel("0.8.28.1"), // MAL-2026-4194, and yanked upstream without a reason
		wheel("1.0.0"), wheel("1.1.0"), wheel("1.2.0"))
	fake.Yank("libhmac", "0.8.28.1", true, "")
	loadProxy(t, e2eGlobal(dangerOSA(filepath.Join(osv, "malicious"), t.TempDir()))+
		site("\t\twork_mode strict\n\t\tremove_blocked_versions false\n"+repo("marked", fake)), true)
	index := proxyURL("/marked/simple/")

	t.Run("html", func(t *testing.T) {
		code, hdr, body := httpDo(t, "GET", index+"libhmac/", map[string]string{"Accept": "text/html"})
		if code != 200 || hdr.Get("X-OSA-Removed") != "2" {
			t.Fatalf("%d X-OSA-Removed %q", code, hdr.Get("X-OSA-Removed"))
		}
		for _, v := range []string{"0.8.28.1", "1.1.0"} {
			a := anchorFor(body, wheelName("libhmac", v))
			if !strings.Contains(a, `data-yanked="blocked by osa_proxy: `+dangerPolicy) || !strings.Contains(a, "MAL-2026-4194") {
				t.Errorf("%s not marked with the reason: %s", v, a)
			}
			if strings.Contains(a, `data-yanked=""`) || strings.Contains(a, "data-core-metadata") || strings.Contains(a, "data-dist-info-metadata") {
				t.Errorf("%s: bare yank or metadata attributes left: %s", v, a)
			}
		}
		for _, v := range []string{"1.0.0", "1.2.0"} {
			a := anchorFor(body, wheelName("libhmac", v))
			if strings.Contains(a, "data-yanked") || !strings.Contains(a, "data-core-metadata=\"sha256=") {
				t.Errorf("allowed %s changed: %s", v, a)
			}
		}
	})

	t.Run("json", func(t *testing.T) {
		_, _, body := httpDo(t, "GET", index+"libhmac/", map[string]string{"Accept": pipAccept})
		files := jsonFiles(t, body)
		if len(files) != 4 {
			t.Fatalf("want 4 files listed, got %d", len(files))
		}
		for _, f := range files {
			name := f["filename"].(string)
			blocked := strings.Contains(name, "-1.1.0-") || strings.Contains(name, "-0.8.28.1-")
			y, isStr := f["yanked"].(string)
			if blocked {
				if !isStr || !strings.HasPrefix(y, "blocked by osa_proxy: ") || !strings.Contains(y, "MAL-2026-4194") ||
					f["core-metadata"] != false || f["data-dist-info-metadata"] != false {
					t.Errorf("%s: yanked %v core-metadata %v data-dist-info-metadata %v", name, f["yanked"], f["core-metadata"], f["data-dist-info-metadata"])
				}
			} else if f["yanked"] != false || f["core-metadata"] == false {
				t.Errorf("allowed %s changed: %v", name, f)
			}
		}
	})

	t.Run("pip_pinned", func(t *testing.T) {
		fake.ResetRequests()
		v := piptest.NewVenv(t)
		v.IndexURL = index
		res, err := v.Install("libhmac==1.1.0")
		if err == nil {
			t.Fatalf("pip installed the marked version:\n%s", res.Output())
		}
		// pip picks a yanked file for an == pin (PEP 592); the download is refused.
		if !strings.Contains(res.Output(), "HTTP error 403") || !strings.Contains(res.Output(), "libhmac-1.1.0-py3-none-any.whl") {
			t.Errorf("pip output should show the refused download:\n%s", res.Output())
		}
		for _, r := range fake.Requests() {
			if strings.Contains(r.Path, "libhmac-1.1.0") {
				t.Errorf("upstream was asked for %s", r.Path)
			}
		}
	})
}
