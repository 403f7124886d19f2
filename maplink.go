package osaproxy

import (
	"encoding/binary"
	"strings"
	"unsafe"
)

// mapFast maps the common file link without url.Parse and ResolveReference
// (which cost a fifth of filtering a large HTML page): an absolute
// lower-case http(s) URL under a table entry's base, made only of plain path
// characters, with an optional plain fragment (#sha256=...). It returns
// ok=false whenever the href is anything else, and the caller then takes the
// general path, so the fast path can only ever agree with it: for the hrefs
// it accepts, url.Parse keeps the path and fragment byte for byte (no dot
// segments to resolve, nothing to escape or unescape differently) and the
// origin needs no case folding. TestMapFastAgrees checks the agreement.
func (t *linkTable) mapFast(prefix, href string) (string, bool) {
	i, _, path, frag, ok := t.fastEntry(href)
	if !ok {
		return "", false
	}
	e := &t.entries[i]
	tail := path[len(e.path):]
	if frag != "" {
		return prefix + e.prefix + tail + "#" + frag, true
	}
	return prefix + e.prefix + tail, true
}

// splitFast is mapFast without building the link: when ok, the mapped link
// is prefix + t.entries[entry].prefix + href[cut:]. An href ending in an
// empty fragment ("...#") is left to mapFast, which drops the '#'.
func (t *linkTable) splitFast(href string) (entry, cut int, ok bool) {
	i, originLen, _, frag, ok := t.fastEntry(href)
	if !ok || frag == "" && href[len(href)-1] == '#' {
		return 0, 0, false
	}
	return i, originLen + len(t.entries[i].path), true
}

// fastEntry is the common front of mapFast and splitFast: the table entry
// a plain absolute href falls under, the length of its origin, and its path
// and fragment. ok is false for every href the general path must decide
// (no entry included: let the general path be the one to say so).
func (t *linkTable) fastEntry(href string) (entry, originLen int, path, frag string, ok bool) {
	var rest string
	switch {
	case strings.HasPrefix(href, "https://"):
		rest = href[len("https://"):]
	case strings.HasPrefix(href, "http://"):
		rest = href[len("http://"):]
	default:
		return 0, 0, "", "", false
	}
	slash := strings.IndexByte(rest, '/')
	if slash <= 0 {
		return 0, 0, "", "", false
	}
	for i := 0; i < slash; i++ {
		if c := rest[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == ':') {
			return 0, 0, "", "", false
		}
	}
	originLen = len(href) - len(rest) + slash
	origin := href[:originLen]
	path, frag, hasFrag := strings.Cut(rest[slash:], "#")
	if !plainPath(path) || hasFrag && !plainFragment(frag) {
		return 0, 0, "", "", false
	}
	for i := range t.entries {
		e := &t.entries[i]
		if e.origin != origin || len(path) <= len(e.path) || path[len(e.path)] != '/' || !strings.HasPrefix(path, e.path) {
			continue
		}
		if e.needs != "" && !strings.HasPrefix(path[len(e.path):], e.needs) {
			continue
		}
		return i, originLen, path, frag, true
	}
	return 0, 0, "", "", false
}

// plainPath reports whether p is a path url.Parse keeps unchanged and
// ResolveReference does not rewrite: letters, digits, "-._~+!=,@:" and
// "/", no "%" (escapes may be re-encoded) and no "." or ".." segment.
func plainPath(p string) bool {
	if !allIn(&pathChar, p) {
		return false
	}
	// p starts with "/": every "." or ".." segment starts with "/.", which
	// a file link's path does not have at all.
	if !hasSlashDot(p) {
		return true
	}
	return !strings.Contains(p, "/./") && !strings.Contains(p, "/../") &&
		!strings.HasSuffix(p, "/.") && !strings.HasSuffix(p, "/..")
}

// hasSlashDot reports whether s contains "/.", eight bytes at a time (the
// bytes of a path that passed allIn are all below 0x80).
func hasSlashDot(s string) bool {
	const ones, low7, highs = 0x0101010101010101, 0x7f7f7f7f7f7f7f7f, 0x8080808080808080
	// zero sets the high bit of exactly the zero bytes of y.
	zero := func(y uint64) uint64 { return ^((y&low7 + low7) | y) & highs }
	prevSlash := false
	i := 0
	for ; len(s)-i >= 8; i += 8 {
		x := binary.LittleEndian.Uint64(unsafe.Slice(unsafe.StringData(s[i:]), 8))
		sm, dm := zero(x^('/'*ones)), zero(x^('.'*ones))
		if sm<<8&dm != 0 || prevSlash && dm&0x80 != 0 {
			return true
		}
		prevSlash = sm>>56 != 0
	}
	for ; i < len(s); i++ {
		if s[i] == '.' && prevSlash {
			return true
		}
		prevSlash = s[i] == '/'
	}
	return false
}

// plainFragment reports whether f is a fragment url.Parse keeps unchanged.
func plainFragment(f string) bool { return allIn(&fragChar, f) }

// allIn reports whether every byte of s is in the class t (1 = in). It
// tests 8 bytes per branch: every link of a page goes through it.
func allIn(t *[256]uint8, s string) bool {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		if t[s[i]]&t[s[i+1]]&t[s[i+2]]&t[s[i+3]]&t[s[i+4]]&t[s[i+5]]&t[s[i+6]]&t[s[i+7]] == 0 {
			return false
		}
	}
	for ; i < len(s); i++ {
		if t[s[i]] == 0 {
			return false
		}
	}
	return true
}

// pathChar and fragChar are the byte classes plainPath and plainFragment accept.
var pathChar, fragChar = func() (p, f [256]uint8) {
	for c := 0; c < 256; c++ {
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if alnum || strings.IndexByte("-_.~+!=,@:/", byte(c)) >= 0 {
			p[c] = 1
		}
		if alnum || strings.IndexByte("=-_.~", byte(c)) >= 0 {
			f[c] = 1
		}
	}
	return
}()
