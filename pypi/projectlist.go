package pypi

import (
	"bytes"
	"encoding/binary"
	"errors"
	"html"
	"io"
	"math/bits"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// MaxProjectListUnit bounds the bytes the project list filter holds at once
// (one anchor or one JSON element): a longer unit is an error.
const MaxProjectListUnit = 64 << 10

// plFlushSize is the size of the filter's writes. A chunked HTTP/1.1
// response costs two write(2) calls per Write (net/http buffers the chunk
// header, fills its 4 KiB buffer with the start of the data and flushes it
// before writing the rest): at 32 KiB that 4 KiB write was as costly as
// the large one. 256 KiB per list in flight is the price.
const plFlushSize = 256 << 10

var errPLUnit = errors.New("pypi: project list entry larger than 64 KiB")

// NewProjectListFilter returns a writer that streams the /simple/ project list
// to w, rewriting HTML hrefs "/simple/<name>/" (also absolute ".../simple/<name>/"
// and relative "<name>/") to prefix+"/simple/<normalized>/" and dropping
// entries whose normalized name drop reports true (drop may be nil). Any
// other href is rewritten the same way from the anchor text, or the anchor is
// dropped when its text is not a project name: no link leaves the proxy. A
// dropped HTML anchor takes its line's indentation and a directly following
// <br> with it. JSON lists carry no URLs and are only filtered; with a nil
// drop they pass through untouched. Memory use is bounded by the size of one
// Write plus one entry (at most MaxProjectListUnit), whatever the list's
// size; entries split across Write calls are handled. Close flushes the tail
// (it does not close w).
//
// The name passed to drop is only valid during the call: it may point into
// the filter's buffers, which are overwritten later. A drop that keeps names
// must strings.Clone them.
func NewProjectListFilter(w io.Writer, f Format, prefix string, drop func(normalized string) bool) io.WriteCloser {
	var hp []byte
	if f != FormatJSON {
		hp = append(make([]byte, 0, 6*len(prefix)+9), '"')
		hp = append(appendHTMLEscaped(hp, prefix), "/simple/"...)
	}
	return &projectListFilter{w: w, format: f, drop: drop, hrefPrefix: hp, out: make([]byte, 0, plFlushSize+1024)}
}

type projectListFilter struct {
	w      io.Writer
	format Format
	drop   func(string) bool
	in     []byte // unprocessed carry
	out    []byte
	err    error
	closed bool

	hrefPrefix []byte // `"` + HTML-escaped prefix + "/simple/"
	norm       []byte // scratch for a normalized name

	// JSON state
	js jsonListState
}

// Write filters p; the output is written to the underlying writer in
// batches of plFlushSize.
func (pl *projectListFilter) Write(p []byte) (int, error) {
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
func (pl *projectListFilter) Close() error {
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

func (pl *projectListFilter) flush(all bool) error {
	if len(pl.out) == 0 || (!all && len(pl.out) < plFlushSize) {
		return nil
	}
	_, err := pl.w.Write(pl.out)
	pl.out = pl.out[:0]
	return err
}

func (pl *projectListFilter) emit(b []byte) {
	pl.out = append(pl.out, b...)
	if len(pl.out) >= plFlushSize && pl.err == nil {
		if err := pl.flush(false); err != nil {
			pl.err = err
		}
	}
}

func (pl *projectListFilter) process(in []byte, final bool) (int, error) {
	if pl.format == FormatJSON {
		return pl.processJSON(in, final)
	}
	return pl.processHTML(in, final)
}

// wsTail returns the start of t's trailing "[\r]\n[ \t]*" or "[ \t]*" run.
func wsTail(t []byte) int {
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

// processHTML copies in to the output, rewriting or dropping each anchor.
// Bytes that pass unchanged are not copied one construct at a time: in[last:i]
// is pending output, appended in one piece when an anchor edits or drops
// something and at the end.
func (pl *projectListFilter) processHTML(in []byte, final bool) (int, error) {
	i, last := 0, 0
	for i < len(in) {
		if pl.err != nil {
			return i, pl.err
		}
		k := bytes.IndexByte(in[i:], '<')
		if k < 0 {
			if final {
				pl.emit(in[last:])
				return len(in), nil
			}
			w := i + wsTail(in[i:])
			pl.emit(in[last:w])
			return w, nil
		}
		lt := i + k
		if pl.drop == nil && lt+1 < len(in) && in[lt+1] == 'a' {
			if ni, nl := pl.canonRun(in, lt, last); ni != lt {
				i, last = ni, nl
				continue
			}
		}
		w := i + wsTail(in[i:lt])
		if lt+2 >= len(in) && !final {
			pl.emit(in[last:w])
			return w, nil
		}
		if lt+2 < len(in) && (in[lt+1] == 'a' || in[lt+1] == 'A') && (isHTMLSpace(in[lt+2]) || in[lt+2] == '>' || in[lt+2] == '/') {
			if end, l, ok := pl.anchorFast(in, lt, last, w, final); ok {
				last, i = l, end
				continue
			}
			a, ok := scanListAnchor(in, lt, final)
			if !ok {
				if final {
					// A lenient parser still sees a link in an unterminated
					// anchor: it is dropped, never passed through.
					pl.emit(in[last:w])
					return len(in), nil
				}
				if len(in)-w > MaxProjectListUnit {
					return i, errPLUnit
				}
				pl.emit(in[last:w])
				return w, nil
			}
			last = pl.anchor(in, last, w, a)
			i = a.end
			continue
		}
		if lt+1 < len(in) && (in[lt+1] == 'b' || in[lt+1] == 'B') && len(in)-lt < 6 && !final {
			pl.emit(in[last:w]) // could be the start of <base: wait for more
			return w, nil
		}
		if isBaseTag(in[lt:]) {
			// <base href> would resolve the rewritten links against another host.
			e := bytes.IndexByte(in[lt:], '>')
			if e < 0 {
				if final {
					pl.emit(in[last:w])
					return len(in), nil
				}
				if len(in)-w > MaxProjectListUnit {
					return i, errPLUnit
				}
				pl.emit(in[last:w])
				return w, nil
			}
			pl.emit(in[last:w])
			i = lt + e + 1
			last = i
			continue
		}
		i = lt + 1
	}
	pl.emit(in[last:])
	return len(in), nil
}

// isBaseTag reports whether t starts with a <base> start tag.
func isBaseTag(t []byte) bool {
	return len(t) > 5 && eqFold(string(t[1:5]), "base") && (isHTMLSpace(t[5]) || t[5] == '>' || t[5] == '/')
}

// listAnchor locates the parts of one project list anchor.
type listAnchor struct {
	start, tagEnd, textEnd, end int
	href                        span // value without quotes, a < 0 when absent
	hrefQ                       span // value with quotes
}

// scanListAnchor finds the end of the anchor starting at in[lt] (start tag,
// text, </a>, and a directly following <br>). ok is false when in ends first.
func scanListAnchor(in []byte, lt int, final bool) (listAnchor, bool) {
	a := listAnchor{start: lt, href: span{-1, -1}}
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
	var ok bool
	a.textEnd, a.end, ok = scanListAnchorEnd(in, j, final)
	return a, ok
}

// scanListAnchorEnd finishes scanListAnchor after the start tag, which ends
// at j: it returns where the text and the anchor end.
func scanListAnchorEnd(in []byte, j int, final bool) (textEnd, end int, ok bool) {
	// text up to </a>
	for {
		k := bytes.IndexByte(in[j:], '<')
		if k < 0 {
			return 0, 0, false
		}
		j += k
		if j+3 >= len(in) {
			return 0, 0, false
		}
		if in[j+1] == '/' && (in[j+2] == 'a' || in[j+2] == 'A') && (in[j+3] == '>' || isHTMLSpace(in[j+3])) {
			textEnd = j
			e := 3
			if in[j+3] != '>' {
				if e = bytes.IndexByte(in[j:], '>'); e < 0 {
					return 0, 0, false
				}
			}
			j += e + 1
			break
		}
		j++
	}
	end = j
	// a directly following <br>, <br/> or <br />
	if len(in)-j < 6 && !final && hasFoldPrefixOf("<br />", in[j:]) {
		return 0, 0, false
	}
	if j+3 < len(in) && in[j] == '<' && (in[j+1] == 'b' || in[j+1] == 'B') && (in[j+2] == 'r' || in[j+2] == 'R') &&
		(isHTMLSpace(in[j+3]) || in[j+3] == '/' || in[j+3] == '>') {
		e := bytes.IndexByte(in[j:], '>')
		if e < 0 {
			if !final {
				return 0, 0, false
			}
		} else {
			end = j + e + 1
		}
	}
	return textEnd, end, true
}

// anchorFast handles the anchor every index serves,
// <a href="/simple/<name>/">...</a> (or href="<name>/"), in one pass over
// the href: it is what scanListAnchor and anchor would do with it. ok false
// means nothing was done: the anchor has another form, or may be incomplete.
// Otherwise it returns the anchor's end and the new start of the pending
// output.
func (pl *projectListFilter) anchorFast(in []byte, lt, last, w int, final bool) (end, newLast int, ok bool) {
	const open = `<a href="`
	vs := lt + len(open)
	if len(in)-vs < 24 || string(in[lt:vs]) != open {
		return 0, 0, false
	}
	ns := vs
	if string(in[vs:vs+8]) == "/simple/" {
		ns += 8
	}
	// The name: what validProjectName accepts, noting whether
	// NormalizeName changes it.
	j, need, prevDash := ns, false, false
	for ; j < len(in); j++ {
		cl := nameClass[in[j]]
		if cl == nameLower {
			prevDash = false
			continue
		}
		if cl == 0 {
			break
		}
		if cl == nameDash {
			need = need || prevDash
			prevDash = true
			continue
		}
		need, prevDash = true, false
	}
	ne := j
	if ne == ns || ne-ns > 200 || nameClass[in[ns]] > nameUpper || nameClass[in[ne-1]] > nameUpper {
		return 0, 0, false
	}
	if j < len(in) && in[j] == '/' {
		j++
		// "/simple/simple/": the name is after the last "/simple/".
		if ns > vs && string(in[ns:ne]) == "simple" {
			return 0, 0, false
		}
	}
	if j+1 >= len(in) || in[j] != '"' || in[j+1] != '>' {
		return 0, 0, false
	}
	hrefEnd := j + 1 // after the closing quote
	_, end, ok = scanListAnchorEnd(in, j+2, final)
	if !ok {
		return 0, 0, false
	}
	norm := in[ns:ne]
	if need {
		norm = pl.normalizeFrom(norm, 0)
	}
	if pl.drop != nil && pl.drop(unsafe.String(unsafe.SliceData(norm), len(norm))) {
		pl.emit(in[last:w])
		return end, end, true
	}
	// Valid names need no escaping in a path segment.
	pl.out = append(pl.out, in[last:vs-1]...)
	pl.out = append(pl.out, pl.hrefPrefix...)
	pl.out = append(pl.out, norm...)
	pl.emit(slashQuote)
	return end, hrefEnd, true
}

// swarIndexLT returns the index of the first '<' in in[i:] plus i, or -1.
// It reads eight bytes at a time: the text of a list anchor is short, and
// this is cheaper than the call bytes.IndexByte makes for it.
func swarIndexLT(in []byte, i int) int {
	for ; len(in)-i >= 8; i += 8 {
		y := binary.LittleEndian.Uint64(in[i:]) ^ ('<' * swarOnes)
		// The high bit of each byte of z is set exactly when the byte of y is 0.
		if z := ^((y&swarLow7 + swarLow7) | y) & swarHighs; z != 0 {
			return i + bits.TrailingZeros64(z)>>3
		}
	}
	if k := bytes.IndexByte(in[i:], '<'); k >= 0 {
		return i + k
	}
	return -1
}

// canonClass classifies the bytes of normalized project names for
// canonRun: canonAlnum for [a-z0-9], canonDash for '-', 0 otherwise.
var canonClass = func() (t [256]uint8) {
	for c := '0'; c <= '9'; c++ {
		t[c] = canonAlnum
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = canonAlnum
	}
	t['-'] = canonDash
	return
}()

const (
	canonAlnum = 1
	canonDash  = 2
)

const swarLow7 = 0x7f7f7f7f7f7f7f7f

// swarBetween sets the high bit of each byte b of x with m < b < n and
// clears every other bit (m < 128, n <= 128). Masking the high bits first
// keeps every per-byte sum and difference inside its byte, so no carry or
// borrow crosses into the next one.
func swarBetween(x uint64, m, n uint64) uint64 {
	t := x & swarLow7
	return (swarOnes*(127+n) - t) & ^x & (t + swarOnes*(127-m)) & swarHighs
}

// canonRun rewrites, from the anchor at in[lt] on, the run of anchors in the
// form every index serves, `<a href="/simple/<normalized name>/">text</a>`
// with only whitespace between them, as anchorFast would: the escaped
// prefix is inserted after `href="` and every other byte passes as it is.
// Nothing is copied per anchor but the bytes before the insertion point.
// It is only used without a drop function (a dropped anchor takes its
// indentation, which this loop does not track). It stops before the first
// anchor of any other form, or one that ends the write or is directly
// followed by a tag (it may be a <br>, which anchorFast handles), and
// returns where processHTML goes on (lt when it handled nothing) and the
// new start of the pending output.
func (pl *projectListFilter) canonRun(in []byte, lt, last int) (i, newLast int) {
	const head = `<a href="/simple/`
	const (
		head0 = uint64('<') | uint64('a')<<8 | uint64(' ')<<16 | uint64('h')<<24 | uint64('r')<<32 | uint64('e')<<40 | uint64('f')<<48 | uint64('=')<<56
		head8 = uint64('"') | uint64('/')<<8 | uint64('s')<<16 | uint64('i')<<24 | uint64('m')<<32 | uint64('p')<<40 | uint64('l')<<48 | uint64('e')<<56
	)
	ins := pl.hrefPrefix[1 : len(pl.hrefPrefix)-len("/simple/")]
	i, newLast = lt, last
	for {
		ns := lt + len(head)
		if len(in)-ns < 8 || binary.LittleEndian.Uint64(in[lt:]) != head0 || binary.LittleEndian.Uint64(in[lt+8:]) != head8 ||
			in[lt+16] != '/' || canonClass[in[ns]] != canonAlnum {
			return
		}
		// A normalized name: [a-z0-9] runs joined by single dashes, tested
		// eight bytes at a time.
		j, bad, prevD := ns, uint64(0), uint64(0)
		for {
			if len(in)-j < 8 || j-ns > 200 {
				return
			}
			x := binary.LittleEndian.Uint64(in[j:])
			a, d := swarBetween(x, '0'-1, '9'+1)|swarBetween(x, 'a'-1, 'z'+1), swarBetween(x, '-'-1, '-'+1)
			if stop := ^(a | d) & swarHighs; stop != 0 {
				k := uint(bits.TrailingZeros64(stop)) &^ 7 // bit offset of the first other byte
				d &= 1<<k - 1
				bad |= d & (d<<8 | prevD)
				j += int(k >> 3)
				break
			}
			bad |= d & (d<<8 | prevD)
			prevD = d >> 56
			j += 8
		}
		if bad != 0 || canonClass[in[j-1]] != canonAlnum || j-ns > 200 || len(in)-j < 3 ||
			in[j] != '/' || in[j+1] != '"' || in[j+2] != '>' || string(in[ns:j]) == "simple" {
			return
		}
		te := swarIndexLT(in, j+3)
		if te < 0 {
			return
		}
		if len(in)-te < 5 || string(in[te:te+4]) != "</a>" || in[te+4] == '<' {
			return
		}
		pl.out = append(pl.out, in[newLast:lt+len(`<a href="`)]...)
		pl.out = append(pl.out, ins...)
		i, newLast = te+4, lt+len(`<a href="`)
		if len(pl.out) >= plFlushSize {
			if err := pl.flush(false); err != nil {
				pl.err = err
				return
			}
		}
		// The next anchor, if only whitespace comes before it.
		k := i
		for k < len(in) && isHTMLSpace(in[k]) {
			k++
		}
		if k+1 >= len(in) || in[k] != '<' || in[k+1] != 'a' {
			return
		}
		lt = k
	}
}

// hasFoldPrefixOf reports whether the ASCII lower-casing of t is a prefix
// of the lower-case literal lower (bytes.HasPrefix(lower, bytes.ToLower(t)):
// no non-ASCII rune lower-cases to one of its bytes).
func hasFoldPrefixOf(lower string, t []byte) bool {
	if len(t) > len(lower) {
		return false
	}
	for i, c := range t {
		if lowerASCII(c) != lower[i] {
			return false
		}
	}
	return true
}

// listHrefName extracts the project name from a project list href: it
// accepts "/simple/<n>/", ".../simple/<n>/" and a relative "<n>/".
func listHrefName(v string) (string, bool) {
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

// listHrefValidName is listHrefName for the common case, on bytes and
// without searching v backwards: it returns the name's bounds in v when v
// holds no character reference and listHrefName(v) returns a valid project
// name; ok false means "use the general path" (not "no name").
func listHrefValidName(v []byte) (a, b int, ok bool) {
	const simple = "/simple/"
	// k: strings.LastIndex(v, simple).
	k := -1
	if s := bytes.IndexByte(v, '/'); s >= 0 && s < len(v)-1 {
		// Two or more slashes. In "/simple/<rest>" with no slash in rest
		// but a last byte, the only other place "/simple/" can start is
		// rest's first byte, when rest is "simple/".
		rest := v[min(len(simple), len(v)):]
		if r := bytes.IndexByte(rest, '/'); s == 0 && string(v[:min(len(simple), len(v))]) == simple &&
			(r < 0 || r == len(rest)-1) && string(rest) != "simple/" {
			k = 0
		} else if k = bytes.LastIndex(v, []byte(simple)); k < 0 {
			return 0, 0, false // a slash inside a relative name: not valid
		}
	}
	if k >= 0 {
		a = k + len(simple)
	}
	b = len(v)
	if b > a && v[b-1] == '/' {
		b--
	}
	// A valid name has none of "&/?#:\" and does not start with '.': the
	// general path's other checks all pass.
	if !validProjectNameBytes(v[a:b]) {
		return 0, 0, false
	}
	return a, b, true
}

// nameClass classifies the bytes of project names: 0 is not allowed,
// nameLower is a lower-case letter or digit.
var nameClass = func() (t [256]uint8) {
	for c := '0'; c <= '9'; c++ {
		t[c] = nameLower
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = nameLower
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = nameUpper
	}
	t['-'] = nameDash
	t['_'], t['.'] = nameSep, nameSep
	return
}()

const (
	nameLower = 1 + iota
	nameUpper
	nameDash
	nameSep // '_' or '.'
)

// validProjectNameBytes is validProjectName on bytes.
func validProjectNameBytes(n []byte) bool {
	if len(n) == 0 || len(n) > 200 || nameClass[n[0]] > nameUpper || nameClass[n[len(n)-1]] > nameUpper {
		return false
	}
	for _, c := range n {
		if nameClass[c] == 0 {
			return false
		}
	}
	return true
}

// normalizeValid returns NormalizeName of a valid project name: n itself
// when it is normalized, else pl.norm rewritten.
func (pl *projectListFilter) normalizeValid(n []byte) []byte {
	for i, c := range n {
		if cl := nameClass[c]; cl == nameUpper || cl == nameSep || (cl == nameDash && nameClass[n[i+1]] >= nameDash) {
			return pl.normalizeFrom(n, i)
		}
	}
	return n
}

// normalizeName is NormalizeName, into pl.norm rather than a new string
// when the name is ASCII.
func (pl *projectListFilter) normalizeName(name string) string {
	if IsNormalized(name) {
		return name
	}
	for i := 0; i < len(name); i++ {
		if name[i] >= utf8.RuneSelf {
			return NormalizeName(name)
		}
	}
	n := pl.normalizeFrom(unsafe.Slice(unsafe.StringData(name), len(name)), 0)
	return unsafe.String(unsafe.SliceData(n), len(n))
}

// normalizeFrom returns NormalizeName of the ASCII name n in pl.norm; n[:i]
// must be normalized, and n[i-1] and n[i] not both in "-_.".
func (pl *projectListFilter) normalizeFrom(n []byte, i int) []byte {
	b := append(pl.norm[:0], n[:i]...)
	sep := false
	for _, c := range n[i:] {
		switch nameClass[c] {
		case nameDash, nameSep:
			if !sep {
				b = append(b, '-')
			}
			sep = true
			continue
		case nameUpper:
			c += 'a' - 'A'
		}
		b = append(b, c)
		sep = false
	}
	pl.norm = b
	return b
}

// anchor writes the pending output in[last:] and anchor a, rewritten or
// dropped (w is where the anchor's line indentation starts), and returns
// the new start of the pending output.
func (pl *projectListFilter) anchor(in []byte, last, w int, a listAnchor) int {
	if a.href.a >= 0 {
		v := in[a.href.a:a.href.b]
		if bytes.IndexByte(v, '&') < 0 {
			if na, nb, ok := listHrefValidName(v); ok {
				norm := pl.normalizeValid(v[na:nb])
				if pl.drop != nil && pl.drop(unsafe.String(unsafe.SliceData(norm), len(norm))) {
					pl.emit(in[last:w])
					return a.end
				}
				// Valid names need no escaping in a path segment.
				pl.out = append(pl.out, in[last:a.hrefQ.a]...)
				pl.out = append(pl.out, pl.hrefPrefix...)
				pl.out = append(pl.out, norm...)
				pl.emit(slashQuote)
				return a.hrefQ.b
			}
		}
	}
	pl.emit(in[last:w])
	pl.anchorGeneral(in[w:a.start], in, a)
	return a.end
}

var slashQuote = []byte{'/', '"'}

// anchorGeneral emits ws and anchor a, rewritten, or drops both.
func (pl *projectListFilter) anchorGeneral(ws, in []byte, a listAnchor) {
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
		name, rewrite = listHrefName(v)
	}
	if !rewrite {
		name = strings.TrimSpace(html.UnescapeString(string(in[a.tagEnd:a.textEnd])))
	}
	norm := NormalizeName(name)
	if pl.drop != nil && norm != "" && pl.drop(norm) {
		return
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
	pl.out = append(pl.out, pl.hrefPrefix...)
	pl.out = append(pl.out, EscapeSegment(norm)...)
	pl.out = append(pl.out, '/', '"')
	pl.emit(in[a.hrefQ.b:a.end])
}

// JSON project list states.
const (
	jsPre  = iota // before the projects array (lexing)
	jsArr         // inside it, between elements
	jsPost        // after it
)

type jsonListState struct {
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

func (pl *projectListFilter) processJSON(in []byte, final bool) (int, error) {
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
					end, ok := jsonElementEnd(in, i)
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
					name, _ := jsonElementName(unsafe.String(unsafe.SliceData(elem), len(elem)))
					norm := pl.normalizeName(name)
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

// jsonElementEnd returns the end of the JSON object starting at in[i].
func jsonElementEnd(in []byte, i int) (int, bool) {
	depth := 0
	inStr, esc := false, false
	for j := i; j < len(in); j++ {
		c := in[j]
		if !jsonElementByte[c] {
			esc = false
			continue
		}
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

// jsonElementByte marks the bytes jsonElementEnd looks at.
var jsonElementByte = [256]bool{'"': true, '\\': true, '{': true, '}': true, '[': true, ']': true}

// jsonElementName returns the "name" string of a project list element; the
// result may point into elem.
func jsonElementName(elem string) (string, bool) {
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
