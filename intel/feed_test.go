package intel

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// osvServer imitates osv.dev's bucket layout for one ecosystem:
// /PyPI/all.zip (ETag, 304), /PyPI/modified_id.csv and /PyPI/<id>.json.
type osvServer struct {
	mu        sync.Mutex
	zip       []byte
	etag      string
	csv       string // "" -> 404
	records   map[string][]byte
	shortBody bool // announce more bytes than sent
	hits      map[string]int
	condHits  int // requests that carried If-None-Match
	srv       *httptest.Server
}

func newOSVServer(t *testing.T) *osvServer {
	s := &osvServer{records: map[string][]byte{}, hits: map[string]int{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *osvServer) url() string { return s.srv.URL + "/PyPI/all.zip" }

func (s *osvServer) set(f func(s *osvServer)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

func (s *osvServer) count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[path]
}

func (s *osvServer) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hits[r.URL.Path]++
	switch {
	case r.URL.Path == "/PyPI/all.zip":
		if inm := r.Header.Get("If-None-Match"); inm != "" {
			s.condHits++
			if inm == s.etag {
				w.WriteHeader(http.StatusNotModified)
				return
			}
		}
		w.Header().Set("ETag", s.etag)
		w.Header().Set("Content-Type", "application/zip")
		if s.shortBody {
			w.Header().Set("Content-Length", fmt.Sprint(len(s.zip)+1000))
		}
		w.Write(s.zip)
	case r.URL.Path == "/PyPI/modified_id.csv":
		if s.csv == "" {
			http.NotFound(w, r)
			return
		}
		etag := fmt.Sprintf("%q", fmt.Sprint(len(s.csv), strings.Count(s.csv, "\n"), s.csv[:20]))
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", etag)
		fmt.Fprint(w, s.csv)
	case strings.HasPrefix(r.URL.Path, "/PyPI/") && strings.HasSuffix(r.URL.Path, ".json"):
		id := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/PyPI/"), ".json")
		b, ok := s.records[id]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(b)
	default:
		http.NotFound(w, r)
	}
}

// withModified returns a real record with a new modified time (and
// optionally extra versions).
func withModified(t *testing.T, js []byte, modified string, extraVersions ...string) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(js, &m); err != nil {
		t.Fatal(err)
	}
	m["modified"] = modified
	if len(extraVersions) > 0 {
		aff := m["affected"].([]any)[0].(map[string]any)
		vs, _ := aff["versions"].([]any)
		for _, v := range extraVersions {
			vs = append(vs, v)
		}
		aff["versions"] = vs
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func observedFeed(srcs []SourceConfig, swaps *[]string) (*Feed, *observer.ObservedLogs) {
	core, logs := observer.New(zapcore.InfoLevel)
	var mu sync.Mutex
	f := NewFeed(FeedConfig{
		Sources: srcs,
		Logger:  zap.New(core),
		OnSwap: func(old, new *Snapshot) {
			mu.Lock()
			defer mu.Unlock()
			o := "nil"
			if old != nil {
				o = old.ID
			}
			*swaps = append(*swaps, o+" -> "+new.ID)
		},
	})
	return f, logs
}

func errorLogs(logs *observer.ObservedLogs) int {
	return logs.FilterLevelExact(zapcore.ErrorLevel).Len()
}

func TestFeedConditionalRefreshAndCorruption(t *testing.T) {
	real := realRecords(t)
	srv := newOSVServer(t)
	v1 := map[string][]byte{"PYSEC-2018-28.json": real["PYSEC-2018-28"]}
	srv.set(func(s *osvServer) { s.zip, s.etag = makeZip(t, v1), `"v1"` })

	var swaps []string
	f, logs := observedFeed([]SourceConfig{{Kind: "osv", Location: srv.url()}}, &swaps)
	if f.Current() != nil || f.Age() < time.Hour {
		t.Fatal("a fresh feed must have no snapshot and infinite age")
	}
	ctx := context.Background()
	if err := f.Load(ctx); err != nil {
		t.Fatal(err)
	}
	first := f.Current()
	if first == nil || first.Records != 1 || !containsID(first.Affecting("requests", "2.19.0"), "PYSEC-2018-28") {
		t.Fatalf("first load: %+v", first)
	}
	if f.Age() > time.Minute || f.LastError() != "" {
		t.Errorf("age %v error %q", f.Age(), f.LastError())
	}
	st := f.Status()[0]
	if st.Records != 1 || st.ETag != `"v1"` || st.LoadedAt.IsZero() || st.LastError != "" {
		t.Errorf("status %+v", st)
	}

	// unchanged: conditional request, 304, no swap (no CSV: 404 -> fallback).
	if err := f.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if f.Current() != first || len(swaps) != 1 || srv.condHits != 1 || srv.count("/PyPI/modified_id.csv") != 1 {
		t.Fatalf("304 handling: swaps %v cond %d", swaps, srv.condHits)
	}

	// changed zip: new snapshot in force.
	v2 := map[string][]byte{
		"PYSEC-2018-28.json":      real["PYSEC-2018-28"],
		"x/y/PYSEC-2023-262.json": real["PYSEC-2023-262"],
	}
	srv.set(func(s *osvServer) { s.zip, s.etag = makeZip(t, v2), `"v2"` })
	if err := f.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	second := f.Current()
	if second == first || second.Records != 2 || len(swaps) != 2 || !strings.HasPrefix(swaps[1], first.ID+" -> ") {
		t.Fatalf("update: %v", swaps)
	}
	if srv.count("/PyPI/modified_id.csv") != 1 {
		t.Error("a missing modified_id.csv must not be asked for again")
	}

	// corrupt updates: each leaves the second snapshot in force and is reported.
	corrupt := []struct {
		name string
		set  func(s *osvServer)
	}{
		{"truncated zip", func(s *osvServer) { b := makeZip(t, v2); s.zip, s.etag = b[:len(b)-40], `"v3"` }},
		{"invalid JSON record", func(s *osvServer) {
			s.zip, s.etag = makeZip(t, map[string][]byte{"A.json": real["PYSEC-2018-28"], "B.json": []byte(`{"id":`)}), `"v4"`
		}},
		{"short body", func(s *osvServer) { s.zip, s.etag, s.shortBody = makeZip(t, v1), `"v5"`, true }},
		{"not a zip", func(s *osvServer) { s.zip, s.etag, s.shortBody = []byte("<html>maintenance</html>"), `"v6"`, false }},
	}
	for _, c := range corrupt {
		before := errorLogs(logs)
		srv.set(c.set)
		if err := f.Refresh(ctx); err == nil {
			t.Errorf("%s: no error", c.name)
		}
		if f.Current() != second || len(swaps) != 2 {
			t.Errorf("%s: snapshot replaced", c.name)
		}
		if st := f.Status()[0]; st.LastError == "" || st.Records != 2 || f.LastError() == "" {
			t.Errorf("%s: not reported: %+v", c.name, st)
		}
		if errorLogs(logs) != before+1 {
			t.Errorf("%s: no error-level log", c.name)
		}
	}

	// recovery.
	srv.set(func(s *osvServer) { s.zip, s.etag = makeZip(t, v1), `"v7"` })
	if err := f.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if f.Current().Records != 1 || f.LastError() != "" || f.Status()[0].LastError != "" {
		t.Errorf("recovery: %d records, error %q", f.Current().Records, f.LastError())
	}
}

func TestFeedModifiedIDIncrements(t *testing.T) {
	real := realRecords(t)
	srv := newOSVServer(t)
	base := map[string][]byte{
		"PYSEC-2018-28.json":  real["PYSEC-2018-28"],  // modified 2021-06-16
		"PYSEC-2023-262.json": real["PYSEC-2023-262"], // modified 2024-10-09
	}
	srv.set(func(s *osvServer) {
		s.zip, s.etag = makeZip(t, base), `"z1"`
		s.csv = "2024-10-09T19:20:24.594458Z,PYSEC-2023-262\n2021-06-16T00:03:24.800813Z,PYSEC-2018-28\n"
	})
	var swaps []string
	f, logs := observedFeed([]SourceConfig{{Kind: "osv", Location: srv.url()}}, &swaps)
	ctx := context.Background()
	if err := f.Load(ctx); err != nil {
		t.Fatal(err)
	}
	// nothing newer than the data: no record fetched, no swap.
	if err := f.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if len(swaps) != 1 || srv.count("/PyPI/PYSEC-2018-28.json") != 0 {
		t.Fatalf("swaps %v", swaps)
	}

	// a new record and a modified one (requests 2.20.0 now listed).
	newRec := withModified(t, real["PYSEC-2021-335"], "2025-01-02T00:00:00Z")
	upd := withModified(t, real["PYSEC-2018-28"], "2025-01-01T00:00:00Z", "2.20.0")
	var newName string
	{
		v, err := ParseOSV(newRec, "t")
		if err != nil {
			t.Fatal(err)
		}
		newName = v.Affected[0].Name + "@" + v.Affected[0].Versions[0]
	}
	srv.set(func(s *osvServer) {
		s.records["PYSEC-2021-335"] = newRec
		s.records["PYSEC-2018-28"] = upd
		s.csv = "2025-01-02T00:00:00Z,PYSEC-2021-335\n2025-01-01T00:00:00Z,PYSEC-2018-28\n" + s.csv
	})
	if err := f.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	cur := f.Current()
	name, ver, _ := strings.Cut(newName, "@")
	if cur.Records != 3 || !containsID(cur.Affecting(name, ver), "PYSEC-2021-335") ||
		!containsID(cur.Affecting("requests", "2.20.0"), "PYSEC-2018-28") || len(swaps) != 2 {
		t.Fatalf("incremental update not applied: %d records, swaps %v", cur.Records, swaps)
	}
	if srv.count("/PyPI/all.zip") != 1 || srv.count("/PyPI/PYSEC-2023-262.json") != 0 {
		t.Errorf("zip fetched %d times, unchanged record fetched %d times",
			srv.count("/PyPI/all.zip"), srv.count("/PyPI/PYSEC-2023-262.json"))
	}
	// the CSV is unchanged now: 304, nothing fetched.
	fetches := srv.count("/PyPI/PYSEC-2021-335.json")
	if err := f.Refresh(ctx); err != nil || srv.count("/PyPI/PYSEC-2021-335.json") != fetches || len(swaps) != 2 {
		t.Errorf("unchanged CSV refetched records (%v)", err)
	}

	// a corrupt increment: previous snapshot stays, error reported.
	srv.set(func(s *osvServer) {
		s.records["PYSEC-2023-262"] = []byte(`{"id":"PYSEC-2023-262","affected":[{`)
		s.csv = "2025-02-01T00:00:00Z,PYSEC-2023-262\n" + s.csv
	})
	before := errorLogs(logs)
	if err := f.Refresh(ctx); err == nil {
		t.Fatal("corrupt increment accepted")
	}
	if f.Current() != cur || f.Status()[0].LastError == "" || errorLogs(logs) != before+1 {
		t.Errorf("corrupt increment: snapshot replaced or not reported")
	}
	// after a failed increment the next refresh checks the zip (unchanged:
	// 304, nothing replaced) and then increments resume.
	if err := f.Refresh(ctx); err != nil || f.Current() != cur {
		t.Fatalf("fallback after a failed increment: %v", err)
	}
	// the record is repaired, but another listed record is missing: the
	// whole increment is refused.
	fixed := withModified(t, real["PYSEC-2023-262"], "2025-02-01T00:00:00Z", "2.4.2")
	srv.set(func(s *osvServer) {
		s.records["PYSEC-2023-262"] = fixed
		s.csv = "2025-03-01T00:00:00Z,PYSEC-2099-404\n" + s.csv
	})
	if err := f.Refresh(ctx); err == nil || !strings.Contains(err.Error(), "PYSEC-2099-404") {
		t.Errorf("missing per-id record: %v", err)
	}
	if f.Current() != cur || containsID(f.Current().Affecting("searchor", "2.4.2"), "PYSEC-2023-262") {
		t.Error("snapshot replaced by a failed increment")
	}
	// once the listing is consistent again the repaired record applies.
	srv.set(func(s *osvServer) { s.csv = strings.Replace(s.csv, "2025-03-01T00:00:00Z,PYSEC-2099-404\n", "", 1) })
	f.Refresh(ctx) // forced zip check (304)
	if err := f.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if !containsID(f.Current().Affecting("searchor", "2.4.2"), "PYSEC-2023-262") || f.LastError() != "" {
		t.Errorf("repaired increment not applied (%q)", f.LastError())
	}
}

func TestFeedMixedSourcesAndBackground(t *testing.T) {
	dir := sharedOSV(t)
	real := realRecords(t)
	srv := newOSVServer(t)
	srv.set(func(s *osvServer) {
		s.zip, s.etag = makeZip(t, map[string][]byte{"PYSEC-2018-28.json": real["PYSEC-2018-28"]}), `"a"`
	})
	var swaps []string
	swapped := make(chan struct{}, 10)
	f := NewFeed(FeedConfig{
		Sources: []SourceConfig{
			{Kind: "osv", Location: filepath.Join(dir, "malicious")},
			{Kind: "osv", Location: filepath.Join(dir, "does-not-exist.zip")},
			{Kind: "osv", Location: srv.url()},
		},
		Refresh: 20 * time.Millisecond,
		OnSwap: func(old, new *Snapshot) {
			swaps = append(swaps, new.ID)
			swapped <- struct{}{}
		},
	})
	err := f.Load(context.Background())
	if err == nil || !strings.Contains(err.Error(), "does-not-exist.zip") {
		t.Fatalf("Load error = %v", err)
	}
	cur := f.Current()
	if cur == nil || cur.Records != 93 || cur.Lookup("PYSEC-2018-28") == nil || cur.Lookup("MAL-2026-6516") == nil {
		t.Fatalf("the loaded sources must be in force: %+v", cur)
	}
	st := f.Status()
	if len(st) != 3 || st[0].Records != 92 || st[1].LastError == "" || st[1].Records != 0 || st[2].Records != 1 {
		t.Errorf("status %+v", st)
	}
	<-swapped
	f.Start()
	f.Start() // idempotent
	srv.set(func(s *osvServer) {
		s.zip, s.etag = makeZip(t, map[string][]byte{
			"PYSEC-2018-28.json":  real["PYSEC-2018-28"],
			"PYSEC-2023-262.json": real["PYSEC-2023-262"],
		}), `"b"`
	})
	select {
	case <-swapped:
	case <-time.After(10 * time.Second):
		t.Fatal("background refresh did not pick up the change")
	}
	f.Stop()
	f.Stop()
	if f.Current().Records != 94 {
		t.Errorf("records after background refresh: %d", f.Current().Records)
	}
}

// A server that only sends Last-Modified gets If-Modified-Since back.
func TestFeedLastModified(t *testing.T) {
	real := realRecords(t)
	body := makeZip(t, map[string][]byte{"PYSEC-2018-28.json": real["PYSEC-2018-28"]})
	stamp := time.Date(2024, 10, 10, 0, 0, 0, 0, time.UTC).Format(http.TimeFormat)
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/all.zip") {
			http.NotFound(w, r)
			return
		}
		mu.Lock()
		seen = append(seen, r.Header.Get("If-Modified-Since"))
		mu.Unlock()
		if r.Header.Get("If-Modified-Since") == stamp {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Last-Modified", stamp)
		w.Write(body)
	}))
	defer srv.Close()
	f := NewFeed(FeedConfig{Sources: []SourceConfig{{Kind: "osv", Location: srv.URL + "/PyPI/all.zip"}}})
	if err := f.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	first := f.Current()
	if err := f.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2 || seen[0] != "" || seen[1] != stamp || f.Current() != first {
		t.Errorf("If-Modified-Since sent: %q", seen)
	}
	if st := f.Status()[0]; st.LastModified != stamp || st.Records != 1 {
		t.Errorf("status %+v", st)
	}
}

// Too many changes at once: one download of the zip instead.
func TestFeedManyChangesDownloadTheZip(t *testing.T) {
	real := realRecords(t)
	srv := newOSVServer(t)
	srv.set(func(s *osvServer) {
		s.zip, s.etag = makeZip(t, map[string][]byte{"PYSEC-2018-28.json": real["PYSEC-2018-28"]}), `"1"`
		s.csv = "2021-06-16T00:03:24.800813Z,PYSEC-2018-28\n"
	})
	old := maxIncremental
	maxIncremental = 1
	defer func() { maxIncremental = old }()
	f := NewFeed(FeedConfig{Sources: []SourceConfig{{Kind: "osv", Location: srv.url()}}})
	if err := f.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv.set(func(s *osvServer) {
		s.zip, s.etag = makeZip(t, map[string][]byte{
			"PYSEC-2018-28.json":  real["PYSEC-2018-28"],
			"PYSEC-2023-262.json": real["PYSEC-2023-262"],
			"PYSEC-2021-335.json": real["PYSEC-2021-335"],
		}), `"2"`
		s.csv = "2025-01-02T00:00:00Z,PYSEC-2023-262\n2025-01-01T00:00:00Z,PYSEC-2021-335\n" + s.csv
	})
	if err := f.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if f.Current().Records != 3 || srv.count("/PyPI/all.zip") != 2 || srv.count("/PyPI/PYSEC-2023-262.json") != 0 {
		t.Errorf("records %d, zip downloads %d", f.Current().Records, srv.count("/PyPI/all.zip"))
	}
}
