package pypi

import (
	"errors"
	"strings"
)

// attr is one attribute of a start tag.
type attr struct {
	name string // raw name as written
	full span   // preceding whitespace .. end of value (or name when bare)
	val  span   // value without quotes
	valQ span   // value with quotes (a == b == end of name when bare)
	bare bool
}

type htmlParser struct {
	s     string
	ix    *Index
	attrs []attr
	un    unescaper
}

func (p *htmlParser) err(off int, msg string) error {
	return &ParseError{Format: FormatHTML, Offset: off, Msg: msg}
}

func isHTMLSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'
}

func isAlpha(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }

// eqFold compares an ASCII name with a lower-case literal.
func eqFold(s, lower string) bool {
	if len(s) != len(lower) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if lowerASCII(s[i]) != lower[i] {
			return false
		}
	}
	return true
}

func hasPrefixFold(s, lower string) bool {
	return len(s) >= len(lower) && eqFold(s[:len(lower)], lower)
}

// rawTextElements have content that HTML5 does not parse as markup.
var rawTextElements = [...]string{"script", "style", "title", "textarea", "xmp", "iframe", "noembed", "noframes", "noscript"}

func parseHTML(ix *Index) error {
	p := &htmlParser{s: ix.s, ix: ix, attrs: make([]attr, 0, 8)}
	s := p.s
	if k := strings.IndexByte(s, 0); k >= 0 {
		return p.err(k, "NUL byte")
	}
	if cap(ix.Files) == 0 {
		// Sized once; a reused Index (ParseIndexInto) keeps its capacity
		// and counting the anchors again was a tenth of parsing.
		if n := strings.Count(s, "<a "); n > 0 {
			ix.Files = make([]IndexFile, 0, n)
		}
	}
	open := -1       // index in Files of the anchor not yet closed, or -2 for an open anchor without href
	openTagEnd := 0  // end of the open anchor's start tag
	openFirstLt := 0 // first '<' after it, -1 until seen
	closeOpen := func(end int) {
		if open >= 0 {
			f := &ix.Files[open]
			f.end = end
			f.Text = p.un.unescape(s[openTagEnd:end])
		}
		open = -1
	}
	i := 0
	for {
		k := strings.IndexByte(s[i:], '<')
		if k < 0 {
			break
		}
		i += k
		if i+1 >= len(s) {
			break // a final '<' is text
		}
		if open != -1 && openFirstLt < 0 {
			openFirstLt = i
		}
		c := s[i+1]
		switch {
		case c == '!':
			next, err := p.markupDecl(i)
			if err != nil {
				return err
			}
			i = next
		case c == '?':
			end := strings.IndexByte(s[i:], '>')
			if end < 0 || strings.IndexByte(s[i+1:i+end], '<') >= 0 {
				return p.err(i, "malformed processing instruction")
			}
			i += end + 1
		case c == '/':
			j := i + 2
			for j < len(s) && (isAlnum(s[j]) || s[j] == '-' || s[j] == ':' || s[j] == '_' || s[j] == '.') {
				j++
			}
			if j == i+2 || !isAlpha(s[i+2]) {
				return p.err(i, "malformed end tag")
			}
			name := s[i+2 : j]
			for j < len(s) && isHTMLSpace(s[j]) {
				j++
			}
			if j >= len(s) || s[j] != '>' {
				return p.err(i, "end tag with attributes or unterminated end tag")
			}
			if eqFold(name, "a") && open != -1 {
				if open >= 0 {
					f := &ix.Files[open]
					f.end = j + 1
					f.Text = p.un.unescape(s[openTagEnd:i])
					f.brEnd = p.brAfter(j + 1)
				}
				open = -1
			}
			i = j + 1
		case isAlpha(c):
			name, next, err := p.scanTag(i)
			if err != nil {
				return err
			}
			switch {
			case eqFold(name, "a"):
				if open != -1 {
					end := openFirstLt
					if end < 0 {
						end = i
					}
					closeOpen(end)
				}
				idx, err := p.anchor(i)
				if err != nil {
					return err
				}
				open, openTagEnd, openFirstLt = idx, next, -1
				if idx < 0 {
					open = -2
				}
			case eqFold(name, "base"):
				if ix.BaseHref == "" {
					for _, a := range p.attrs {
						if eqFold(a.name, "href") && !a.bare {
							ix.BaseHref = cleanURL(p.un.unescape(s[a.val.a:a.val.b]))
							break
						}
					}
				}
			case eqFold(name, "meta"):
				p.meta()
			case eqFold(name, "plaintext"):
				return p.err(i, "<plaintext> element")
			default:
				for _, rt := range rawTextElements {
					if eqFold(name, rt) {
						end, err := p.rawText(next, rt)
						if err != nil {
							return err
						}
						next = end
						break
					}
				}
			}
			i = next
		default:
			i++ // '<' followed by something else is text
		}
	}
	if open != -1 {
		end := openFirstLt
		if end < 0 {
			end = len(s)
		}
		closeOpen(end)
	}
	return nil
}

// markupDecl handles "<!": comments, doctype, bogus comments.
func (p *htmlParser) markupDecl(i int) (int, error) {
	s := p.s
	if strings.HasPrefix(s[i:], "<!--") {
		k := strings.Index(s[i+4:], "-->")
		if k < 0 {
			return 0, p.err(i, "unterminated comment")
		}
		body := s[i+4 : i+4+k]
		// Parsers disagree on "<!-->", "<!--->", "--!>", "-- >" and
		// nested "<!--": accept only plain comments.
		if strings.ContainsAny(body, "<>") || strings.Contains(body, "--") || strings.HasSuffix(body, "-") || strings.HasPrefix(body, "-") {
			return 0, p.err(i, "ambiguous comment")
		}
		return i + 4 + k + 3, nil
	}
	if strings.HasPrefix(s[i:], "<![") {
		return 0, p.err(i, "CDATA section")
	}
	k := strings.IndexByte(s[i:], '>')
	if k < 0 || strings.IndexByte(s[i+2:i+k], '<') >= 0 {
		return 0, p.err(i, "malformed declaration")
	}
	return i + k + 1, nil
}

// rawText skips the content of a raw-text element starting at from and
// returns the offset of its end tag. The content must not contain '<'.
func (p *htmlParser) rawText(from int, name string) (int, error) {
	s := p.s
	k := strings.IndexByte(s[from:], '<')
	if k < 0 {
		return 0, p.err(from, "unterminated <"+name+">")
	}
	j := from + k
	t := s[j:]
	if len(t) < len(name)+3 || t[1] != '/' || !eqFold(t[2:2+len(name)], name) ||
		!(isHTMLSpace(t[2+len(name)]) || t[2+len(name)] == '>' || t[2+len(name)] == '/') {
		return 0, p.err(j, "markup inside <"+name+">")
	}
	return j, nil
}

// scanTag tokenizes the start tag at s[i] == '<' into p.attrs and returns
// its name and the offset after its '>'.
func (p *htmlParser) scanTag(i int) (string, int, error) {
	s := p.s
	j := i + 1
	for j < len(s) && (isAlnum(s[j]) || s[j] == '-' || s[j] == ':' || s[j] == '_' || s[j] == '.') {
		j++
	}
	if j >= len(s) {
		return "", 0, p.err(i, "unterminated tag")
	}
	if c := s[j]; !isHTMLSpace(c) && c != '/' && c != '>' {
		return "", 0, p.err(j, "invalid character in tag name")
	}
	name := s[i+1 : j]
	p.attrs = p.attrs[:0]
	for {
		// Whitespace and stray '/' separate attributes (HTML5 and
		// html.parser agree on this).
		ws := j
		for j < len(s) && (isHTMLSpace(s[j]) || s[j] == '/') {
			j++
		}
		if j >= len(s) {
			return "", 0, p.err(i, "unterminated tag")
		}
		if s[j] == '>' {
			return name, j + 1, nil
		}
		// attribute name
		ns := j
		for j < len(s) {
			c := s[j]
			if !attrNameSpecial[c] {
				j++
				continue
			}
			if isHTMLSpace(c) || c == '/' || c == '>' || (c == '=' && j > ns) {
				break
			}
			if c == '"' || c == '\'' || c == '<' || c == '=' || c < 0x20 || c >= 0x7f {
				return "", 0, p.err(j, "invalid character in attribute name")
			}
			j++
		}
		a := attr{name: s[ns:j], full: span{ws, j}, val: span{j, j}, valQ: span{j, j}, bare: true}
		// optional value
		k := j
		for k < len(s) && isHTMLSpace(s[k]) {
			k++
		}
		if k < len(s) && s[k] == '=' {
			k++
			for k < len(s) && isHTMLSpace(s[k]) {
				k++
			}
			if k >= len(s) {
				return "", 0, p.err(i, "unterminated tag")
			}
			switch q := s[k]; q {
			case '"', '\'':
				e := strings.IndexByte(s[k+1:], q)
				if e < 0 {
					return "", 0, p.err(k, "unterminated attribute value")
				}
				a.val = span{k + 1, k + 1 + e}
				a.valQ = span{k, k + 2 + e}
				j = k + 2 + e
			case '>':
				j = k // empty value: href=>
				a.val, a.valQ = span{k, k}, span{k, k}
			default:
				vs := k
				for k < len(s) && !isHTMLSpace(s[k]) && s[k] != '>' {
					c := s[k]
					if c == '"' || c == '\'' || c == '<' || c == '`' || (c == '=' && k == vs) || c < 0x20 || c >= 0x7f {
						return "", 0, p.err(k, "invalid character in unquoted attribute value")
					}
					k++
				}
				a.val, a.valQ = span{vs, k}, span{vs, k}
				j = k
			}
			a.bare = false
			a.full.b = j
		}
		p.attrs = append(p.attrs, a)
	}
}

// attrNameSpecial marks the bytes that end an attribute name or make it
// invalid (scanTag).
var attrNameSpecial = func() (t [256]bool) {
	for c := range 256 {
		t[c] = c < 0x20 || c >= 0x7f || strings.IndexByte(" /><=\"'", byte(c)) >= 0
	}
	return
}()

// brAfter returns the end of a <br>, <br/> or <br /> directly after the
// anchor end at j (spaces and tabs allowed between), or 0.
func (p *htmlParser) brAfter(j int) int {
	s := p.s
	for j < len(s) && (s[j] == ' ' || s[j] == '\t') {
		j++
	}
	if !hasPrefixFold(s[j:], "<br") || j+3 >= len(s) {
		return 0
	}
	if c := s[j+3]; !isHTMLSpace(c) && c != '/' && c != '>' {
		return 0
	}
	_, next, err := p.scanTag(j)
	if err != nil {
		return 0
	}
	return next
}

func (p *htmlParser) meta() {
	var name, content string
	hasContent := false
	for _, a := range p.attrs {
		switch {
		case eqFold(a.name, "name"):
			name = p.s[a.val.a:a.val.b]
		case eqFold(a.name, "content"):
			content, hasContent = p.s[a.val.a:a.val.b], true
		}
	}
	if name != "pypi:project-status" || !hasContent {
		return
	}
	content = p.un.unescape(content)
	// The first status wins, but a quarantine anywhere is honoured.
	if p.ix.ProjectStatus == "" || content == "quarantined" {
		p.ix.ProjectStatus = content
	}
}

// Anchor attribute bits for duplicate detection.
const (
	aHref = 1 << iota
	aYanked
	aCore
	aDist
	aReqPy
)

// anchor records the <a> start tag at i (attributes in p.attrs) as a file
// when it has an href; it returns the file index or -1.
func (p *htmlParser) anchor(i int) (int, error) {
	s := p.s
	var f IndexFile
	f.start = i
	f.attrs = [4]span{{-1, -1}, {-1, -1}, {-1, -1}, {-1, -1}}
	seen := 0
	var rawHref string
	dup := func(bit int) bool {
		d := seen&bit != 0
		seen |= bit
		return d
	}
	for _, a := range p.attrs {
		n := a.name
		if len(n) < 4 {
			continue
		}
		switch {
		case eqFold(n, "href"):
			if dup(aHref) {
				return 0, p.err(i, "anchor with two href attributes")
			}
			f.hrefStart, f.hrefEnd = a.valQ.a, a.valQ.b
			if a.bare {
				f.flags |= flagHrefBare
			}
			rawHref = s[a.val.a:a.val.b]
		case eqFold(n, "data-yanked"):
			if dup(aYanked) {
				return 0, p.err(i, "anchor with two data-yanked attributes")
			}
			f.attrs[0] = a.full
			f.Yanked = true
			f.YankedReason = p.un.unescape(s[a.val.a:a.val.b])
		case eqFold(n, "data-core-metadata"):
			if dup(aCore) {
				return 0, p.err(i, "anchor with two data-core-metadata attributes")
			}
			f.attrs[1] = a.full
			f.HasMetadata = true
		case eqFold(n, "data-dist-info-metadata"):
			if dup(aDist) {
				return 0, p.err(i, "anchor with two data-dist-info-metadata attributes")
			}
			f.attrs[2] = a.full
			f.HasMetadata = true
		case eqFold(n, "data-requires-python"):
			if dup(aReqPy) {
				return 0, p.err(i, "anchor with two data-requires-python attributes")
			}
			f.RequiresPython = p.un.unescape(s[a.val.a:a.val.b])
		}
	}
	if seen&aHref == 0 {
		return -1, nil
	}
	var ctl bool
	f.URL, ctl = cleanURLCheck(p.un.unescape(rawHref))
	p.ix.preSplit(&f)
	if !hasHTMLSpecial(f.URL) {
		f.flags |= flagURLPlain
	}
	p.ix.fileDetails(&f)
	switch {
	case f.URL == "":
		f.ParseErr = errors.New("pypi: empty link")
	case ambiguousRefs(rawHref):
		f.ParseErr = errors.New("pypi: ambiguous character reference in link")
	case ctl:
		f.ParseErr = errors.New("pypi: control character or space in link")
	}
	p.ix.Files = append(p.ix.Files, f)
	return len(p.ix.Files) - 1, nil
}

// hasControlOrSpace reports whether s has a byte <= ' ' or DEL. It reads
// 8 bytes at a time: a URL with a sha256 fragment is 150-250 bytes, and
// every link is checked.
func hasControlOrSpace(s string) bool {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := load64(s, i)
		// A byte < 0x21, or a byte equal to 0x7f (see swarOnes).
		d := x ^ (0x7f * swarOnes)
		if ((x-0x21*swarOnes)&^x|(d-swarOnes)&^d)&swarHighs != 0 {
			return true
		}
	}
	for ; i < len(s); i++ {
		if s[i] <= ' ' || s[i] == 0x7f {
			return true
		}
	}
	return false
}

// SWAR (SIMD within a register) byte tests on 8 bytes x: the high bit of a
// lane of (x-n*swarOnes)&^x is set, for some lane, exactly when some byte of
// x is below n (n <= 0x80); with x^(c*swarOnes) for x and n = 1, when some
// byte equals c. Borrows can only mark lanes above a true one, so the
// answer "some byte" is exact.
const (
	swarOnes  = 0x0101010101010101
	swarHighs = 0x8080808080808080
)

// load64 returns s[i:i+8] as a little-endian word (the compiler makes it
// one load).
func load64(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// cleanURLCheck returns cleanURL(u) and hasControlOrSpace of it, reading u
// once when it is clean (nearly always).
func cleanURLCheck(u string) (string, bool) {
	if !hasControlOrSpace(u) {
		return u, false // no byte <= ' ': cleanURL would return u
	}
	u = cleanURL(u)
	return u, hasControlOrSpace(u)
}

// hasHTMLSpecial reports whether s has a byte appendHTMLEscaped replaces.
// Five vectorized IndexByte scans of a 200-byte URL cost a third of a
// per-byte table loop (and a SWAR test for five values, more than that).
func hasHTMLSpecial(s string) bool {
	return strings.IndexByte(s, '&') >= 0 || strings.IndexByte(s, '"') >= 0 || strings.IndexByte(s, '<') >= 0 ||
		strings.IndexByte(s, '>') >= 0 || strings.IndexByte(s, '\'') >= 0
}

// HTML render op kinds, in tie-break order.
const (
	opHref uint8 = iota
	opYanked
	opDelete
)

type htmlOp struct {
	a, b int
	kind uint8
}

func (ix *Index) renderHTML(dst []byte, edits []Edit, links LinkMapper, pre bool) ([]byte, error) {
	s := ix.s
	pos := 0
	plainHead := ""
	for i := range ix.Files {
		f := &ix.Files[i]
		e, link := decide(f, i, edits, links, pre)
		switch e.Action {
		case Remove:
			start, end := f.start, f.end
			if f.brEnd > 0 {
				end = f.brEnd
			}
			// Take the line's indentation and the newline before it along.
			k := start
			for k > pos && (s[k-1] == ' ' || s[k-1] == '\t') {
				k--
			}
			if k > pos && s[k-1] == '\n' {
				k--
				if k > pos && s[k-1] == '\r' {
					k--
				}
				start = k
			}
			if start > pos && s[start-1] == '<' {
				// "<" + "<a ...>" + "a href=...>": without the anchor the
				// first '<' would start a new tag. Write it as a reference.
				dst = append(dst, s[pos:start-1]...)
				dst = append(dst, "&lt;"...)
			} else {
				dst = append(dst, s[pos:start]...)
			}
			pos = end
		case Keep:
			if link.same(f.URL) {
				continue
			}
			dst = append(dst, s[pos:f.hrefStart]...)
			dst = appendHrefValue(dst, link, f.flags&flagHrefBare != 0, f.flags&flagURLPlain != 0, &plainHead)
			pos = f.hrefEnd
		case Mark:
			var ops [4]htmlOp
			n := 0
			if !link.same(f.URL) {
				ops[n] = htmlOp{f.hrefStart, f.hrefEnd, opHref}
				n++
			}
			if y := f.attrs[0]; y.a >= 0 {
				ops[n] = htmlOp{y.a, y.b, opYanked}
			} else {
				ops[n] = htmlOp{f.hrefEnd, f.hrefEnd, opYanked}
			}
			n++
			for _, m := range f.attrs[1:3] {
				if m.a >= 0 {
					ops[n] = htmlOp{m.a, m.b, opDelete}
					n++
				}
			}
			// insertion sort by (a, kind)
			for x := 1; x < n; x++ {
				for y := x; y > 0 && (ops[y].a < ops[y-1].a || (ops[y].a == ops[y-1].a && ops[y].kind < ops[y-1].kind)); y-- {
					ops[y], ops[y-1] = ops[y-1], ops[y]
				}
			}
			for _, op := range ops[:n] {
				dst = append(dst, s[pos:op.a]...)
				switch op.kind {
				case opHref:
					dst = appendHrefValue(dst, link, f.flags&flagHrefBare != 0, f.flags&flagURLPlain != 0, &plainHead)
				case opYanked:
					dst = append(dst, ` data-yanked="`...)
					dst = appendHTMLEscaped(dst, e.Reason)
					dst = append(dst, '"')
				case opDelete:
					// The attribute took its leading whitespace along; keep
					// the next one from joining an unquoted value before it.
					if c := s[op.b]; !isHTMLSpace(c) && c != '>' {
						dst = append(dst, ' ')
					}
				}
				pos = op.b
			}
		}
	}
	return append(dst, s[pos:]...), nil
}

// appendHrefValue appends link as a quoted attribute value. plainTail says
// the tail has no byte to escape (it is a part of a URL the parser found
// plain: flagURLPlain); a head found plain is remembered in *plainHead, so
// the head every link of a page shares is checked once.
func appendHrefValue(dst []byte, link mappedLink, bare, plainTail bool, plainHead *string) []byte {
	if bare {
		dst = append(dst, '=')
	}
	dst = append(dst, '"')
	switch {
	case link.head == *plainHead:
		dst = append(dst, link.head...)
	case !hasHTMLSpecial(link.head):
		*plainHead = link.head
		dst = append(dst, link.head...)
	default:
		dst = appendHTMLEscaped(dst, link.head)
	}
	if plainTail {
		dst = append(dst, link.tail...)
	} else {
		dst = appendHTMLEscaped(dst, link.tail)
	}
	return append(dst, '"')
}

// htmlSpecial marks the bytes appendHTMLEscaped replaces.
var htmlSpecial = [256]bool{'&': true, '<': true, '>': true, '"': true, '\'': true}

// appendHTMLEscaped escapes & < > " ' for use in a double-quoted attribute.
func appendHTMLEscaped(dst []byte, s string) []byte {
	last := 0
	for i := 0; i < len(s); i++ {
		if !htmlSpecial[s[i]] {
			continue
		}
		var rep string
		switch s[i] {
		case '&':
			rep = "&amp;"
		case '<':
			rep = "&lt;"
		case '>':
			rep = "&gt;"
		case '"':
			rep = "&quot;"
		default:
			rep = "&#39;"
		}
		dst = append(dst, s[last:i]...)
		dst = append(dst, rep...)
		last = i + 1
	}
	return append(dst, s[last:]...)
}
