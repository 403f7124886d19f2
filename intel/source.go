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
	parse, suffixes, err := kindFormat(kind)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("intel: %w", err)
	}
	if st.IsDir() {
		return loadDir(ctx, path, parse, suffixes)
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
	return loadZipFile(ctx, path, path, parse, suffixes)
}

func loadDir(ctx context.Context, dir string, parse parseFunc, suffixes []string) ([]*Vuln, error) {
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
	return parseFiles(ctx, files, parse, dir)
}

// loadZipFile reads a zip from disk; source names the records' origin.
func loadZipFile(ctx context.Context, path, source string, parse parseFunc, suffixes []string) ([]*Vuln, error) {
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
	return parseZip(ctx, zr, source, parse, suffixes)
}

func parseZip(ctx context.Context, zr *zip.Reader, source string, parse parseFunc, suffixes []string) ([]*Vuln, error) {
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
	return parseFiles(ctx, files, parse, source)
}

// maxRecordSize bounds one record file (osv.dev's largest are ~2 MB).
const maxRecordSize = 64 << 20

// parseFiles decodes files concurrently (one worker per CPU) and returns
// the PyPI records in file order. The first error stops the work.
func parseFiles(ctx context.Context, files []recordFile, parse parseFunc, source string) ([]*Vuln, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make([]*Vuln, len(files))
	workers := runtime.GOMAXPROCS(0)
	if workers > len(files) {
		workers = len(files)
	}
	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
		next     = make(chan int)
	)
	fail := func(err error) {
		errOnce.Do(func() { firstErr = err; cancel() })
	}
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf bytes.Buffer
			res := localVersions{}
			for i := range next {
				f := files[i]
				buf.Reset()
				rc, err := f.open()
				if err != nil {
					fail(fmt.Errorf("intel: %s: %s: %w", source, f.name, err))
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
					fail(fmt.Errorf("intel: %s: %s: %w", source, f.name, err))
					continue
				}
				v, err := parse(buf.Bytes(), source, res)
				if err != nil {
					fail(fmt.Errorf("%s: %w", f.name, err))
					continue
				}
				results[i] = v
			}
		}()
	}
feed:
	for i := range files {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
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
