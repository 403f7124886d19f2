// Package fakepypi is an in-process imitation of pypi.org and
// files.pythonhosted.org for end-to-end tests of the proxy.
//
// It serves real, installable distributions built on the fly (wheels and
// setuptools sdists), the Simple Repository API in PyPI's HTML template and
// PEP 691 JSON with PyPI's content negotiation, gzip, ETags and redirects, the
// legacy JSON API, and a files host with hashed paths, Range and .metadata.
// It records every request and can inject faults at runtime.
//
// The package is deliberately independent of the proxy's own code: it
// emulates the upstream, so it has its own small name and version helpers.
package fakepypi

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// DefaultArtifactoryBase is the base path used by ArtifactoryStyle when
// Options.BasePath is empty.
const DefaultArtifactoryBase = "/artifactory/api/pypi/pypi-remote"

// Options configures a Server.
type Options struct {
	// TLS serves both hosts over HTTPS with a freshly generated CA.
	TLS bool
	// BasePath mounts the index routes (simple, pypi, packages) under a
	// prefix such as "/artifactory/api/pypi/pypi-remote".
	BasePath string
	// ArtifactoryStyle renders index pages like a JFrog Artifactory remote
	// PyPI repository: HTML only ("Simple Index" template), relative links
	// "../../packages/packages/aa/bb/<hash>/<file>", and files served by the
	// index host under BasePath+"/packages/packages/...". BasePath defaults to
	// DefaultArtifactoryBase.
	ArtifactoryStyle bool
	// HTMLOnly makes the index behave like a server without PEP 691 JSON.
	HTMLOnly bool
	// StrictNegotiation answers 406 when Accept matches no offered type,
	// instead of PyPI's fallback to text/html.
	StrictNegotiation bool
}

// Server is a running fake pypi.org (Index) and files.pythonhosted.org (Files).
type Server struct {
	// Index is the pypi.org host; Files is the files.pythonhosted.org host.
	Index, Files *Host

	opts    Options
	base    string
	tlsConf *tlsMaterial

	htmlOnly atomic.Bool
	strict   atomic.Bool

	mu       sync.RWMutex
	serial   int64
	projects map[string]*project // by normalized name
	byPath   map[string]*File    // by hashed path
	byName   map[string]*File    // by filename

	faults faultTable

	logMu sync.Mutex
	log   []*Request
	seq   int64
}

// Host is one of the two fake hosts.
type Host struct {
	// Server is the underlying test server.
	*httptest.Server
	name string
	s    *Server
}

type project struct {
	name, normalized, status string
	serial                   int64
	releases                 []*release
}

type release struct {
	version      string
	yanked       bool
	yankedReason string
	files        []*File
	requiresDist []string
	requiresPy   string
}

// Start starts a fake with default options, over HTTPS when tls is true.
func Start(tls bool) *Server { return StartWithOptions(Options{TLS: tls}) }

// StartT starts a fake and closes it when the test ends.
func StartT(t testing.TB, opts Options) *Server {
	t.Helper()
	s := StartWithOptions(opts)
	t.Cleanup(s.Close)
	return s
}

// StartWithOptions starts a fake configured by opts.
func StartWithOptions(opts Options) *Server {
	s := &Server{
		opts:     opts,
		base:     strings.TrimRight(opts.BasePath, "/"),
		projects: map[string]*project{},
		byPath:   map[string]*File{},
		byName:   map[string]*File{},
		serial:   1000,
	}
	if opts.ArtifactoryStyle && s.base == "" {
		s.base = DefaultArtifactoryBase
	}
	s.htmlOnly.Store(opts.HTMLOnly)
	s.strict.Store(opts.StrictNegotiation)
	s.Index = &Host{name: "index", s: s}
	s.Files = &Host{name: "files", s: s}
	s.Index.Server = httptest.NewUnstartedServer(s.wrap(s.Index, http.HandlerFunc(s.serveIndex)))
	s.Files.Server = httptest.NewUnstartedServer(s.wrap(s.Files, http.HandlerFunc(s.serveFiles)))
	if opts.TLS {
		m, err := newTLSMaterial()
		if err != nil {
			panic(fmt.Sprintf("fakepypi: generating TLS material: %v", err))
		}
		s.tlsConf = m
		for _, h := range []*Host{s.Index, s.Files} {
			h.Server.TLS = &tls.Config{Certificates: []tls.Certificate{m.leaf}, NextProtos: []string{"http/1.1"}}
			h.Server.StartTLS()
		}
	} else {
		s.Index.Server.Start()
		s.Files.Server.Start()
	}
	return s
}

// Close shuts both hosts down.
func (s *Server) Close() {
	s.Index.Server.CloseClientConnections()
	s.Files.Server.CloseClientConnections()
	s.Index.Server.Close()
	s.Files.Server.Close()
}

// IndexURL is the base URL of the pypi.org host including BasePath, without
// a trailing slash (e.g. "http://127.0.0.1:4321"). Append "/simple/" for
// the Simple API or "/pypi/<name>/json" for the JSON API.
func (s *Server) IndexURL() string { return s.Index.URL + s.base }

// SimpleURL is IndexURL()+"/simple/", what pip's --index-url takes.
func (s *Server) SimpleURL() string { return s.IndexURL() + "/simple/" }

// FilesURL is the base URL of the files host (no trailing slash). In
// ArtifactoryStyle it is IndexURL()+"/packages", which is where Artifactory
// serves files (".../packages/packages/aa/bb/...").
func (s *Server) FilesURL() string {
	if s.opts.ArtifactoryStyle {
		return s.IndexURL() + "/packages"
	}
	return s.Files.URL
}

// FileURL returns the absolute download URL of a file (without fragment).
func (s *Server) FileURL(f *File) string { return s.FilesURL() + f.Path }

// BasePath returns the base path the index routes are mounted under.
func (s *Server) BasePath() string { return s.base }

// SetHTMLOnly switches PEP 691 JSON off (true) or on at runtime. With JSON
// off, pip's JSON-preferring Accept header gets the HTML page, so the same
// client exercises the HTML path.
func (s *Server) SetHTMLOnly(on bool) { s.htmlOnly.Store(on) }

// SetStrictNegotiation switches between 406 (true) and PyPI's text/html
// fallback (false) when no offered type is acceptable.
func (s *Server) SetStrictNegotiation(on bool) { s.strict.Store(on) }

// TLS reports whether the hosts serve HTTPS.
func (s *Server) TLS() bool { return s.tlsConf != nil }

// CAPEM returns the PEM of the CA that signed the hosts' certificate (nil without TLS).
func (s *Server) CAPEM() []byte {
	if s.tlsConf == nil {
		return nil
	}
	return s.tlsConf.caPEM
}

// CertPool returns a pool trusting the fake's CA (nil without TLS).
func (s *Server) CertPool() *x509.CertPool {
	if s.tlsConf == nil {
		return nil
	}
	p := x509.NewCertPool()
	p.AddCert(s.tlsConf.ca)
	return p
}

// WriteCAFile writes CAPEM to dir/fakepypi-ca.pem and returns the path.
func (s *Server) WriteCAFile(dir string) (string, error) {
	if s.tlsConf == nil {
		return "", fmt.Errorf("fakepypi: server has no TLS")
	}
	p := filepath.Join(dir, "fakepypi-ca.pem")
	return p, os.WriteFile(p, s.tlsConf.caPEM, 0o644)
}

// Client returns an HTTP client that trusts the fake's CA and does not
// follow redirects (so tests see the 301/302 themselves).
func (s *Server) Client() *http.Client {
	tr := &http.Transport{DisableCompression: true, ForceAttemptHTTP2: false}
	if s.tlsConf != nil {
		tr.TLSClientConfig = &tls.Config{RootCAs: s.CertPool()}
	}
	return &http.Client{
		Transport:     tr,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// AddProject adds a project (or more releases to an existing one). The name
// is the display name; releases replace existing ones with the same version.
// It panics on a release that cannot be built, which is a test bug.
func (s *Server) AddProject(name string, releases ...Release) {
	if err := s.addProject(name, releases...); err != nil {
		panic(err)
	}
}

func (s *Server) addProject(name string, releases ...Release) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	norm := Normalize(name)
	p := s.projects[norm]
	if p == nil {
		p = &project{name: name, normalized: norm, status: "active"}
		s.projects[norm] = p
	}
	for _, r := range releases {
		s.serial++
		upload := r.UploadTime
		if upload.IsZero() {
			upload = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(s.serial) * time.Minute).Add(123456 * time.Microsecond)
		}
		rel := &release{version: r.Version, yanked: r.Yanked != "" || r.YankedNoReason, yankedReason: r.Yanked}
		for _, spec := range r.Files {
			f, err := buildFile(name, r.Version, spec, upload)
			if err != nil {
				return err
			}
			if old, dup := s.byName[f.Filename]; dup && (old.Normalized != norm || old.Version != r.Version) {
				return fmt.Errorf("fakepypi: file %s already belongs to %s %s", f.Filename, old.Project, old.Version)
			}
			f.Yanked, f.YankedReason = rel.yanked, rel.yankedReason
			rel.files = append(rel.files, f)
			if rel.requiresDist == nil {
				rel.requiresDist = spec.RequiresDist
				rel.requiresPy = f.RequiresPython
			}
		}
		p.removeRelease(r.Version, s)
		p.releases = append(p.releases, rel)
		for _, f := range rel.files {
			s.byPath[f.Path] = f
			s.byName[f.Filename] = f
		}
	}
	sort.SliceStable(p.releases, func(i, j int) bool { return compareVersions(p.releases[i].version, p.releases[j].version) < 0 })
	p.serial = s.serial
	return nil
}

func (p *project) removeRelease(version string, s *Server) bool {
	for i, r := range p.releases {
		if r.version == version {
			for _, f := range r.files {
				delete(s.byPath, f.Path)
				delete(s.byName, f.Filename)
			}
			p.releases = append(p.releases[:i], p.releases[i+1:]...)
			return true
		}
	}
	return false
}

// RemoveRelease deletes a release and its files (they then 404 on the files host).
func (s *Server) RemoveRelease(name, version string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.projects[Normalize(name)]
	if p == nil || !p.removeRelease(version, s) {
		return false
	}
	s.serial++
	p.serial = s.serial
	return true
}

// RemoveProject deletes a project and its files.
func (s *Server) RemoveProject(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.projects[Normalize(name)]
	if p == nil {
		return false
	}
	for len(p.releases) > 0 {
		p.removeRelease(p.releases[0].version, s)
	}
	delete(s.projects, p.normalized)
	s.serial++
	return true
}

// Yank yanks (reason may be empty) or, with yanked=false, unyanks a release.
func (s *Server) Yank(name, version string, yanked bool, reason string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.projects[Normalize(name)]
	if p == nil {
		return false
	}
	for _, r := range p.releases {
		if r.version == version {
			r.yanked, r.yankedReason = yanked, reason
			if !yanked {
				r.yankedReason = ""
			}
			for _, f := range r.files {
				f.Yanked, f.YankedReason = r.yanked, r.yankedReason
			}
			s.serial++
			p.serial = s.serial
			return true
		}
	}
	return false
}

// SetProjectStatus sets the PEP 792 status (active, archived, quarantined,
// deprecated). A quarantined project lists no files, like PyPI.
func (s *Server) SetProjectStatus(name, status string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.projects[Normalize(name)]
	if p == nil {
		return false
	}
	p.status = status
	s.serial++
	p.serial = s.serial
	return true
}

// File returns the served file with this filename, or nil.
func (s *Server) File(filename string) *File {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.byName[filename]
}

// ProjectFiles returns the files of a project release (all releases when version
// is empty), ordered by version then filename.
func (s *Server) ProjectFiles(name, version string) []*File {
	s.mu.RLock()
	defer s.mu.RUnlock()
	p := s.projects[Normalize(name)]
	if p == nil {
		return nil
	}
	var out []*File
	for _, r := range p.releases {
		if version == "" || r.version == version {
			out = append(out, r.files...)
		}
	}
	sortFiles(out)
	return out
}

// Serial returns the global last serial.
func (s *Server) Serial() int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.serial
}

func sortFiles(files []*File) {
	sort.SliceStable(files, func(i, j int) bool {
		if c := compareVersions(files[i].Version, files[j].Version); c != 0 {
			return c < 0
		}
		return files[i].Filename < files[j].Filename
	})
}
