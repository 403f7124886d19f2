package intel

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"sync"

	kflate "github.com/klauspost/compress/flate"
)

// Zip entries are inflated with github.com/klauspost/compress/flate (a
// dependency of Caddy already), markedly faster than compress/flate on
// osv.dev's tens of thousands of small records. Its readers are large, so
// they are pooled and reset rather than made per entry.
var flatePool sync.Pool

type pooledFlate struct {
	r io.ReadCloser
	// in holds the entry's compressed bytes when the zip is in memory:
	// the inflater reads a *bytes.Reader byte by byte directly, where any
	// other reader would be wrapped in a new 4 KiB bufio.Reader per entry.
	in bytes.Reader
}

// Read inflates into b.
func (p *pooledFlate) Read(b []byte) (int, error) {
	if p.r == nil {
		return 0, io.ErrClosedPipe
	}
	return p.r.Read(b)
}

// Close returns the reader to the pool.
func (p *pooledFlate) Close() error {
	if p.r == nil {
		return nil
	}
	err := p.r.Close()
	flatePool.Put(p.r)
	p.r = nil
	p.in.Reset(nil)
	return err
}

func newFlateReader(r io.Reader) io.ReadCloser {
	p := &pooledFlate{}
	// archive/zip hands the decompressor an io.SectionReader of the zip;
	// over a zip held in memory, read the section's bytes in place.
	if sr, ok := r.(*io.SectionReader); ok {
		if m, ok := sectionBytes(sr); ok {
			p.in.Reset(m)
			r = &p.in
		}
	}
	if fr, ok := flatePool.Get().(io.ReadCloser); ok {
		if err := fr.(kflate.Resetter).Reset(r, nil); err == nil {
			p.r = fr
			return p
		}
	}
	p.r = kflate.NewReader(r)
	return p
}

// sectionBytes returns the bytes of a section of a memReaderAt: exactly
// what reading the section to its end would return.
func sectionBytes(sr *io.SectionReader) ([]byte, bool) {
	ra, off, n := sr.Outer()
	m, ok := ra.(memReaderAt)
	if !ok || off < 0 || n < 0 || sr.Size() != n {
		return nil, false
	}
	if pos, err := sr.Seek(0, io.SeekCurrent); err != nil || pos != 0 {
		return nil, false // not at the start of the section
	}
	if off > int64(len(m)) {
		return m[:0], true
	}
	end := off + n
	if end > int64(len(m)) || end < off {
		end = int64(len(m))
	}
	return m[off:end], true
}

// memReaderAt is an io.ReaderAt over bytes in memory (a mapped zip file),
// with the semantics of bytes.Reader.ReadAt.
type memReaderAt []byte

// ReadAt implements io.ReaderAt.
func (m memReaderAt) ReadAt(b []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errNegativeOffset
	}
	if off >= int64(len(m)) {
		return 0, io.EOF
	}
	n := copy(b, m[off:])
	if n < len(b) {
		return n, io.EOF
	}
	return n, nil
}

var errNegativeOffset = errors.New("intel: negative offset")

// useFastInflate makes zr inflate with the pooled fast readers.
func useFastInflate(zr *zip.Reader) { zr.RegisterDecompressor(zip.Deflate, newFlateReader) }
