package pypi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxContextSegment is the longest base64 context segment ParseContext accepts.
const MaxContextSegment = 2048

// maxContextDepth is the deepest JSON nesting accepted in a context.
const maxContextDepth = 4

// ContextError is a context decoding error. Its message never contains bytes
// from the request, so it is safe to show a client.
type ContextError struct{ Msg string }

// Error implements error.
func (e *ContextError) Error() string { return "invalid repository context: " + e.Msg }

func ctxErr(msg string) error { return &ContextError{Msg: msg} }

// ParseContext decodes the base64 JSON repository manager context carried in
// one URL path segment.
//
// Accepted encodings: URL-safe base64 (RFC 4648 §5) with or without '='
// padding; padding may be percent-encoded (%3D). The standard alphabet ('+'
// and '/', also as %2B/%2F) is accepted too, because the two alphabets only
// differ in those two symbols and so decode identically; a segment that mixes
// both alphabets is refused as malformed. The decoded bytes must be a JSON
// object nested at most 4 levels deep; "repoManagerHost" and "repoName", when
// present, must be strings without control or bidi characters and may appear
// once each; other keys are ignored. Errors say what is wrong and are safe
// to show a client.
func ParseContext(segment string) (RepoContext, error) {
	if segment == "" {
		return RepoContext{}, ctxErr("empty segment")
	}
	if len(segment) > MaxContextSegment {
		return RepoContext{}, ctxErr("segment longer than 2048 characters")
	}
	s, err := contextUnescape(segment)
	if err != nil {
		return RepoContext{}, err
	}
	hasURL := strings.ContainsAny(s, "-_")
	hasStd := strings.ContainsAny(s, "+/")
	if hasURL && hasStd {
		return RepoContext{}, ctxErr("segment mixes the standard and URL-safe base64 alphabets")
	}
	if hasStd {
		s = strings.NewReplacer("+", "-", "/", "_").Replace(s)
	}
	// Padding: at most two '=' and only at the end.
	trimmed := strings.TrimRight(s, "=")
	if pad := len(s) - len(trimmed); pad > 2 || (pad > 0 && len(s)%4 != 0) {
		return RepoContext{}, ctxErr("bad base64 padding")
	}
	if strings.IndexByte(trimmed, '=') >= 0 {
		return RepoContext{}, ctxErr("bad base64 padding")
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(trimmed)
	if err != nil {
		return RepoContext{}, ctxErr("not valid base64")
	}
	return decodeContextJSON(raw)
}

// contextUnescape resolves the only percent-escapes a base64 segment may
// carry (%3D '=', %2B '+', %2F '/') and refuses any other byte outside the
// two base64 alphabets.
func contextUnescape(seg string) (string, error) {
	needs := false
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		switch {
		case isAlnum(c) || c == '-' || c == '_' || c == '+' || c == '/' || c == '=':
		case c == '%':
			needs = true
		default:
			return "", ctxErr("segment contains a character outside the base64 alphabet")
		}
	}
	if !needs {
		return seg, nil
	}
	var b strings.Builder
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		if i+2 >= len(seg) {
			return "", ctxErr("truncated percent-escape")
		}
		switch strings.ToUpper(seg[i+1 : i+3]) {
		case "3D":
			b.WriteByte('=')
		case "2B":
			b.WriteByte('+')
		case "2F":
			b.WriteByte('/')
		default:
			return "", ctxErr("percent-escape other than %3D, %2B or %2F")
		}
		i += 2
	}
	return b.String(), nil
}

func decodeContextJSON(raw []byte) (RepoContext, error) {
	var rc RepoContext
	if !utf8.Valid(raw) {
		return rc, ctxErr("decoded context is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return rc, ctxErr("decoded context is not JSON")
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return rc, ctxErr("decoded context is not a JSON object")
	}
	seenHost, seenName := false, false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return rc, ctxErr("decoded context is not valid JSON")
		}
		key, _ := tok.(string)
		switch key {
		case "repoManagerHost", "repoName":
			tok, err := dec.Token()
			if err != nil {
				return rc, ctxErr("decoded context is not valid JSON")
			}
			v, ok := tok.(string)
			if !ok {
				return rc, ctxErr(key + " must be a string")
			}
			if !cleanText(v) {
				return rc, ctxErr(key + " contains control or invisible formatting characters")
			}
			if key == "repoName" {
				if seenName {
					return rc, ctxErr("repoName appears more than once")
				}
				seenName, rc.RepoName = true, v
			} else {
				if seenHost {
					return rc, ctxErr("repoManagerHost appears more than once")
				}
				seenHost, rc.RepoManagerHost = true, v
			}
		default:
			if err := skipJSONValue(dec, 1); err != nil {
				return rc, err
			}
		}
	}
	if _, err := dec.Token(); err != nil { // closing '}'
		return rc, ctxErr("decoded context is not valid JSON")
	}
	if _, err := dec.Token(); err != io.EOF {
		return rc, ctxErr("trailing data after the JSON object")
	}
	return rc, nil
}

// skipJSONValue consumes one value; depth is the nesting level of the
// object holding it.
func skipJSONValue(dec *json.Decoder, depth int) error {
	tok, err := dec.Token()
	if err != nil {
		return ctxErr("decoded context is not valid JSON")
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	if d != '{' && d != '[' {
		return ctxErr("decoded context is not valid JSON")
	}
	if depth+1 > maxContextDepth {
		return ctxErr("JSON nested deeper than 4 levels")
	}
	for dec.More() {
		if d == '{' {
			if _, err := dec.Token(); err != nil { // key
				return ctxErr("decoded context is not valid JSON")
			}
		}
		if err := skipJSONValue(dec, depth+1); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return ctxErr("decoded context is not valid JSON")
	}
	return nil
}

// cleanText reports whether s has no control, format (bidi, zero-width) or
// invalid characters.
func cleanText(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) ||
			r == '\u2028' || r == '\u2029' {
			return false
		}
	}
	return true
}

// EncodeContext is the inverse of ParseContext (unpadded URL-safe base64 of
// the JSON object).
func EncodeContext(c RepoContext) string {
	b, err := json.Marshal(c)
	if err != nil { // cannot happen for two strings
		panic(errors.New("pypi: encode context: " + err.Error()))
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
