package pypi

// A NameMemo holds the filenames of one project page in page order, with the
// version and type parsing derived from each, in memory of its own. Parsing
// the next page of the same project with it (ParseIndexWith) takes a file's
// version and type from the memo instead of parsing the filename again when
// the filename equals the memo's at the same position (exact comparison; a
// page that gained a release keeps most positions, since index pages list
// files oldest release first), and the file's Filename and Version become the
// memo's strings, so they need no copy out of the page body either.
//
// A memo is immutable once made: one may serve concurrent parses.
type NameMemo struct {
	project string
	files   []memoName
}

type memoName struct {
	filename, version string // filename "" for a file whose name did not parse
	typ               PackageType
}

// NewNameMemo returns the memo of ix, which ParseIndexInto or ParseIndexWith
// filled (its Filename and Version strings are then its own, not views of
// the body). Files whose filename did not parse are not remembered: they are
// parsed again each time, with their error.
func NewNameMemo(ix *Index) *NameMemo {
	m := &NameMemo{project: ix.Project, files: make([]memoName, len(ix.Files))}
	for i := range ix.Files {
		if f := &ix.Files[i]; f.flags&flagNameParsed != 0 {
			m.files[i] = memoName{filename: f.Filename, version: f.Version, typ: f.Type}
		}
	}
	return m
}

// Len returns the number of files the memo holds.
func (m *NameMemo) Len() int { return len(m.files) }

// MemoCovered reports whether the memo ix was parsed with gave every file's
// name facts and has no other files: a new memo of ix would say nothing more.
func (ix *Index) MemoCovered() bool {
	return ix.memo != nil && ix.memoHits == len(ix.Files) && len(ix.memo.files) == len(ix.Files)
}

// ParseIndexWith is ParseIndexInto with the memo of an earlier page of the
// project (nil, or one made for another project, is ignored).
func ParseIndexWith(ix *Index, body []byte, f Format, project string, memo *NameMemo) error {
	return parseIndex(ix, body, f, project, memo)
}

// memoName returns the memo's facts for the file at position i named
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
