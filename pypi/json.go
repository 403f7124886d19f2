package pypi

import (
	"errors"
	"math/bits"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// maxJSONDepth bounds nesting in skipped JSON values.
const maxJSONDepth = 64

type jsonParser struct {
	s  string
	i  int
	ix *Index
}

func (p *jsonParser) err(msg string) error {
	return &ParseError{Format: FormatJSON, Offset: p.i, Msg: msg}
}

func (p *jsonParser) ws() {
	s := p.s
	i := p.i
	for i < len(s) {
		switch s[i] {
		case ' ', '\t', '\n', '\r':
			i++
			continue
		}
		break
	}
	p.i = i
}

func (p *jsonParser) expect(c byte) error {
	p.ws()
	if p.i >= len(p.s) || p.s[p.i] != c {
		if p.i >= len(p.s) {
			return p.err("unexpected end of input")
		}
		return p.err("expected '" + string(c) + "'")
	}
	p.i++
	return nil
}

// strSafe marks bytes that need no attention inside a JSON string.
var strSafe = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return
}()

// str scans the string at p.i and returns its content span and whether it
// contains escapes.
func (p *jsonParser) str() (a, b int, esc bool, err error) {
	s := p.s
	if p.i >= len(s) || s[p.i] != '"' {
		return 0, 0, false, p.err("expected a string")
	}
	a = p.i + 1
	i := a
	for {
		// 8 bytes at a time up to the word with a quote, a backslash or
		// a control character (URLs and hashes are long), then bytewise.
		// The lowest flagged byte of the word is exact (only bytes above
		// a flagged one can be flagged by a borrow), so it is where the
		// bytewise part starts.
		for i+8 <= len(s) {
			x := load64(s, i)
			q, bs := x^(0x22*swarOnes), x^(0x5c*swarOnes)
			if m := ((x-0x20*swarOnes)&^x | (q-swarOnes)&^q | (bs-swarOnes)&^bs) & swarHighs; m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				break
			}
			i += 8
		}
		for i < len(s) && strSafe[s[i]] {
			i++
		}
		if i >= len(s) {
			return 0, 0, false, p.err("unterminated string")
		}
		switch c := s[i]; {
		case c == '"':
			p.i = i + 1
			return a, i, esc, nil
		case c == '\\':
			esc = true
			if i+1 >= len(s) {
				return 0, 0, false, p.err("unterminated string")
			}
			switch s[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+5 >= len(s) || !isHex(s[i+2]) || !isHex(s[i+3]) || !isHex(s[i+4]) || !isHex(s[i+5]) {
					p.i = i
					return 0, 0, false, p.err("bad \\u escape")
				}
				i += 6
			default:
				p.i = i
				return 0, 0, false, p.err("bad escape")
			}
		default:
			p.i = i
			return 0, 0, false, p.err("control character in string")
		}
	}
}

// strValue scans a string and returns its decoded value.
func (p *jsonParser) strValue() (string, error) {
	a, b, esc, err := p.str()
	if err != nil {
		return "", err
	}
	if !esc {
		return p.s[a:b], nil
	}
	return unescapeJSON(p.s[a:b]), nil
}

// unescapeJSON decodes a validated JSON string body. Invalid surrogates
// become U+FFFD, as in encoding/json.
func unescapeJSON(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			b = append(b, c)
			continue
		}
		i++
		switch s[i] {
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r := hex4(s[i+1:])
			i += 4
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if i+6 < len(s) && s[i+1] == '\\' && s[i+2] == 'u' {
					r2 = hex4(s[i+3:])
				}
				if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
					r = d
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			b = utf8.AppendRune(b, r)
		default: // " \ /
			b = append(b, s[i])
		}
	}
	return string(b)
}

func hex4(s string) rune {
	var r rune
	for i := 0; i < 4; i++ {
		r = r<<4 | rune(unhex(s[i]))
	}
	return r
}

// number scans a JSON number and returns its span.
func (p *jsonParser) number() (int, int, error) {
	s := p.s
	a := p.i
	i := a
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	default:
		return 0, 0, p.err("invalid number")
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i >= len(s) || !isDigit(s[i]) {
			p.i = i
			return 0, 0, p.err("invalid number")
		}
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	exp := i < len(s) && (s[i] == 'e' || s[i] == 'E')
	if exp {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || !isDigit(s[i]) {
			p.i = i
			return 0, 0, p.err("invalid number")
		}
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	// A number beyond float64's range is inf to Python's json (pip) but an
	// error to serde_json (uv) and encoding/json: clients would disagree
	// on whether the page is valid at all.
	// Only an exponent or more than 308 digits can reach that range.
	if i-a > 308 || exp {
		if _, err := strconv.ParseFloat(s[a:i], 64); err != nil {
			p.i = a
			return 0, 0, p.err("number out of range")
		}
	}
	p.i = i
	return a, i, nil
}

// literal scans true, false or null.
func (p *jsonParser) literal() (string, error) {
	for _, l := range [...]string{"true", "false", "null"} {
		if strings.HasPrefix(p.s[p.i:], l) {
			p.i += len(l)
			return l, nil
		}
	}
	return "", p.err("invalid value")
}

// skipValue validates and skips any value.
func (p *jsonParser) skipValue(depth int) error {
	p.ws()
	if p.i >= len(p.s) {
		return p.err("unexpected end of input")
	}
	switch c := p.s[p.i]; {
	case c == '"':
		_, _, _, err := p.str()
		return err
	case c == '{' || c == '[':
		if depth >= maxJSONDepth {
			return p.err("nesting too deep")
		}
		closeCh := byte('}')
		if c == '[' {
			closeCh = ']'
		}
		p.i++
		p.ws()
		if p.i < len(p.s) && p.s[p.i] == closeCh {
			p.i++
			return nil
		}
		for {
			if c == '{' {
				p.ws()
				if _, _, _, err := p.str(); err != nil {
					return err
				}
				if err := p.expect(':'); err != nil {
					return err
				}
			}
			if err := p.skipValue(depth + 1); err != nil {
				return err
			}
			p.ws()
			if p.i >= len(p.s) {
				return p.err("unexpected end of input")
			}
			if p.s[p.i] == ',' {
				p.i++
				continue
			}
			if p.s[p.i] == closeCh {
				p.i++
				return nil
			}
			return p.err("expected ',' or '" + string(closeCh) + "'")
		}
	case c == '-' || isDigit(c):
		_, _, err := p.number()
		return err
	default:
		_, err := p.literal()
		return err
	}
}

// object iterates the members of the object at p.i, calling member with
// the decoded key, the key's start offset and the end of the key (after its
// closing quote); member must consume the value. last receives the end of
// the last value.
func (p *jsonParser) object(member func(key string, keyStart, keyEnd int) error) error {
	if err := p.expect('{'); err != nil {
		return err
	}
	p.ws()
	if p.i < len(p.s) && p.s[p.i] == '}' {
		p.i++
		return nil
	}
	for {
		p.ws()
		ks := p.i
		key, err := p.strValue()
		if err != nil {
			return err
		}
		ke := p.i
		if err := p.expect(':'); err != nil {
			return err
		}
		p.ws()
		if err := member(key, ks, ke); err != nil {
			return err
		}
		p.ws()
		if p.i >= len(p.s) {
			return p.err("unexpected end of input")
		}
		switch p.s[p.i] {
		case ',':
			p.i++
		case '}':
			p.i++
			return nil
		default:
			return p.err("expected ',' or '}'")
		}
	}
}

// Top-level keys for duplicate detection.
const (
	kFiles = 1 << iota
	kVersions
	kStatus
	kName
	kMeta
)

func parseJSON(ix *Index) error {
	p := &jsonParser{s: ix.s, ix: ix}
	if !utf8.ValidString(p.s) {
		return p.err("invalid UTF-8")
	}
	ix.filesArr, ix.versionsArr = span{-1, -1}, span{-1, -1}
	seen := 0
	dup := func(bit int, key string) error {
		if seen&bit != 0 {
			return p.err("duplicate key " + strconv.Quote(key))
		}
		seen |= bit
		return nil
	}
	p.ws()
	if p.i >= len(p.s) || p.s[p.i] != '{' {
		return p.err("not a JSON object")
	}
	err := p.object(func(key string, _, _ int) error {
		switch key {
		case "files":
			if err := dup(kFiles, key); err != nil {
				return err
			}
			return p.files()
		case "versions":
			if err := dup(kVersions, key); err != nil {
				return err
			}
			return p.versions()
		case "project-status":
			if err := dup(kStatus, key); err != nil {
				return err
			}
			if p.i < len(p.s) && p.s[p.i] != '{' {
				return p.skipValue(1)
			}
			return p.object(func(k string, _, _ int) error {
				if k == "status" && p.i < len(p.s) && p.s[p.i] == '"' {
					v, err := p.strValue()
					ix.ProjectStatus = v
					return err
				}
				return p.skipValue(2)
			})
		case "name":
			if err := dup(kName, key); err != nil {
				return err
			}
			if p.i < len(p.s) && p.s[p.i] == '"' {
				v, err := p.strValue()
				ix.Name = v
				return err
			}
			return p.skipValue(1)
		case "meta":
			if err := dup(kMeta, key); err != nil {
				return err
			}
		}
		return p.skipValue(1)
	})
	if err != nil {
		return err
	}
	p.ws()
	if p.i != len(p.s) {
		return p.err("trailing data after the JSON object")
	}
	if ix.filesArr.a < 0 {
		return p.err(`no "files" array`)
	}
	return nil
}

func (p *jsonParser) versions() error {
	if p.i >= len(p.s) || p.s[p.i] != '[' {
		return p.err(`"versions" is not an array`)
	}
	p.ix.versionsArr.a = p.i
	if n := len(p.ix.Files); n > 0 {
		// "versions" usually follows "files" and has at most one entry per file.
		p.ix.Versions = make([]string, 0, n)
		p.ix.versionSp = make([]span, 0, n)
	}
	p.i++
	p.ws()
	if p.i < len(p.s) && p.s[p.i] == ']' {
		p.ix.versionsArr.b = p.i
		p.ix.Versions = []string{}
		p.i++
		return nil
	}
	for {
		p.ws()
		a := p.i
		v, err := p.strValue()
		if err != nil {
			return err
		}
		p.ix.Versions = append(p.ix.Versions, v)
		p.ix.versionSp = append(p.ix.versionSp, span{a, p.i})
		if done, err := p.elemEnd(&p.ix.versionsArr); done || err != nil {
			return err
		}
	}
}

// elemEnd consumes what follows an array element: ',' (more to come) or the
// closing ']', whose index is recorded in arr.b (done).
func (p *jsonParser) elemEnd(arr *span) (done bool, err error) {
	p.ws()
	if p.i >= len(p.s) {
		return false, p.err("unexpected end of input")
	}
	switch p.s[p.i] {
	case ',':
		p.i++
		return false, nil
	case ']':
		arr.b = p.i
		p.i++
		return true, nil
	}
	return false, p.err("expected ',' or ']'")
}

func (p *jsonParser) files() error {
	if p.i >= len(p.s) || p.s[p.i] != '[' {
		return p.err(`"files" is not an array`)
	}
	if cap(p.ix.Files) == 0 {
		// A PyPI file entry is 500-800 bytes; counting them exactly costs
		// more than letting append grow the rest.
		p.ix.Files = make([]IndexFile, 0, (len(p.s)-p.i)/640+1)
	}
	p.ix.filesArr.a = p.i
	p.i++
	p.ws()
	if p.i < len(p.s) && p.s[p.i] == ']' {
		p.ix.filesArr.b = p.i
		p.i++
		return nil
	}
	for {
		p.ws()
		if p.i >= len(p.s) || p.s[p.i] != '{' {
			return p.err("file entry is not an object")
		}
		if err := p.file(); err != nil {
			return err
		}
		if done, err := p.elemEnd(&p.ix.filesArr); done || err != nil {
			return err
		}
	}
}

// File keys for duplicate detection.
const (
	fFilename = 1 << iota
	fURL
	fHashes
	fReqPy
	fYanked
	fUpload
	fCore
	fDataDist
	fDist
	fSize
)

// fileKeyBit returns the bit of a known file key, 0 for another key (a
// switch: comparing with each known key in turn was 8% of parsing a page).
func fileKeyBit(key string) int {
	switch key {
	case "filename":
		return fFilename
	case "url":
		return fURL
	case "hashes":
		return fHashes
	case "requires-python":
		return fReqPy
	case "yanked":
		return fYanked
	case "upload-time":
		return fUpload
	case "core-metadata":
		return fCore
	case "data-dist-info-metadata":
		return fDataDist
	case "dist-info-metadata":
		return fDist
	case "size":
		return fSize
	}
	return 0
}

func (p *jsonParser) file() error {
	s := p.s
	ix := p.ix
	ix.Files = append(ix.Files, IndexFile{})
	f := &ix.Files[len(ix.Files)-1]
	f.start = p.i
	f.attrs = [4]span{{-1, -1}, {-1, -1}, {-1, -1}, {-1, -1}}
	f.sep = span{-1, -1}
	seen := 0
	prevEnd := -1
	err := p.object(func(key string, ks, ke int) error {
		bit := fileKeyBit(key)
		if bit != 0 {
			if seen&bit != 0 {
				return p.err("duplicate key " + strconv.Quote(key) + " in a file entry")
			}
			seen |= bit
		}
		if prevEnd >= 0 {
			f.sep = span{prevEnd, ks}
		}
		vs := p.i
		f.colon = span{ke, vs}
		var err error
		switch bit {
		case fFilename:
			f.Filename, err = p.strValue()
		case fURL:
			f.URL, err = p.strValue()
			f.hrefStart, f.hrefEnd = vs, p.i
		case fHashes:
			if p.i < len(s) && s[p.i] != '{' {
				return p.err(`"hashes" is not an object`)
			}
			sawSha := false
			err = p.object(func(k string, _, _ int) error {
				if k != "sha256" {
					return p.skipValue(3)
				}
				if sawSha {
					return p.err(`duplicate key "sha256"`)
				}
				sawSha = true
				if p.i < len(s) && s[p.i] != '"' {
					return p.err(`"sha256" is not a string`)
				}
				v, err := p.strValue()
				f.Sha256 = v
				return err
			})
		case fReqPy:
			if p.i < len(s) && s[p.i] == '"' {
				f.RequiresPython, err = p.strValue()
			} else {
				err = p.nullOr("requires-python")
			}
		case fYanked:
			switch {
			case p.i < len(s) && s[p.i] == '"':
				f.YankedReason, err = p.strValue()
				f.Yanked = true
			default:
				var l string
				l, err = p.literal()
				if err == nil && l == "null" {
					err = p.err(`"yanked" is null`)
				}
				f.Yanked = l == "true"
			}
			f.attrs[0] = span{vs, p.i}
		case fUpload:
			if p.i < len(s) && s[p.i] == '"' {
				var v string
				v, err = p.strValue()
				f.UploadTime, _ = parseUploadTime(v)
			} else {
				err = p.nullOr("upload-time")
			}
		case fCore, fDataDist, fDist:
			err = p.skipValue(2)
			if err == nil && s[vs:p.i] != "false" && s[vs:p.i] != "null" {
				f.HasMetadata = true
			}
			switch bit {
			case fCore:
				f.attrs[1] = span{vs, p.i}
			case fDataDist:
				f.attrs[2] = span{vs, p.i}
			default:
				f.attrs[3] = span{vs, p.i}
			}
		case fSize:
			if p.i < len(s) && (s[p.i] == '-' || isDigit(s[p.i])) {
				var a, b int
				a, b, err = p.number()
				if err == nil {
					f.Size, _ = strconv.ParseInt(s[a:b], 10, 64)
				}
			} else {
				err = p.skipValue(2)
			}
		default:
			err = p.skipValue(2)
		}
		prevEnd = p.i
		return err
	})
	if err != nil {
		return err
	}
	f.end = p.i
	f.ins = prevEnd
	if seen&fFilename == 0 || seen&fURL == 0 {
		return p.err(`file entry without "filename" and "url" strings`)
	}
	p.fileCheck(f)
	return nil
}

func (p *jsonParser) nullOr(key string) error {
	l, err := p.literal()
	if err == nil && l != "null" {
		return p.err(strconv.Quote(key) + " is not a string")
	}
	return err
}

// fileCheck parses the filename and cross-checks it with the url: uv
// takes the name from "filename", pip from the url.
func (p *jsonParser) fileCheck(f *IndexFile) {
	var ctl bool
	f.URL, ctl = cleanURLCheck(f.URL)
	p.ix.preSplit(f)
	if !ctl && f.hrefEnd-f.hrefStart == len(f.URL)+2 {
		// Written without escapes: no '"', '\\' or control byte (JSON
		// forbids them raw), and no DEL (ctl): nothing to escape.
		f.flags |= flagURLPlain
	}
	p.ix.parseName(f, len(p.ix.Files)-1)
	name, _, err := linkFilename(f.URL)
	switch {
	case f.ParseErr != nil:
	case err != nil:
		f.ParseErr = err
	case f.URL == "":
		f.ParseErr = errors.New("pypi: empty url")
	case ctl:
		f.ParseErr = errors.New("pypi: control character or space in url")
	case name != f.Filename:
		f.ParseErr = errors.New("pypi: file entry's filename and url name different files")
	}
}

type decision struct {
	e    Edit
	link mappedLink
}

func (ix *Index) renderJSON(dst []byte, edits []Edit, links LinkMapper, pre bool) ([]byte, error) {
	s := ix.s
	dp := decisionBufs.Get()
	defer decisionBufs.Put(dp)
	if cap(*dp) < len(ix.Files) {
		*dp = make([]decision, len(ix.Files))
	}
	decs := (*dp)[:len(ix.Files)]
	defer clear(decs) // no link or reason of this page stays reachable from the pool
	anyRemoved := false
	for i := range ix.Files {
		decs[i].e, decs[i].link = decide(&ix.Files[i], i, edits, links, pre)
		anyRemoved = anyRemoved || decs[i].e.Action == Remove
	}
	var drop []bool
	if anyRemoved {
		drop = ix.versionDrops(decs)
	}
	pos := 0
	emitFiles := func() {
		dst = append(dst, s[pos:ix.filesArr.a]...)
		dst = ix.renderFiles(dst, decs)
		pos = ix.filesArr.b + 1
	}
	emitVersions := func() {
		dst = append(dst, s[pos:ix.versionsArr.a]...)
		dst = ix.renderVersions(dst, drop)
		pos = ix.versionsArr.b + 1
	}
	if drop != nil && ix.versionsArr.a < ix.filesArr.a {
		emitVersions()
		emitFiles()
	} else {
		emitFiles()
		if drop != nil {
			emitVersions()
		}
	}
	return append(dst, s[pos:]...), nil
}

func (ix *Index) renderFiles(dst []byte, decs []decision) []byte {
	s := ix.s
	a, b := ix.filesArr.a, ix.filesArr.b
	if len(ix.Files) == 0 {
		return append(dst, s[a:b+1]...)
	}
	dst = append(dst, '[')
	emitted := false
	plainHead := ""
	for i := range ix.Files {
		f := &ix.Files[i]
		d := &decs[i]
		if d.e.Action == Remove {
			continue
		}
		if !emitted {
			dst = append(dst, s[a+1:ix.Files[0].start]...)
		} else {
			dst = append(dst, s[ix.Files[i-1].end:f.start]...)
		}
		emitted = true
		dst = ix.renderFileJSON(dst, f, d, &plainHead)
	}
	if !emitted {
		return append(dst, ']')
	}
	return append(dst, s[ix.Files[len(ix.Files)-1].end:b+1]...)
}

// JSON render op kinds, in tie-break order.
const (
	jopURL uint8 = iota
	jopYanked
	jopInsertYanked
	jopFalse
)

// renderFileJSON appends file f as d says. A link head found free of bytes
// to escape is remembered in *plainHead (the head is shared by the links of
// a page); f's own part of the link is written as it is when the parser
// found the URL plain (flagURLPlain).
func (ix *Index) renderFileJSON(dst []byte, f *IndexFile, d *decision, plainHead *string) []byte {
	s := ix.s
	if d.e.Action == Keep && d.link.same(f.URL) {
		return append(dst, s[f.start:f.end]...)
	}
	var ops [6]htmlOp
	n := 0
	if !d.link.same(f.URL) {
		ops[n] = htmlOp{f.hrefStart, f.hrefEnd, jopURL}
		n++
	}
	if d.e.Action == Mark {
		if y := f.attrs[0]; y.a >= 0 {
			ops[n] = htmlOp{y.a, y.b, jopYanked}
		} else {
			ops[n] = htmlOp{f.ins, f.ins, jopInsertYanked}
		}
		n++
		for _, m := range f.attrs[1:] {
			if m.a >= 0 {
				ops[n] = htmlOp{m.a, m.b, jopFalse}
				n++
			}
		}
	}
	for x := 1; x < n; x++ {
		for y := x; y > 0 && (ops[y].a < ops[y-1].a || (ops[y].a == ops[y-1].a && ops[y].kind < ops[y-1].kind)); y-- {
			ops[y], ops[y-1] = ops[y-1], ops[y]
		}
	}
	pos := f.start
	for _, op := range ops[:n] {
		dst = append(dst, s[pos:op.a]...)
		switch op.kind {
		case jopURL:
			dst = append(dst, '"')
			switch {
			case d.link.head == *plainHead:
				dst = append(dst, d.link.head...)
			case !hasJSONSpecial(d.link.head):
				*plainHead = d.link.head
				dst = append(dst, d.link.head...)
			default:
				dst = appendJSONEscaped(dst, d.link.head)
			}
			if f.flags&flagURLPlain != 0 {
				dst = append(dst, d.link.tail...)
			} else {
				dst = appendJSONEscaped(dst, d.link.tail)
			}
			dst = append(dst, '"')
		case jopInsertYanked:
			if f.sep.a >= 0 {
				dst = append(dst, s[f.sep.a:f.sep.b]...)
			} else {
				dst = append(dst, ',')
			}
			dst = append(dst, `"yanked"`...)
			dst = append(dst, s[f.colon.a:f.colon.b]...)
			dst = appendYankedValue(dst, d.e.Reason)
		case jopYanked:
			dst = appendYankedValue(dst, d.e.Reason)
		case jopFalse:
			dst = append(dst, "false"...)
		}
		pos = op.b
	}
	return append(dst, s[pos:f.end]...)
}

// appendYankedValue writes the reason, or true when it is empty (an empty
// string is falsy for Python clients).
func appendYankedValue(dst []byte, reason string) []byte {
	if reason == "" {
		return append(dst, "true"...)
	}
	return appendJSONString(dst, reason)
}

// appendJSONString appends s as a JSON string literal.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	dst = appendJSONEscaped(dst, s)
	return append(dst, '"')
}

// hasJSONSpecial reports whether s has a byte appendJSONEscaped replaces.
func hasJSONSpecial(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c == 0x7f {
			return true
		}
	}
	return false
}

// appendJSONEscaped appends s escaped for the inside of a JSON string.
// Bytes >= 0x80 are copied as they are, so a split between two calls
// anywhere gives the same bytes as one call.
func appendJSONEscaped(dst []byte, s string) []byte {
	const hexd = "0123456789abcdef"
	last := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c != 0x7f {
			continue
		}
		dst = append(dst, s[last:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexd[c>>4], hexd[c&15])
		}
		last = i + 1
	}
	return append(dst, s[last:]...)
}

// versionDrops reports which "versions" elements to drop: those with at
// least one file on the page, all of which are removed.
func (ix *Index) versionDrops(decs []decision) []bool {
	if ix.versionsArr.a < 0 || len(ix.Versions) == 0 {
		return nil
	}
	total := make([]int32, len(ix.Versions))
	removed := make([]int32, len(ix.Versions))
	exact := make(map[string]int, len(ix.Versions))
	for j, v := range ix.Versions {
		if _, ok := exact[v]; !ok {
			exact[v] = j
		}
	}
	var keyed map[string]int
	for i := range ix.Files {
		v := ix.Files[i].Version
		if v == "" {
			continue
		}
		j, ok := exact[v]
		if !ok {
			if keyed == nil {
				keyed = make(map[string]int, len(ix.Versions))
				for j, v := range ix.Versions {
					if k := VersionKey(v); keyed[k] == 0 {
						keyed[k] = j + 1
					}
				}
			}
			j = keyed[VersionKey(v)] - 1
			ok = j >= 0
		}
		if !ok {
			continue
		}
		total[j]++
		if decs[i].e.Action == Remove {
			removed[j]++
		}
	}
	drop := make([]bool, len(ix.Versions))
	any := false
	for j := range drop {
		drop[j] = total[j] > 0 && removed[j] == total[j]
		any = any || drop[j]
	}
	if !any {
		return nil
	}
	return drop
}

func (ix *Index) renderVersions(dst []byte, drop []bool) []byte {
	s := ix.s
	a, b := ix.versionsArr.a, ix.versionsArr.b
	sp := ix.versionSp
	dst = append(dst, '[')
	emitted := false
	for j := range sp {
		if drop[j] {
			continue
		}
		if !emitted {
			dst = append(dst, s[a+1:sp[0].a]...)
		} else {
			dst = append(dst, s[sp[j-1].b:sp[j].a]...)
		}
		emitted = true
		dst = append(dst, s[sp[j].a:sp[j].b]...)
	}
	if !emitted {
		return append(dst, ']')
	}
	return append(dst, s[sp[len(sp)-1].b:b+1]...)
}
