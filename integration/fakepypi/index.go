package fakepypi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// APIVersion is the Simple API version the fake announces (PEP 629).
const APIVersion = "1.4"

func (s *Server) serveIndex(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if s.base != "" {
		if !strings.HasPrefix(p, s.base+"/") {
			notFound(w)
			return
		}
		p = strings.TrimPrefix(p, s.base)
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "405 Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	switch {
	case p == "/simple" || strings.HasPrefix(p, "/simple/"):
		if !s.opts.ArtifactoryStyle && !strings.HasSuffix(p, "/") && strings.HasPrefix(r.Header.Get("User-Agent"), "Go-http-client") {
			// pypi.org's edge (main.vcl error 670) refuses Go's default
			// User-Agent on /simple paths without the trailing slash.
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusNotAcceptable)
			fmt.Fprint(w, "Not Acceptable: requests with the default Go User-Agent must use the trailing slash (/simple/<project>/).\n")
			return
		}
		s.serveSimple(w, r, p)
	case strings.HasPrefix(p, "/pypi/"):
		s.serveLegacyJSON(w, r, p)
	case strings.HasPrefix(p, "/packages/"):
		if s.opts.ArtifactoryStyle {
			s.serveFilePath(w, r, strings.TrimPrefix(p, "/packages"))
			return
		}
		// warehouse routes.py: add_redirect("/packages/{path:.*}", files_url)
		w.Header().Set("Location", s.Files.URL+p)
		w.WriteHeader(http.StatusMovedPermanently)
	default:
		notFound(w)
	}
}

func notFound(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusNotFound)
	fmt.Fprint(w, "404 Not Found\n")
}

func redirect(w http.ResponseWriter, location string) {
	w.Header().Set("Location", location)
	w.WriteHeader(http.StatusMovedPermanently)
}

func (s *Server) serveSimple(w http.ResponseWriter, r *http.Request, p string) {
	if p == "/simple" {
		redirect(w, s.base+"/simple/")
		return
	}
	if p == "/simple/" {
		s.serveProjectList(w, r)
		return
	}
	rest := strings.TrimPrefix(p, "/simple/")
	name, tail, hasSlash := strings.Cut(rest, "/")
	if !hasSlash {
		// pyramid append_slash notfound view: relative Location, query dropped.
		redirect(w, s.base+"/simple/"+name+"/")
		return
	}
	if tail != "" || name == "" {
		notFound(w)
		return
	}
	s.mu.RLock()
	proj := s.projects[Normalize(name)]
	s.mu.RUnlock()
	if proj == nil {
		notFound(w)
		return
	}
	if name != proj.normalized {
		redirect(w, s.base+"/simple/"+proj.normalized+"/")
		return
	}
	s.serveProjectDetail(w, r, proj)
}

// setSimpleHeaders sets the headers pypi.org sends on every /simple/ response.
func (s *Server) setSimpleHeaders(w http.ResponseWriter, ct string, serial int64) {
	h := w.Header()
	h.Set("Content-Type", ct)
	if s.opts.ArtifactoryStyle {
		return
	}
	h.Set("Vary", "Accept, Accept-Encoding")
	h.Set("Cache-Control", "max-age=600, public")
	h.Set("X-PyPI-Last-Serial", strconv.FormatInt(serial, 10))
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Headers", "Content-Type, If-Match, If-Modified-Since, If-None-Match, If-Unmodified-Since")
	h.Set("Access-Control-Allow-Methods", "GET")
	h.Set("Access-Control-Expose-Headers", "X-PyPI-Last-Serial")
}

// contentType negotiates, or answers 406 in strict mode.
func (s *Server) contentType(w http.ResponseWriter, r *http.Request) (string, bool) {
	if s.opts.ArtifactoryStyle {
		return TypeHTML, true
	}
	ct, ok := negotiate(r, !s.htmlOnly.Load())
	if !ok && s.strict.Load() {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Vary", "Accept, Accept-Encoding")
		w.WriteHeader(http.StatusNotAcceptable)
		fmt.Fprint(w, "406 Not Acceptable\n")
		return "", false
	}
	return ct, true
}

func (s *Server) serveProjectList(w http.ResponseWriter, r *http.Request) {
	ct, ok := s.contentType(w, r)
	if !ok {
		return
	}
	s.mu.RLock()
	serial := s.serial
	projs := make([]*project, 0, len(s.projects))
	for _, p := range s.projects {
		if p.status != "quarantined" {
			projs = append(projs, p)
		}
	}
	sort.Slice(projs, func(i, j int) bool { return projs[i].normalized < projs[j].normalized })
	var b bytes.Buffer
	switch {
	case ct == TypeV1JSON:
		type entry struct {
			LastSerial int64  `json:"_last-serial"`
			Name       string `json:"name"`
		}
		doc := struct {
			Meta     jsonMeta `json:"meta"`
			Projects []entry  `json:"projects"`
		}{Meta: jsonMeta{serial, APIVersion}, Projects: []entry{}}
		for _, p := range projs {
			doc.Projects = append(doc.Projects, entry{p.serial, p.name})
		}
		b.Write(pypiJSON(doc))
	case s.opts.ArtifactoryStyle:
		b.WriteString("<!DOCTYPE html><html><head><title>Simple Index</title><meta name=\"api-version\" value=\"2\" /></head><body>\n")
		for _, p := range projs {
			fmt.Fprintf(&b, "<a href=\"%s/\">%s</a><br />\n", html.EscapeString(p.normalized), html.EscapeString(p.name))
		}
		b.WriteString("</body></html>\n")
	default:
		fmt.Fprintf(&b, "<!DOCTYPE html>\n<html>\n  <head>\n    <meta name=\"pypi:repository-version\" content=\"%s\">\n    <title>Simple index</title>\n  </head>\n  <body>\n", APIVersion)
		for _, p := range projs {
			fmt.Fprintf(&b, "    <a href=\"%s/simple/%s/\">%s</a>\n", html.EscapeString(s.base), html.EscapeString(p.normalized), html.EscapeString(p.name))
		}
		fmt.Fprintf(&b, "  </body>\n</html>\n<!--SERIAL %d-->", serial)
	}
	s.mu.RUnlock()
	s.setSimpleHeaders(w, ct, serial)
	writeCacheable(w, r, b.Bytes(), !s.opts.ArtifactoryStyle)
}

type jsonMeta struct {
	LastSerial int64  `json:"_last-serial"`
	APIVersion string `json:"api-version"`
}

// jsonFile is one PEP 691 file entry; fields are in sorted key order, as
// PyPI renders with sort_keys=True.
type jsonFile struct {
	CoreMetadata         any               `json:"core-metadata"`
	DataDistInfoMetadata any               `json:"data-dist-info-metadata"`
	Filename             string            `json:"filename"`
	Hashes               map[string]string `json:"hashes"`
	Provenance           *string           `json:"provenance"`
	RequiresPython       *string           `json:"requires-python"`
	Size                 int               `json:"size"`
	UploadTime           string            `json:"upload-time"`
	URL                  string            `json:"url"`
	Yanked               any               `json:"yanked"`
}

// projectView is a consistent snapshot of a project for rendering.
type projectView struct {
	name, status string
	serial       int64
	files        []*File
	versions     []string
}

func (s *Server) view(p *project) projectView {
	s.mu.RLock()
	defer s.mu.RUnlock()
	v := projectView{name: p.normalized, status: p.status, serial: p.serial}
	if p.status == "quarantined" {
		return v
	}
	for _, r := range p.releases {
		if len(r.files) > 0 {
			v.versions = append(v.versions, r.version)
			for _, f := range r.files {
				snapshot := *f // Yank mutates files; render from a copy
				v.files = append(v.files, &snapshot)
			}
		}
	}
	sortFiles(v.files)
	return v
}

func (s *Server) serveProjectDetail(w http.ResponseWriter, r *http.Request, p *project) {
	ct, ok := s.contentType(w, r)
	if !ok {
		return
	}
	v := s.view(p)
	var body []byte
	switch {
	case ct == TypeV1JSON:
		body = s.renderDetailJSON(v)
	case s.opts.ArtifactoryStyle:
		body = s.renderDetailArtifactory(v)
	default:
		body = s.renderDetailHTML(v)
	}
	s.setSimpleHeaders(w, ct, v.serial)
	writeCacheable(w, r, body, !s.opts.ArtifactoryStyle)
}

// renderDetailHTML renders warehouse's templates/api/simple/detail.html.
func (s *Server) renderDetailHTML(v projectView) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "<!DOCTYPE html>\n<html lang=\"en\">\n  <head>\n    <meta name=\"pypi:repository-version\" content=\"%s\">\n    <meta name=\"pypi:project-status\" content=\"%s\">\n    <title>Links for %s</title>\n  </head>\n  <body>\n    <h1>Links for %s</h1>\n",
		APIVersion, html.EscapeString(v.status), html.EscapeString(v.name), html.EscapeString(v.name))
	for _, f := range v.files {
		fmt.Fprintf(&b, "    <a href=\"%s#sha256=%s\"", html.EscapeString(s.FileURL(f)), f.SHA256)
		if f.RequiresPython != "" {
			fmt.Fprintf(&b, " data-requires-python=\"%s\"", html.EscapeString(f.RequiresPython))
		}
		if f.Yanked {
			fmt.Fprintf(&b, " data-yanked=\"%s\"", html.EscapeString(f.YankedReason))
		}
		if f.Metadata != nil {
			fmt.Fprintf(&b, " data-dist-info-metadata=\"sha256=%s\" data-core-metadata=\"sha256=%s\"", f.MetadataSHA256, f.MetadataSHA256)
		}
		fmt.Fprintf(&b, ">%s</a><br />\n", html.EscapeString(f.Filename))
	}
	fmt.Fprintf(&b, "  </body>\n</html>\n<!--SERIAL %d-->", v.serial)
	return b.Bytes()
}

// renderDetailArtifactory renders a project page the way an Artifactory
// remote PyPI repository rebuilds it: relative links under packages/.
func (s *Server) renderDetailArtifactory(v projectView) []byte {
	var b bytes.Buffer
	b.WriteString("<!DOCTYPE html><html><head><title>Simple Index</title><meta name=\"api-version\" value=\"2\" /></head><body>\n")
	for _, f := range v.files {
		fmt.Fprintf(&b, "<a href=\"../../packages%s#sha256=%s\"", html.EscapeString(f.Path), f.SHA256)
		if f.RequiresPython != "" {
			fmt.Fprintf(&b, " data-requires-python=\"%s\"", html.EscapeString(f.RequiresPython))
		}
		if f.Yanked {
			fmt.Fprintf(&b, " data-yanked=\"%s\"", html.EscapeString(f.YankedReason))
		}
		fmt.Fprintf(&b, " rel=\"internal\">%s</a><br />\n", html.EscapeString(f.Filename))
	}
	b.WriteString("</body></html>\n")
	return b.Bytes()
}

func (s *Server) renderDetailJSON(v projectView) []byte {
	type doc struct {
		Files         []jsonFile        `json:"files"`
		Meta          jsonMeta          `json:"meta"`
		Name          string            `json:"name"`
		ProjectStatus map[string]string `json:"project-status"`
		Versions      []string          `json:"versions"`
	}
	d := doc{Files: []jsonFile{}, Meta: jsonMeta{v.serial, APIVersion}, Name: v.name, ProjectStatus: map[string]string{"status": v.status}, Versions: v.versions}
	if d.Versions == nil {
		d.Versions = []string{}
	}
	for _, f := range v.files {
		jf := jsonFile{
			CoreMetadata:         false,
			DataDistInfoMetadata: false,
			Filename:             f.Filename,
			Hashes:               map[string]string{"sha256": f.SHA256},
			Size:                 len(f.Data),
			UploadTime:           isoTime(f.UploadTime),
			URL:                  s.FileURL(f),
			Yanked:               false,
		}
		if f.Metadata != nil {
			m := map[string]string{"sha256": f.MetadataSHA256}
			jf.CoreMetadata, jf.DataDistInfoMetadata = m, m
		}
		if f.RequiresPython != "" {
			rp := f.RequiresPython
			jf.RequiresPython = &rp
		}
		if f.Yanked {
			jf.Yanked = true
			if f.YankedReason != "" {
				jf.Yanked = f.YankedReason
			}
		}
		d.Files = append(d.Files, jf)
	}
	return pypiJSON(d)
}

// isoTime renders Python's datetime.isoformat()+"Z": microseconds only
// when non-zero.
func isoTime(t time.Time) string {
	t = t.UTC()
	if t.Nanosecond()/1000 == 0 {
		return t.Format("2006-01-02T15:04:05") + "Z"
	}
	return t.Format("2006-01-02T15:04:05.000000") + "Z"
}

// pypiJSON renders like Python's json.dumps(sort_keys=True,
// separators=(",", ":"), ensure_ascii=True) plus a trailing newline.
// Struct fields must already be declared in sorted order.
func pypiJSON(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err)
	}
	return asciiEscape(b.Bytes())
}

// asciiEscape replaces non-ASCII runes with \uXXXX escapes (JSON strings
// are the only place they can occur).
func asciiEscape(b []byte) []byte {
	if !bytes.ContainsFunc(b, func(r rune) bool { return r >= utf8.RuneSelf }) {
		return b
	}
	var out bytes.Buffer
	for _, r := range string(b) {
		switch {
		case r < utf8.RuneSelf:
			out.WriteRune(r)
		case r > 0xFFFF:
			r -= 0x10000
			fmt.Fprintf(&out, `\u%04x\u%04x`, 0xD800+(r>>10), 0xDC00+(r&0x3FF))
		default:
			fmt.Fprintf(&out, `\u%04x`, r)
		}
	}
	return out.Bytes()
}
