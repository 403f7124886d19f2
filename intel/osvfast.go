package intel

import (
	"bytes"
	"strings"
	"unicode/utf8"
)

// decodeOSVFast is the fast path of parseOSV: a hand-written reader of the
// OSV fields intel uses, without reflection, that resolves the explicit
// versions through res as it reads them (no string per version).
//
// It is deliberately conservative. It fills r and returns true only for a
// document that the general decoder (JSON v2 into osvRecord, with the
// options of osvJSONOptions) accepts and decodes to the same osvRecord:
// strict RFC 8259 syntax everywhere, skipped members included; valid
// UTF-8 in strings; every member intel reads of the JSON kind its field
// expects; no member read twice. Anything else (null, a number where a
// string is expected, a duplicate name, a lone surrogate escape, invalid
// UTF-8, deep nesting, trailing data ...) returns false, and the caller
// decodes the record with the general decoder, which decides what it
// means or rejects it. TestOSVFastMatchesGeneral and FuzzOSVFastDecode
// prove the equivalence.
func decodeOSVFast(data []byte, r *osvRecord, res versionResolver) bool {
	var d *osvDecoder
	if l, ok := res.(*localVersions); ok {
		d = &l.dec // a loading worker's: reuse its buffers
	} else {
		d = &osvDecoder{}
	}
	d.data, d.pos, d.depth, d.res = data, 0, 0, res
	d.ws()
	ok := d.record(r) && d.peek() == 0 && d.pos == len(d.data)
	d.data, d.res = nil, nil
	return ok
}

// maxFastDepth bounds the nesting the fast path follows (the general
// decoder allows 10,000 levels; deeper documents fall back to it).
const maxFastDepth = 64

type osvDecoder struct {
	data    []byte
	pos     int
	depth   int
	scratch []byte
	res     versionResolver
	// reused while reading a versions list
	vers  []string
	pvers []*pver
}

func (d *osvDecoder) ws() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// peek returns the next byte after white space (0 at the end).
func (d *osvDecoder) peek() byte {
	d.ws()
	if d.pos < len(d.data) {
		return d.data[d.pos]
	}
	return 0
}

// consume skips white space and the byte c.
func (d *osvDecoder) consume(c byte) bool {
	if d.peek() != c {
		return false
	}
	d.pos++
	return true
}

// object reads a JSON object, calling member for each name (unquoted; valid
// until the next read) with the decoder positioned at the value.
func (d *osvDecoder) object(member func(name []byte) bool) bool {
	if !d.consume('{') {
		return false
	}
	d.depth++
	if d.depth > maxFastDepth {
		return false
	}
	if d.consume('}') {
		d.depth--
		return true
	}
	for {
		if d.peek() != '"' {
			return false
		}
		name, ok := d.str()
		if !ok || !d.consume(':') {
			return false
		}
		d.ws()
		if !member(name) {
			return false
		}
		if d.consume(',') {
			continue
		}
		if d.consume('}') {
			d.depth--
			return true
		}
		return false
	}
}

// array reads a JSON array, calling elem with the decoder positioned at
// each element.
func (d *osvDecoder) array(elem func() bool) bool {
	if !d.consume('[') {
		return false
	}
	d.depth++
	if d.depth > maxFastDepth {
		return false
	}
	if d.consume(']') {
		d.depth--
		return true
	}
	for {
		d.ws()
		if !elem() {
			return false
		}
		if d.consume(',') {
			continue
		}
		if d.consume(']') {
			d.depth--
			return true
		}
		return false
	}
}

// str reads a JSON string at the current position and returns its
// unescaped content: a sub-slice of the input, or of the scratch buffer
// when it had escapes (valid until the next str).
func (d *osvDecoder) str() ([]byte, bool) {
	data := d.data
	if d.pos >= len(data) || data[d.pos] != '"' {
		return nil, false
	}
	start := d.pos + 1
	i := start
	ascii := true
	for i < len(data) {
		c := data[i]
		if c == '"' {
			if !ascii && !utf8.Valid(data[start:i]) {
				return nil, false
			}
			d.pos = i + 1
			return data[start:i], true
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			return nil, false
		}
		if c >= 0x80 {
			ascii = false
		}
		i++
	}
	if i >= len(data) {
		return nil, false
	}
	// escapes: unescape into scratch.
	out := append(d.scratch[:0], data[start:i]...)
	segStart := start
	for i < len(data) {
		c := data[i]
		switch {
		case c == '"':
			if !ascii && !utf8.Valid(data[segStart:i]) {
				return nil, false
			}
			d.pos = i + 1
			d.scratch = out
			return out, true
		case c == '\\':
			if i+1 >= len(data) {
				return nil, false
			}
			switch data[i+1] {
			case '"', '\\', '/':
				out = append(out, data[i+1])
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				if i+6 > len(data) {
					return nil, false
				}
				var r rune
				for _, h := range data[i+2 : i+6] {
					switch {
					case h >= '0' && h <= '9':
						h -= '0'
					case h >= 'a' && h <= 'f':
						h -= 'a' - 10
					case h >= 'A' && h <= 'F':
						h -= 'A' - 10
					default:
						return nil, false
					}
					r = r<<4 | rune(h)
				}
				if r >= 0xD800 && r <= 0xDFFF {
					return nil, false // surrogates: the general decoder's business
				}
				out = utf8.AppendRune(out, r)
				i += 4
			default:
				return nil, false
			}
			// the literal text before the escape must be valid on its own.
			if !ascii && !utf8.Valid(data[segStart:i]) {
				return nil, false
			}
			i += 2
			segStart = i
			ascii = true
		case c < 0x20:
			return nil, false
		default:
			if c >= 0x80 {
				ascii = false
			}
			out = append(out, c)
			i++
		}
	}
	return nil, false
}

// text reads a JSON string as a new Go string.
func (d *osvDecoder) text(dst *string) bool {
	if d.peek() != '"' {
		return false
	}
	b, ok := d.str()
	if ok {
		*dst = string(b)
	}
	return ok
}

// word reads a JSON string that is usually one of a few known words
// (an ecosystem, a range or reference type): those take no allocation.
func (d *osvDecoder) word(dst *string) bool {
	if d.peek() != '"' {
		return false
	}
	b, ok := d.str()
	if !ok {
		return false
	}
	for _, w := range knownWords {
		if string(b) == w {
			*dst = w
			return true
		}
	}
	*dst = string(b)
	return true
}

var knownWords = [...]string{"PyPI", "ECOSYSTEM", "GIT", "SEMVER", "WEB", "ADVISORY", "PACKAGE", "REPORT", "FIX",
	"ARTICLE", "EVIDENCE", "INTRODUCED", "DETECTION", "DISCUSSION", "CVSS_V2", "CVSS_V3", "CVSS_V4", "1.6.0", "1.7.0"}

// event reads a range event's value: a version (see eventVersion) or, for
// ranges not known to be ECOSYSTEM, plain text.
func (d *osvDecoder) event(dst *string, version bool) bool {
	if version {
		return d.eventVersion(dst)
	}
	return d.text(dst)
}

// eventVersion reads a range event's version. Text without surrounding
// white space resolves through the version cache, which returns the
// interned copy: no allocation for versions seen before. (toVuln trims
// and interns again; the text kept is the same.)
func (d *osvDecoder) eventVersion(dst *string) bool {
	if d.peek() != '"' {
		return false
	}
	b, ok := d.str()
	if !ok {
		return false
	}
	if len(b) > 0 && len(bytes.TrimSpace(b)) == len(b) {
		_, *dst = d.res.versionBytes(b)
	} else {
		*dst = string(b)
	}
	return true
}

// texts reads an array of strings.
func (d *osvDecoder) texts(dst *[]string) bool {
	var out []string
	ok := d.array(func() bool {
		var s string
		if !d.text(&s) {
			return false
		}
		out = append(out, s)
		return true
	})
	*dst = out
	return ok
}

// raw skips a value and returns its text.
func (d *osvDecoder) raw() ([]byte, bool) {
	d.ws()
	start := d.pos
	if !d.skip() {
		return nil, false
	}
	return d.data[start:d.pos], true
}

// skip validates and skips any JSON value.
func (d *osvDecoder) skip() bool {
	switch d.peek() {
	case '"':
		_, ok := d.str()
		return ok
	case '{':
		return d.object(func([]byte) bool { return d.skip() })
	case '[':
		return d.array(d.skip)
	case 't':
		return d.literal("true")
	case 'f':
		return d.literal("false")
	case 'n':
		return d.literal("null")
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return d.number()
	}
	return false
}

func (d *osvDecoder) literal(lit string) bool {
	if len(d.data)-d.pos < len(lit) || string(d.data[d.pos:d.pos+len(lit)]) != lit {
		return false
	}
	d.pos += len(lit)
	return true
}

// number skips an RFC 8259 number.
func (d *osvDecoder) number() bool {
	data, i := d.data, d.pos
	digits := func() bool {
		s := i
		for i < len(data) && data[i] >= '0' && data[i] <= '9' {
			i++
		}
		return i > s
	}
	if i < len(data) && data[i] == '-' {
		i++
	}
	switch {
	case i < len(data) && data[i] == '0':
		i++
	case i < len(data) && data[i] >= '1' && data[i] <= '9':
		digits()
	default:
		return false
	}
	if i < len(data) && data[i] == '.' {
		i++
		if !digits() {
			return false
		}
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if !digits() {
			return false
		}
	}
	d.pos = i
	return true
}

// once tracks which members of an object were read: a repeated member
// falls back to the general decoder (which lets the last one win, merging
// objects).
type once uint32

func (o *once) first(bit uint) bool {
	if *o&(1<<bit) != 0 {
		return false
	}
	*o |= 1 << bit
	return true
}

func (d *osvDecoder) record(r *osvRecord) bool {
	var seen once
	return d.object(func(name []byte) bool {
		switch string(name) {
		case "schema_version":
			return seen.first(0) && d.word(&r.SchemaVersion)
		case "id":
			return seen.first(1) && d.text(&r.ID)
		case "aliases":
			return seen.first(2) && d.texts(&r.Aliases)
		case "summary":
			return seen.first(3) && d.text(&r.Summary)
		case "details":
			return seen.first(4) && d.text(&r.Details)
		case "published":
			return seen.first(5) && d.text(&r.Published)
		case "modified":
			return seen.first(6) && d.text(&r.Modified)
		case "withdrawn":
			return seen.first(7) && d.text(&r.Withdrawn)
		case "affected":
			return seen.first(8) && d.array(func() bool {
				r.Affected = append(r.Affected, osvAffected{})
				return d.affected(&r.Affected[len(r.Affected)-1])
			})
		case "severity":
			return seen.first(9) && d.array(func() bool {
				var s osvSeverity
				ok := d.typed("score", &s.Type, &s.Score)
				r.Severity = append(r.Severity, s)
				return ok
			})
		case "references":
			return seen.first(10) && d.array(func() bool {
				var ref osvReference
				ok := d.typed("url", &ref.Type, &ref.URL)
				r.References = append(r.References, ref)
				return ok
			})
		case "database_specific":
			return seen.first(11) && d.dbSpecific(&r.DatabaseSpecific)
		case "cwe_ids":
			return seen.first(12) && d.flexStrings(&r.CWEIDs)
		case "cwes":
			if !seen.first(13) || d.peek() == 'n' {
				return false
			}
			raw, ok := d.raw()
			r.CWEs = raw // only read during toVuln, while data is alive
			return ok
		}
		return d.skip()
	})
}

// typed reads an object of the {"type": ..., <key>: ...} shape (severity
// and references) into typ and val, skipping other members; each of the two
// members may appear once.
func (d *osvDecoder) typed(key string, typ, val *string) bool {
	var seen once
	return d.object(func(name []byte) bool {
		switch {
		case string(name) == "type":
			return seen.first(0) && d.word(typ)
		case string(name) == key:
			return seen.first(1) && d.text(val)
		}
		return d.skip()
	})
}

func (d *osvDecoder) affected(a *osvAffected) bool {
	var seen once
	return d.object(func(name []byte) bool {
		switch string(name) {
		case "package":
			var pseen once
			return seen.first(0) && d.object(func(name []byte) bool {
				switch string(name) {
				case "name":
					return pseen.first(0) && d.text(&a.Package.Name)
				case "ecosystem":
					return pseen.first(1) && d.word(&a.Package.Ecosystem)
				}
				return d.skip()
			})
		case "ranges":
			return seen.first(1) && d.array(func() bool {
				a.Ranges = append(a.Ranges, osvRange{})
				return d.osvRange(&a.Ranges[len(a.Ranges)-1])
			})
		case "versions":
			return seen.first(2) && d.versions(a)
		case "database_specific":
			return seen.first(3) && d.dbSpecific(&a.DatabaseSpecific)
		}
		return d.skip()
	})
}

func (d *osvDecoder) osvRange(rg *osvRange) bool {
	var seen once
	return d.object(func(name []byte) bool {
		switch string(name) {
		case "type":
			return seen.first(0) && d.word(&rg.Type)
		case "events":
			// the events of a range already known to be ECOSYSTEM hold
			// versions (GIT ones commit hashes, to keep out of the cache).
			versions := seen&1 != 0 && strings.EqualFold(rg.Type, "ECOSYSTEM")
			return seen.first(1) && d.array(func() bool {
				var e osvEvent
				var seen once
				ok := d.object(func(name []byte) bool {
					switch string(name) {
					case "introduced":
						return seen.first(0) && d.event(&e.Introduced, versions)
					case "fixed":
						return seen.first(1) && d.event(&e.Fixed, versions)
					case "last_affected":
						return seen.first(2) && d.event(&e.LastAffected, versions)
					case "limit":
						return seen.first(3) && d.event(&e.Limit, versions)
					}
					return d.skip()
				})
				rg.Events = append(rg.Events, e)
				return ok
			})
		}
		return d.skip()
	})
}

// versions reads an affected entry's explicit versions: each is trimmed,
// empty ones are dropped (as toVuln does) and the others are resolved
// through the version cache, so that a.Versions holds the interned texts
// and a.resolved their parses.
func (d *osvDecoder) versions(a *osvAffected) bool {
	vs, ps := d.vers[:0], d.pvers[:0]
	n := 0
	ok := d.array(func() bool {
		if d.peek() != '"' {
			return false
		}
		b, ok := d.str()
		if !ok {
			return false
		}
		n++
		if b = bytes.TrimSpace(b); len(b) > 0 {
			p, s := d.res.versionBytes(b)
			vs = append(vs, s)
			ps = append(ps, p)
		}
		return true
	})
	d.vers, d.pvers = vs, ps
	if !ok {
		return false
	}
	// exactly sized: both are kept by the record (pvers become the
	// compiled matcher's sorted versions).
	a.resolved = true
	a.nraw = n
	if n > 0 {
		a.Versions = make([]string, len(vs))
		copy(a.Versions, vs)
		a.pvers = make([]*pver, len(ps))
		copy(a.pvers, ps)
	}
	clear(vs)
	clear(ps)
	return true
}

// dbSpecific reads a database_specific object the way
// osvDBSpecific.UnmarshalJSON does (encoding/json: member names match
// case-insensitively; a value that is not an object is ignored). Names
// that encoding/json could match to a field other than by exact spelling
// (case variants, non-ASCII names) fall back to the general decoder.
func (d *osvDecoder) dbSpecific(dst *osvDBSpecific) bool {
	if d.peek() != '{' {
		return false
	}
	var seen once
	return d.object(func(name []byte) bool {
		switch string(name) {
		case "severity":
			if !seen.first(0) {
				return false
			}
			return d.flexString(&dst.Severity)
		case "cwe_ids":
			return seen.first(1) && d.flexStrings(&dst.CWEIDs)
		}
		if !asciiOnly(name) || bytes.EqualFold(name, []byte("severity")) || bytes.EqualFold(name, []byte("cwe_ids")) {
			return false
		}
		return d.skip()
	})
}

func asciiOnly(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// flexString reads a value as flexString.UnmarshalJSON does: a string, a
// number as its text; anything else is "". null falls back.
func (d *osvDecoder) flexString(dst *flexString) bool {
	switch c := d.peek(); {
	case c == '"':
		b, ok := d.str()
		*dst = flexString(b)
		return ok
	case c == 'n':
		return false
	case c == '-' || (c >= '0' && c <= '9'):
		b, ok := d.raw()
		*dst = flexString(b)
		return ok
	default:
		*dst = ""
		return d.skip()
	}
}

// flexStrings reads a value as flexStrings.UnmarshalJSON does: a list of
// strings/numbers (other elements dropped) or a single one. null falls back.
func (d *osvDecoder) flexStrings(dst *flexStrings) bool {
	switch d.peek() {
	case 'n':
		return false
	case '[':
		out := []string{}
		ok := d.array(func() bool {
			var one flexString
			if !d.flexString(&one) {
				return false
			}
			if one != "" {
				out = append(out, string(one))
			}
			return true
		})
		*dst = out
		return ok
	}
	var one flexString
	if !d.flexString(&one) {
		return false
	}
	if one == "" {
		*dst = nil
	} else {
		*dst = []string{string(one)}
	}
	return true
}
