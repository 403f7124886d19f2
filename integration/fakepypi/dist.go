package fakepypi

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"path"
	"regexp"
	"sort"
	"strings"
	"time"

	pep440 "github.com/aquasecurity/go-pep440-version"
	"golang.org/x/crypto/blake2b"
)

// Kind is the PyPI package type of a distribution file, as the legacy JSON API
// spells it in "packagetype".
type Kind string

const (
	// Wheel is a binary distribution (.whl), packagetype "bdist_wheel".
	Wheel Kind = "bdist_wheel"
	// Sdist is a source distribution (.tar.gz), packagetype "sdist".
	Sdist Kind = "sdist"
)

// archiveTime is the fixed timestamp written into generated archives, so the
// same spec always yields the same bytes and hashes. ZIP cannot store dates
// before 1980, and setuptools copies sdist mtimes into the wheels it builds.
var archiveTime = time.Date(2024, 1, 2, 3, 4, 6, 0, time.UTC)

var normalizeRe = regexp.MustCompile(`[-_.]+`)

// Normalize returns the PEP 503 normalized form of a project name.
func Normalize(name string) string {
	return strings.ToLower(normalizeRe.ReplaceAllString(name, "-"))
}

// DistName returns the escaped distribution name used in wheel and PEP 625
// sdist filenames: the normalized name with "-" replaced by "_".
func DistName(name string) string {
	return strings.ReplaceAll(Normalize(name), "-", "_")
}

// FileSpec describes one distribution file of a release. The zero value is a
// pure-Python "py3-none-any" wheel generated on the fly.
type FileSpec struct {
	// Kind selects a wheel (default) or an sdist.
	Kind Kind
	// PythonTag, ABITag and PlatformTag are the wheel tags (default py3, none, any).
	PythonTag, ABITag, PlatformTag string
	// BuildTag is the optional wheel build tag (must start with a digit).
	BuildTag string
	// RequiresPython becomes Requires-Python / data-requires-python.
	RequiresPython string
	// RequiresDist lists Requires-Dist entries (PEP 508 strings).
	RequiresDist []string
	// Module is the importable top-level package (default DistName(project)).
	Module string
	// Filename overrides the generated filename (useful with Content).
	Filename string
	// Content, when set, is served verbatim instead of a generated archive
	// (for example the real setuptools wheel). For wheels the core metadata
	// is read from the archive's *.dist-info/METADATA unless Metadata is set.
	Content []byte
	// Metadata overrides the core metadata served at <file>.metadata.
	Metadata []byte
	// NoMetadata disables the PEP 658 .metadata file for this wheel.
	NoMetadata bool
	// UploadTime overrides the release's upload time for this file.
	UploadTime time.Time
}

// Release is one version of a project and its files.
type Release struct {
	// Version is the release version as uploaded (used verbatim in filenames).
	Version string
	// Files are the distributions of this release. A release without files is
	// allowed (PyPI then leaves the version out of "versions").
	Files []FileSpec
	// UploadTime is the upload time of the files (default: derived from the serial).
	UploadTime time.Time
	// Yanked, when non-empty, yanks the release with this reason.
	Yanked string
	// YankedNoReason yanks the release without a reason (data-yanked="").
	YankedNoReason bool
}

// NewRelease returns a release of version v with the given files, or with a
// wheel and an sdist when no files are given.
func NewRelease(v string, files ...FileSpec) Release {
	if len(files) == 0 {
		files = []FileSpec{{Kind: Wheel}, {Kind: Sdist}}
	}
	return Release{Version: v, Files: files}
}

// File is a distribution file as the fake serves it, with all digests.
type File struct {
	// Project is the project's display name; Normalized its PEP 503 form.
	Project, Normalized string
	// Version is the release version the file belongs to.
	Version string
	// Filename is the basename served on the files host.
	Filename string
	// Kind is the package type.
	Kind Kind
	// PythonVersion is the legacy "python_version" ("source" for sdists).
	PythonVersion string
	// Data holds the file's bytes.
	Data []byte
	// SHA256, MD5 and Blake2b256 are lowercase hex digests of Data.
	SHA256, MD5, Blake2b256 string
	// Path is the hashed files-host path: /packages/aa/bb/<60 hex>/<filename>.
	Path string
	// Metadata is the core metadata served at Path+".metadata" (nil: none).
	Metadata []byte
	// MetadataSHA256 is the hex sha256 of Metadata ("" when none).
	MetadataSHA256 string
	// RequiresPython is the file's Requires-Python ("" when unset).
	RequiresPython string
	// UploadTime is the file's upload time.
	UploadTime time.Time
	// Yanked and YankedReason mirror the release's yank state.
	Yanked       bool
	YankedReason string
}

// Size returns the file size in bytes.
func (f *File) Size() int { return len(f.Data) }

// ContentType returns the Content-Type the files host sends for the file.
func (f *File) ContentType() string {
	switch {
	case strings.HasSuffix(f.Filename, ".tar.gz"), strings.HasSuffix(f.Filename, ".tgz"):
		return "application/x-tar"
	case strings.HasSuffix(f.Filename, ".zip"):
		return "application/zip"
	default:
		return "application/octet-stream"
	}
}

// buildFile turns a spec into a served file.
func buildFile(project, version string, spec FileSpec, upload time.Time) (*File, error) {
	kind := spec.Kind
	if kind == "" {
		kind = Wheel
		if spec.Filename != "" && !strings.HasSuffix(spec.Filename, ".whl") {
			kind = Sdist
		}
	}
	f := &File{
		Project:        project,
		Normalized:     Normalize(project),
		Version:        version,
		Kind:           kind,
		RequiresPython: spec.RequiresPython,
		UploadTime:     upload,
	}
	if !spec.UploadTime.IsZero() {
		f.UploadTime = spec.UploadTime
	}
	module := spec.Module
	if module == "" {
		module = DistName(project)
	}
	meta := coreMetadata(project, version, spec.RequiresPython, spec.RequiresDist)
	switch kind {
	case Wheel:
		py, abi, plat := orDefault(spec.PythonTag, "py3"), orDefault(spec.ABITag, "none"), orDefault(spec.PlatformTag, "any")
		f.PythonVersion = py
		f.Filename = spec.Filename
		if f.Filename == "" {
			parts := []string{DistName(project), version}
			if spec.BuildTag != "" {
				parts = append(parts, spec.BuildTag)
			}
			parts = append(parts, py, abi, plat)
			f.Filename = strings.Join(parts, "-") + ".whl"
		}
		if spec.Content != nil {
			f.Data = spec.Content
			m, err := wheelMetadata(spec.Content)
			if err != nil && spec.Metadata == nil {
				return nil, fmt.Errorf("fakepypi: %s: %w", f.Filename, err)
			}
			meta = m
			if f.RequiresPython == "" {
				f.RequiresPython = metadataField(m, "Requires-Python")
			}
		} else {
			data, err := buildWheel(project, version, module, py+"-"+abi+"-"+plat, meta)
			if err != nil {
				return nil, err
			}
			f.Data = data
		}
		if spec.Metadata != nil {
			meta = spec.Metadata
		}
		if !spec.NoMetadata {
			f.Metadata = meta
			f.MetadataSHA256 = hexSum(sha256.New(), meta)
		}
	case Sdist:
		f.PythonVersion = "source"
		f.Filename = spec.Filename
		if f.Filename == "" {
			f.Filename = DistName(project) + "-" + version + ".tar.gz"
		}
		if spec.Content != nil {
			f.Data = spec.Content
		} else {
			data, err := buildSdist(project, version, module, spec.RequiresPython, spec.RequiresDist, meta)
			if err != nil {
				return nil, err
			}
			f.Data = data
		}
	default:
		return nil, fmt.Errorf("fakepypi: unknown kind %q", kind)
	}
	f.SHA256 = hexSum(sha256.New(), f.Data)
	f.MD5 = hexSum(md5.New(), f.Data)
	b2, _ := blake2b.New256(nil)
	f.Blake2b256 = hexSum(b2, f.Data)
	f.Path = "/packages/" + f.Blake2b256[:2] + "/" + f.Blake2b256[2:4] + "/" + f.Blake2b256[4:] + "/" + f.Filename
	return f, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

type hasher interface {
	io.Writer
	Sum([]byte) []byte
}

func hexSum(h hasher, b []byte) string {
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

// coreMetadata renders a Metadata-Version 2.1 core metadata file.
func coreMetadata(name, version, requiresPython string, requiresDist []string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "Metadata-Version: 2.1\nName: %s\nVersion: %s\n", name, version)
	fmt.Fprintf(&b, "Summary: Test distribution %s %s served by fakepypi\n", name, version)
	if requiresPython != "" {
		fmt.Fprintf(&b, "Requires-Python: %s\n", requiresPython)
	}
	for _, d := range requiresDist {
		fmt.Fprintf(&b, "Requires-Dist: %s\n", d)
	}
	b.WriteString("\n")
	return []byte(b.String())
}

// metadataField returns the first value of an RFC 822 style header field.
func metadataField(meta []byte, field string) string {
	for _, line := range strings.Split(string(meta), "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "" {
			break
		}
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, field) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// wheelMetadata extracts *.dist-info/METADATA from a wheel.
func wheelMetadata(data []byte) ([]byte, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, err
	}
	for _, zf := range zr.File {
		dir, base := path.Split(zf.Name)
		if base == "METADATA" && strings.HasSuffix(strings.TrimSuffix(dir, "/"), ".dist-info") && strings.Count(zf.Name, "/") == 1 {
			rc, err := zf.Open()
			if err != nil {
				return nil, err
			}
			defer rc.Close()
			return io.ReadAll(rc)
		}
	}
	return nil, fmt.Errorf("no .dist-info/METADATA in wheel")
}

func recordHash(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256=" + base64.RawURLEncoding.EncodeToString(s[:])
}

// buildWheel writes a minimal but complete, installable wheel.
func buildWheel(project, version, module, tag string, meta []byte) ([]byte, error) {
	distInfo := DistName(project) + "-" + version + ".dist-info"
	files := []struct {
		name string
		data []byte
	}{
		{module + "/__init__.py", []byte(fmt.Sprintf("__version__ = %q\n", version))},
		{distInfo + "/METADATA", meta},
		{distInfo + "/WHEEL", []byte("Wheel-Version: 1.0\nGenerator: fakepypi (1.0)\nRoot-Is-Purelib: true\nTag: " + tag + "\n\n")},
		{distInfo + "/top_level.txt", []byte(module + "\n")},
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	var record strings.Builder
	for _, f := range files {
		if err := writeZip(zw, f.name, f.data); err != nil {
			return nil, err
		}
		fmt.Fprintf(&record, "%s,%s,%d\n", f.name, recordHash(f.data), len(f.data))
	}
	fmt.Fprintf(&record, "%s/RECORD,,\n", distInfo)
	if err := writeZip(zw, distInfo+"/RECORD", []byte(record.String())); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func writeZip(zw *zip.Writer, name string, data []byte) error {
	h := &zip.FileHeader{Name: name, Method: zip.Deflate, Modified: archiveTime}
	h.SetMode(0o644)
	w, err := zw.CreateHeader(h)
	if err != nil {
		return err
	}
	_, err = w.Write(data)
	return err
}

// buildSdist writes a PEP 517 sdist built by setuptools.build_meta from setup.cfg.
func buildSdist(project, version, module, requiresPython string, requiresDist []string, meta []byte) ([]byte, error) {
	root := DistName(project) + "-" + version + "/"
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "[metadata]\nname = %s\nversion = %s\ndescription = Test distribution %s %s served by fakepypi\n\n[options]\npackages = %s\n", project, version, project, version, module)
	if requiresPython != "" {
		fmt.Fprintf(&cfg, "python_requires = %s\n", requiresPython)
	}
	if len(requiresDist) > 0 {
		cfg.WriteString("install_requires =\n")
		for _, d := range requiresDist {
			fmt.Fprintf(&cfg, "    %s\n", d)
		}
	}
	files := []struct {
		name string
		data []byte
	}{
		{root + "PKG-INFO", meta},
		{root + "pyproject.toml", []byte("[build-system]\nrequires = [\"setuptools>=40.8.0\"]\nbuild-backend = \"setuptools.build_meta\"\n")},
		{root + "setup.cfg", []byte(cfg.String())},
		{root + module + "/__init__.py", []byte(fmt.Sprintf("__version__ = %q\n", version))},
	}
	var buf bytes.Buffer
	gz, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	tw := tar.NewWriter(gz)
	dirs := map[string]bool{}
	for _, f := range files {
		for d := path.Dir(f.name); d != "." && !dirs[d]; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	sortedDirs := make([]string, 0, len(dirs))
	for d := range dirs {
		sortedDirs = append(sortedDirs, d)
	}
	sort.Strings(sortedDirs)
	for _, d := range sortedDirs {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755, ModTime: archiveTime, Format: tar.FormatPAX}); err != nil {
			return nil, err
		}
	}
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: f.name, Mode: 0o644, Size: int64(len(f.data)), ModTime: archiveTime, Format: tar.FormatPAX}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ParseWheelFilename splits a wheel filename into project and version.
func ParseWheelFilename(filename string) (name, version string, err error) {
	base := strings.TrimSuffix(filename, ".whl")
	if base == filename {
		return "", "", fmt.Errorf("fakepypi: %q is not a wheel", filename)
	}
	parts := strings.Split(base, "-")
	if len(parts) != 5 && len(parts) != 6 {
		return "", "", fmt.Errorf("fakepypi: malformed wheel filename %q", filename)
	}
	return parts[0], parts[1], nil
}

// compareVersions orders versions like packaging's legacy-aware sort:
// non-PEP 440 versions sort first, by string.
func compareVersions(a, b string) int {
	va, errA := pep440.Parse(a)
	vb, errB := pep440.Parse(b)
	switch {
	case errA != nil && errB != nil:
		return strings.Compare(a, b)
	case errA != nil:
		return -1
	case errB != nil:
		return 1
	}
	return va.Compare(vb)
}

// isPrerelease reports whether v is a PEP 440 pre- or dev release.
func isPrerelease(v string) bool {
	pv, err := pep440.Parse(v)
	return err == nil && pv.IsPreRelease()
}

// sameVersion reports whether two version strings are equal after PEP 440
// normalization (or identical when not PEP 440).
func sameVersion(a, b string) bool {
	if a == b {
		return true
	}
	va, errA := pep440.Parse(a)
	vb, errB := pep440.Parse(b)
	return errA == nil && errB == nil && va.Equal(vb)
}

func md5New() hasher { return md5.New() }
