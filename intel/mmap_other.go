//go:build !unix

package intel

import (
	"io"
	"os"
)

// openZipBytes opens a zip file for random access (no memory mapping on
// this platform).
func openZipBytes(path string) (r io.ReaderAt, size int64, closeFn func() error, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, nil, err
	}
	return f, st.Size(), f.Close, nil
}
