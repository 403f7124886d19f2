package pypi

import "strings"

// A NameMemo holds the filenames of one project page in page order, with the
// version and type parsing derived from each, in memory of its own. Parsing
// the next page of the same project with it (ParseIndexWith) takes a file's
// version and type from the memo instead of parsing the filename again when
// the filename equals the memo's at the same position (exact comparison; a
// page that gained a release keeps most positions, since index pages list
// files oldest release first), and the file's Filename and Version become the
// memo's strings, so they need no copy out of the page body either. So
// does its Sha256 when it equals the memo's: comparing it then, while the
// file's bytes are fresh in the cache, makes every later comparison of it
// with a fact kept from the memo's page a pointer comparison.
//
// A memo is immutable once made: one may serve concurrent parses.
type NameMemo struct {
	project string
	files   []memoName
}

type memoName struct {
	filename, version string // filename "" for a file whose name did not parse
	typ               PackageType
	sha256            string // the file's Sha256 on the memo's page
}

// NewNameMemo returns the memo of ix, which ParseIndexInto or ParseIndexWith
// filled (its Filename and Version strings are then its own, not views of
// the body). Files whose filename did not parse are not remembered: they are
// parsed again each time, with their error. The Sha256 of ix's remembered
// files becomes the memo's copy (same value, memory of its own), so facts
// kept from ix share their strings with the pages parsed with the memo.
func NewNameMemo(ix *Index) *NameMemo {
	m := &NameMemo{project: ix.Project, files: make([]memoName, len(ix.Files))}
	// Sha256 is a view of the body: the memo's copies go into one string.
	n := 0
	for i := range ix.Files {
		if f := &ix.Files[i]; f.flags&flagNameParsed != 0 && f.flags&flagOwnSha == 0 {
			n += len(f.Sha256)
		}
	}
	var b strings.Builder
	b.Grow(n)
	for i := range ix.Files {
		if f := &ix.Files[i]; f.flags&flagNameParsed != 0 && f.flags&flagOwnSha == 0 {
			b.WriteString(f.Sha256)
		}
	}
	shas, off := b.String(), 0
	for i := range ix.Files {
		f := &ix.Files[i]
		if f.flags&flagNameParsed == 0 {
			continue
		}
		sha := f.Sha256 // the previous memo's string
		if f.flags&flagOwnSha == 0 {
			sha = shas[off : off+len(f.Sha256)]
			off += len(f.Sha256)
		}
		m.files[i] = memoName{filename: f.Filename, version: f.Version, typ: f.Type, sha256: sha}
		f.Sha256 = sha // what a page parsed with m will hold: kept facts compare by pointer
		f.flags |= flagOwnSha
	}
	return m
}

// OwnsSha256 reports whether f.Sha256 has memory of its own (a NameMemo's
// string) rather than being a view of the page body: it may then be kept
// without a copy.
func (f *IndexFile) OwnsSha256() bool { return f.flags&flagOwnSha != 0 }

// Len returns the number of files the memo holds.
func (m *NameMemo) Len() int { return len(m.files) }

// MemoCovered reports whether the memo ix was parsed with gave every file's
// name facts and has no other files: a new memo of ix would say nothing more.
func (ix *Index) MemoCovered() bool {
	return ix.memo != nil && ix.memoHits == len(ix.Files) && len(ix.memo.files) == len(ix.Files)
}

// memoLookup returns the memo's facts for the file at position i named
// filename, if the memo has that file there.
func (ix *Index) memoLookup(i int, filename string) (*memoName, bool) {
	if ix.memo == nil || i >= len(ix.memo.files) {
		return nil, false
	}
	e := &ix.memo.files[i]
	if e.filename == "" || e.filename != filename {
		return nil, false
	}
	return e, true
}
