//go:build unix

package intel

import (
	"fmt"
	"io"
	"os"
	"syscall"
)

// openZipBytes maps a zip file into memory, read only: reading tens of
// thousands of small entries through pread would cost a system call or
// more per entry. The mapping is outside the Go heap; close unmaps it.
func openZipBytes(path string) (r io.ReaderAt, size int64, closeFn func() error, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, 0, nil, err
	}
	size = st.Size()
	if size == 0 {
		return memReaderAt(nil), 0, func() error { return nil }, nil
	}
	if size != int64(int(size)) {
		return nil, 0, nil, fmt.Errorf("%s: too large to map", path)
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, 0, nil, err
	}
	return memReaderAt(data), size, func() error { return syscall.Munmap(data) }, nil
}
