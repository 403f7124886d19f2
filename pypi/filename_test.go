package pypi

import (
	"errors"
	"reflect"
	"testing"
)

func TestParseFilename(t *testing.T) {
	cases := []struct {
		file, project string
		want          FileInfo // Filename is filled in from file
		err           bool
	}{
		// sdists
		{file: "python-dateutil-2.8.2.tar.gz", project: "python-dateutil", want: FileInfo{Project: "python-dateutil", Version: "2.8.2", Type: TypeSdist}},
		{file: "python-dateutil-2.8.2.tar.gz", want: FileInfo{Project: "python-dateutil", Version: "2.8.2", Type: TypeSdist}},
		{file: "python_dateutil-2.9.0.post0.tar.gz", project: "python-dateutil", want: FileInfo{Project: "python-dateutil", Version: "2.9.0.post0", Type: TypeSdist}},
		{file: "Django-1.0.zip", project: "django", want: FileInfo{Project: "django", Version: "1.0", Type: TypeSdist}},
		{file: "Django-1.0.zip", want: FileInfo{Project: "django", Version: "1.0", Type: TypeSdist}},
		{file: "Django-1.0.zip", project: "Django", want: FileInfo{Project: "django", Version: "1.0", Type: TypeSdist}},
		{file: "foo-1.0-1.tar.gz", project: "foo", want: FileInfo{Project: "foo", Version: "1.0-1", Type: TypeSdist}},
		{file: "foo-1.0-1.tar.gz", want: FileInfo{Project: "foo", Version: "1.0-1", Type: TypeSdist}},
		{file: "foo-1.0-1.tar.gz", project: "foo-1-0", want: FileInfo{Project: "foo-1-0", Version: "1", Type: TypeSdist}},
		{file: "broken-0.2+broken.tar.gz", project: "broken", want: FileInfo{Project: "broken", Version: "0.2+broken", Type: TypeSdist}},
		{file: "pytz-2004d.tar.bz2", project: "pytz", want: FileInfo{Project: "pytz", Version: "2004d", Type: TypeSdist}},
		{file: "pytz-2004d.tar.bz2", want: FileInfo{Project: "pytz", Version: "2004d", Type: TypeSdist}},
		{file: "FOO-1.0.TAR.GZ", project: "foo", want: FileInfo{Project: "foo", Version: "1.0", Type: TypeSdist}},
		{file: "foo-1.0.tgz", project: "foo", want: FileInfo{Project: "foo", Version: "1.0", Type: TypeSdist}},
		{file: "foo-1.0.tbz", project: "foo", want: FileInfo{Project: "foo", Version: "1.0", Type: TypeSdist}},
		{file: "foo-1.0.tar.xz", project: "foo", want: FileInfo{Project: "foo", Version: "1.0", Type: TypeSdist}},
		{file: "foo-1.0.txz", project: "foo", want: FileInfo{Project: "foo", Version: "1.0", Type: TypeSdist}},
		{file: "foo-1.0.tlz", project: "foo", want: FileInfo{Project: "foo", Version: "1.0", Type: TypeSdist}},
		{file: "foo-1.0.tar.lz", project: "foo", want: FileInfo{Project: "foo", Version: "1.0", Type: TypeSdist}},
		{file: "foo-1.0.tar.lzma", project: "foo", want: FileInfo{Project: "foo", Version: "1.0", Type: TypeSdist}},
		{file: "foo-1.0.tar", project: "foo", want: FileInfo{Project: "foo", Version: "1.0", Type: TypeSdist}},
		{file: "foo-1.0.tar.zst", project: "foo", want: FileInfo{Project: "foo", Version: "1.0", Type: TypeSdist}},
		{file: "foo-1.0-py2.7.tar.gz", project: "foo", want: FileInfo{Project: "foo", Version: "1.0", Type: TypeSdist}},
		{file: "foo-1.0-py3.tar.gz", project: "foo", want: FileInfo{Project: "foo", Version: "1.0", Type: TypeSdist}},
		{file: "foo-py3-1.0.tar.gz", project: "foo-py3", want: FileInfo{Project: "foo-py3", Version: "1.0", Type: TypeSdist}},
		{file: "foo-py3-1.0.tar.gz", want: FileInfo{Project: "foo-py3", Version: "1.0", Type: TypeSdist}},
		{file: "py-3to2-1.0.tar.gz", want: FileInfo{Project: "py-3to2", Version: "1.0", Type: TypeSdist}},
		{file: "pkgwithmpkg-1.0-py2.7-macosx10.7.mpkg.zip", project: "pkgwithmpkg", want: FileInfo{Project: "pkgwithmpkg", Version: "1.0", Type: TypeSdist}},
		{file: "foo-v1.2.tar.gz", want: FileInfo{Project: "foo", Version: "v1.2", Type: TypeSdist}},
		{file: "torch-2.1.0+cpu.tar.gz", project: "torch", want: FileInfo{Project: "torch", Version: "2.1.0+cpu", Type: TypeSdist}},
		{file: "foo-1!2.0.tar.gz", project: "foo", want: FileInfo{Project: "foo", Version: "1!2.0", Type: TypeSdist}},
		// wheels
		{file: "has.script-1.0-py2.py3-none-any.whl", project: "has-script", want: FileInfo{Project: "has-script", Version: "1.0", Type: TypeWheel}},
		{file: "has.script-1.0-py2.py3-none-any.whl", want: FileInfo{Project: "has-script", Version: "1.0", Type: TypeWheel}},
		{file: "invalid_version-2010i-py3-none-any.whl", project: "invalid-version", want: FileInfo{Project: "invalid-version", Version: "2010i", Type: TypeWheel}},
		{file: "torch-2.1.0+cpu-cp311-cp311-linux_x86_64.whl", project: "torch", want: FileInfo{Project: "torch", Version: "2.1.0+cpu", Type: TypeWheel}},
		{file: "numpy-1.26.4-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", project: "numpy", want: FileInfo{Project: "numpy", Version: "1.26.4", Type: TypeWheel}},
		{file: "Foo_Bar-1.0-1-py3-none-any.whl", project: "foo-bar", want: FileInfo{Project: "foo-bar", Version: "1.0", Type: TypeWheel}},
		{file: "foo-1.0-12abc-py3-none-any.whl", want: FileInfo{Project: "foo", Version: "1.0", Type: TypeWheel}},
		{file: "FOO-1.0RC1-PY3-NONE-ANY.WHL", project: "foo", want: FileInfo{Project: "foo", Version: "1.0RC1", Type: TypeWheel}},
		{file: "foo-1.0_rc1-py3-none-any.whl", project: "foo", want: FileInfo{Project: "foo", Version: "1.0_rc1", Type: TypeWheel}},
		{file: "foo-1.0-abc-py3-none-any.whl", err: true},                                           // build tag must start with a digit
		{file: "foo-1.0-py3-none.whl", err: true},                                                   // too few parts
		{file: "foo-bar-1.0-1-2-py3-none-any.whl", err: true},                                       // too many parts
		{file: "other-1.0-py3-none-any.whl", project: "foo", err: true},                             // wrong project
		{file: "python-dateutil-2.8.2-py2.py3-none-any.whl", project: "python-dateutil", err: true}, // dash in wheel name
		// pip's wheel regex reads this as name "python", version "dateutil", build "2.8.2".
		{file: "python-dateutil-2.8.2-py2.py3-none-any.whl", want: FileInfo{Project: "python", Version: "dateutil", Type: TypeWheel}},
		{file: "foo--py3-none-any.whl", err: true}, // empty version
		// eggs
		{file: "foo-1.0-py2.7.egg", project: "foo", want: FileInfo{Project: "foo", Version: "1.0", Type: TypeEgg}},
		{file: "foo_bar-1.0-py2.7-linux-x86_64.egg", want: FileInfo{Project: "foo-bar", Version: "1.0", Type: TypeEgg}},
		{file: "Foo_Bar-1.0_r3-py2.7-win32.egg", project: "foo-bar", want: FileInfo{Project: "foo-bar", Version: "1.0_r3", Type: TypeEgg}},
		{file: "foo-1.0.egg", want: FileInfo{Project: "foo", Version: "1.0", Type: TypeEgg}},
		{file: "foo-1.0-x86.egg", err: true},
		{file: "foo.egg", err: true},
		// installers
		{file: "numpy-1.0.1.dev3460.win32-py2.4.exe", project: "numpy", want: FileInfo{Project: "numpy", Version: "1.0.1.dev3460", Type: TypeOther}},
		{file: "numpy-1.0.1.dev3460.win32-py2.4.exe", want: FileInfo{Project: "numpy", Version: "1.0.1.dev3460", Type: TypeOther}},
		{file: "foo-1.0.win-amd64-py3.8.msi", want: FileInfo{Project: "foo", Version: "1.0", Type: TypeOther}},
		{file: "foo-1.0.linux-x86_64.exe", project: "foo", want: FileInfo{Project: "foo", Version: "1.0", Type: TypeOther}},
		{file: "foo-1.0-1.noarch.rpm", project: "foo", want: FileInfo{Project: "foo", Version: "1.0-1", Type: TypeOther}},
		{file: "foo-1.0-py2.7-macosx10.6.dmg", project: "foo", want: FileInfo{Project: "foo", Version: "1.0", Type: TypeOther}},
		// refused
		{file: "", err: true},
		{file: "foo-1.0.txt", err: true},
		{file: "foo.tar.gz", err: true},
		{file: "foo-.tar.gz", project: "foo", err: true},
		{file: "bar-1.0.tar.gz", project: "foo", err: true},
		{file: "foo-1.0/x.tar.gz", err: true},
		{file: "foo-1.0\x00.tar.gz", err: true},
		{file: "foo 1.0.tar.gz", err: true},
		{file: "foo-1.0\\.tar.gz", err: true},
		{file: "foo-1.0.tar.gz.metadata", err: true},
		{file: "foo-1.0@x.tar.gz", project: "foo", err: true},
	}
	for _, c := range cases {
		got, err := ParseFilename(c.file, c.project)
		if c.err {
			if err == nil {
				t.Errorf("ParseFilename(%q, %q) = %+v, want error", c.file, c.project, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseFilename(%q, %q): %v", c.file, c.project, err)
			continue
		}
		want := c.want
		want.Filename = c.file
		if got != want {
			t.Errorf("ParseFilename(%q, %q) = %+v, want %+v", c.file, c.project, got, want)
		}
	}
}

func TestParseFilenameErrorType(t *testing.T) {
	_, err := ParseFilename("foo-1.0-abc-py3-none-any.whl", "")
	var fe *FilenameError
	if !errors.As(err, &fe) || fe.Reason == "" {
		t.Fatalf("want *FilenameError, got %T %v", err, err)
	}
}

func TestParseFilenameNoAlloc(t *testing.T) {
	n := testing.AllocsPerRun(100, func() {
		if _, err := ParseFilename("numpy-1.26.4-cp312-cp312-manylinux_2_17_x86_64.whl", "numpy"); err != nil {
			t.Fatal(err)
		}
		if _, err := ParseFilename("python_dateutil-2.8.2.tar.gz", "python-dateutil"); err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Fatalf("allocations: %v", n)
	}
}

func TestFilenameCandidates(t *testing.T) {
	type pv struct{ p, v string }
	cases := []struct {
		file string
		want []pv
	}{
		{"a-b-c-1.0.tar.gz", []pv{{"a-b-c", "1.0"}}},
		{"foo-1.0-1.tar.gz", []pv{{"foo", "1.0-1"}, {"foo-1-0", "1"}}},
		{"python-dateutil-2.8.2.tar.gz", []pv{{"python-dateutil", "2.8.2"}}},
		{"pytz-2004d.tar.gz", []pv{{"pytz", "2004d"}}},
		{"foo-2-bar-3.tar.gz", []pv{{"foo-2-bar", "3"}, {"foo", "2-bar-3"}}},
		{"python-dateutil-2.8.2-py2.py3-none-any.whl", []pv{{"python", "dateutil"}, {"python-dateutil", "2.8.2"}}},
		{"foo-bar-1.0-py3-none-any.whl", []pv{{"foo", "bar"}, {"foo-bar", "1.0"}}},
		{"foo-1.0-1-py3-none-any.whl", []pv{{"foo", "1.0"}}},
		{"foo-v1.tar.gz", []pv{{"foo", "v1"}}},
		{"foo-1.0-py3-none-any.whl", []pv{{"foo", "1.0"}}},
		{"foo_bar-1.0-py2.7.egg", []pv{{"foo-bar", "1.0"}}},
		{"numpy-1.0.1.dev3460.win32-py2.4.exe", []pv{{"numpy", "1.0.1.dev3460"}}},
		{"foo.tar.gz", nil},
		{"foo-bar.tar.gz", nil},
		{"foo-1.0.html", nil},
	}
	for _, c := range cases {
		var got []pv
		for _, fi := range FilenameCandidates(c.file) {
			if fi.Filename != c.file {
				t.Errorf("%q: candidate filename %q", c.file, fi.Filename)
			}
			got = append(got, pv{fi.Project, fi.Version})
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("FilenameCandidates(%q) = %v, want %v", c.file, got, c.want)
		}
	}
}

func TestVersionKey(t *testing.T) {
	same := [][2]string{{"1.0", "1.0.0"}, {"1.0.0rc1", "1.0-RC.1"}, {"1.0-1", "1.0.post1"}, {"v2.0", "2"}, {"1!1.0", "1!1"}}
	for _, s := range same {
		if VersionKey(s[0]) != VersionKey(s[1]) {
			t.Errorf("VersionKey(%q)=%q != VersionKey(%q)=%q", s[0], VersionKey(s[0]), s[1], VersionKey(s[1]))
		}
	}
	diff := [][2]string{{"1.0", "1.0.1"}, {"2004d", "2004"}, {"1.0+cpu", "1.0"}, {"10", "1.0"}}
	for _, d := range diff {
		if VersionKey(d[0]) == VersionKey(d[1]) {
			t.Errorf("VersionKey(%q) == VersionKey(%q)", d[0], d[1])
		}
	}
}
