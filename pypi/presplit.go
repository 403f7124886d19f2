package pypi

import "reflect"

// Links split while a page is parsed (ParseIndexWith): a page's links are
// split by the mapper right after each is parsed, while its bytes are in
// the cache, and Render uses those splits when given that same mapper.

// preSplit splits f's link with the page's splitter, if any.
func (ix *Index) preSplit(f *IndexFile) {
	if ix.split == nil {
		return
	}
	if head, cut, ok := ix.split.SplitLink(f.URL); ok && cut >= 0 && cut <= len(f.URL) {
		f.splitHead, f.split = head, int32(cut)+1
	}
}

// ReleaseSplitter drops ix's reference to the splitter it was parsed with:
// an Index kept for reuse should not keep it (and what it refers to) alive.
// Render no longer uses the parse-time splits afterwards.
func (ix *Index) ReleaseSplitter() { ix.split = nil }

// usesSplitter reports whether links is the splitter ix was parsed with
// (the same comparable value), so the splits made then are its splits.
func (ix *Index) usesSplitter(links LinkMapper) bool {
	if ix.split == nil || links == nil {
		return false
	}
	a, b := any(ix.split), any(links)
	t := reflect.TypeOf(a)
	return t == reflect.TypeOf(b) && t.Comparable() && a == b
}
