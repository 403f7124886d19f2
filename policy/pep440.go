package policy

import (
	"strconv"
	"strings"

	version "github.com/aquasecurity/go-pep440-version"
)

// This file evaluates PEP 440 versions and specifiers without the regular
// expressions and per-check re-parsing of github.com/aquasecurity/go-pep440-version
// (whose operators call MustParse on the specifier text on every check, and
// whose Compare formats both versions with fmt). The library stays the
// reference: every rule below reproduces what it does today, including
// where it departs from PyPA packaging, and pep440_test.go checks the two
// against each other (table and fuzz tests):
//
//   - validity and components are those of version.Parse (its regular
//     expression, leftmost-first, ASCII case-insensitive; numbers must fit
//     in uint64); inputs with non-ASCII bytes (where Go's case folding adds
//     the Kelvin sign and long s) are parsed by the library itself and
//     converted;
//   - ordering is the library's key: epoch, release (trailing zeros
//     ignored), pre (a < b < rc; a dev-only release sorts before every
//     pre-release, a release without pre after), post, dev, local (split on
//     "." only; a segment of digits that fits in uint64 is a number, above
//     every other segment; other segments compare as text);
//   - specifiers are checked as Specifiers.Check with WithPreRelease(true):
//     "<V" accepts pre-releases of V; ">V" rejects post releases of V
//     (unless V is one) and local versions of V's base; "<=" and ">="
//     ignore the candidate's local label; "==V" does too unless V has one;
//     "==P.*" compares the decimal release numbers among the first
//     segments of the candidate's canonical text with those of P as
//     written (pre, post and dev segments and the epoch are not
//     compared); "~=V" is ">=V" and "==P.*" with P = V's segments as
//     written, up to a post or dev segment, minus the last one; "===V"
//     compares the canonical text case-insensitively.

// pre-release letters, in PEP 440 (and strings.Compare) order.
const (
	preNone uint8 = iota
	preA
	preB
	preRC
)

var preLetters = [...]string{"", "a", "b", "rc"}

// pepVer is a parsed PEP 440 version: the components of the library's
// Version (release as written, local label lower-cased).
type pepVer struct {
	epoch uint64
	rel   []uint64
	pre   uint8
	preN  uint64
	post  bool
	postN uint64
	dev   bool
	devN  uint64
	local string
}

// parsePEP440 parses s into v, reusing v.rel's storage. It accepts exactly
// the strings version.Parse accepts, with the same components.
func parsePEP440(s string, v *pepVer) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return parseWithLibrary(s, v)
		}
	}
	return parseASCII(s, v)
}

// parseWithLibrary parses s with the library and converts the result: the
// public part of its canonical text is ASCII (digits, a/b/rc, .post, .dev),
// the local label is copied as the library lower-cased it.
func parseWithLibrary(s string, v *pepVer) bool {
	lv, err := version.Parse(s)
	if err != nil {
		return false
	}
	if !parseASCII(lv.Public(), v) {
		return false
	}
	v.local = lv.Local()
	return true
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isSep(c byte) bool   { return c == '-' || c == '_' || c == '.' }
func isAlnum(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func lowerASCII(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// foldAt reports whether s[i:] starts with word (lower-case ASCII),
// ignoring ASCII case.
func foldAt(s string, i int, word string) bool {
	if len(s)-i < len(word) {
		return false
	}
	for j := 0; j < len(word); j++ {
		if lowerASCII(s[i+j]) != word[j] {
			return false
		}
	}
	return true
}

// digitsAt returns the end of the run of digits at i and its value; ok is
// false when the run is empty or does not fit in uint64 (strconv.ParseUint).
func digitsAt(s string, i int) (end int, n uint64, ok bool) {
	end = i
	ok = true
	for end < len(s) && isDigit(s[end]) {
		d := uint64(s[end] - '0')
		if n > (^uint64(0)-d)/10 {
			ok = false
		}
		n = n*10 + d
		end++
	}
	return end, n, ok && end > i
}

// optNumber reads the optional "[-_.]?[0-9]*" tail of a pre, post or dev
// segment at i (the separator is taken even when no digits follow, as the
// library's greedy expression does).
func optNumber(s string, i int) (end int, n uint64, ok bool) {
	if i < len(s) && isSep(s[i]) {
		i++
	}
	if i < len(s) && isDigit(s[i]) {
		return digitsAt(s, i)
	}
	return i, 0, true
}

// parseASCII follows the library's expression
//
//	^\s*v?(?:([0-9]+)!)?([0-9]+(?:\.[0-9]+)*)(pre)?(post)?(dev)?(?:\+(local))?\s*$
//
// (case-insensitive). Its choices are deterministic: no later part can
// start with a digit, so every number run is taken whole; the letters
// alternatives are tried longest first (a shorter one could only continue
// with letters no later part accepts); an optional separator is taken
// greedily (the next part's own optional separator covers the rest).
func parseASCII(s string, v *pepVer) bool {
	rel := v.rel[:0]
	*v = pepVer{}
	i, n := 0, len(s)
	for i < n && isSpace(s[i]) {
		i++
	}
	if i < n && (s[i] == 'v' || s[i] == 'V') {
		i++
	}
	// Epoch.
	if j, e, ok := digitsAt(s, i); j > i && j < n && s[j] == '!' {
		if !ok {
			return false
		}
		v.epoch = e
		i = j + 1
	}
	// Release.
	j, r, ok := digitsAt(s, i)
	if j == i || !ok {
		return false
	}
	rel = append(rel, r)
	i = j
	for i+1 < n && s[i] == '.' && isDigit(s[i+1]) {
		j, r, ok = digitsAt(s, i+1)
		if !ok {
			return false
		}
		rel = append(rel, r)
		i = j
	}
	v.rel = rel
	// Pre-release.
	k := i
	if k < n && isSep(s[k]) {
		k++
	}
	if l, w := preLetterAt(s, k); w > 0 {
		j, num, ok := optNumber(s, k+w)
		if !ok {
			return false
		}
		v.pre, v.preN, i = l, num, j
	}
	// Post release: "-N", or "[-_.]?(post|rev|r)[-_.]?N?".
	if i+1 < n && s[i] == '-' && isDigit(s[i+1]) {
		j, num, ok := digitsAt(s, i+1)
		if !ok {
			return false
		}
		v.post, v.postN, i = true, num, j
	} else {
		k = i
		if k < n && isSep(s[k]) {
			k++
		}
		w := 0
		switch {
		case foldAt(s, k, "post"):
			w = 4
		case foldAt(s, k, "rev"):
			w = 3
		case foldAt(s, k, "r"):
			w = 1
		}
		if w > 0 {
			j, num, ok := optNumber(s, k+w)
			if !ok {
				return false
			}
			v.post, v.postN, i = true, num, j
		}
	}
	// Development release.
	k = i
	if k < n && isSep(s[k]) {
		k++
	}
	if foldAt(s, k, "dev") {
		j, num, ok := optNumber(s, k+3)
		if !ok {
			return false
		}
		v.dev, v.devN, i = true, num, j
	}
	// Local label: [a-z0-9]+([-_.][a-z0-9]+)*, lower-cased.
	if i < n && s[i] == '+' {
		start := i + 1
		j := start
		for j < n && (isAlnum(s[j]) || isSep(s[j])) {
			if isSep(s[j]) && (j == start || !isAlnum(s[j-1])) {
				return false
			}
			j++
		}
		if j == start || !isAlnum(s[j-1]) {
			return false
		}
		v.local = lowerLabel(s[start:j])
		i = j
	}
	for i < n && isSpace(s[i]) {
		i++
	}
	return i == n
}

// preLetterAt reads a pre-release spelling at i: a, b, c, rc, alpha, beta,
// pre, preview (any case). It returns the normalized letter and the width.
func preLetterAt(s string, i int) (uint8, int) {
	for _, sp := range preSpellings {
		if foldAt(s, i, sp.text) {
			return sp.letter, len(sp.text)
		}
	}
	return preNone, 0
}

// preSpellings are the pre-release spellings, longest first where one is
// a prefix of another ("preview" before "pre", "alpha" before "a").
var preSpellings = [...]struct {
	text   string
	letter uint8
}{
	{"preview", preRC}, {"pre", preRC}, {"alpha", preA}, {"a", preA},
	{"beta", preB}, {"b", preB}, {"rc", preRC}, {"c", preRC},
}

// lowerLabel lower-cases ASCII s, allocating only when it has upper case.
func lowerLabel(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= 'A' && s[i] <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}

// isPre is the library's IsPreRelease of a parsed version: a pre or dev release.
func (v *pepVer) isPre() bool { return v.pre != preNone || v.dev }

// appendText appends the library's String of v (public part only when
// public is true).
func (v *pepVer) appendText(b []byte, public bool) []byte {
	if v.epoch != 0 {
		b = strconv.AppendUint(b, v.epoch, 10)
		b = append(b, '!')
	}
	for i, r := range v.rel {
		if i > 0 {
			b = append(b, '.')
		}
		b = strconv.AppendUint(b, r, 10)
	}
	if v.pre != preNone {
		b = append(b, preLetters[v.pre]...)
		b = strconv.AppendUint(b, v.preN, 10)
	}
	if v.post {
		b = append(b, ".post"...)
		b = strconv.AppendUint(b, v.postN, 10)
	}
	if v.dev {
		b = append(b, ".dev"...)
		b = strconv.AppendUint(b, v.devN, 10)
	}
	if !public && v.local != "" {
		b = append(b, '+')
		b = append(b, v.local...)
	}
	return b
}

// String is the library's canonical text of v.
func (v *pepVer) String() string { return string(v.appendText(nil, false)) }

func cmpU(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// cmpBase compares epoch and release (zero padded).
func cmpBase(a, b *pepVer) int {
	if c := cmpU(a.epoch, b.epoch); c != 0 {
		return c
	}
	n := max(len(a.rel), len(b.rel))
	for i := 0; i < n; i++ {
		var x, y uint64
		if i < len(a.rel) {
			x = a.rel[i]
		}
		if i < len(b.rel) {
			y = b.rel[i]
		}
		if c := cmpU(x, y); c != 0 {
			return c
		}
	}
	return 0
}

// preRank places the pre component: a dev-only release (no pre, no post)
// first, pre-releases next, everything else last.
func (v *pepVer) preRank() int {
	switch {
	case v.pre != preNone:
		return 1
	case !v.post && v.dev:
		return 0
	}
	return 2
}

// cmpVer orders a and b as the library's Version.Compare does; public
// ignores both local labels (the library's Public() re-parse).
func cmpVer(a, b *pepVer, public bool) int {
	if c := cmpBase(a, b); c != 0 {
		return c
	}
	ra, rb := a.preRank(), b.preRank()
	if ra != rb {
		return cmpU(uint64(ra), uint64(rb))
	}
	if ra == 1 {
		if c := cmpU(uint64(a.pre), uint64(b.pre)); c != 0 {
			return c
		}
		if c := cmpU(a.preN, b.preN); c != 0 {
			return c
		}
	}
	if a.post != b.post {
		if a.post {
			return 1
		}
		return -1
	}
	if c := cmpU(a.postN, b.postN); a.post && c != 0 {
		return c
	}
	if a.dev != b.dev {
		if a.dev {
			return -1
		}
		return 1
	}
	if c := cmpU(a.devN, b.devN); a.dev && c != 0 {
		return c
	}
	if public {
		return 0
	}
	return cmpLocal(a.local, b.local)
}

// cmpLocal orders local labels: none first, then segment by segment
// (split on "." only), a shorter label first when it is a prefix.
func cmpLocal(a, b string) int {
	switch {
	case a == b:
		return 0
	case a == "":
		return -1
	case b == "":
		return 1
	}
	for {
		var sa, sb string
		sa, a, _ = strings.Cut(a, ".")
		sb, b, _ = strings.Cut(b, ".")
		if c := cmpLocalSegment(sa, sb); c != 0 {
			return c
		}
		switch {
		case a == "" && b == "":
			return 0
		case a == "":
			return -1
		case b == "":
			return 1
		}
	}
}

// cmpLocalSegment: a segment of digits fitting in uint64 is a number and
// sorts above text; numbers compare by value, text bytewise.
func cmpLocalSegment(a, b string) int {
	na, okA := localNumber(a)
	nb, okB := localNumber(b)
	switch {
	case okA && okB:
		return cmpU(na, nb)
	case okA:
		return 1
	case okB:
		return -1
	}
	return strings.Compare(a, b)
}

func localNumber(s string) (uint64, bool) {
	if s == "" {
		return 0, false
	}
	end, n, ok := digitsAt(s, 0)
	return n, ok && end == len(s)
}

// Specifiers.

// specOp is a PEP 440 comparison operator.
type specOp uint8

const (
	specEQ specOp = iota
	specNE
	specLT
	specGT
	specLE
	specGE
	specCompatible
	specArbitrary
)

// pepSpec is one compiled specifier ("<3.2", "==1.*").
type pepSpec struct {
	op specOp
	// wild: == or != with a trailing ".*"; prefix is then the pattern.
	wild   bool
	prefix wildPrefix
	// v is the parsed version (not for wildcards and ===).
	v pepVer
	// text is the version as written (=== compares it).
	text string
}

// wildPrefix is a "P.*" pattern as the library matches it: the candidate's
// canonical public text and P as written are split on "." (a segment like
// "0rc1" counting as "0" and "rc1"); among the first n segments of the
// candidate, the ones strconv.Atoi accepts must equal P's, as text.
type wildPrefix struct {
	n      int
	digits []string
}

// pep440Spec is a compiled PEP 440 specifier set: a disjunction ("||") of
// conjunctions (",").
type pep440Spec struct {
	or [][]pepSpec
	// lib is the library's parse, used when libOnly (a shape this
	// compilation does not recognize; never for what the library accepts
	// today, kept as a guard).
	lib     version.Specifiers
	libOnly bool
}

// compilePEP440Spec validates s with the library (the error text is the
// policy's) and compiles each of its specifiers.
func compilePEP440Spec(s string) (*pep440Spec, error) {
	lib, err := pep440Specifiers(s)
	if err != nil {
		return nil, err
	}
	c := &pep440Spec{lib: lib}
	if !c.compile(lib.String()) {
		c.or, c.libOnly = nil, true
	}
	return c, nil
}

// compile reads the library's own rendering of the parsed set (each
// specifier as matched, joined with "," and "||").
func (c *pep440Spec) compile(text string) bool {
	for _, group := range strings.Split(text, "||") {
		var and []pepSpec
		for _, one := range strings.Split(group, ",") {
			sp, ok := compileOneSpec(one)
			if !ok {
				return false
			}
			and = append(and, sp)
		}
		c.or = append(c.or, and)
	}
	return len(c.or) > 0
}

// compileOneSpec compiles "<op>\s*<version>" as the library matched it.
func compileOneSpec(s string) (pepSpec, bool) {
	k := 0
	for k < len(s) && strings.IndexByte("=<>!~", s[k]) >= 0 {
		k++
	}
	opText := s[:k]
	text := strings.TrimLeft(s[k:], " \t\n\f\r")
	if text == "" || strings.ContainsAny(text, " \t\n\f\r,|") {
		return pepSpec{}, false
	}
	sp := pepSpec{text: text}
	switch opText {
	case "", "=", "==":
		sp.op = specEQ
	case "!=":
		sp.op = specNE
	case "<":
		sp.op = specLT
	case ">":
		sp.op = specGT
	case "<=":
		sp.op = specLE
	case ">=":
		sp.op = specGE
	case "~=":
		sp.op = specCompatible
	case "===":
		sp.op = specArbitrary
		return sp, true
	default:
		return pepSpec{}, false
	}
	if (sp.op == specEQ || sp.op == specNE) && strings.HasSuffix(text, ".*") {
		sp.wild = true
		sp.prefix = newWildPrefix(strings.TrimSuffix(text, ".*"))
		return sp, true
	}
	if !parsePEP440(text, &sp.v) {
		return pepSpec{}, false
	}
	if sp.op == specCompatible {
		// The library's specifierCompatible: segments up to a post or dev
		// one, all but the last, as a prefix pattern.
		var elems []string
		stop := false
		eachVersionSplit(text, func(e string) {
			if stop || strings.HasPrefix(e, "post") || strings.HasPrefix(e, "dev") {
				stop = true
				return
			}
			elems = append(elems, e)
		})
		if len(elems) == 0 {
			return pepSpec{}, false // the library would panic
		}
		sp.prefix = newWildPrefix(strings.Join(elems[:len(elems)-1], "."))
	}
	return sp, true
}

func newWildPrefix(p string) wildPrefix {
	var w wildPrefix
	eachVersionSplit(p, func(e string) {
		w.n++
		if isDigist(e) {
			w.digits = append(w.digits, e)
		}
	})
	return w
}

// isDigist is the library's test for a release segment: strconv.Atoi accepts it.
func isDigist(s string) bool {
	_, err := strconv.Atoi(s)
	return err == nil
}

// eachVersionSplit calls f with the library's versionSplit segments of s:
// s split on ".", a segment matching ^([0-9]+)((?:a|b|c|rc)[0-9]+)$ split
// in two.
func eachVersionSplit(s string, f func(string)) {
	for {
		seg, rest, more := strings.Cut(s, ".")
		if d := prefixSplit(seg); d > 0 {
			f(seg[:d])
			f(seg[d:])
		} else {
			f(seg)
		}
		if !more {
			return
		}
		s = rest
	}
}

// prefixSplit returns the length of the leading digits when seg matches
// ^[0-9]+(a|b|c|rc)[0-9]+$ (case-sensitive), else 0.
func prefixSplit(seg string) int {
	d := 0
	for d < len(seg) && isDigit(seg[d]) {
		d++
	}
	if d == 0 {
		return 0
	}
	r := seg[d:]
	switch {
	case strings.HasPrefix(r, "rc"):
		r = r[2:]
	case strings.HasPrefix(r, "a"), strings.HasPrefix(r, "b"), strings.HasPrefix(r, "c"):
		r = r[1:]
	default:
		return 0
	}
	if r == "" {
		return 0
	}
	for i := 0; i < len(r); i++ {
		if !isDigit(r[i]) {
			return 0
		}
	}
	return d
}

// match applies the pattern to the candidate's canonical public text.
func (w *wildPrefix) match(public string) bool {
	i, k := 0, 0
	ok := true
	eachVersionSplit(public, func(e string) {
		if !ok || i >= w.n {
			return
		}
		i++
		if !isDigist(e) {
			return
		}
		if k >= len(w.digits) || w.digits[k] != e {
			ok = false
			return
		}
		k++
	})
	return ok && k == len(w.digits)
}

// pepCandidate is the version being checked, parsed once per evaluation,
// with its canonical texts made on demand.
type pepCandidate struct {
	raw string
	v   pepVer
	ok  bool
	// public and full are the library's Public() and String(), "" until needed.
	public, full string
}

func (c *pepCandidate) publicText() string {
	if c.public == "" {
		c.public = string(c.v.appendText(make([]byte, 0, 24), true))
	}
	return c.public
}

func (c *pepCandidate) fullText() string {
	if c.full == "" {
		if c.v.local == "" {
			return c.publicText()
		}
		c.full = c.v.String()
	}
	return c.full
}

// check reports whether a valid candidate satisfies the set.
func (s *pep440Spec) check(c *pepCandidate) bool {
	if !c.ok {
		return false
	}
	if s.libOnly {
		lv, err := version.Parse(c.raw)
		return err == nil && s.lib.Check(lv)
	}
	for i := range s.or {
		if s.and(s.or[i], c) {
			return true
		}
	}
	return false
}

func (s *pep440Spec) and(list []pepSpec, c *pepCandidate) bool {
	for i := range list {
		if !list[i].check(c) {
			return false
		}
	}
	return true
}

func (sp *pepSpec) check(c *pepCandidate) bool {
	v := &c.v
	switch sp.op {
	case specEQ:
		return sp.equal(c)
	case specNE:
		return !sp.equal(c)
	case specLT:
		return cmpVer(v, &sp.v, false) < 0
	case specGT:
		if cmpVer(v, &sp.v, false) <= 0 {
			return false
		}
		if (v.post && !sp.v.post) || v.local != "" {
			return cmpBase(v, &sp.v) != 0
		}
		return true
	case specLE:
		return cmpVer(v, &sp.v, true) <= 0
	case specGE:
		return cmpVer(v, &sp.v, true) >= 0
	case specCompatible:
		return cmpVer(v, &sp.v, true) >= 0 && sp.prefix.match(c.publicText())
	default: // specArbitrary
		return strings.EqualFold(c.fullText(), sp.text)
	}
}

func (sp *pepSpec) equal(c *pepCandidate) bool {
	if sp.wild {
		return sp.prefix.match(c.publicText())
	}
	return cmpVer(&sp.v, &c.v, sp.v.local == "") == 0
}
