// Command fakeupstream runs the fake pypi.org and files host of the
// integration tests (package fakepypi) with generated projects until it is
// killed. It is the upstream of scripts/soak.
//
// Usage:
//
//	fakeupstream [-projects 200] [-versions 3] [-tls] [-ca-dir DIR]
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
// It listens on 127.0.0.1 only and exits on SIGINT or SIGTERM.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/osaproxy/caddy-osaproxy/integration/fakepypi"
)

func main() {
	projects := flag.Int("projects", 200, "number of generated projects")
	versions := flag.Int("versions", 3, "versions per project")
	tls := flag.Bool("tls", false, "serve both hosts over HTTPS with a throwaway CA")
	caDir := flag.String("ca-dir", "", "with -tls: write the CA certificate (PEM) into this directory")
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
	os.Stdout.Sync()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
}
