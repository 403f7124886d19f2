// Command upstream is the local stand-in for pypi.org and its files host
// used by bench/run. It serves, on 127.0.0.1 only:
//
//   - /simple/<project>/ — a generated project page (internal/pagegen, the
//     exact warehouse templates) of -files files, HTML or JSON (PEP 691) by
//     Accept, with a strong ETag and 304 on If-None-Match. A request carrying
//     "X-Bench-No-ETag: 1" gets the same page without an ETag (so a proxy
//     cannot cache it: the uncached case).
//   - /simple/ — the project list with -projects names, HTML or JSON,
//     written in 64 KiB chunks like a streaming server.
//   - /packages/... — a file of -file-size bytes generated on the fly (never
//     stored), with Content-Length, from a 1 MiB pattern buffer.
//
// File links in project pages point at this server's /packages/ (instead of
// files.pythonhosted.org) so a proxy configured with it as registry and
// packages_registry maps every link.
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/osaproxy/caddy-osaproxy/internal/pagegen"
)

type page struct {
	body []byte
	etag string
}

type server struct {
	base     string // http://127.0.0.1:port
	files    int
	fileSize int64
	projects int

	mu    sync.Mutex
	pages map[string]*[3]page // project -> [html, json, legacy JSON API]

	listOnce sync.Once
	list     [2]page

	pattern []byte
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on (loopback only)")
	files := flag.Int("files", 6000, "files per project page (5 per release)")
	projects := flag.Int("projects", 700000, "projects in /simple/")
	fileSize := flag.Int64("file-size", 2<<30, "size in bytes of every /packages/ file")
	portFile := flag.String("port-file", "", "write the chosen port to this file once listening")
	flag.Parse()

	host, _, err := net.SplitHostPort(*listen)
	if err != nil || (host != "127.0.0.1" && host != "localhost" && host != "::1") {
		log.Fatalf("upstream: -listen must be a loopback address, got %q", *listen)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	s := &server{
		base:     "http://" + ln.Addr().String(),
		files:    *files,
		fileSize: *fileSize,
		projects: *projects,
		pages:    make(map[string]*[3]page),
		pattern:  make([]byte, 1<<20),
	}
	for i := range s.pattern {
		s.pattern[i] = byte(i*7 + i>>8)
	}
	t0 := time.Now()
	s.projectList() // generate before reporting ready
	log.Printf("upstream: %d projects generated in %s", s.projects, time.Since(t0).Round(time.Millisecond))
	if *portFile != "" {
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		if err := os.WriteFile(*portFile, []byte(port+"\n"), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	log.Printf("upstream: listening on %s", s.base)
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.Serve(ln))
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == "/simple/":
		pg := s.projectList()[formatIndex(r)]
		s.serve(w, r, pg, formatIndex(r), 64<<10)
	case strings.HasPrefix(p, "/simple/") && strings.HasSuffix(p, "/") && strings.Count(p, "/") == 3:
		name := strings.TrimSuffix(strings.TrimPrefix(p, "/simple/"), "/")
		pg := s.project(name)[formatIndex(r)]
		s.serve(w, r, pg, formatIndex(r), 0)
	case strings.HasPrefix(p, "/pypi/") && strings.HasSuffix(p, "/json") && strings.Count(p, "/") == 3:
		name := strings.TrimSuffix(strings.TrimPrefix(p, "/pypi/"), "/json")
		pg := s.project(name)[2]
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("ETag", pg.etag)
		w.Header().Set("Content-Length", strconv.Itoa(len(pg.body)))
		_, _ = w.Write(pg.body)
	case strings.HasPrefix(p, "/packages/"):
		s.file(w, r)
	default:
		http.NotFound(w, r)
	}
}

// formatIndex is 1 for JSON (PEP 691) and 0 for HTML.
func formatIndex(r *http.Request) int {
	if strings.Contains(r.Header.Get("Accept"), "application/vnd.pypi.simple.v1+json") {
		return 1
	}
	return 0
}

var contentTypes = [2]string{"text/html; charset=utf-8", "application/vnd.pypi.simple.v1+json"}

// serve writes a page with its ETag (unless the client asked for none) and
// honours If-None-Match. chunk > 0 writes the body in pieces of that size.
func (s *server) serve(w http.ResponseWriter, r *http.Request, pg page, f, chunk int) {
	h := w.Header()
	h.Set("Content-Type", contentTypes[f])
	h.Set("Vary", "Accept")
	if r.Header.Get("X-Bench-No-ETag") == "" {
		h.Set("ETag", pg.etag)
		if inm := r.Header.Get("If-None-Match"); inm != "" && strings.Contains(inm, pg.etag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(pg.body)))
	if r.Method == http.MethodHead {
		return
	}
	if chunk <= 0 {
		_, _ = w.Write(pg.body)
		return
	}
	for b := pg.body; len(b) > 0; {
		n := min(chunk, len(b))
		if _, err := w.Write(b[:n]); err != nil {
			return
		}
		b = b[n:]
	}
}

func etagOf(b []byte) string {
	sum := sha256.Sum256(b)
	return `"` + hex.EncodeToString(sum[:12]) + `"`
}

// project returns the generated pages of a project (generated once).
func (s *server) project(name string) *[3]page {
	s.mu.Lock()
	defer s.mu.Unlock()
	if pg, ok := s.pages[name]; ok {
		return pg
	}
	per := 5
	rel := (s.files + per - 1) / per
	p := pagegen.NewProject(int64(len(name))*7919+1, name, rel, per)
	// pagegen spaces uploads 1 s to 3 days apart from 2015, which puts most
	// of 6,000 files in the future; spread them evenly up to 30 days ago so
	// a cooldown policy sees a realistic, old history.
	start := time.Date(2015, 3, 1, 12, 0, 0, 0, time.UTC)
	span := time.Now().Add(-30*24*time.Hour).Sub(start) / time.Duration(len(p.Files)+1)
	for i := range p.Files {
		p.Files[i].UploadTime = start.Add(span * time.Duration(i+1)).Truncate(time.Microsecond)
	}
	old := []byte("https://files.pythonhosted.org/")
	repl := []byte(s.base + "/")
	html := bytes.ReplaceAll(p.HTML(), old, repl)
	js := bytes.ReplaceAll(p.JSON(), old, repl)
	legacy := legacyJSON(p, s.base)
	pg := &[3]page{{body: html, etag: etagOf(html)}, {body: js, etag: etagOf(js)}, {body: legacy, etag: etagOf(legacy)}}
	s.pages[name] = pg
	return pg
}

// projectList returns the /simple/ list (generated once).
func (s *server) projectList() [2]page {
	s.listOnce.Do(func() {
		html, js := projectList(1, s.projects)
		s.list = [2]page{{body: html, etag: etagOf(html)}, {body: js, etag: etagOf(js)}}
	})
	return s.list
}

// file streams fileSize generated bytes.
func (s *server) file(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Length", strconv.FormatInt(s.fileSize, 10))
	h.Set("ETag", fmt.Sprintf(`"file-%d"`, s.fileSize))
	if r.Method == http.MethodHead {
		return
	}
	for left := s.fileSize; left > 0; {
		n := int64(len(s.pattern))
		if left < n {
			n = left
		}
		if _, err := w.Write(s.pattern[:n]); err != nil {
			return
		}
		left -= n
	}
}

// legacyJSON renders /pypi/<project>/json (the legacy JSON API) with every
// release's files, as pypi.org does; the proxy reads upload times from it
// for cooldown decisions on HTML pages.
func legacyJSON(p *pagegen.Project, base string) []byte {
	type file struct {
		Digests           map[string]string `json:"digests"`
		Filename          string            `json:"filename"`
		PackageType       string            `json:"packagetype"`
		RequiresPython    *string           `json:"requires_python"`
		Size              int64             `json:"size"`
		UploadTime        string            `json:"upload_time"`
		UploadTimeISO8601 string            `json:"upload_time_iso_8601"`
		URL               string            `json:"url"`
		Yanked            bool              `json:"yanked"`
		YankedReason      *string           `json:"yanked_reason"`
	}
	releases := make(map[string][]file, len(p.Versions))
	var last []file
	for _, f := range p.Files {
		typ := "sdist"
		if strings.HasSuffix(f.Filename, ".whl") {
			typ = "bdist_wheel"
		}
		var rp, yr *string
		if f.RequiresPython != "" {
			rp = &f.RequiresPython
		}
		if f.Yanked {
			yr = &f.YankedReason
		}
		lf := file{
			Digests: map[string]string{"sha256": f.Sha256}, Filename: f.Filename, PackageType: typ,
			RequiresPython: rp, Size: f.Size,
			UploadTime:        f.UploadTime.Format("2006-01-02T15:04:05"),
			UploadTimeISO8601: f.UploadTime.Format("2006-01-02T15:04:05.000000Z"),
			URL:               strings.Replace(f.URL, "https://files.pythonhosted.org", base, 1),
			Yanked:            f.Yanked, YankedReason: yr,
		}
		releases[f.Version] = append(releases[f.Version], lf)
		if f.Version == p.Versions[len(p.Versions)-1] {
			last = append(last, lf)
		}
	}
	doc := map[string]any{
		"info": map[string]any{
			"name": p.Name, "version": p.Versions[len(p.Versions)-1], "summary": "generated for bench/run",
			"requires_python": nil, "yanked": false,
		},
		"last_serial":     p.Serial,
		"releases":        releases,
		"urls":            last,
		"vulnerabilities": []any{},
	}
	b, err := json.Marshal(doc)
	if err != nil {
		panic(err)
	}
	return b
}
