package integration

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/osaproxy/caddy-osaproxy/integration/fakepypi"
	"github.com/osaproxy/caddy-osaproxy/integration/piptest"
	"github.com/osaproxy/caddy-osaproxy/journal"
)

// osvFeed imitates osv.dev's bulk export of one ecosystem: /PyPI/all.zip
// with an ETag (304 on If-None-Match); no modified_id.csv (404), so the
// proxy refreshes with conditional downloads of the zip.
type osvFeed struct {
	mu       sync.Mutex
	body     []byte
	etag     string
	fetches  atomic.Int64 // 200 answers
	requests atomic.Int64
}

func (f *osvFeed) set(body []byte) {
	sum := sha256.Sum256(body)
	f.mu.Lock()
	f.body, f.etag = body, `"`+hex.EncodeToString(sum[:8])+`"`
	f.mu.Unlock()
}

func (f *osvFeed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.requests.Add(1)
	if r.URL.Path != "/PyPI/all.zip" {
		http.NotFound(w, r)
		return
	}
	f.mu.Lock()
	body, etag := f.body, f.etag
	f.mu.Unlock()
	w.Header().Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	f.fetches.Add(1)
	w.Header().Set("Content-Type", "application/zip")
	_, _ = w.Write(body)
}

// osvZip zips real records from the malicious folder, one <ID>.json each.
func osvZip(t testing.TB, dir string, ids ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, id := range ids {
		data, err := os.ReadFile(filepath.Join(dir, id+".json"))
		if err != nil {
			t.Fatal(err)
		}
		w, err := zw.Create(id + ".json")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// intelState is GET /osa/intel.
type intelState struct {
	Snapshot  *string `json:"snapshot"`
	Records   int     `json:"records"`
	LastError string  `json:"last_error"`
}

func getIntel(t testing.TB) intelState {
	t.Helper()
	code, _, body := httpDo(t, "GET", adminURL("/osa/intel"), nil)
	if code != 200 {
		t.Fatalf("/osa/intel: %d %s", code, body)
	}
	var s intelState
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		t.Fatalf("/osa/intel: %v\n%s", err, body)
	}
	return s
}

// waitIntel polls /osa/intel until cond holds.
func waitIntel(t testing.TB, what string, d time.Duration, cond func(intelState) bool) intelState {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		s := getIntel(t)
		if cond(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s (intel: %+v)", what, d, s)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestE2EIntelRefresh loads the intelligence from an HTTP source that
// changes: after the refresh a version becomes blocked (real pip refuses it),
// and a corrupt update leaves the previous snapshot in force with the error
// visible in GET /osa/intel.
func TestE2EIntelRefresh(t *testing.T) {
	mal := filepath.Join(sharedOSV(t), "malicious")
	feed := &osvFeed{}
	feed.set(osvZip(t, mal, "MAL-2024-12186")) // a-oder only
	srv := httptest.NewServer(feed)
	defer srv.Close()

	fake := fakepypi.StartT(t, fakepypi.Options{})
	fake.AddProject("libhmac", wheel("1.0.0"), wheel("1.1.0"), wheel("1.2.0"))
	osa := dangerOSA(srv.URL+"/PyPI/all.zip", t.TempDir()) + "\t\tintel_refresh 1s\n"
	loadProxy(t, e2eGlobal(osa)+site("\t\twork_mode strict\n"+repo("internet-pypi", fake)), true)
	index := proxyURL("/internet-pypi/simple/")
	bad := fake.File(wheelName("libhmac", "1.1.0"))
	accept := map[string]string{"Accept": pipAccept}

	first := waitIntel(t, "first snapshot", 30*time.Second, func(s intelState) bool { return s.Snapshot != nil })
	if first.Records != 1 || first.LastError != "" {
		t.Fatalf("first snapshot: %+v", first)
	}
	// Not in the intelligence yet: libhmac 1.1.0 is listed and downloadable.
	if _, _, body := httpDo(t, "GET", index+"libhmac/", accept); !strings.Contains(body, "libhmac-1.1.0") {
		t.Fatalf("libhmac 1.1.0 missing before the update:\n%s", body)
	}
	if code, _, _ := httpDo(t, "GET", proxyURL("/internet-pypi"+bad.Path), nil); code != 200 {
		t.Fatalf("libhmac 1.1.0 download before the update: %d", code)
	}

	// The feed publishes MAL-2026-4194: within a refresh or two it is in force.
	feed.set(osvZip(t, mal, "MAL-2024-12186", "MAL-2026-4194"))
	second := waitIntel(t, "snapshot with MAL-2026-4194", 30*time.Second, func(s intelState) bool {
		return s.Snapshot != nil && *s.Snapshot != *first.Snapshot
	})
	if second.Records != 2 {
		t.Errorf("second snapshot: %+v", second)
	}
	code, hdr, body := httpDo(t, "GET", proxyURL("/internet-pypi"+bad.Path), nil)
	if code != 403 || !strings.Contains(body, "MAL-2026-4194") || !strings.Contains(body, "Intel:        "+*second.Snapshot) {
		t.Errorf("libhmac 1.1.0 after the refresh: %d %v\n%s", code, hdr, body)
	}
	v := piptest.NewVenv(t)
	v.IndexURL = index
	if res, err := v.Install("libhmac==1.1.0"); err == nil {
		t.Errorf("pip installed libhmac 1.1.0 after the intelligence update:\n%s", res.Output())
	}

	// A corrupt update: the error shows, the previous snapshot stays in force.
	fetchesBefore := feed.fetches.Load()
	feed.set([]byte("PK\x03\x04 this is not a zip archive"))
	broken := waitIntel(t, "refresh error", 30*time.Second, func(s intelState) bool { return s.LastError != "" })
	if broken.Snapshot == nil || *broken.Snapshot != *second.Snapshot || broken.Records != 2 {
		t.Errorf("after a corrupt update: %+v, want snapshot %s with 2 records", broken, *second.Snapshot)
	}
	if feed.fetches.Load() == fetchesBefore {
		t.Errorf("the corrupt zip was never downloaded")
	}
	code, _, _ = httpDo(t, "GET", proxyURL("/internet-pypi"+bad.Path), nil)
	if code != 403 {
		t.Errorf("libhmac 1.1.0 with the previous snapshot in force: %d", code)
	}
	if _, _, body := httpDo(t, "GET", index+"libhmac/", accept); strings.Contains(body, "libhmac-1.1.0") {
		t.Errorf("the index lists libhmac 1.1.0 after a corrupt update")
	}
	if code, _, body := httpDo(t, "GET", adminURL("/osa/ready"), nil); code != 200 {
		t.Errorf("/osa/ready with a stale but loaded snapshot: %d %s", code, body)
	}
	page := requests(t, q("package", "libhmac", "status", journal.StatusBlockedByPolicies))
	rec, ok := findRecord(page.Requests, func(r journal.Record) bool { return r.Operation == "download" })
	if !ok || rec.Snapshot != *second.Snapshot {
		t.Errorf("blocked download record: %+v (snapshot %s)", rec, *second.Snapshot)
	}
}
