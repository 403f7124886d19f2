package pypi

// The project list filter as it was before the byte-scanner rewrite, kept
// verbatim (renamed) as the reference for the differential tests.

import (
	"bytes"
	"errors"
	"html"
	"io"
	"strings"
	"unsafe"
)

func newRefProjectListFilter(w io.Writer, f Format, prefix string, drop func(normalized string) bool) io.WriteCloser {
	return &refProjectListFilter{w: w, format: f, prefix: prefix, drop: drop, out: make([]byte, 0, plFlushSize+1024)}
}

type refProjectListFilter struct {
	w      io.Writer
	format Format
	prefix string
	drop   func(string) bool
	in     []byte // unprocessed carry
	out    []byte
	err    error
	closed bool

	// JSON state
	js refJSONListState
}

// Write filters p; the output is written to the underlying writer in
// batches of plFlushSize.
func (pl *refProjectListFilter) Write(p []byte) (int, error) {
	if pl.err != nil {
		return 0, pl.err
	}
	if pl.closed {
		return 0, errors.New("pypi: write after close")
	}
	if pl.format == FormatJSON && pl.drop == nil {
		return pl.w.Write(p)
	}
	data := p
	if len(pl.in) > 0 {
		pl.in = append(pl.in, p...)
		data = pl.in
	}
	n, err := pl.process(data, false)
	if err == nil {
		err = pl.flush(false)
	}
	if err != nil {
		pl.err = err
		return 0, err
	}
	rest := data[n:]
	if len(rest) > MaxProjectListUnit+1024 {
		pl.err = errPLUnit
		return 0, pl.err
	}
	if len(pl.in) > 0 {
		pl.in = pl.in[:copy(pl.in, rest)]
	} else {
		pl.in = append(pl.in[:0], rest...)
	}
	return len(p), nil
}

// Close processes what is left and flushes the output.
func (pl *refProjectListFilter) Close() error {
	if pl.closed {
		return pl.err
	}
	pl.closed = true
	if pl.err != nil {
		return pl.err
	}
	if pl.format == FormatJSON && pl.drop == nil {
		return nil
	}
	if _, err := pl.process(pl.in, true); err != nil {
		pl.err = err
		return err
	}
	pl.in = nil
	if pl.format == FormatJSON && pl.js.state != jsPost && pl.js.state != jsPre {
		pl.err = errors.New("pypi: project list JSON ends inside the projects array")
		_ = pl.flush(true)
		return pl.err
	}
	if err := pl.flush(true); err != nil {
		pl.err = err
	}
	return pl.err
}

func (pl *refProjectListFilter) flush(all bool) error {
	if len(pl.out) == 0 || (!all && len(pl.out) < plFlushSize) {
		return nil
	}
	_, err := pl.w.Write(pl.out)
	pl.out = pl.out[:0]
	return err
}

func (pl *refProjectListFilter) emit(b []byte) {
	pl.out = append(pl.out, b...)
	if len(pl.out) >= plFlushSize && pl.err == nil {
		if err := pl.flush(false); err != nil {
			pl.err = err
		}
	}
}

func (pl *refProjectListFilter) process(in []byte, final bool) (int, error) {
	if pl.format == FormatJSON {
		return pl.processJSON(in, final)
	}
	return pl.processHTML(in, final)
}

// refWsTail returns the start of t's trailing "[\r]\n[ \t]*" or "[ \t]*" run.
func refWsTail(t []byte) int {
	k := len(t)
	for k > 0 && (t[k-1] == ' ' || t[k-1] == '\t') {
		k--
	}
	if k > 0 && t[k-1] == '\n' {
		k--
		if k > 0 && t[k-1] == '\r' {
			k--
		}
	} else if k == len(t) && k > 0 && t[k-1] == '\r' {
		k-- // maybe the first half of a CRLF split across writes
	}
	if len(t)-k > 1024 {
		return len(t)
	}
	return k
}

func (pl *refProjectListFilter) processHTML(in []byte, final bool) (int, error) {
	i := 0
	for i < len(in) {
		if pl.err != nil {
			return i, pl.err
		}
		k := bytes.IndexByte(in[i:], '<')
		if k < 0 {
			if final {
				pl.emit(in[i:])
				return len(in), nil
			}
			w := i + refWsTail(in[i:])
			pl.emit(in[i:w])
			return w, nil
		}
		lt := i + k
		w := i + refWsTail(in[i:lt])
		if lt+2 >= len(in) && !final {
			pl.emit(in[i:w])
			return w, nil
		}
		if lt+2 < len(in) && (in[lt+1] == 'a' || in[lt+1] == 'A') && (isHTMLSpace(in[lt+2]) || in[lt+2] == '>' || in[lt+2] == '/') {
			a, ok := refScanListAnchor(in, lt, final)
			if !ok {
				if final {
					// A lenient parser still sees a link in an unterminated
					// anchor: it is dropped, never passed through.
					pl.emit(in[i:w])
					return len(in), nil
				}
				if len(in)-w > MaxProjectListUnit {
					return i, errPLUnit
				}
				pl.emit(in[i:w])
				return w, nil
			}
			pl.emit(in[i:w])
			pl.anchor(in[w:lt], in, a)
			i = a.end
			continue
		}
		if lt+1 < len(in) && (in[lt+1] == 'b' || in[lt+1] == 'B') && len(in)-lt < 6 && !final {
			pl.emit(in[i:w]) // could be the start of <base: wait for more
			return w, nil
		}
		if refIsBaseTag(in[lt:]) {
			// <base href> would resolve the rewritten links against another host.
			e := bytes.IndexByte(in[lt:], '>')
			if e < 0 {
				if final {
					pl.emit(in[i:w])
					return len(in), nil
				}
				if len(in)-w > MaxProjectListUnit {
					return i, errPLUnit
				}
				pl.emit(in[i:w])
				return w, nil
			}
			pl.emit(in[i:w])
			i = lt + e + 1
			continue
		}
		pl.emit(in[i : lt+1])
		i = lt + 1
	}
	return len(in), nil
}

// refIsBaseTag reports whether t starts with a <base> start tag.
func refIsBaseTag(t []byte) bool {
	return len(t) > 5 && eqFold(string(t[1:5]), "base") && (isHTMLSpace(t[5]) || t[5] == '>' || t[5] == '/')
}

// refListAnchor locates the parts of one project list anchor.
type refListAnchor struct {
	start, tagEnd, textEnd, end int
	href                        span // value without quotes, a < 0 when absent
	hrefQ                       span // value with quotes
}

// refScanListAnchor finds the end of the anchor starting at in[lt] (start tag,
// text, </a>, and a directly following <br>). ok is false when in ends first.
func refScanListAnchor(in []byte, lt int, final bool) (refListAnchor, bool) {
	a := refListAnchor{start: lt, href: span{-1, -1}}
	j := lt + 2
	for {
		for j < len(in) && (isHTMLSpace(in[j]) || in[j] == '/') {
			j++
		}
		if j >= len(in) {
			return a, false
		}
		if in[j] == '>' {
			j++
			break
		}
		ns := j
		for j < len(in) && !isHTMLSpace(in[j]) && in[j] != '/' && in[j] != '>' && (in[j] != '=' || j == ns) {
			j++
		}
		name := in[ns:j]
		for j < len(in) && isHTMLSpace(in[j]) {
			j++
		}
		if j < len(in) && in[j] == '=' {
			j++
			for j < len(in) && isHTMLSpace(in[j]) {
				j++
			}
			if j >= len(in) {
				return a, false
			}
			var v, vq span
			if q := in[j]; q == '"' || q == '\'' {
				e := bytes.IndexByte(in[j+1:], q)
				if e < 0 {
					return a, false
				}
				v, vq = span{j + 1, j + 1 + e}, span{j, j + 2 + e}
				j += e + 2
			} else {
				vs := j
				for j < len(in) && !isHTMLSpace(in[j]) && in[j] != '>' {
					j++
				}
				v, vq = span{vs, j}, span{vs, j}
			}
			if a.href.a < 0 && len(name) == 4 && eqFold(string(name), "href") {
				a.href, a.hrefQ = v, vq
			}
		}
	}
	a.tagEnd = j
	// text up to </a>
	for {
		k := bytes.IndexByte(in[j:], '<')
		if k < 0 {
			return a, false
		}
		j += k
		if j+3 >= len(in) {
			return a, false
		}
		if in[j+1] == '/' && (in[j+2] == 'a' || in[j+2] == 'A') && (in[j+3] == '>' || isHTMLSpace(in[j+3])) {
			a.textEnd = j
			e := bytes.IndexByte(in[j:], '>')
			if e < 0 {
				return a, false
			}
			j += e + 1
			break
		}
		j++
	}
	a.end = j
	// a directly following <br>, <br/> or <br />
	if len(in)-j < 6 && !final {
		if bytes.HasPrefix([]byte("<br />"), bytes.ToLower(in[j:])) {
			return a, false
		}
	}
	if j+3 < len(in) && in[j] == '<' && (in[j+1] == 'b' || in[j+1] == 'B') && (in[j+2] == 'r' || in[j+2] == 'R') &&
		(isHTMLSpace(in[j+3]) || in[j+3] == '/' || in[j+3] == '>') {
		e := bytes.IndexByte(in[j:], '>')
		if e < 0 {
			if !final {
				return a, false
			}
		} else {
			a.end = j + e + 1
		}
	}
	return a, true
}

// refListHrefName extracts the project name from a project list href: it
// accepts "/simple/<n>/", ".../simple/<n>/" and a relative "<n>/".
func refListHrefName(v string) (string, bool) {
	if k := strings.LastIndex(v, "/simple/"); k >= 0 {
		n := strings.TrimSuffix(v[k+len("/simple/"):], "/")
		if n != "" && !strings.ContainsAny(n, "/?#") {
			return n, true
		}
		return "", false
	}
	n := strings.TrimSuffix(v, "/")
	if n == "" || strings.ContainsAny(n, "/?#:\\") || n[0] == '.' {
		return "", false
	}
	return n, true
}

func (pl *refProjectListFilter) anchor(ws, in []byte, a refListAnchor) {
	var name string
	rewrite := false
	if a.href.a >= 0 {
		// A view of the write buffer: only a copy may outlive this call.
		var v string
		if a.href.b > a.href.a {
			v = unsafe.String(&in[a.href.a], a.href.b-a.href.a)
		}
		if strings.IndexByte(v, '&') >= 0 {
			v = html.UnescapeString(v)
		}
		name, rewrite = refListHrefName(v)
	}
	if !rewrite {
		name = strings.TrimSpace(html.UnescapeString(string(in[a.tagEnd:a.textEnd])))
	}
	norm := NormalizeName(name)
	if pl.drop != nil && norm != "" {
		keep := norm
		if rewrite && norm == name {
			keep = strings.Clone(norm) // still points into the buffer
		}
		if pl.drop(keep) {
			return
		}
	}
	if a.href.a >= 0 && !validProjectName(name) {
		// A link that names no project could lead anywhere (another host,
		// javascript:, a file): it never leaves the list unrewritten.
		return
	}
	pl.emit(ws)
	if a.href.a < 0 {
		pl.emit(in[a.start:a.end])
		return
	}
	pl.emit(in[a.start:a.hrefQ.a])
	pl.out = append(pl.out, '"')
	pl.out = appendHTMLEscaped(pl.out, pl.prefix)
	pl.out = append(pl.out, "/simple/"...)
	pl.out = append(pl.out, EscapeSegment(norm)...)
	pl.out = append(pl.out, '/', '"')
	pl.emit(in[a.hrefQ.b:a.end])
}

type refJSONListState struct {
	state    int
	depth    int
	inStr    bool
	esc      bool
	key      []byte // string being read at depth 1
	keyOver  bool
	lastKey  string // last completed depth-1 string
	colonFor string // key whose value comes next at depth 1
	lead     []byte // whitespace between '[' and the first element
	sep      []byte // separator before the next element
	elements int
	kept     int
}

func (pl *refProjectListFilter) processJSON(in []byte, final bool) (int, error) {
	st := &pl.js
	i := 0
outer:
	for i < len(in) {
		switch st.state {
		case jsPost:
			pl.emit(in[i:])
			return len(in), nil
		case jsPre:
			start := i
			for ; i < len(in); i++ {
				c := in[i]
				if st.inStr {
					switch {
					case st.esc:
						st.esc = false
					case c == '\\':
						st.esc = true
						st.keyOver = true
					case c == '"':
						st.inStr = false
						if st.depth == 1 && !st.keyOver {
							st.lastKey = string(st.key)
						} else {
							st.lastKey = ""
						}
					default:
						if len(st.key) < 16 {
							st.key = append(st.key, c)
						} else {
							st.keyOver = true
						}
					}
					continue
				}
				switch c {
				case '"':
					st.inStr, st.key, st.keyOver = true, st.key[:0], false
				case ':':
					if st.depth == 1 {
						st.colonFor = st.lastKey
					}
				case ',':
					st.colonFor = ""
				case '{':
					st.depth++
				case '[':
					if st.depth == 1 && st.colonFor == "projects" {
						pl.emit(in[start : i+1])
						st.state = jsArr
						i++
						continue outer
					}
					st.depth++
				case '}', ']':
					st.depth--
				}
			}
			pl.emit(in[start:i])
		case jsArr:
			for i < len(in) {
				c := in[i]
				switch {
				case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',':
					st.sep = append(st.sep, c)
					if len(st.sep) > MaxProjectListUnit {
						return i, errPLUnit
					}
					i++
				case c == ']':
					if st.kept > 0 {
						pl.emit(st.sep)
					}
					st.sep = st.sep[:0]
					pl.emit(in[i : i+1])
					st.state = jsPost
					i++
					continue outer
				case c == '{':
					end, ok := refJSONElementEnd(in, i)
					if !ok {
						if final {
							return i, errors.New("pypi: project list JSON is truncated")
						}
						if len(in)-i > MaxProjectListUnit {
							return i, errPLUnit
						}
						return i, nil
					}
					if st.elements == 0 {
						st.lead = append(st.lead[:0], st.sep...)
					}
					st.elements++
					elem := in[i:end]
					name, _ := refJSONElementName(unsafe.String(unsafe.SliceData(elem), len(elem)))
					norm := NormalizeName(name)
					if norm == name {
						// name points into the write buffer: drop may keep it.
						norm = strings.Clone(norm)
					}
					if norm == "" || !pl.drop(norm) {
						if st.kept == 0 {
							pl.emit(st.lead)
						} else {
							pl.emit(st.sep)
						}
						pl.emit(elem)
						st.kept++
					}
					st.sep = st.sep[:0]
					i = end
				default:
					return i, errors.New("pypi: unexpected byte in the project list JSON array")
				}
			}
		}
	}
	return len(in), nil
}

// refJSONElementEnd returns the end of the JSON object starting at in[i].
func refJSONElementEnd(in []byte, i int) (int, bool) {
	depth := 0
	inStr, esc := false, false
	for j := i; j < len(in); j++ {
		c := in[j]
		if inStr {
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			}
			continue
		}
		switch c {
		case '"':
			inStr = true
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return j + 1, true
			}
		}
	}
	return 0, false
}

// refJSONElementName returns the "name" string of a project list element; the
// result may point into elem.
func refJSONElementName(elem string) (string, bool) {
	p := jsonParser{s: elem}
	name, found := "", false
	err := p.object(func(key string, _, _ int) error {
		if key == "name" && p.i < len(p.s) && p.s[p.i] == '"' {
			v, err := p.strValue()
			name, found = v, true
			return err
		}
		return p.skipValue(1)
	})
	return name, err == nil && found
}
