package osaproxy

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/caddyserver/caddy/v2"
	"github.com/osaproxy/caddy-osaproxy/journal"
	"github.com/osaproxy/caddy-osaproxy/policy"
)

// blockInfo is what a blocked client is told.
type blockInfo struct {
	Package, Version, File string
	Status                 string
	Headline               string
	Details                []string
	Policies               []string
	Advisories             []string
	Snapshot               string
}

// block refuses the request with block_status and an actionable text body,
// and records it. No upstream byte has been sent at this point.
func (x *exchange) block(w http.ResponseWriter, rec journal.Record, b blockInfo) error {
	code := x.h.BlockStatus
	rec.HTTPStatus = code
	x.record(rec)

	var body strings.Builder
	what := b.Package
	if b.Version != "" {
		what += " " + b.Version
	}
	fmt.Fprintf(&body, "osa_proxy blocked this request.\n\n")
	fmt.Fprintf(&body, "Package:      %s\n", sanitizeLine(b.Package, 200))
	if b.Version != "" {
		fmt.Fprintf(&body, "Version:      %s\n", sanitizeLine(b.Version, 200))
	}
	if b.File != "" {
		fmt.Fprintf(&body, "File:         %s\n", sanitizeLine(b.File, 300))
	}
	fmt.Fprintf(&body, "Repository:   %s\n", x.repo.Name)
	fmt.Fprintf(&body, "Block status: %s\n", b.Status)
	fmt.Fprintf(&body, "Work mode:    %s\n", x.opts.Mode)
	if len(b.Policies) > 0 {
		fmt.Fprintf(&body, "Policies:     %s\n", sanitizeLine(strings.Join(b.Policies, ", "), 1000))
	}
	if len(b.Advisories) > 0 {
		fmt.Fprintf(&body, "Advisories:   %s\n", sanitizeLine(strings.Join(b.Advisories, ", "), 1000))
	}
	if b.Snapshot != "" {
		fmt.Fprintf(&body, "Intel:        %s\n", b.Snapshot)
	}
	if rec.RequestID == "" {
		rec.RequestID = x.requestID()
	}
	fmt.Fprintf(&body, "Request id:   %s\n", rec.RequestID)
	if b.Headline != "" {
		fmt.Fprintf(&body, "\nWhy:\n  %s\n", sanitizeLine(b.Headline, 2000))
	}
	if len(b.Details) > 0 && !(len(b.Details) == 1 && b.Details[0] == b.Headline) {
		for i, d := range b.Details {
			if i == 50 {
				fmt.Fprintf(&body, "  ... and %d more\n", len(b.Details)-50)
				break
			}
			fmt.Fprintf(&body, "  - %s\n", sanitizeLine(d, 500))
		}
	}
	for _, a := range b.Advisories {
		if id := sanitizeLine(a, 100); id != "" {
			fmt.Fprintf(&body, "  see https://osv.dev/vulnerability/%s\n", id)
		}
	}
	fmt.Fprintf(&body, "\nWhat you can do:\n")
	switch b.Status {
	case journal.StatusBlockedByPolicies:
		fmt.Fprintf(&body, "  Use another version (the index lists only allowed ones), or ask your security team\n  for a waiver quoting the request id above.\n")
	case journal.StatusBlockedUnscanned, journal.StatusBlockedTimeout:
		fmt.Fprintf(&body, "  The proxy has no threat intelligence in force yet; retry shortly or ask the operator\n  to check GET /osa/intel on the Caddy admin endpoint.\n")
	case journal.StatusBlockedOnError:
		fmt.Fprintf(&body, "  The decision failed and the proxy fails closed; retry, or ask the operator to check the logs.\n")
	}

	hdr := w.Header()
	for k := range hdr {
		if k != "Server" && k != "Alt-Svc" {
			delete(hdr, k)
		}
	}
	short := "Blocked: " + what
	if len(b.Advisories) > 0 {
		short += " " + strings.Join(firstN(b.Advisories, 3), " ")
	} else if len(b.Policies) > 0 {
		short += " by " + firstN(b.Policies, 1)[0]
	} else {
		short += " (" + b.Status + ")"
	}
	short = sanitizeLine(short, 180)
	hdr.Set("Content-Type", "text/plain; charset=utf-8")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-OSA-Status", b.Status)
	hdr.Set("X-OSA-Reason", short)
	hdr.Set("X-OSA-Request-Id", rec.RequestID)
	text := body.String()
	hdr.Set("Content-Length", strconv.Itoa(len(text)))

	if x.h.StatusLine && x.r.ProtoMajor == 1 {
		if err := writeRawStatus(w, x.r, code, short, hdr, text); err == nil {
			return nil
		}
	}
	w.WriteHeader(code)
	if x.r.Method != http.MethodHead {
		_, err := io.WriteString(w, text)
		return err
	}
	return nil
}

// writeRawStatus writes an HTTP/1.x response with a custom reason phrase by
// taking over the connection (net/http always writes the standard phrase).
func writeRawStatus(w http.ResponseWriter, r *http.Request, code int, reason string, hdr http.Header, body string) error {
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return err
	}
	defer conn.Close()
	hdr.Set("Connection", "close")
	var b bytes.Buffer
	fmt.Fprintf(&b, "HTTP/1.1 %03d %s\r\n", code, reason)
	_ = hdr.Write(&b)
	b.WriteString("\r\n")
	if r.Method != http.MethodHead {
		b.WriteString(body)
	}
	bw := brw.Writer
	if bw == nil {
		bw = bufio.NewWriter(conn)
	}
	if _, err := bw.Write(b.Bytes()); err != nil {
		return nil // the connection is gone either way; nothing else can be sent
	}
	_ = bw.Flush()
	return nil
}

// sanitizeLine keeps printable ASCII only (no CR, LF, NUL, other controls,
// no unicode tricks) and bounds the length, so nothing from a package name
// can inject a header or a status line.
func sanitizeLine(s string, max int) string {
	var b strings.Builder
	for _, r := range s {
		if b.Len() >= max {
			b.WriteString("...")
			break
		}
		switch {
		case r >= 0x20 && r < 0x7f:
			b.WriteRune(r)
		case r == '\t' || r == '\n' || r == '\r':
			b.WriteByte(' ')
		case unicode.IsPrint(r) && r < 0x7f:
			b.WriteRune(r)
		default:
			b.WriteByte('?')
		}
	}
	return b.String()
}

func firstN(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func sortedKeys(m map[string]struct{}) []string {
	if len(m) == 0 {
		return nil
	}
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// matchLines renders each match for the block body.
func matchLines(d *policy.Decision) []string {
	var out []string
	for _, m := range d.Matches {
		for _, r := range m.Reasons {
			out = append(out, m.Policy+": "+r)
		}
		if len(m.Reasons) == 0 {
			out = append(out, m.Policy)
		}
	}
	return out
}

// requestID returns Caddy's request UUID.
func (x *exchange) requestID() string {
	if repl, ok := x.r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok {
		id, _ := repl.GetString("http.request.uuid")
		return id
	}
	return ""
}

// decodeBody undoes a Content-Encoding the transport left in place, with a
// size cap against compression bombs. Unknown encodings are refused.
func decodeBody(hdr http.Header, body []byte, limit int64) ([]byte, error) {
	ce := strings.ToLower(strings.TrimSpace(hdr.Get("Content-Encoding")))
	if ce == "" || ce == "identity" {
		return body, nil
	}
	var rd io.Reader
	switch ce {
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, fmt.Errorf("upstream index has a corrupt gzip body: %v", err)
		}
		defer zr.Close()
		rd = zr
	case "deflate":
		rd = flate.NewReader(bytes.NewReader(body))
	default:
		return nil, fmt.Errorf("upstream index uses unsupported Content-Encoding %q; refusing to serve it unfiltered", ce)
	}
	out, err := io.ReadAll(io.LimitReader(rd, limit+1))
	if err != nil {
		return nil, fmt.Errorf("upstream index could not be decompressed: %v", err)
	}
	if int64(len(out)) > limit {
		return nil, fmt.Errorf("upstream index decompresses to more than max_index_size (%d bytes); refusing it", limit)
	}
	hdr.Del("Content-Encoding")
	return out, nil
}
