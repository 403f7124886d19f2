// Command fakeupstream runs the fake pypi.org and files host of the
// integration tests (package fakepypi) with generated projects until it is
// killed. It is the upstream of scripts/soak.
//
// Usage:
//
//	fakeupstream [-projects 200] [-versions 3] [-tls] [-ca-dir DIR]
//	             [-osv-zip PATH [-osv-swap 7s]]
//
// Projects are named proj-0000, proj-0001, ...; each has versions 1.0, 1.1,
// ... with one pure-Python wheel each (built on the fly, deterministic).
// Once both hosts listen it prints, one per line and then nothing else:
//
//	INDEX_URL=http://127.0.0.1:<port>
//	FILES_URL=http://127.0.0.1:<port>
//	PROJECTS=<n>
//	VERSIONS=<m>
//	CA_FILE=<path>            (with -tls and -ca-dir)
//
// With -osv-zip it also writes an OSV zip (osv.dev's all.zip layout) of
// malicious-package records for version 1.0 of every tenth project, and
// with -osv-swap rewrites it at that interval, alternating with a set that
// also marks version 1.1 of every fifth project, so that a proxy reading it
// with intel_refresh swaps snapshots under load. The zip is replaced
// atomically (write, then rename).
//
// It listens on 127.0.0.1 only and exits on SIGINT or SIGTERM.
package main

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/osaproxy/caddy-osaproxy/integration/fakepypi"
)

func main() {
	projects := flag.Int("projects", 200, "number of generated projects")
	versions := flag.Int("versions", 3, "versions per project")
	tls := flag.Bool("tls", false, "serve both hosts over HTTPS with a throwaway CA")
	caDir := flag.String("ca-dir", "", "with -tls: write the CA certificate (PEM) into this directory")
	osvZip := flag.String("osv-zip", "", "write an OSV zip of malicious-package records here")
	osvSwap := flag.Duration("osv-swap", 0, "with -osv-zip: rewrite the zip at this interval, alternating two record sets")
	flag.Parse()
	if *projects < 1 || *projects > 100000 || *versions < 1 || *versions > 100 {
		fmt.Fprintln(os.Stderr, "fakeupstream: -projects must be 1..100000 and -versions 1..100")
		os.Exit(2)
	}
	fake := fakepypi.StartWithOptions(fakepypi.Options{TLS: *tls})
	defer fake.Close()
	for p := 0; p < *projects; p++ {
		rels := make([]fakepypi.Release, *versions)
		for v := range rels {
			rels[v] = fakepypi.NewRelease(fmt.Sprintf("1.%d", v), fakepypi.FileSpec{})
		}
		fake.AddProject(fmt.Sprintf("proj-%04d", p), rels...)
	}
	fmt.Printf("INDEX_URL=%s\nFILES_URL=%s\nPROJECTS=%d\nVERSIONS=%d\n", fake.IndexURL(), fake.FilesURL(), *projects, *versions)
	if *tls && *caDir != "" {
		p, err := fake.WriteCAFile(*caDir)
		if err != nil {
			fmt.Fprintln(os.Stderr, "fakeupstream:", err)
			os.Exit(1)
		}
		fmt.Printf("CA_FILE=%s\n", p)
	}
	if *osvZip != "" {
		if err := writeOSV(*osvZip, *projects, false); err != nil {
			fmt.Fprintln(os.Stderr, "fakeupstream:", err)
			os.Exit(1)
		}
		fmt.Printf("OSV_ZIP=%s\n", *osvZip)
	}
	os.Stdout.Sync()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	var tick <-chan time.Time
	if *osvZip != "" && *osvSwap > 0 {
		t := time.NewTicker(*osvSwap)
		defer t.Stop()
		tick = t.C
	}
	second := false
	for {
		select {
		case <-sig:
			return
		case <-tick:
			second = !second
			if err := writeOSV(*osvZip, *projects, second); err != nil {
				fmt.Fprintln(os.Stderr, "fakeupstream:", err)
			}
		}
	}
}

// writeOSV writes the record set (the second one marks more versions).
func writeOSV(path string, projects int, second bool) error {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(id, pkg, version string) error {
		rec := map[string]any{
			"schema_version": "1.6.0", "id": id, "modified": "2025-01-02T03:04:05Z", "published": "2025-01-02T03:04:05Z",
			"summary":  "Malicious code in " + pkg + " (PyPI)",
			"affected": []any{map[string]any{"package": map[string]any{"ecosystem": "PyPI", "name": pkg}, "versions": []string{version}}},
		}
		b, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		w, err := zw.Create(id + ".json")
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	for p := 0; p < projects; p += 10 {
		if err := add(fmt.Sprintf("MAL-2099-%05d", p), fmt.Sprintf("proj-%04d", p), "1.0"); err != nil {
			return err
		}
	}
	if second {
		for p := 0; p < projects; p += 5 {
			if err := add(fmt.Sprintf("MAL-2099-9%04d", p), fmt.Sprintf("proj-%04d", p), "1.1"); err != nil {
				return err
			}
		}
	}
	if err := zw.Close(); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
