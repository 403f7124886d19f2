package fakepypi

import (
	"bytes"
	"compress/gzip"
	"crypto/md5"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
)

// Media types of the Simple Repository API.
const (
	TypeHTML       = "text/html"
	TypeV1HTML     = "application/vnd.pypi.simple.v1+html"
	TypeV1JSON     = "application/vnd.pypi.simple.v1+json"
	TypeLatestHTML = "application/vnd.pypi.simple.latest+html"
	TypeLatestJSON = "application/vnd.pypi.simple.latest+json"
)

// formatValues are the ?format= values pypi.org's edge accepts; each
// replaces the Accept header.
var formatValues = map[string]bool{TypeHTML: true, TypeV1HTML: true, TypeV1JSON: true, TypeLatestHTML: true, TypeLatestJSON: true}

type acceptRange struct {
	typ, sub string
	q        float64
}

// parseAccept parses an Accept header. ok is false when the header is
// malformed, which WebOb treats like a missing header.
func parseAccept(h string) (ranges []acceptRange, ok bool) {
	for _, part := range strings.Split(h, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		params := strings.Split(part, ";")
		mt := strings.ToLower(strings.TrimSpace(params[0]))
		typ, sub, found := strings.Cut(mt, "/")
		if !found || typ == "" || sub == "" || (typ == "*" && sub != "*") {
			return nil, false
		}
		q := 1.0
		for _, p := range params[1:] {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.EqualFold(strings.TrimSpace(k), "q") {
				f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err != nil || f < 0 || f > 1 {
					return nil, false
				}
				q = f
			}
		}
		ranges = append(ranges, acceptRange{typ, sub, q})
	}
	return ranges, true
}

// canonicalType maps the "latest" meta-version to v1.
func canonicalType(t string) string {
	switch t {
	case TypeLatestHTML:
		return TypeV1HTML
	case TypeLatestJSON:
		return TypeV1JSON
	}
	return t
}

// offerQ returns the q-value the ranges give to offer: the q of the most
// specific matching range (exact beats type/* beats */*), -1 when none matches.
func offerQ(ranges []acceptRange, offer string) float64 {
	otyp, _, _ := strings.Cut(offer, "/")
	best, spec := -1.0, -1
	for _, r := range ranges {
		s := -1
		switch {
		case r.typ+"/"+r.sub == offer || canonicalType(r.typ+"/"+r.sub) == offer:
			s = 2
		case r.typ == otyp && r.sub == "*":
			s = 1
		case r.typ == "*" && r.sub == "*":
			s = 0
		}
		if s > spec || (s == spec && s >= 0 && r.q > best) {
			spec, best = s, r.q
		}
	}
	if spec < 0 {
		return -1
	}
	return best
}

// negotiate picks the Simple API content type for a request the way
// pypi.org does: ?format= replaces Accept; otherwise the offers
// [text/html, v1+html, v1+json] are ranked by q-value with ties going to
// that order. ok is false when nothing is acceptable.
func negotiate(r *http.Request, jsonOK bool) (ct string, ok bool) {
	accept := r.Header.Get("Accept")
	if f := r.URL.Query().Get("format"); formatValues[f] {
		accept = f
	}
	offers := []string{TypeHTML, TypeV1HTML}
	if jsonOK {
		offers = append(offers, TypeV1JSON)
	}
	ranges, valid := parseAccept(accept)
	if strings.TrimSpace(accept) == "" || !valid {
		return TypeHTML, true
	}
	bestQ, best := 0.0, ""
	for _, o := range offers {
		if q := offerQ(ranges, o); q > bestQ {
			bestQ, best = q, o
		}
	}
	if best == "" {
		return TypeHTML, false
	}
	return best, true
}

// acceptsGzip reports whether Accept-Encoding allows gzip.
func acceptsGzip(h string) bool {
	gz, star := -1.0, -1.0
	for _, part := range strings.Split(h, ",") {
		params := strings.Split(part, ";")
		coding := strings.ToLower(strings.TrimSpace(params[0]))
		q := 1.0
		for _, p := range params[1:] {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.TrimSpace(k) == "q" {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					q = f
				}
			}
		}
		switch coding {
		case "gzip", "x-gzip":
			gz = q
		case "*":
			star = q
		}
	}
	if gz >= 0 {
		return gz > 0
	}
	return star > 0
}

// ETagOf returns PyPI's strong ETag for a body: the quoted, unpadded
// base64 MD5 (22 characters between the quotes).
func ETagOf(body []byte) string {
	sum := md5.Sum(body)
	return `"` + base64.RawStdEncoding.EncodeToString(sum[:]) + `"`
}

// etagMatches evaluates If-None-Match against etag.
func etagMatches(inm, etag string) bool {
	if inm == "" {
		return false
	}
	for _, t := range strings.Split(inm, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}

// writeCacheable sends a buffered body with PyPI's origin behaviour: gzip
// when accepted and smaller, ETag over the sent bytes, 304 on If-None-Match.
// The caller sets Content-Type, Cache-Control and the other headers first.
func writeCacheable(w http.ResponseWriter, r *http.Request, body []byte, compress bool) {
	h := w.Header()
	if compress && acceptsGzip(r.Header.Get("Accept-Encoding")) {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
		zw.Write(body)
		zw.Close()
		if buf.Len() < len(body) {
			body = buf.Bytes()
			h.Set("Content-Encoding", "gzip")
		}
	}
	etag := ETagOf(body)
	h.Set("ETag", etag)
	if etagMatches(r.Header.Get("If-None-Match"), etag) {
		h.Del("Content-Type")
		h.Del("Content-Encoding")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}
