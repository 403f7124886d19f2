package piptest

import (
	"strings"
	"testing"

	"github.com/osaproxy/caddy-osaproxy/integration/fakepypi"
)

// newFake starts a fake index with the projects the harness tests use.
func newFake(t *testing.T, tls bool) *fakepypi.Server {
	t.Helper()
	s := fakepypi.StartT(t, fakepypi.Options{TLS: tls})
	if err := s.AddBuildTools(); err != nil {
		t.Fatal(err)
	}
	s.AddProject("Wheelonly.Pkg",
		fakepypi.NewRelease("1.0", fakepypi.FileSpec{}),
		fakepypi.NewRelease("2.0", fakepypi.FileSpec{}),
		fakepypi.Release{Version: "3.0", Files: []fakepypi.FileSpec{{}}, Yanked: "broken build"},
	)
	s.AddProject("helper_dep", fakepypi.NewRelease("0.5", fakepypi.FileSpec{}))
	s.AddProject("sdist-only-pkg",
		fakepypi.NewRelease("1.0", fakepypi.FileSpec{Kind: fakepypi.Sdist, RequiresDist: []string{"helper-dep>=0.1"}}),
		fakepypi.NewRelease("1.1", fakepypi.FileSpec{Kind: fakepypi.Sdist, RequiresPython: ">=3.99"}),
	)
	return s
}

// simpleTypes returns the Content-Types the fake served for a project page.
func simpleTypes(s *fakepypi.Server, project string) []string {
	var out []string
	for _, r := range s.Index.Requests() {
		if r.Path == "/simple/"+project+"/" && r.Status == 200 {
			out = append(out, r.ContentType)
		}
	}
	return out
}

func TestPipInstallsFromFake(t *testing.T) {
	t.Parallel()
	fakes := map[bool]*fakepypi.Server{true: newFake(t, true), false: newFake(t, false)}
	v := NewVenv(t)
	certFile, err := fakes[true].WriteCAFile(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		tls       bool
		htmlOnly  bool
		args      []string
		wantOK    bool
		installed map[string]string // normalized name -> version (pip list)
		imports   map[string]string // module -> __version__
		pages     []string          // project pages whose served type is checked
		wantType  string
		metadata  bool // a wheel's .metadata must have been fetched (PEP 658)
		outputHas string
	}{
		{name: "JSON over TLS: wheel skips yanked, sdist built with isolation", tls: true,
			args: []string{"wheelonly.pkg", "sdist-only-pkg"}, wantOK: true,
			installed: map[string]string{"wheelonly-pkg": "2.0", "sdist-only-pkg": "1.0", "helper-dep": "0.5"},
			imports:   map[string]string{"wheelonly_pkg": "2.0", "sdist_only_pkg": "1.0", "helper_dep": "0.5"},
			pages:     []string{"wheelonly-pkg", "sdist-only-pkg", "helper-dep", "setuptools", "wheel"}, wantType: fakepypi.TypeV1JSON, metadata: true},
		{name: "HTML over plain HTTP with pins and non-normalized names", htmlOnly: true,
			args: []string{"Wheelonly_Pkg==1.0", "sdist_only_pkg==1.0"}, wantOK: true,
			installed: map[string]string{"wheelonly-pkg": "1.0", "sdist-only-pkg": "1.0", "helper-dep": "0.5"},
			imports:   map[string]string{"wheelonly_pkg": "1.0", "sdist_only_pkg": "1.0"},
			pages:     []string{"wheelonly-pkg", "sdist-only-pkg", "helper-dep"}, wantType: fakepypi.TypeV1HTML, metadata: true},
		{name: "yanked release installs when pinned", args: []string{"wheelonly-pkg==3.0"}, wantOK: true,
			installed: map[string]string{"wheelonly-pkg": "3.0"}, imports: map[string]string{"wheelonly_pkg": "3.0"},
			pages: []string{"wheelonly-pkg"}, wantType: fakepypi.TypeV1JSON, outputHas: "broken build"},
		{name: "missing version fails", args: []string{"wheelonly-pkg==9.9"}, wantOK: false,
			pages: []string{"wheelonly-pkg"}, wantType: fakepypi.TypeV1JSON, outputHas: "No matching distribution"},
		{name: "unknown project fails over TLS", tls: true, args: []string{"no-such-project"}, wantOK: false,
			outputHas: "No matching distribution"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake := fakes[tc.tls]
			fake.SetHTMLOnly(tc.htmlOnly)
			defer fake.SetHTMLOnly(false)
			fake.ResetRequests()
			if tc.wantOK {
				if err := v.Reset(); err != nil {
					t.Fatal(err)
				}
			}
			v.IndexURL, v.CertFile = fake.SimpleURL(), ""
			if tc.tls {
				v.CertFile = certFile
			}
			res, err := v.Install(tc.args...)
			if (err == nil) != tc.wantOK {
				t.Fatalf("install %v: err=%v, want ok=%v\n%s", tc.args, err, tc.wantOK, res.Output())
			}
			if tc.outputHas != "" && !strings.Contains(res.Output(), tc.outputHas) {
				t.Errorf("output lacks %q:\n%s", tc.outputHas, res.Output())
			}
			if tc.installed != nil {
				got, err := v.Installed()
				if err != nil {
					t.Fatal(err)
				}
				for name, want := range tc.installed {
					if got[name] != want {
						t.Errorf("installed %s = %q, want %q (all: %v)", name, got[name], want, got)
					}
				}
			}
			if len(tc.imports) > 0 {
				var mods []string
				for m := range tc.imports {
					mods = append(mods, m)
				}
				got, err := v.Versions(mods...)
				if err != nil {
					t.Fatal(err)
				}
				for mod, want := range tc.imports {
					if got[mod] != want {
						t.Errorf("import %s: __version__ %q, want %q", mod, got[mod], want)
					}
				}
			}
			for _, page := range tc.pages {
				types := simpleTypes(fake, page)
				if len(types) == 0 {
					t.Errorf("no 200 for /simple/%s/ in request log", page)
				}
				for _, ct := range types {
					if ct != tc.wantType {
						t.Errorf("/simple/%s/ served as %q, want %q", page, ct, tc.wantType)
					}
				}
			}
			if tc.metadata && fake.Files.Count("GET", "/packages/") == 0 {
				t.Errorf("no file downloads logged")
			}
			if tc.metadata {
				n := 0
				for _, r := range fake.Files.Requests() {
					if strings.HasSuffix(r.Path, ".whl.metadata") && r.Status == 200 {
						n++
					}
				}
				if n == 0 {
					t.Errorf("pip did not fetch any .metadata file")
				}
			}
			for _, r := range fake.Requests() {
				if ua := r.Header.Get("User-Agent"); !strings.HasPrefix(ua, "pip/") {
					t.Errorf("request %s %s with User-Agent %q, want pip", r.Method, r.Path, ua)
				}
			}
		})
	}
}

func TestPoetryInstallsFromFake(t *testing.T) {
	t.Parallel()
	fake := newFake(t, true)
	certFile, err := fake.WriteCAFile(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	p := NewPoetryProject(t, PoetryOptions{
		SourceURL:    fake.SimpleURL(),
		CertFile:     certFile,
		Dependencies: map[string]string{"wheelonly-pkg": "^1.0"},
	})
	if res, err := p.Install(); err != nil {
		t.Fatalf("poetry install: %v\n%s", err, res.Output())
	}
	locked, err := p.Locked()
	if err != nil {
		t.Fatal(err)
	}
	if locked["wheelonly-pkg"] != "1.0" {
		t.Errorf("poetry.lock has wheelonly-pkg %q, want 1.0 (all: %v)", locked["wheelonly-pkg"], locked)
	}
	if got, err := p.Venv().Import("wheelonly_pkg"); err != nil || got != "1.0" {
		t.Errorf("import wheelonly_pkg in poetry venv: %q, %v", got, err)
	}
	// Poetry's legacy source sends no Accept of its own, so it reads HTML.
	types := simpleTypes(fake, "wheelonly-pkg")
	if len(types) == 0 || types[0] != fakepypi.TypeHTML {
		t.Errorf("poetry got /simple/wheelonly-pkg/ as %v, want text/html", types)
	}
	if res, err := p.Add("helper-dep"); err != nil {
		t.Fatalf("poetry add: %v\n%s", err, res.Output())
	}
	if got, err := p.Venv().Import("helper_dep"); err != nil || got != "0.5" {
		t.Errorf("import helper_dep after poetry add: %q, %v", got, err)
	}
}
