package pypi

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	pep440 "github.com/aquasecurity/go-pep440-version"
)

// FilenameError explains why a distribution filename could not be parsed.
// Its message quotes the filename with Go escaping, so it is safe to log or
// show a client.
type FilenameError struct {
	Filename string
	Reason   string
}

// Error implements error.
func (e *FilenameError) Error() string {
	return fmt.Sprintf("pypi: cannot parse distribution filename %q: %s", e.Filename, e.Reason)
}

func fnErr(filename, reason string) error {
	return &FilenameError{Filename: filename, Reason: reason}
}

// sdistExts are the source archive extensions pip and uv recognize
// (pip utils/filetypes.py, uv extension.rs adds .tar.zst).
var sdistExts = [...]string{
	".tar.gz", ".tgz", ".tar",
	".tar.bz2", ".tbz",
	".tar.xz", ".txz", ".tlz", ".tar.lz", ".tar.lzma",
	".tar.zst",
	".zip",
}

// otherExts are legacy binary installers (bdist_wininst, bdist_msi,
// bdist_rpm, bdist_dmg/mpkg).
var otherExts = [...]string{".exe", ".msi", ".rpm", ".dmg"}

// DistributionExt returns the distribution file extension of filename as
// written (".whl", ".tar.gz", ".egg", ...) and the package type, or "" when
// the name does not end in a known distribution extension. Matching is ASCII
// case-insensitive.
func DistributionExt(filename string) (string, PackageType) {
	if hasSuffixFold(filename, ".whl") {
		return filename[len(filename)-4:], TypeWheel
	}
	if hasSuffixFold(filename, ".egg") {
		return filename[len(filename)-4:], TypeEgg
	}
	for _, ext := range sdistExts {
		if hasSuffixFold(filename, ext) {
			return filename[len(filename)-len(ext):], TypeSdist
		}
	}
	for _, ext := range otherExts {
		if hasSuffixFold(filename, ext) {
			return filename[len(filename)-len(ext):], TypeOther
		}
	}
	return "", ""
}

// checkFilename refuses names that cannot be distribution filenames at all.
func checkFilename(filename string) error {
	if filename == "" {
		return errors.New("pypi: empty distribution filename")
	}
	if len(filename) > 1024 {
		return fnErr(filename[:64]+"...", "name too long")
	}
	if hasControlOrSpace(filename) || strings.IndexByte(filename, '/') >= 0 || strings.IndexByte(filename, '\\') >= 0 {
		return fnErr(filename, "contains a control character, space, slash or backslash")
	}
	if !utf8.ValidString(filename) {
		return fnErr(filename, "not valid UTF-8")
	}
	return nil
}

// ParseFilename splits a distribution filename into project and version.
// project, when non-empty, is the normalized name the file is known to belong
// to (from the index page) and is used to split ambiguous legacy sdists the
// way pip and uv do: the version starts after the first '-' at which the
// normalized prefix equals project, and a legacy "-pyX.Y" suffix is removed.
// Wheels and eggs whose name does not normalize to project are refused.
//
// Without a project the preferred candidate of FilenameCandidates is returned.
// Versions keep their text (no PEP 440 normalization; '_' is not rewritten).
// The common cases do not allocate.
func ParseFilename(filename, project string) (FileInfo, error) {
	if project != "" && !IsNormalized(project) {
		project = NormalizeName(project)
	}
	return parseFilenameNorm(filename, project)
}

// parseFilenameNorm is ParseFilename for a project name already normalized
// (or ""): an index page parses every file with its page's project.
func parseFilenameNorm(filename, project string) (FileInfo, error) {
	if err := checkFilename(filename); err != nil {
		return FileInfo{}, err
	}
	ext, typ := DistributionExt(filename)
	stem := filename[:len(filename)-len(ext)]
	switch typ {
	case TypeWheel:
		return parseWheel(filename, stem, project)
	case TypeEgg:
		return parseEgg(filename, stem, project)
	case TypeSdist, TypeOther:
		if typ == TypeOther {
			stem = stripInstallerSuffixes(stem)
		}
		if project != "" {
			return splitKnown(filename, stem, project, typ)
		}
		cands := splitCandidates(filename, stem, typ, nil)
		if len(cands) == 0 {
			return FileInfo{}, fnErr(filename, "no '-' followed by a version")
		}
		return cands[0], nil
	}
	return FileInfo{}, fnErr(filename, "not a known distribution file extension")
}

// FilenameCandidates returns every plausible (project, version) split of a
// filename when the project is not known (downloads straight from the files
// host). Wheels and eggs give one candidate; legacy sdists with dashes may
// give several: every split whose version part starts with a digit or with
// 'v' and a digit, or is a valid PEP 440 version. Candidates whose version is
// valid PEP 440 come first (leftmost split first), then the others. The
// result is nil when the filename is not a distribution filename.
func FilenameCandidates(filename string) []FileInfo {
	if checkFilename(filename) != nil {
		return nil
	}
	ext, typ := DistributionExt(filename)
	stem := filename[:len(filename)-len(ext)]
	switch typ {
	case TypeWheel:
		var out []FileInfo
		fi, err := parseWheel(filename, stem, "")
		if err == nil {
			out = append(out, fi)
		}
		// Non-conforming wheels with dashes in the name (pip reads
		// python-dateutil-2.8.2-py3-none-any.whl as project "python",
		// version "dateutil"): also offer the sdist-style splits of what
		// precedes the three tags.
		if k := lastNIndex(stem, '-', 3); k > 0 && strings.Count(stem[:k], "-") > 1 && (err != nil || !isPEP440(fi.Version)) {
			for _, c := range splitCandidates(filename, stem[:k], TypeWheel, nil) {
				dup := false
				for _, o := range out {
					dup = dup || (o.Project == c.Project && o.Version == c.Version)
				}
				if !dup {
					out = append(out, c)
				}
			}
		}
		return out
	case TypeEgg:
		fi, err := parseEgg(filename, stem, "")
		if err != nil {
			return nil
		}
		return []FileInfo{fi}
	case TypeSdist, TypeOther:
		if typ == TypeOther {
			stem = stripInstallerSuffixes(stem)
		}
		return splitCandidates(filename, stem, typ, nil)
	}
	return nil
}

// parseWheel implements PEP 427: {name}-{ver}(-{build})?-{py}-{abi}-{plat}.whl
func parseWheel(filename, stem, project string) (FileInfo, error) {
	dashes := strings.Count(stem, "-")
	if dashes != 4 && dashes != 5 {
		return FileInfo{}, fnErr(filename, "a wheel name needs 5 or 6 dash-separated parts")
	}
	name, rest, _ := strings.Cut(stem, "-")
	version, rest, _ := strings.Cut(rest, "-")
	if dashes == 5 {
		var build string
		build, rest, _ = strings.Cut(rest, "-")
		if build == "" || !isDigit(build[0]) {
			return FileInfo{}, fnErr(filename, "wheel build tag must start with a digit")
		}
	}
	py, rest, _ := strings.Cut(rest, "-")
	abi, plat, _ := strings.Cut(rest, "-")
	if name == "" || version == "" || py == "" || abi == "" || plat == "" {
		return FileInfo{}, fnErr(filename, "empty wheel filename component")
	}
	if !validVersionText(version) {
		return FileInfo{}, fnErr(filename, "invalid characters in version")
	}
	fi := FileInfo{Filename: filename, Version: version, Type: TypeWheel}
	if project != "" {
		if !equalNormalized(name, project) {
			return FileInfo{}, fnErr(filename, "wheel name does not match the project")
		}
		fi.Project = project
	} else {
		fi.Project = NormalizeName(name)
	}
	return fi, nil
}

// parseEgg handles name-ver(-pyX.Y(-plat)?)?.egg (setuptools escapes '-' in
// name and version as '_', so neither contains a dash).
func parseEgg(filename, stem, project string) (FileInfo, error) {
	var name, rest string
	if project != "" {
		i := knownSplit(stem, project)
		if i < 0 {
			return FileInfo{}, fnErr(filename, "egg name does not match the project")
		}
		name, rest = stem[:i], stem[i+1:]
	} else {
		var ok bool
		name, rest, ok = strings.Cut(stem, "-")
		if !ok {
			return FileInfo{}, fnErr(filename, "egg filename has no version")
		}
	}
	version, tail, hasTail := strings.Cut(rest, "-")
	if hasTail && !(strings.HasPrefix(tail, "py") && len(tail) > 2 && isDigit(tail[2])) {
		return FileInfo{}, fnErr(filename, "egg filename has no -pyX.Y tag after the version")
	}
	if name == "" || version == "" || !validVersionText(version) {
		return FileInfo{}, fnErr(filename, "egg filename has no valid version")
	}
	fi := FileInfo{Filename: filename, Version: version, Type: TypeEgg, Project: project}
	if project == "" {
		fi.Project = NormalizeName(name)
	}
	return fi, nil
}

// knownSplit returns the index of the first '-' in stem at which the
// normalized prefix equals project (pip's _find_name_version_sep), or -1.
func knownSplit(stem, project string) int {
	for i := 0; i < len(stem); i++ {
		if stem[i] == '-' && equalNormalized(stem[:i], project) {
			return i
		}
	}
	return -1
}

// splitKnown splits an sdist or installer stem with a known project.
func splitKnown(filename, stem, project string, typ PackageType) (FileInfo, error) {
	i := knownSplit(stem, project)
	if i < 0 {
		return FileInfo{}, fnErr(filename, "name does not match the project")
	}
	version := cleanLegacyVersion(stem[i+1:])
	if version == "" || !validVersionText(version) {
		return FileInfo{}, fnErr(filename, "missing or invalid version")
	}
	return FileInfo{Filename: filename, Project: project, Version: version, Type: typ}, nil
}

// splitCandidates lists the plausible splits of stem (see FilenameCandidates).
func splitCandidates(filename, stem string, typ PackageType, dst []FileInfo) []FileInfo {
	var later []FileInfo
	for i := 1; i < len(stem)-1; i++ {
		if stem[i] != '-' {
			continue
		}
		right := stem[i+1:]
		version := cleanLegacyVersion(right)
		if version == "" || !validVersionText(version) {
			continue
		}
		valid := isPEP440(version)
		digitStart := isDigit(right[0]) || ((right[0] == 'v' || right[0] == 'V') && len(right) > 1 && isDigit(right[1]))
		if !valid && !digitStart {
			continue
		}
		fi := FileInfo{Filename: filename, Project: NormalizeName(stem[:i]), Version: version, Type: typ}
		if valid {
			dst = append(dst, fi)
		} else {
			later = append(later, fi)
		}
	}
	return append(dst, later...)
}

// cleanLegacyVersion removes pip's legacy "-pyX.Y" suffix
// (_py_version_re = -py([123]\.?[0-9]?)$). When what remains is still not a
// PEP 440 version but contains a "-py<digit>" segment (bdist_mpkg style
// "1.0-py2.7-macosx10.7.mpkg"), the version is cut there (best effort: pip
// would skip such a file as invalid).
func cleanLegacyVersion(v string) string {
	if k := strings.LastIndex(v, "-py"); k >= 0 {
		t := v[k+3:]
		if len(t) >= 1 && t[0] >= '1' && t[0] <= '3' {
			t = t[1:]
			if len(t) > 0 && t[0] == '.' {
				t = t[1:]
			}
			if len(t) > 0 && isDigit(t[0]) {
				t = t[1:]
			}
			if t == "" {
				v = v[:k]
			}
		}
	}
	if k := indexPyTag(v); k >= 0 && !isPEP440(v) {
		if cut := v[:k]; cut != "" && isPEP440(cut) {
			return cut
		}
	}
	return v
}

// indexPyTag returns the index of the first "-py<digit>" in v, or -1.
func indexPyTag(v string) int {
	for i := 0; i+3 < len(v); i++ {
		if v[i] == '-' && v[i+1] == 'p' && v[i+2] == 'y' && isDigit(v[i+3]) {
			return i
		}
	}
	return -1
}

// stripInstallerSuffixes removes the "-pyX.Y" and ".<platform>" tails of
// bdist_wininst/msi/rpm/dmg names: numpy-1.0.1.dev3460.win32-py2.4 ->
// numpy-1.0.1.dev3460.
func stripInstallerSuffixes(stem string) string {
	if k := strings.LastIndex(stem, "-py"); k > 0 && k+3 < len(stem) && isDigit(stem[k+3]) &&
		strings.Trim(stem[k+3:], "0123456789.") == "" {
		stem = stem[:k]
	}
	lower := strings.ToLower(stem)
	best := -1
	for _, p := range [...]string{".win32", ".win-", ".linux-", ".linux_", ".macosx", ".darwin", ".cygwin"} {
		if k := strings.LastIndex(lower, p); k > best {
			best = k
		}
	}
	if best > 0 {
		return stem[:best]
	}
	for _, arch := range [...]string{".noarch", ".src", ".x86_64", ".i386", ".i586", ".i686", ".amd64", ".aarch64", ".ppc64le", ".s390x"} {
		if strings.HasSuffix(lower, arch) {
			return stem[:len(stem)-len(arch)]
		}
	}
	return stem
}

// validVersionText refuses version strings that cannot be versions at all.
func validVersionText(v string) bool {
	if v == "" || len(v) > 128 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(isAlnum(c) || c == '.' || c == '-' || c == '_' || c == '+' || c == '!') {
			return false
		}
	}
	return true
}

// isPEP440 reports whether v is a valid PEP 440 version.
func isPEP440(v string) bool {
	if v == "" || !validVersionText(v) {
		return false
	}
	if !isDigit(v[0]) && !(len(v) > 1 && (v[0] == 'v' || v[0] == 'V') && isDigit(v[1])) {
		return false
	}
	_, err := pep440.Parse(v)
	return err == nil
}

// VersionKey returns a comparison key for a version: equal keys mean equal
// PEP 440 versions (release zeros padded, case and separators normalized).
// A version that is not PEP 440 is its own key, prefixed so it cannot collide.
func VersionKey(v string) string {
	if !isPEP440(v) {
		return "\x00" + v
	}
	pv, err := pep440.Parse(v)
	if err != nil {
		return "\x00" + v
	}
	s := pv.String()
	// Strip trailing ".0" release components: 1.0.0rc1 == 1rc1.
	start := 0
	if k := strings.IndexByte(s, '!'); k >= 0 {
		start = k + 1
	}
	end := start
	for end < len(s) && (isDigit(s[end]) || s[end] == '.') {
		end++
	}
	rel := s[start:end]
	for strings.HasSuffix(rel, ".0") {
		rel = rel[:len(rel)-2]
	}
	return s[:start] + rel + s[end:]
}

// lastNIndex returns the index of the n-th last occurrence of c in s, or -1.
func lastNIndex(s string, c byte, n int) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == c {
			n--
			if n == 0 {
				return i
			}
		}
	}
	return -1
}
