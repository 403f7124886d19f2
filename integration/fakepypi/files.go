package fakepypi

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"strconv"
	"strings"
	"time"
)

func (s *Server) serveFiles(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "405 Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	s.serveFilePath(w, r, r.URL.Path)
}

// serveFilePath serves a files.pythonhosted.org path (starting with /packages/).
func (s *Server) serveFilePath(w http.ResponseWriter, r *http.Request, p string) {
	if !strings.HasPrefix(p, "/packages/") {
		notFound(w)
		return
	}
	s.mu.RLock()
	f := s.byPath[p]
	var meta *File
	if f == nil && strings.HasSuffix(p, ".metadata") {
		meta = s.byPath[strings.TrimSuffix(p, ".metadata")]
	}
	s.mu.RUnlock()
	switch {
	case f != nil:
		s.serveDistribution(w, r, f)
	case meta != nil && meta.Metadata != nil:
		serveMetadata(w, r, meta)
	default:
		s.servePredictable(w, r, p)
	}
}

// setFileHeaders sets what files.pythonhosted.org sends for a stored object.
func setFileHeaders(h http.Header, f *File) {
	h.Set("Cache-Control", "max-age=365000000, immutable, public")
	h.Set("Accept-Ranges", "bytes")
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Headers", "Range")
	h.Set("x-pypi-file-project", f.Normalized)
	h.Set("x-pypi-file-version", f.Version)
	h.Set("x-pypi-file-package-type", string(f.Kind))
	h.Set("x-pypi-file-python-version", f.PythonVersion)
}

func (s *Server) serveDistribution(w http.ResponseWriter, r *http.Request, f *File) {
	h := w.Header()
	setFileHeaders(h, f)
	h.Set("Content-Type", f.ContentType())
	h.Set("ETag", `"`+f.MD5+`"`)
	// The files host strips conditional headers: no 304s, ever.
	r.Header.Del("If-None-Match")
	r.Header.Del("If-Modified-Since")
	r.Header.Del("If-Match")
	r.Header.Del("If-Unmodified-Since")
	http.ServeContent(w, r, "", f.UploadTime.Truncate(time.Second), bytes.NewReader(f.Data))
}

// serveMetadata serves <file>.metadata; it is compressed on the fly only
// when Accept-Encoding is exactly "gzip" (files.vcl).
func serveMetadata(w http.ResponseWriter, r *http.Request, f *File) {
	h := w.Header()
	setFileHeaders(h, f)
	h.Del("Accept-Ranges")
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Vary", "Accept-Encoding")
	body := f.Metadata
	if strings.TrimSpace(r.Header.Get("Accept-Encoding")) == "gzip" {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(body)
		zw.Close()
		body = buf.Bytes()
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("ETag", `"`+hexSum(md5New(), f.Metadata)+`"`)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// servePredictable answers the legacy predictable URLs
// /packages/source/<c>/<name>/<file> and /packages/<pytag>/<c>/<name>/<file>
// with a 302 to the hashed path.
func (s *Server) servePredictable(w http.ResponseWriter, r *http.Request, p string) {
	parts := strings.Split(strings.TrimPrefix(p, "/packages/"), "/")
	if len(parts) != 4 || parts[3] == "" {
		notFound(w)
		return
	}
	pyver, initial, name, filename := parts[0], parts[1], parts[2], parts[3]
	s.mu.RLock()
	f := s.byName[filename]
	s.mu.RUnlock()
	if f == nil || Normalize(name) != f.Normalized || !strings.EqualFold(initial, name[:1]) || pyver != f.PythonVersion {
		notFound(w)
		return
	}
	w.Header().Set("Location", s.FilesURL()+f.Path)
	w.WriteHeader(http.StatusFound)
}
