package integration

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/osaproxy/caddy-osaproxy/integration/fakepypi"
	"github.com/osaproxy/caddy-osaproxy/integration/piptest"
	"github.com/osaproxy/caddy-osaproxy/internal/clock"
	"github.com/osaproxy/caddy-osaproxy/journal"
)

const (
	polCritical = "Critical vulnerabilities"
	polCooldown = "Cooldown"
	polBanned   = "Banned names"
	polReport   = "Report names"
	polDelayed  = "Delayed ban"
	waiverName  = "temporary exception"
)

// policiesConfig is issue 3's policy set over the real PyPA advisories.
func policiesConfig(zip, dir string, fake, htmlFake *fakepypi.Server, waiverExpires time.Time) string {
	osa := fmt.Sprintf(`		intel osv %s
		journal sqlite %s
		policy "%s" {
			stages proxy
			blocker
			condition cvss3_score >= 9.0
		}
		policy "%s" {
			stages proxy
			blocker
			condition dependency_age < 7d {
				allow_security_fixes
				missing_upload_time treat_as_old
			}
		}
		policy "%s" {
			stages proxy
			blocker
			condition dependency_name_in waivedpkg
		}
		policy "%s" {
			stages proxy
			condition dependency_name_in reportme
		}
		policy "%s" {
			stages proxy
			blocker
			delay 2d
			condition dependency_name_in delayme
		}
		waiver "%s" {
			package waivedpkg
			policies "%s"
			expires %s
			justification "vendor fix pending"
			approved_by carol
		}
`, zip, filepath.Join(dir, "journal.db"), polCritical, polCooldown, polBanned, polReport, polDelayed,
		waiverName, polBanned, waiverExpires.UTC().Format(time.RFC3339))
	return e2eGlobal(osa) + site("\t\twork_mode strict\n"+repo("internet-pypi", fake)+repo("html-pypi", htmlFake))
}

// TestE2EPolicies drives issue 3's policies with real pip and a moving
// clock: a CVSS threshold on the real PyPA records, a cooldown with the
// security-fix bypass, a waiver that expires, a report-only policy and a
// delayed block.
func TestE2EPolicies(t *testing.T) {
	osv := sharedOSV(t)
	zip := filepath.Join(osv, "pypa-advisories.zip")
	fake := fakepypi.StartT(t, fakepypi.Options{})
	now := time.Now()
	young := now.Add(-2 * 24 * time.Hour)
	// PYSEC-2023-262 (CVE-2023-43364, CVSS 3.1 9.8) affects searchor < 2.4.2.
	fake.AddProject("searchor", wheel("2.4.0"), wheel("2.4.2"))
	// PYSEC-2018-28 affects requests < 2.20.0: a young 2.20.0 is a security fix.
	fake.AddProject("requests", wheel("2.19.1"), wheelAt("2.20.0", young))
	// A young release that fixes nothing.
	fake.AddProject("youngpkg", wheel("1.0"), wheelAt("1.1", young))
	fake.AddProject("waivedpkg", wheel("1.0"))
	fake.AddProject("reportme", wheel("1.0"))
	fake.AddProject("delayme", wheel("1.0"))
	// A file added to an old release two days ago (the "new wheel for an
	// old version" attack): the cooldown looks at each file's upload time.
	// Its name sorts after the old wheel's, so the page lists it second.
	lateWheel := fakepypi.FileSpec{PlatformTag: "win_amd64", UploadTime: young}
	fake.AddProject("latefile", fakepypi.NewRelease("1.0", fakepypi.FileSpec{}, lateWheel), wheel("0.9"))

	// The same young releases behind an index without JSON (no PEP 700
	// upload times): the proxy learns them from the legacy JSON API.
	htmlFake := fakepypi.StartT(t, fakepypi.Options{HTMLOnly: true})
	htmlFake.AddProject("requests", wheel("2.19.1"), wheelAt("2.20.0", young))
	htmlFake.AddProject("youngpkg", wheel("1.0"), wheelAt("1.1", young))

	loadProxy(t, policiesConfig(zip, t.TempDir(), fake, htmlFake, now.Add(24*time.Hour)), true)
	htmlPage := func(project string) string {
		code, hdr, body := httpDo(t, "GET", proxyURL("/html-pypi/simple/"+project+"/"), map[string]string{"Accept": "text/html"})
		if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") {
			t.Errorf("html-pypi %s: %d %q", project, code, hdr.Get("Content-Type"))
		}
		return body
	}
	index := proxyURL("/internet-pypi/simple/")
	fileURL := func(project, version string) string {
		return proxyURL("/internet-pypi" + fake.File(wheelName(project, version)).Path)
	}

	v := piptest.NewVenv(t)
	v.IndexURL = index
	res, err := v.Install("searchor", "requests", "youngpkg", "waivedpkg", "reportme", "delayme")
	if err != nil {
		t.Fatalf("pip: %v\n%s", err, res.Output())
	}
	got, _ := v.Installed()
	for name, want := range map[string]string{
		"searchor":  "2.4.2", // 2.4.0 is blocked by the CVSS policy
		"requests":  "2.20.0",
		"youngpkg":  "1.0", // 1.1 is in cooldown
		"waivedpkg": "1.0", "reportme": "1.0", "delayme": "1.0",
	} {
		if got[name] != want {
			t.Errorf("%s: installed %q, want %q", name, got[name], want)
		}
	}

	t.Run("cvss", func(t *testing.T) {
		res, err := v.Install("searchor==2.4.0")
		if err == nil {
			t.Fatalf("searchor 2.4.0 (CVSS 9.8) installed:\n%s", res.Output())
		}
		if !strings.Contains(res.Output(), "from versions: 2.4.2") {
			t.Errorf("pip should only have seen 2.4.2:\n%s", res.Output())
		}
		code, hdr, body := httpDo(t, "GET", fileURL("searchor", "2.4.0"), nil)
		if code != 403 || hdr.Get("X-OSA-Status") != journal.StatusBlockedByPolicies {
			t.Fatalf("searchor 2.4.0 download: %d %v", code, hdr)
		}
		for _, want := range []string{"CVE-2023-43364", "9.8", polCritical, "PYSEC-2023-262"} {
			if !strings.Contains(body, want) {
				t.Errorf("block body lacks %q:\n%s", want, body)
			}
		}
	})

	t.Run("cooldown per file", func(t *testing.T) {
		late := fakepypi.DistName("latefile") + "-1.0-py3-none-win_amd64.whl"
		for _, accept := range []string{"text/html", pipAccept} {
			code, hdr, body := httpDo(t, "GET", index+"latefile/", map[string]string{"Accept": accept})
			if code != 200 || hdr.Get("X-OSA-Removed") != "1" || strings.Contains(body, late) ||
				!strings.Contains(body, wheelName("latefile", "1.0")) || !strings.Contains(body, wheelName("latefile", "0.9")) {
				t.Errorf("latefile page (%s): %d removed %q\n%s", accept, code, hdr.Get("X-OSA-Removed"), body)
			}
		}
		code, _, body := httpDo(t, "GET", proxyURL("/internet-pypi"+fake.File(late).Path), nil)
		if code != 403 || !strings.Contains(body, "cooldown") {
			t.Errorf("late wheel download: %d\n%s", code, body)
		}
		if code, _, _ := httpDo(t, "GET", fileURL("latefile", "1.0"), nil); code != 200 {
			t.Errorf("the old wheel of 1.0 should download: %d", code)
		}
	})

	t.Run("cooldown", func(t *testing.T) {
		code, hdr, body := httpDo(t, "GET", index+"youngpkg/", map[string]string{"Accept": pipAccept})
		if code != 200 || hdr.Get("X-OSA-Removed") != "1" || strings.Contains(body, "youngpkg-1.1") {
			t.Errorf("youngpkg page: %d removed %q\n%s", code, hdr.Get("X-OSA-Removed"), body)
		}
		code, _, body = httpDo(t, "GET", fileURL("youngpkg", "1.1"), nil)
		if code != 403 || !strings.Contains(body, "cooldown") {
			t.Errorf("young download: %d\n%s", code, body)
		}
		// The security fix passes the cooldown, in the index and as a download.
		code, hdr, body = httpDo(t, "GET", index+"requests/", map[string]string{"Accept": pipAccept})
		if code != 200 || !strings.Contains(body, "requests-2.20.0") || hdr.Get("X-OSA-Removed") != "" {
			t.Errorf("requests page: %d removed %q\n%s", code, hdr.Get("X-OSA-Removed"), body)
		}
		code, _, body = httpDo(t, "GET", fileURL("requests", "2.20.0"), nil)
		if code != 200 {
			t.Errorf("security fix download: %d\n%s", code, body)
		}
		// The legacy JSON API agrees with the Simple API.
		for project, want := range map[string]map[string]bool{
			"requests": {"2.19.1": true, "2.20.0": true},
			"youngpkg": {"1.0": true, "1.1": false},
		} {
			code, _, body := httpDo(t, "GET", proxyURL("/internet-pypi/pypi/"+project+"/json"), nil)
			var doc struct {
				Releases map[string]json.RawMessage `json:"releases"`
			}
			if err := json.Unmarshal([]byte(body), &doc); code != 200 || err != nil {
				t.Errorf("/pypi/%s/json: %d %v", project, code, err)
				continue
			}
			for ver, listed := range want {
				if _, ok := doc.Releases[ver]; ok != listed {
					t.Errorf("/pypi/%s/json: release %s listed %v, want %v", project, ver, ok, listed)
				}
				code, _, body := httpDo(t, "GET", proxyURL("/internet-pypi/pypi/"+project+"/"+ver+"/json"), nil)
				if (code == 200) != listed {
					t.Errorf("/pypi/%s/%s/json: %d\n%s", project, ver, code, body)
				}
			}
		}
		// The same through an HTML-only index.
		if body := htmlPage("youngpkg"); strings.Contains(body, "youngpkg-1.1") || !strings.Contains(body, "youngpkg-1.0") {
			t.Errorf("HTML youngpkg page in the cooldown:\n%s", body)
		}
		if body := htmlPage("requests"); !strings.Contains(body, "requests-2.20.0") {
			t.Errorf("HTML requests page lacks the security fix:\n%s", body)
		}
		page := requests(t, q("package", "youngpkg", "operation", "index"))
		if len(page.Requests) == 0 || page.Requests[0].Removed != 1 || !contains(page.Requests[0].Policies, polCooldown) ||
			!strings.Contains(page.Requests[0].Reason, "youngpkg 1.1 was uploaded") {
			t.Errorf("youngpkg index records:\n%s", recordSummary(page.Requests))
		}
	})

	t.Run("report_only_and_delay_before", func(t *testing.T) {
		for _, pkg := range []string{"reportme", "delayme"} {
			want := map[string]string{"reportme": journal.StatusWouldBlock, "delayme": journal.StatusDelayedBlock}[pkg]
			pol := map[string]string{"reportme": polReport, "delayme": polDelayed}[pkg]
			page := requests(t, q("package", pkg))
			ops := map[string]bool{}
			for _, r := range page.Requests {
				ops[r.Operation] = true
				if r.Status != want || !contains(r.Policies, pol) || r.HTTPStatus != 200 {
					t.Errorf("%s record %+v, want status %s by %q", pkg, r, want, pol)
				}
			}
			if !ops["index"] || !ops["download"] {
				t.Errorf("%s: want index and download records:\n%s", pkg, recordSummary(page.Requests))
			}
		}
		page := requests(t, q("package", "waivedpkg", "operation", "download"))
		if len(page.Requests) == 0 || page.Requests[0].Waiver != waiverName || page.Requests[0].Status != journal.StatusNotBlocked {
			t.Errorf("waived download: %+v", page.Requests)
		}
	})

	// Two days later: the waiver has expired and the delay is over; no reload.
	clock.Advance(3 * 24 * time.Hour)
	t.Run("after_3d", func(t *testing.T) {
		for _, pkg := range []string{"waivedpkg", "delayme"} {
			code, hdr, body := httpDo(t, "GET", fileURL(pkg, "1.0"), nil)
			if code != 403 || hdr.Get("X-OSA-Status") != journal.StatusBlockedByPolicies {
				t.Errorf("%s after 3 days: %d %q\n%s", pkg, code, hdr.Get("X-OSA-Status"), body)
			}
			code, _, _ = httpDo(t, "GET", index+pkg+"/", map[string]string{"Accept": pipAccept})
			if code != 403 {
				t.Errorf("%s index after 3 days: %d", pkg, code)
			}
		}
		// Report-only still blocks nothing.
		if code, _, _ := httpDo(t, "GET", fileURL("reportme", "1.0"), nil); code != 200 {
			t.Errorf("reportme after 3 days: %d", code)
		}
		// youngpkg 1.1 is 5 days old: still cooling down.
		if _, _, body := httpDo(t, "GET", index+"youngpkg/", map[string]string{"Accept": pipAccept}); strings.Contains(body, "youngpkg-1.1") {
			t.Errorf("youngpkg 1.1 listed at 5 days")
		}
		if err := v.Reset(); err != nil {
			t.Fatal(err)
		}
		if res, err := v.Install("waivedpkg"); err == nil {
			t.Errorf("waivedpkg installed after its waiver expired:\n%s", res.Output())
		}
	})

	clock.Advance(3 * 24 * time.Hour)
	t.Run("after_6d", func(t *testing.T) {
		res, err := v.Install("youngpkg")
		if err != nil {
			t.Fatalf("youngpkg after the cooldown: %v\n%s", err, res.Output())
		}
		if got, _ := v.Installed(); got["youngpkg"] != "1.1" {
			t.Errorf("youngpkg %q after the cooldown, want 1.1", got["youngpkg"])
		}
		if body := htmlPage("youngpkg"); !strings.Contains(body, "youngpkg-1.1") {
			t.Errorf("HTML youngpkg page after the cooldown lacks 1.1:\n%s", body)
		}
	})
}
