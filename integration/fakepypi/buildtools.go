package fakepypi

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// PythonEnv names the environment variable that selects the Python
// interpreter used to locate bundled wheels (default "python3").
const PythonEnv = "OSAPROXY_PYTHON"

// WheelWheelEnv names the environment variable that points at a
// wheel-*.whl to serve as the "wheel" project, overriding the search.
const WheelWheelEnv = "FAKEPYPI_WHEEL_WHL"

// AddWheelFile serves a wheel file from disk as a release of the project
// named in its filename (core metadata is read from the wheel).
func (s *Server) AddWheelFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	base := filepath.Base(path)
	name, version, err := ParseWheelFilename(base)
	if err != nil {
		return err
	}
	m, err := wheelMetadata(data)
	if err != nil {
		return fmt.Errorf("fakepypi: %s: %w", base, err)
	}
	if n := metadataField(m, "Name"); n != "" {
		name = n
	}
	if v := metadataField(m, "Version"); v != "" {
		version = v
	}
	return s.addProject(name, Release{Version: version, Files: []FileSpec{{Kind: Wheel, Filename: base, Content: data}}})
}

// BuildToolWheels locates the real setuptools and wheel wheels that pip
// needs to build a setuptools sdist with build isolation offline:
// setuptools.build_meta (65.x) asks for "setuptools>=40.8.0" and then,
// from get_requires_for_build_wheel, for "wheel".
//
// setuptools comes from the interpreter's ensurepip/_bundled directory (or
// Debian's /usr/share/python-wheels); wheel from $FAKEPYPI_WHEEL_WHL,
// ensurepip/_bundled or /usr/share/python-wheels (package
// python3-wheel-whl, pulled in by python3-virtualenv and python3-poetry).
func BuildToolWheels() (setuptools, wheel string, err error) {
	var dirs []string
	py := os.Getenv(PythonEnv)
	if py == "" {
		py = "python3"
	}
	if out, err := exec.Command(py, "-c", "import ensurepip,os;print(os.path.dirname(ensurepip.__file__))").Output(); err == nil {
		dirs = append(dirs, filepath.Join(strings.TrimSpace(string(out)), "_bundled"))
	}
	dirs = append(dirs, "/usr/share/python-wheels")
	setuptools = newestWheel(dirs, "setuptools-")
	wheel = os.Getenv(WheelWheelEnv)
	if wheel == "" {
		wheel = newestWheel(dirs, "wheel-")
	}
	switch {
	case setuptools == "":
		return "", "", fmt.Errorf("fakepypi: no setuptools-*.whl in %v", dirs)
	case wheel == "":
		return "", "", fmt.Errorf("fakepypi: no wheel-*.whl in %v (apt-get install python3-wheel-whl, or set %s)", dirs, WheelWheelEnv)
	}
	return setuptools, wheel, nil
}

// newestWheel returns the first directory's highest-versioned wheel with
// this filename prefix.
func newestWheel(dirs []string, prefix string) string {
	for _, d := range dirs {
		matches, _ := filepath.Glob(filepath.Join(d, prefix+"*.whl"))
		if len(matches) == 0 {
			continue
		}
		sort.Slice(matches, func(i, j int) bool {
			_, vi, _ := ParseWheelFilename(filepath.Base(matches[i]))
			_, vj, _ := ParseWheelFilename(filepath.Base(matches[j]))
			return compareVersions(vi, vj) > 0
		})
		return matches[0]
	}
	return ""
}

// AddBuildTools serves the real setuptools and wheel distributions (see
// BuildToolWheels) so pip can build the fake's sdists offline.
func (s *Server) AddBuildTools() error {
	st, wh, err := BuildToolWheels()
	if err != nil {
		return err
	}
	if err := s.AddWheelFile(st); err != nil {
		return err
	}
	return s.AddWheelFile(wh)
}
