package fakepypi

import (
	"net/http"
	"strings"
	"time"
)

// Request is one request seen by a fake host.
type Request struct {
	// Seq orders requests across both hosts (1-based).
	Seq int64
	// Host is "index" or "files".
	Host string
	// Method, Path and RawQuery describe the request line.
	Method, Path, RawQuery string
	// Header is a copy of the request headers.
	Header http.Header
	// Status is the response status (0 while the handler runs or after a
	// connection reset).
	Status int
	// ContentType is the Content-Type of the response.
	ContentType string
	// Time is when the request arrived.
	Time time.Time
}

// Requests returns the request log of this host.
func (h *Host) Requests() []Request {
	var out []Request
	for _, r := range h.s.Requests() {
		if r.Host == h.name {
			out = append(out, r)
		}
	}
	return out
}

// Count returns how many requests with this method (any when empty) and
// path prefix this host has logged.
func (h *Host) Count(method, pathPrefix string) int {
	n := 0
	for _, r := range h.Requests() {
		if (method == "" || r.Method == method) && strings.HasPrefix(r.Path, pathPrefix) {
			n++
		}
	}
	return n
}

// Requests returns the merged request log of both hosts in arrival order.
func (s *Server) Requests() []Request {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	out := make([]Request, len(s.log))
	for i, r := range s.log {
		out[i] = *r
		out[i].Header = r.Header.Clone()
	}
	return out
}

// ResetRequests clears the request log of both hosts.
func (s *Server) ResetRequests() {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	s.log = nil
}

// Count counts requests on both hosts, like Host.Count.
func (s *Server) Count(method, pathPrefix string) int {
	return s.Index.Count(method, pathPrefix) + s.Files.Count(method, pathPrefix)
}

func (s *Server) logRequest(h *Host, r *http.Request) *Request {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	s.seq++
	e := &Request{Seq: s.seq, Host: h.name, Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), Time: time.Now()}
	s.log = append(s.log, e)
	return e
}

func (s *Server) setStatus(e *Request, status int, ct string) {
	s.logMu.Lock()
	e.Status, e.ContentType = status, ct
	s.logMu.Unlock()
}

// statusWriter records the status code a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// wrap logs requests and applies faults before the real handler.
func (s *Server) wrap(h *Host, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e := s.logRequest(h, r)
		sw := &statusWriter{ResponseWriter: w}
		if f, ok := s.faults.match(h.name, r.URL.Path); ok {
			s.serveFault(sw, r, f, next)
		} else {
			next.ServeHTTP(sw, r)
		}
		s.setStatus(e, sw.status, sw.Header().Get("Content-Type"))
	})
}
