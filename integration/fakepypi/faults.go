package fakepypi

import (
	"bytes"
	"compress/gzip"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Fault describes a misbehaviour injected into responses whose path starts
// with a prefix. Fields combine: Delay happens first; Status/Body (or
// RedirectTo) replace the real response; ResetMidBody, TruncateGzip,
// GzipBomb and Trickle change how the (real or replaced) response is sent.
type Fault struct {
	// Host restricts the fault to "index" or "files" (empty: both).
	Host string
	// Status replaces the response status (with Body, default status text).
	Status int
	// Delay waits before answering (aborted when the client goes away).
	Delay time.Duration
	// ResetMidBody announces the full Content-Length, sends half of the
	// body, then resets the TCP connection.
	ResetMidBody bool
	// TruncateGzip sends the body gzip-encoded with its tail cut off
	// (no Content-Length; the chunked stream ends cleanly).
	TruncateGzip bool
	// Body replaces the response body (status 200 unless Status is set).
	Body []byte
	// ContentType is the Content-Type of a replaced body (default text/plain).
	ContentType string
	// GzipBomb sends a Content-Encoding: gzip body that inflates to
	// BombSize bytes (default 1 GiB) of zeros.
	GzipBomb bool
	// BombSize is the inflated size of GzipBomb.
	BombSize int64
	// Trickle sends the body TrickleBytes (default 1) at a time, waiting
	// Trickle between writes.
	Trickle time.Duration
	// TrickleBytes is the chunk size for Trickle.
	TrickleBytes int
	// RedirectTo answers with a redirect (Status if 3xx, else 302) to this URL.
	RedirectTo string
	// Times limits the fault to the next n matching requests (0: unlimited).
	Times int
}

type faultEntry struct {
	prefix string
	fault  Fault
	left   int
}

type faultTable struct {
	mu      sync.Mutex
	entries map[string]*faultEntry
}

// SetFault installs f for request paths starting with prefix ("*" matches
// every path). The longest matching prefix wins. It replaces an earlier
// fault with the same prefix and takes effect for the next request.
func (s *Server) SetFault(prefix string, f Fault) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	if s.faults.entries == nil {
		s.faults.entries = map[string]*faultEntry{}
	}
	s.faults.entries[prefix] = &faultEntry{prefix: prefix, fault: f, left: f.Times}
}

// ClearFault removes the fault installed for prefix.
func (s *Server) ClearFault(prefix string) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	delete(s.faults.entries, prefix)
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.entries = nil
}

func (t *faultTable) match(host, path string) (Fault, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var best *faultEntry
	for _, e := range t.entries {
		if e.fault.Host != "" && e.fault.Host != host {
			continue
		}
		if e.prefix != "*" && !strings.HasPrefix(path, e.prefix) {
			continue
		}
		plen := len(e.prefix)
		if e.prefix == "*" {
			plen = 0
		}
		blen := -1
		if best != nil {
			blen = len(best.prefix)
			if best.prefix == "*" {
				blen = 0
			}
		}
		if plen > blen {
			best = e
		}
	}
	if best == nil {
		return Fault{}, false
	}
	if best.fault.Times > 0 {
		best.left--
		if best.left <= 0 {
			delete(t.entries, best.prefix)
		}
	}
	return best.fault, true
}

func (s *Server) serveFault(w http.ResponseWriter, r *http.Request, f Fault, next http.Handler) {
	if f.Delay > 0 {
		select {
		case <-time.After(f.Delay):
		case <-r.Context().Done():
			return
		}
	}
	if f.RedirectTo != "" {
		status := f.Status
		if status < 300 || status > 399 {
			status = http.StatusFound
		}
		w.Header().Set("Location", f.RedirectTo)
		w.WriteHeader(status)
		return
	}
	// Produce the base response.
	rec := httptest.NewRecorder()
	if f.Status != 0 || f.Body != nil {
		status := f.Status
		if status == 0 {
			status = http.StatusOK
		}
		body := f.Body
		if body == nil {
			body = []byte(http.StatusText(status) + "\n")
		}
		ct := f.ContentType
		if ct == "" {
			ct = "text/plain; charset=utf-8"
		}
		rec.Header().Set("Content-Type", ct)
		rec.Header().Set("Content-Length", strconv.Itoa(len(body)))
		rec.WriteHeader(status)
		if r.Method != http.MethodHead {
			rec.Body.Write(body)
		}
	} else {
		next.ServeHTTP(rec, r)
	}
	status := rec.Code
	body := rec.Body.Bytes()
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	h := w.Header()
	rc := http.NewResponseController(w)
	switch {
	case f.GzipBomb:
		bomb := gzipBomb(f.BombSize)
		h.Del("ETag")
		h.Set("Content-Encoding", "gzip")
		h.Set("Content-Length", strconv.Itoa(len(bomb)))
		w.WriteHeader(status)
		if r.Method != http.MethodHead {
			w.Write(bomb)
		}
		return
	case f.TruncateGzip:
		if h.Get("Content-Encoding") != "gzip" {
			body = gzipBytes(body)
		}
		cut := len(body) / 2
		if len(body) > 24 {
			cut = len(body) - 12
		}
		h.Del("ETag")
		h.Del("Content-Length")
		h.Set("Content-Encoding", "gzip")
		w.WriteHeader(status)
		if r.Method != http.MethodHead {
			w.Write(body[:cut])
		}
		return
	}
	if h.Get("Content-Length") == "" {
		h.Set("Content-Length", strconv.Itoa(len(body)))
	}
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	switch {
	case f.ResetMidBody:
		w.Write(body[:len(body)/2])
		rc.Flush()
		conn, _, err := rc.Hijack()
		if err != nil {
			return
		}
		resetConn(conn)
	case f.Trickle > 0:
		n := f.TrickleBytes
		if n <= 0 {
			n = 1
		}
		for len(body) > 0 {
			k := min(n, len(body))
			if _, err := w.Write(body[:k]); err != nil {
				return
			}
			rc.Flush()
			body = body[k:]
			if len(body) == 0 {
				break
			}
			select {
			case <-time.After(f.Trickle):
			case <-r.Context().Done():
				return
			}
		}
	default:
		w.Write(body)
	}
}

// resetConn closes a hijacked connection with SO_LINGER 0 so the peer gets
// a TCP RST instead of an orderly FIN.
func resetConn(c net.Conn) {
	type netConner interface{ NetConn() net.Conn }
	raw := c
	if nc, ok := c.(netConner); ok {
		raw = nc.NetConn()
	}
	if tc, ok := raw.(*net.TCPConn); ok {
		tc.SetLinger(0)
		tc.Close()
		return
	}
	c.Close()
}

func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

var (
	bombMu    sync.Mutex
	bombCache = map[int64][]byte{}
)

// gzipBomb returns a gzip stream of concatenated members that inflates to
// size bytes of zeros (rounded up to 8 MiB members).
func gzipBomb(size int64) []byte {
	if size <= 0 {
		size = 1 << 30
	}
	bombMu.Lock()
	defer bombMu.Unlock()
	if b, ok := bombCache[size]; ok {
		return b
	}
	const memberSize = 8 << 20
	var member bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&member, gzip.BestCompression)
	zw.Write(make([]byte, min(size, memberSize)))
	zw.Close()
	n := (size + memberSize - 1) / memberSize
	out := bytes.Repeat(member.Bytes(), int(n))
	bombCache[size] = out
	return out
}
