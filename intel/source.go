package intel

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
)

// parseFunc decodes one record file.
type parseFunc func(data []byte, source string, res versionResolver) (*Vuln, error)

// Source kinds.
const (
	KindOSV  = "osv"
	KindPyPA = "pypa"
)

// kindFormat returns the parser and the file name suffixes of a source kind.
func kindFormat(kind string) (parseFunc, []string, error) {
	switch strings.ToLower(strings.TrimSpace(kind)) {
	case KindOSV, "":
		return parseOSV, []string{".json"}, nil
	case KindPyPA:
		return parsePyPAYAML, []string{".yaml", ".yml"}, nil
	}
	return nil, nil, fmt.Errorf("intel: unknown source kind %q (want osv or pypa)", kind)
}

func hasSuffixFold(name string, suffixes []string) bool {
	lower := strings.ToLower(name)
	for _, s := range suffixes {
		if strings.HasSuffix(lower, s) {
			return true
		}
	}
	return false
}

// recordFile is one record file of a zip or folder.
type recordFile struct {
	name string
	size int64
	open func() (io.ReadCloser, error)
}

// LoadPath loads every record of a local source: a zip (record files at any
// depth), a folder (recursive) or a single record file. kind is "osv" or
// "pypa". Records without a PyPI affected entry are dropped. Any unreadable
// or invalid record fails the whole load, so that a damaged source never
// replaces good data.
func LoadPath(ctx context.Context, kind, path string) ([]*Vuln, error) {
	return loadPath(ctx, kind, path, 0)
}

// loadPath is LoadPath with a number of parsing goroutines (0: one per
// CPU); the result does not depend on it.
func loadPath(ctx context.Context, kind, path string, workers int) ([]*Vuln, error) {
	parse, suffixes, err := kindFormat(kind)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("intel: %w", err)
	}
	if st.IsDir() {
		return loadDir(ctx, path, parse, suffixes, workers)
	}
	if hasSuffixFold(path, suffixes) {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("intel: %w", err)
		}
		v, err := parse(b, path, globalVersions{})
		if err != nil {
			return nil, err
		}
		return keepPyPI([]*Vuln{v}), nil
	}
	return loadZipFile(ctx, path, path, parse, suffixes, workers)
}

func loadDir(ctx context.Context, dir string, parse parseFunc, suffixes []string, workers int) ([]*Vuln, error) {
	var files []recordFile
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !hasSuffixFold(d.Name(), suffixes) {
			return nil
		}
		p2 := p
		files = append(files, recordFile{name: p, open: func() (io.ReadCloser, error) { return os.Open(p2) }})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("intel: %w", err)
	}
	return parseFiles(ctx, files, parse, dir, workers)
}

// loadZipFile reads a zip from disk; source names the records' origin.
func loadZipFile(ctx context.Context, path, source string, parse parseFunc, suffixes []string, workers int) ([]*Vuln, error) {
	ra, size, closeFn, err := openZipBytes(path)
	if err != nil {
		return nil, fmt.Errorf("intel: %s: %w", source, err)
	}
	defer closeFn()
	zr, err := zip.NewReader(ra, size)
	if err != nil {
		return nil, fmt.Errorf("intel: %s: not a readable zip: %w", source, err)
	}
	useFastInflate(zr)
	return parseZip(ctx, zr, source, parse, suffixes, workers)
}

func parseZip(ctx context.Context, zr *zip.Reader, source string, parse parseFunc, suffixes []string, workers int) ([]*Vuln, error) {
	var files []recordFile
	for _, f := range zr.File {
		if f.FileInfo().IsDir() || !hasSuffixFold(f.Name, suffixes) {
			continue
		}
		zf := f
		files = append(files, recordFile{name: f.Name, size: int64(f.UncompressedSize64), open: zf.Open})
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("intel: %s: zip holds no %s records", source, strings.Join(suffixes, "/"))
	}
	return parseFiles(ctx, files, parse, source, workers)
}

// maxRecordSize bounds one record file (osv.dev's largest are ~2 MB).
const maxRecordSize = 64 << 20

// parseFiles decodes files on workers goroutines (0: one per CPU) and
// returns the PyPI records in file order. Workers take the files in order;
// the first failing file (in file order, so the error is the one a
// sequential load reports) stops the work on the files after it.
func parseFiles(ctx context.Context, files []recordFile, parse parseFunc, source string, workers int) ([]*Vuln, error) {
	results := make([]*Vuln, len(files))
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if workers > len(files) {
		workers = len(files)
	}
	errs := make([]error, len(files))
	var (
		wg   sync.WaitGroup
		next atomic.Int64 // the next file to take
		// the lowest index of a failed file (len(files): none so far);
		// files after it are skipped.
		failed atomic.Int64
	)
	failed.Store(int64(len(files)))
	fail := func(i int, err error) {
		errs[i] = err
		for {
			cur := failed.Load()
			if int64(i) >= cur || failed.CompareAndSwap(cur, int64(i)) {
				return
			}
		}
	}
	done := ctx.Done()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf bytes.Buffer
			res := newLocalVersions()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(files) || int64(i) > failed.Load() {
					return
				}
				select {
				case <-done:
					return
				default:
				}
				f := files[i]
				buf.Reset()
				rc, err := f.open()
				if err != nil {
					fail(i, fmt.Errorf("intel: %s: %s: %w", source, f.name, err))
					continue
				}
				if f.size > 0 && f.size < maxRecordSize {
					buf.Grow(int(f.size))
				}
				n, err := buf.ReadFrom(io.LimitReader(rc, maxRecordSize+1))
				rc.Close()
				if err == nil && n > maxRecordSize {
					err = errors.New("record too large")
				}
				if err != nil {
					fail(i, fmt.Errorf("intel: %s: %s: %w", source, f.name, err))
					continue
				}
				v, err := parse(buf.Bytes(), source, res)
				if err != nil {
					fail(i, fmt.Errorf("%s: %w", f.name, err))
					continue
				}
				results[i] = v
			}
		}()
	}
	wg.Wait()
	if i := failed.Load(); i < int64(len(files)) {
		return nil, errs[i]
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return keepPyPI(results), nil
}

// keepPyPI drops records without any PyPI affected entry (nil included).
func keepPyPI(in []*Vuln) []*Vuln {
	out := in[:0]
	for _, v := range in {
		if v != nil && len(v.Affected) > 0 {
			out = append(out, v)
		}
	}
	return out
}
