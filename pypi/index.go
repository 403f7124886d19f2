package pypi

import (
	"errors"
	"fmt"
	"html"
	"strings"
	"time"
	"unsafe"

	"github.com/osaproxy/caddy-osaproxy/internal/bufpool"
)

// Index is a parsed project page. ParseIndex does not copy the page: the
// Index reads the body it was given (Render copies from it), and its strings
// may point into it, except Filename and Version of each file and
// ProjectStatus, which have memory of their own (one allocation per page)
// so that a caller may keep them after the request. The caller must not
// modify the body while it uses the Index or any other of its strings (URL,
// Sha256, Text, YankedReason, RequiresPython, BaseHref, Versions, Name, the
// ParseErr of a file); it clones what of those it keeps.
type Index struct {
	Format        Format
	Project       string
	ProjectStatus string // PEP 792: active, archived, quarantined, deprecated ("" when absent)
	Files         []IndexFile
	// BaseHref is the first <base href> of an HTML page (entities decoded),
	// "" when absent. Relative file links resolve against it instead of the
	// page URL; LinkMapper implementations must take it into account.
	BaseHref string
	// Versions is the JSON "versions" list (PEP 700) as written; nil for HTML
	// and for JSON pages without the key (API 1.0).
	Versions []string
	// Name is the JSON "name" (the display name); "" for HTML.
	Name string

	s string // the page: the caller's body, not a copy

	// JSON layout.
	filesArr    span   // '[' .. ']' of "files" (b is the index of ']')
	versionsArr span   // '[' .. ']' of "versions", a == -1 when absent
	versionSp   []span // each "versions" element

	memo     *NameMemo    // of an earlier page of the project, or nil
	memoHits int          // files whose name facts came from memo
	split    LinkSplitter // splits links as they are parsed (ParseIndexWith), or nil
}

// Flags of IndexFile.flags.
const (
	flagHrefBare   uint8 = 1 << iota // HTML: <a href> without a value
	flagURLPlain                     // URL has no byte the page format's escaping replaces (appendHTMLEscaped, appendJSONEscaped)
	flagNameParsed                   // Version and Type were parsed from Filename
	flagOwnName                      // Filename and Version are a NameMemo's strings (not views of the body)
	flagOwnSha                       // Sha256 is a NameMemo's string
)

// ErrReleaseRemoved is returned by FilterJSONAPI for /pypi/<p>/<v>/json when
// that release is removed: the caller answers 404.
var ErrReleaseRemoved = errors.New("pypi: release removed by policy")

// ParseError is returned by ParseIndex for a page that cannot be filtered
// safely. Offset is the byte offset where the problem was found.
type ParseError struct {
	Format Format
	Offset int
	Msg    string
}

// Error implements error.
func (e *ParseError) Error() string {
	f := "HTML"
	if e.Format == FormatJSON {
		f = "JSON"
	}
	return fmt.Sprintf("pypi: cannot filter %s index page: %s at byte %d", f, e.Msg, e.Offset)
}

// ParseIndex parses a project page. project is the normalized project name
// (used to split filenames). Errors mean the page could not be understood
// unambiguously; a blocking proxy must then not serve it.
//
// HTML is read by a purpose-built strict tokenizer: it follows the HTML5
// tokenization rules for tags, attributes (quoted, unquoted, bare; names are
// case-insensitive), comments and raw-text elements, and refuses the page on
// constructs where HTML parsers (pip's html.parser, html5ever/tl in uv,
// jsoup in Nexus) could disagree about which links exist: NUL bytes, '<' or
// quotes inside tag names, attribute names or unquoted values, "==",
// malformed comments, markup inside <title>/<script>/<style>..., end tags
// with attributes, CDATA, duplicate href/data-* attributes on an anchor,
// and unterminated tags. Every <a> with an href attribute is a file.
//
// JSON must be a valid UTF-8 JSON object with a "files" array of objects,
// each with string "filename" and "url"; duplicate known keys are refused.
//
// The Index refers to body (see Index): body must not be modified while
// the Index is in use.
func ParseIndex(body []byte, f Format, project string) (*Index, error) {
	ix := new(Index)
	if err := ParseIndexInto(ix, body, f, project); err != nil {
		return nil, err
	}
	return ix, nil
}

// ParseIndexInto is ParseIndex into ix, reusing the storage of its Files
// (2 MB for a 6,000-file page). Whatever ix held before is overwritten: the
// caller must no longer use it, nor any IndexFile of it. Strings that
// ParseIndex documents as having memory of their own stay valid. On error
// ix holds no page.
func ParseIndexInto(ix *Index, body []byte, f Format, project string) error {
	return parseIndex(ix, body, f, project, nil, nil)
}

// ParseIndexWith is ParseIndexInto with the memo of an earlier page of the
// project (nil, or one made for another project, is ignored) and, when
// split is not nil, each file's link split by it as soon as the link is
// parsed: its bytes are in the cache then, and no longer when the page is
// rendered (splitting 6,000 links in a pass of its own was an eighth of an
// uncached JSON page, most of it waiting for memory). Render uses these
// splits when it is given that same splitter as its LinkMapper, and splits
// again otherwise.
func ParseIndexWith(ix *Index, body []byte, f Format, project string, memo *NameMemo, split LinkSplitter) error {
	return parseIndex(ix, body, f, project, memo, split)
}

func parseIndex(ix *Index, body []byte, f Format, project string, memo *NameMemo, split LinkSplitter) error {
	if project != "" && !IsNormalized(project) {
		project = NormalizeName(project)
	}
	if memo != nil && memo.project != project {
		memo = nil
	}
	// Invariant: Files[len:cap] is zero, so no reference to an earlier page
	// survives in the spare capacity. The entries this parse writes are
	// overwritten whole; only those the previous page used beyond them are
	// cleared afterwards (clearing all 2 MB first cost a pass over memory).
	prev := len(ix.Files)
	files := ix.Files[:0]
	// Copying the page was 8-16% of an uncached page request under load.
	*ix = Index{Format: f, Project: project, s: unsafe.String(unsafe.SliceData(body), len(body)), Files: files, memo: memo, split: split}
	defer func() {
		// (When Files grew into new storage, the old one is garbage.)
		if n := len(ix.Files); unsafe.SliceData(ix.Files) == unsafe.SliceData(files) && n < prev {
			clear(files[n:prev])
		}
	}()
	var err error
	switch f {
	case FormatHTML:
		err = parseHTML(ix)
	case FormatJSON:
		err = parseJSON(ix)
	default:
		err = errors.New("pypi: unknown index format")
	}
	if err != nil {
		clear(ix.Files)
		*ix = Index{Files: ix.Files[:0]}
		return err
	}
	ix.detach()
	return nil
}

// Storage returns the bytes of Files storage ix holds (what
// ParseIndexInto can reuse).
func (ix *Index) Storage() int {
	return cap(ix.Files) * int(unsafe.Sizeof(IndexFile{}))
}

// detach copies the strings callers keep beyond the request (they go into
// process-wide caches: learned files, project contexts, policy decisions)
// out of the body into one string of their own: each file's Filename and
// Version (a part of Filename, when it is one), the filename of a
// FilenameError, and ProjectStatus. Sha256 is not among them: it is kept
// only when a file is learned anew, and copying 64 bytes of every file of
// every page for that was most of this allocation.
func (ix *Index) detach() {
	n := len(ix.ProjectStatus)
	for i := range ix.Files {
		f := &ix.Files[i]
		if f.flags&flagOwnName != 0 {
			continue
		}
		n += len(f.Filename)
		if offsetIn(f.Version, f.Filename) < 0 {
			n += len(f.Version)
		}
	}
	var b strings.Builder // not zeroed first, unlike make([]byte, n)
	b.Grow(n)
	b.WriteString(ix.ProjectStatus)
	for i := range ix.Files {
		f := &ix.Files[i]
		if f.flags&flagOwnName != 0 {
			continue
		}
		b.WriteString(f.Filename)
		if offsetIn(f.Version, f.Filename) < 0 {
			b.WriteString(f.Version)
		}
	}
	own, off := b.String(), 0
	next := func(n int) string {
		off += n
		return own[off-n : off]
	}
	ix.ProjectStatus = next(len(ix.ProjectStatus))
	for i := range ix.Files {
		f := &ix.Files[i]
		if f.flags&flagOwnName != 0 {
			continue // the memo's strings
		}
		old := f.Filename
		f.Filename = next(len(old))
		if k := offsetIn(f.Version, old); k >= 0 {
			f.Version = f.Filename[k : k+len(f.Version)]
		} else {
			f.Version = next(len(f.Version))
		}
		if fe, ok := f.ParseErr.(*FilenameError); ok {
			// Made for this file alone (fnErr).
			if fe.Filename == old {
				fe.Filename = f.Filename
			} else {
				fe.Filename = strings.Clone(fe.Filename)
			}
		}
	}
}

// offsetIn returns the offset of sub in s when sub is a non-empty part of
// s's memory (as Version is of Filename), else -1.
func offsetIn(sub, s string) int {
	if sub == "" || len(sub) > len(s) {
		return -1
	}
	p, q := uintptr(unsafe.Pointer(unsafe.StringData(sub))), uintptr(unsafe.Pointer(unsafe.StringData(s)))
	if p < q || p-q > uintptr(len(s)-len(sub)) {
		return -1
	}
	return int(p - q)
}

// Render appends the filtered page to dst: edits[i] applies to ix.Files[i]
// (missing edits mean Keep); every kept or marked file's link goes through
// links (nil means identity; a false from MapLink removes the file).
// JSON "versions" is rebuilt: a version is dropped when all its files were
// removed by an edit or by the mapper. Everything else is copied byte for
// byte. Render does not modify ix and may be called repeatedly.
func (ix *Index) Render(dst []byte, edits []Edit, links LinkMapper) ([]byte, error) {
	if len(edits) > len(ix.Files) {
		return dst, errors.New("pypi: more edits than files")
	}
	pre := ix.usesSplitter(links)
	if ix.Format == FormatJSON {
		return ix.renderJSON(dst, edits, links, pre)
	}
	return ix.renderHTML(dst, edits, links, pre)
}

// mappedLink is a file's link after mapping: head + tail.
type mappedLink struct{ head, tail string }

// same reports whether the mapped link is url itself.
func (m mappedLink) same(url string) bool {
	return len(m.head)+len(m.tail) == len(url) && strings.HasPrefix(url, m.head) && strings.HasSuffix(url, m.tail)
}

// decide returns the effective action and mapped link for file i; pre
// says that links made f's parse-time split (ParseIndexWith).
func decide(f *IndexFile, i int, edits []Edit, links LinkMapper, pre bool) (Edit, mappedLink) {
	e := Edit{Action: Keep}
	if i < len(edits) {
		e = edits[i]
	}
	if e.Action == Remove {
		return e, mappedLink{}
	}
	if e.Action != Keep && e.Action != Mark {
		return Edit{Action: Remove}, mappedLink{}
	}
	if links == nil {
		return e, mappedLink{tail: f.URL}
	}
	if pre && f.split > 0 {
		return e, mappedLink{head: f.splitHead, tail: f.URL[f.split-1:]}
	}
	if sp, ok := links.(LinkSplitter); ok {
		if head, cut, ok := sp.SplitLink(f.URL); ok && cut >= 0 && cut <= len(f.URL) {
			return e, mappedLink{head: head, tail: f.URL[cut:]}
		}
	}
	link, ok := links.MapLink(f.URL)
	if !ok {
		return Edit{Action: Remove}, mappedLink{}
	}
	return e, mappedLink{head: link}
}

// linkFilename returns the file name a client derives from a link (pip:
// unquote(basename(path.rstrip("/"))); uv: last path segment, query
// stripped) and the sha256 of its "#sha256=" fragment.
func linkFilename(u string) (name, sha256 string, err error) {
	path, frag := u, ""
	if k := strings.IndexByte(u, '#'); k >= 0 {
		path, frag = u[:k], u[k+1:]
	}
	if k := strings.IndexByte(path, '?'); k >= 0 {
		path = path[:k]
	}
	sha256 = fragmentHash(frag)
	if strings.IndexByte(path, '\\') >= 0 {
		return "", sha256, errors.New("pypi: backslash in link path (clients disagree on its meaning)")
	}
	path = strings.TrimRight(path, "/")
	name = path[strings.LastIndexByte(path, '/')+1:]
	if strings.IndexByte(name, '%') >= 0 {
		dec, ok := percentDecode(name)
		if !ok {
			return "", sha256, errors.New("pypi: malformed percent-encoding in link")
		}
		name = dec
	}
	return name, sha256, nil
}

// fileDetails fills Filename, Sha256, Version, Type and ParseErr from URL.
func (ix *Index) fileDetails(f *IndexFile) {
	name, sha, err := linkFilename(f.URL)
	f.Sha256 = sha
	if err != nil {
		f.ParseErr = err
		return
	}
	f.Filename = name
	ix.parseName(f, len(ix.Files))
}

// parseName fills Version and Type from Filename.
// parseName sets f's Version and Type from its Filename (or ParseErr); f
// is, or will be, ix.Files[i].
func (ix *Index) parseName(f *IndexFile, i int) {
	if e, ok := ix.memoLookup(i, f.Filename); ok {
		f.Filename, f.Version, f.Type = e.filename, e.version, e.typ
		f.flags |= flagNameParsed | flagOwnName
		if f.Sha256 == e.sha256 {
			f.Sha256 = e.sha256
			f.flags |= flagOwnSha
		}
		ix.memoHits++
		return
	}
	fi, err := parseFilenameNorm(f.Filename, ix.Project) // normalized by parseIndex
	if err != nil {
		f.ParseErr = err
		return
	}
	f.Version, f.Type = fi.Version, fi.Type
	f.flags |= flagNameParsed
}

// fragmentHash returns the sha256 value of a "#sha256=<hex>" fragment
// (pip: [#&]sha256=([^&]*)).
func fragmentHash(frag string) string {
	for frag != "" {
		var part string
		part, frag, _ = strings.Cut(frag, "&")
		if v, ok := strings.CutPrefix(part, "sha256="); ok {
			return v
		}
	}
	return ""
}

// percentDecode decodes %XX escapes; malformed escapes report false.
func percentDecode(s string) (string, bool) {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' {
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return "", false
			}
			c = unhex(s[i+1])<<4 | unhex(s[i+2])
			i += 2
		}
		b = append(b, c)
	}
	return string(b), true
}

// cleanURL removes what both WHATWG URL parsers and Python's urlsplit drop:
// leading and trailing C0 controls and spaces, and every tab, CR and LF.
func cleanURL(u string) string {
	clean := true
	for i := 0; i < len(u); i++ {
		if u[i] <= ' ' {
			clean = false
			break
		}
	}
	if clean {
		return u
	}
	u = strings.TrimFunc(u, func(r rune) bool { return r <= ' ' })
	if strings.ContainsAny(u, "\t\r\n") {
		u = strings.NewReplacer("\t", "", "\r", "", "\n", "").Replace(u)
	}
	return u
}

// unescaper decodes HTML character references, caching results so that a
// value repeated on many anchors (data-requires-python="&gt;=3.8") is
// decoded and allocated once per page.
type unescaper struct{ cache map[string]string }

func (u *unescaper) unescape(s string) string {
	if strings.IndexByte(s, '&') < 0 {
		return s
	}
	if v, ok := u.cache[s]; ok {
		return v
	}
	if u.cache == nil {
		u.cache = make(map[string]string)
	}
	v := html.UnescapeString(s)
	if len(u.cache) < 4096 {
		u.cache[s] = v
	}
	return v
}

// ambiguousRefs reports whether s contains an '&' that does not start a
// complete, ';'-terminated character reference: a decimal or hexadecimal
// one, or the exact name of an HTML5 entity. HTML5 attribute decoding and
// Python's html.unescape (pip) treat the others differently: "&gty;" stays
// as it is in an HTML5 attribute but is ">y;" to Python, which decodes the
// longest legacy entity prefix ("&gt") of any name.
func ambiguousRefs(s string) bool {
	for {
		k := strings.IndexByte(s, '&')
		if k < 0 {
			return false
		}
		s = s[k+1:]
		if len(s) > 0 && s[0] == '#' {
			n := 1
			hex := len(s) > 1 && (s[1] == 'x' || s[1] == 'X')
			if hex {
				n = 2
			}
			m := n
			for m < len(s) && (isDigit(s[m]) || hex && isHex(s[m])) {
				m++
			}
			if m == n || m >= len(s) || s[m] != ';' {
				return true
			}
			continue
		}
		m := 0
		for m < len(s) && isAlnum(s[m]) {
			m++
		}
		if m == 0 || m >= len(s) || s[m] != ';' || !entityName(s[:m]) {
			return true
		}
	}
}

// entityName reports whether name+";" is an HTML5 named character
// reference in full (not only a prefix of it that is a legacy entity).
func entityName(name string) bool {
	switch name {
	case "amp", "lt", "gt", "quot", "apos", "semi":
		return true
	}
	// UnescapeString decodes the whole reference, or only a legacy prefix
	// of the name followed by the rest and ";", or nothing: only a whole
	// reference leaves no trailing ';' (&semi; is handled above).
	r := "&" + name + ";"
	return !strings.HasSuffix(html.UnescapeString(r), ";")
}

// parseUploadTime parses "yyyy-mm-ddThh:mm:ss[.ffffff]Z" without
// allocating, falling back to RFC 3339 and to naive UTC timestamps.
func parseUploadTime(s string) (time.Time, bool) {
	if len(s) >= 20 && s[4] == '-' && s[7] == '-' && s[10] == 'T' && s[13] == ':' && s[16] == ':' && s[len(s)-1] == 'Z' {
		num := func(a, b int) (int, bool) {
			n := 0
			for i := a; i < b; i++ {
				if !isDigit(s[i]) {
					return 0, false
				}
				n = n*10 + int(s[i]-'0')
			}
			return n, true
		}
		y, ok1 := num(0, 4)
		mo, ok2 := num(5, 7)
		d, ok3 := num(8, 10)
		h, ok4 := num(11, 13)
		mi, ok5 := num(14, 16)
		se, ok6 := num(17, 19)
		ns := 0
		ok7 := true
		if len(s) > 20 {
			if s[19] != '.' || len(s) > 30 || len(s) == 21 {
				ok7 = false
			} else {
				frac := s[20 : len(s)-1]
				ns, ok7 = num(20, len(s)-1)
				for i := len(frac); i < 9; i++ {
					ns *= 10
				}
			}
		}
		if ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h < 24 && mi < 60 && se < 60 {
			t := time.Date(y, time.Month(mo), d, h, mi, se, ns, time.UTC)
			if t.Day() == d {
				return t, true
			}
		}
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, true
	}
	if t, err := time.Parse("2006-01-02T15:04:05.999999999", s); err == nil {
		return t, true
	}
	return time.Time{}, false
}

// decisionBufs hold renderJSON's per-file decisions between pages (a
// 6,000-file page's are 340 KB), across garbage collections.
var decisionBufs = bufpool.New(16<<20,
	func() *[]decision { return new([]decision) },
	func(d *[]decision) int { return cap(*d) * int(unsafe.Sizeof(decision{})) })
