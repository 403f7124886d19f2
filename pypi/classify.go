package pypi

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Error is a classification error with the HTTP status a client should get.
// Msg never contains bytes from the request, so it is safe to send to a client.
type Error struct {
	Status int
	Msg    string
}

// Error returns the message, which is safe to send to a client.
func (e *Error) Error() string { return e.Msg }

// MaxPathLength is the longest escaped path Classify accepts.
const MaxPathLength = 4096

func badRequest(msg string) error { return &Error{Status: 400, Msg: msg} }
func notFound(msg string) error   { return &Error{Status: 404, Msg: msg} }

// Upstream kinds.
const (
	UpstreamRegistry   = "registry"
	UpstreamPackages   = "packages"
	UpstreamAdditional = "additional"
)

// Classify classifies the part of a proxy path after /<repo>[/<b64>]
// (beginning with "/", still percent-encoded as received: pass
// r.URL.EscapedPath() minus the prefix). additionalKeys are the configured
// additional registry keys.
//
// Every segment is percent-decoded exactly once and validated; the request is
// refused with a 400 *Error on: malformed escapes, an encoded or literal
// slash or backslash inside a segment, dot segments ("." and "..", also
// encoded), double encoding ("%25" followed by two hex digits), empty
// segments other than the trailing slash, control characters (C0, DEL, C1),
// Unicode format characters (bidi controls, zero-width), whitespace, ';',
// invalid UTF-8, and segments ending in a dot or a space. UpstreamPath is
// rebuilt from the decoded segments with canonical escaping (every byte
// outside A-Z a-z 0-9 - . _ ~ is percent-encoded, so '+' goes out as %2B),
// so what was checked is exactly what is fetched. Unknown routes give a 404
// *Error; non-canonical project names and missing or extra trailing slashes
// give a Route with Redirect set.
func Classify(escapedPath string, additionalKeys []string) (Route, error) {
	segs, trailing, err := splitPath(escapedPath)
	if err != nil {
		return Route{}, err
	}
	if len(segs) == 0 {
		return Route{}, notFound("not found")
	}
	switch segs[0] {
	case "simple":
		return classifySimple(segs, trailing)
	case "packages":
		if len(segs) < 2 || trailing {
			return Route{}, notFound("not a distribution file path")
		}
		r, err := fileRoute(segs[len(segs)-1])
		if err != nil {
			return Route{}, err
		}
		r.Upstream = Upstream{Kind: UpstreamPackages}
		r.UpstreamPath = joinEscaped(segs)
		// Predictable legacy URLs: /packages/source/<c>/<name>/<file> and
		// /packages/<pyver>/<c>/<name>/<file>. Hashed paths are
		// /packages/<2hex>/<2hex>/<60hex>/<file>.
		if len(segs) == 5 && utf8.RuneCountInString(segs[2]) == 1 {
			name := segs[3]
			if !validProjectName(name) {
				return Route{}, notFound("not a valid project name")
			}
			r.RawProject = name
			r.Project = NormalizeName(name)
			if _, err := ParseFilename(r.Filename, r.Project); err != nil {
				return Route{}, notFound("file name does not belong to the project in the path")
			}
		}
		return r, nil
	case "pypi":
		return classifyJSON(segs, trailing)
	case "x":
		if len(segs) < 3 || trailing {
			return Route{}, notFound("not a distribution file path")
		}
		key := segs[1]
		known := false
		for _, k := range additionalKeys {
			if k == key {
				known = true
				break
			}
		}
		if !known {
			return Route{}, notFound("unknown additional registry")
		}
		r, err := fileRoute(segs[len(segs)-1])
		if err != nil {
			return Route{}, err
		}
		r.Upstream = Upstream{Kind: UpstreamAdditional, Key: key}
		r.UpstreamPath = joinEscaped(segs[2:])
		return r, nil
	}
	return Route{}, notFound("not found")
}

func classifySimple(segs []string, trailing bool) (Route, error) {
	switch len(segs) {
	case 1:
		if !trailing {
			return Route{Redirect: "/simple/"}, nil
		}
		return Route{Op: OpProjectList, Upstream: Upstream{Kind: UpstreamRegistry}, UpstreamPath: "/simple/"}, nil
	case 2:
		name := segs[1]
		if !validProjectName(name) {
			return Route{}, notFound("not a valid project name")
		}
		norm := NormalizeName(name)
		if norm != name || !trailing {
			return Route{Redirect: "/simple/" + norm + "/", Project: norm, RawProject: name}, nil
		}
		return Route{Op: OpIndex, Upstream: Upstream{Kind: UpstreamRegistry}, Project: norm, RawProject: name,
			UpstreamPath: "/simple/" + norm + "/"}, nil
	}
	return Route{}, notFound("not found")
}

func classifyJSON(segs []string, trailing bool) (Route, error) {
	if (len(segs) != 3 && len(segs) != 4) || segs[len(segs)-1] != "json" {
		return Route{}, notFound("not found")
	}
	name := segs[1]
	if !validProjectName(name) {
		return Route{}, notFound("not a valid project name")
	}
	norm := NormalizeName(name)
	r := Route{Op: OpJSON, Upstream: Upstream{Kind: UpstreamRegistry}, Project: norm, RawProject: name}
	canon := "/pypi/" + norm + "/"
	if len(segs) == 4 {
		v := segs[2]
		if !validVersionText(v) {
			return Route{}, notFound("not a valid version")
		}
		r.Version = v
		canon += EscapeSegment(v) + "/"
	}
	canon += "json"
	if norm != name || trailing {
		r.Op = ""
		r.Upstream = Upstream{}
		r.Redirect = canon
		return r, nil
	}
	r.UpstreamPath = canon
	return r, nil
}

// fileRoute classifies a file name segment as download, metadata or signature.
func fileRoute(name string) (Route, error) {
	r := Route{Op: OpDownload, Filename: name}
	switch {
	case strings.HasSuffix(name, ".metadata"):
		r.Op, r.Filename = OpMetadata, strings.TrimSuffix(name, ".metadata")
	case strings.HasSuffix(name, ".asc"):
		r.Op, r.Filename = OpSignature, strings.TrimSuffix(name, ".asc")
	}
	if _, typ := DistributionExt(r.Filename); typ == "" || len(FilenameCandidates(r.Filename)) == 0 {
		return Route{}, notFound("not a distribution file name")
	}
	return r, nil
}

// splitPath decodes and validates the segments of an escaped path.
// trailing reports a final "/".
func splitPath(p string) (segs []string, trailing bool, err error) {
	if len(p) > MaxPathLength {
		return nil, false, badRequest("path too long")
	}
	if p == "" || p[0] != '/' {
		return nil, false, badRequest("path must begin with a slash")
	}
	p = p[1:]
	if p == "" {
		return nil, true, nil
	}
	if strings.HasSuffix(p, "/") {
		trailing = true
		p = p[:len(p)-1]
	}
	segs = strings.Split(p, "/")
	for i, raw := range segs {
		if raw == "" {
			return nil, false, badRequest("empty path segment")
		}
		seg, err := decodeSegment(raw)
		if err != nil {
			return nil, false, err
		}
		segs[i] = seg
	}
	return segs, trailing, nil
}

// decodeSegment percent-decodes one path segment once and validates it.
func decodeSegment(raw string) (string, error) {
	seg := raw
	if strings.IndexByte(raw, '%') >= 0 {
		b := make([]byte, 0, len(raw))
		for i := 0; i < len(raw); i++ {
			c := raw[i]
			if c != '%' {
				b = append(b, c)
				continue
			}
			if i+2 >= len(raw) || !isHex(raw[i+1]) || !isHex(raw[i+2]) {
				return "", badRequest("malformed percent-encoding")
			}
			b = append(b, unhex(raw[i+1])<<4|unhex(raw[i+2]))
			i += 2
		}
		// A '%' that survives decoding and starts another escape means the
		// client encoded twice (%252e, %25%32%65): a second decoder on the
		// way to the upstream would see something else than we checked.
		for i := 0; i+2 < len(b); i++ {
			if b[i] == '%' && isHex(b[i+1]) && isHex(b[i+2]) {
				return "", badRequest("double percent-encoding")
			}
		}
		seg = string(b)
	}
	if seg == "." || seg == ".." {
		return "", badRequest("dot segment in path")
	}
	if !utf8.ValidString(seg) {
		return "", badRequest("path is not valid UTF-8")
	}
	for _, r := range seg {
		switch {
		case r == '/' || r == '\\':
			return "", badRequest("slash or backslash inside a path segment")
		case r == ';':
			return "", badRequest("semicolon in path")
		case r < 0x20 || r == 0x7f || unicode.IsControl(r):
			return "", badRequest("control character in path")
		case unicode.Is(unicode.Cf, r):
			return "", badRequest("invisible formatting character in path")
		case unicode.IsSpace(r):
			return "", badRequest("whitespace in path")
		}
	}
	if last := seg[len(seg)-1]; last == '.' || last == ' ' {
		return "", badRequest("path segment ends with a dot")
	}
	return seg, nil
}

func isHex(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func unhex(c byte) byte {
	switch {
	case isDigit(c):
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// EscapeSegment percent-encodes every byte of s outside the RFC 3986
// unreserved set (A-Z a-z 0-9 - . _ ~). It is the canonical escaping of
// UpstreamPath.
func EscapeSegment(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if !unreserved(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	const hexd = "0123456789ABCDEF"
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) {
			b = append(b, c)
		} else {
			b = append(b, '%', hexd[c>>4], hexd[c&15])
		}
	}
	return string(b)
}

func unreserved(c byte) bool {
	return isAlnum(c) || c == '-' || c == '.' || c == '_' || c == '~'
}

func joinEscaped(segs []string) string {
	var b strings.Builder
	for _, s := range segs {
		b.WriteByte('/')
		b.WriteString(EscapeSegment(s))
	}
	return b.String()
}
