package intel

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"testing"
	"time"
)

// synthetic30k writes (once per process) a zip of 30,000 records derived
// from the real PyPA and malicious-package records: each copy gets a new
// id, a shifted modified time and a package name suffix, so the corpus
// keeps the real shape (version lists, ranges, CVSS vectors) at osv.dev's
// PyPI scale.
var (
	synthOnce sync.Once
	synthPath string
	synthErr  error
)

const synthRecords = 30000

// TestMain removes the benchmark corpus after the run.
func TestMain(m *testing.M) {
	code := m.Run()
	if synthPath != "" {
		os.Remove(synthPath)
	}
	os.Exit(code)
}

func synthetic30k(b *testing.B) string {
	b.Helper()
	synthOnce.Do(func() {
		dir := sharedOSV(b)
		var raws [][]byte
		for _, r := range realRecords(b) {
			raws = append(raws, r)
		}
		mal, _ := filepath.Glob(filepath.Join(dir, "malicious", "*.json"))
		for _, p := range mal {
			r, err := os.ReadFile(p)
			if err != nil {
				synthErr = err
				return
			}
			raws = append(raws, r)
		}
		sort.Slice(raws, func(i, j int) bool { return string(raws[i]) < string(raws[j]) })
		files := make(map[string][]byte, synthRecords)
		base := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
		for i := 0; i < synthRecords; i++ {
			var m map[string]any
			if err := json.Unmarshal(raws[i%len(raws)], &m); err != nil {
				synthErr = err
				return
			}
			copyNo := i / len(raws)
			m["id"] = fmt.Sprintf("SYN-%05d", i)
			m["modified"] = base.Add(time.Duration(i) * time.Minute).Format(time.RFC3339)
			if copyNo > 0 {
				for _, a := range m["affected"].([]any) {
					pkg := a.(map[string]any)["package"].(map[string]any)
					pkg["name"] = fmt.Sprintf("%s-s%d", pkg["name"], copyNo)
				}
			}
			out, err := json.Marshal(m)
			if err != nil {
				synthErr = err
				return
			}
			files[fmt.Sprintf("SYN-%05d.json", i)] = out
		}
		synthPath = filepath.Join(os.TempDir(), fmt.Sprintf("intel-bench-30k-%d.zip", os.Getpid()))
		synthErr = os.WriteFile(synthPath, makeZip(b, files), 0o644)
	})
	if synthErr != nil {
		b.Fatal(synthErr)
	}
	return synthPath
}

// BenchmarkLoad30k loads and indexes 30,000 records from a zip and reports
// the live heap of the resulting snapshot.
func BenchmarkLoad30k(b *testing.B) {
	path := synthetic30k(b)
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var s *Snapshot
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		recs, err := LoadPath(context.Background(), KindOSV, path)
		if err != nil {
			b.Fatal(err)
		}
		s = Build(recs)
	}
	b.StopTimer()
	b.ReportMetric(float64((cpuTime()-cpu0).Milliseconds())/float64(b.N), "cpu-ms/op")
	if s.Records != synthRecords {
		b.Fatalf("records %d", s.Records)
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "live-MB")
	b.ReportMetric(float64(after.HeapSys)/(1<<20), "heap-sys-MB")
	runtime.KeepAlive(s)
}

// BenchmarkAffecting30k measures Affecting(name, version) with 30,000
// records loaded, on queries drawn from the records' own versions (hits)
// and from versions after their fixes (mostly misses); p50/p99 are
// reported from individually timed calls.
func BenchmarkAffecting30k(b *testing.B) {
	recs, err := LoadPath(context.Background(), KindOSV, synthetic30k(b))
	if err != nil {
		b.Fatal(err)
	}
	s := Build(recs)
	type q struct{ name, version string }
	var qs []q
	for i, v := range s.All() {
		for _, a := range v.Affected {
			if len(a.Versions) > 0 {
				qs = append(qs, q{a.Name, a.Versions[i%len(a.Versions)]})
			}
			for _, f := range a.Fixed {
				qs = append(qs, q{a.Name, f})
			}
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		x := qs[i%len(qs)]
		s.Affecting(x.name, x.version)
	}
	b.StopTimer()
	lat := make([]time.Duration, 0, len(qs))
	for _, x := range qs {
		t0 := time.Now()
		s.Affecting(x.name, x.version)
		lat = append(lat, time.Since(t0))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
	b.ReportMetric(float64(len(qs)), "queries")
}

// BenchmarkLoadPyPA loads and indexes the real PyPA zip (2,661 records).
func BenchmarkLoadPyPA(b *testing.B) {
	path := filepath.Join(sharedOSV(b), "pypa-advisories.zip")
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		recs, err := LoadPath(context.Background(), KindOSV, path)
		if err != nil {
			b.Fatal(err)
		}
		if s := Build(recs); s.Records != 2661 {
			b.Fatalf("records %d", s.Records)
		}
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Milliseconds())/float64(b.N), "cpu-ms/op")
}
