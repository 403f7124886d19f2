package intel

import (
	"archive/zip"
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
	return err
}

func newFlateReader(r io.Reader) io.ReadCloser {
	if fr, ok := flatePool.Get().(io.ReadCloser); ok {
		if err := fr.(kflate.Resetter).Reset(r, nil); err == nil {
			return &pooledFlate{r: fr}
		}
	}
	return &pooledFlate{r: kflate.NewReader(r)}
}

// useFastInflate makes zr inflate with the pooled fast readers.
func useFastInflate(zr *zip.Reader) { zr.RegisterDecompressor(zip.Deflate, newFlateReader) }
