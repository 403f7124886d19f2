package fakepypi

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/blake2b"
)

func TestFilesHost(t *testing.T) {
	s := demo(t, Options{})
	tests := []struct {
		filename, ctype, pkgType, pyver string
	}{
		{"foo_bar-2.0-py3-none-any.whl", "application/octet-stream", "bdist_wheel", "py3"},
		{"foo_bar-1.0.tar.gz", "application/x-tar", "sdist", "source"},
	}
	for _, tc := range tests {
		t.Run(tc.filename, func(t *testing.T) {
			f := s.File(tc.filename)
			u := s.FileURL(f)
			resp, body := fetch(t, s, "GET", u, map[string]string{"Accept-Encoding": "gzip", "If-None-Match": `"` + f.MD5 + `"`})
			if resp.StatusCode != 200 {
				t.Fatalf("status %d (the files host never answers 304)", resp.StatusCode)
			}
			if sum := sha256.Sum256(body); hex.EncodeToString(sum[:]) != f.SHA256 || len(body) != f.Size() {
				t.Errorf("body does not match the advertised sha256/size")
			}
			want := map[string]string{
				"Cache-Control":              "max-age=365000000, immutable, public",
				"Accept-Ranges":              "bytes",
				"Content-Type":               tc.ctype,
				"ETag":                       `"` + f.MD5 + `"`,
				"Content-Length":             strconv.Itoa(f.Size()),
				"Content-Encoding":           "",
				"X-Pypi-File-Project":        "foo-bar",
				"X-Pypi-File-Version":        f.Version,
				"X-Pypi-File-Package-Type":   tc.pkgType,
				"X-Pypi-File-Python-Version": tc.pyver,
			}
			for h, v := range want {
				if got := resp.Header.Get(h); got != v {
					t.Errorf("%s = %q, want %q", h, got, v)
				}
			}
			if resp.Header.Get("Last-Modified") == "" {
				t.Errorf("no Last-Modified")
			}
			ranges := []struct {
				spec       string
				status     int
				from, to   int
				contentRng string
			}{
				{"bytes=0-9", 206, 0, 10, "bytes 0-9/" + strconv.Itoa(f.Size())},
				{"bytes=-16", 206, f.Size() - 16, f.Size(), "bytes " + strconv.Itoa(f.Size()-16) + "-" + strconv.Itoa(f.Size()-1) + "/" + strconv.Itoa(f.Size())},
				{"bytes=10-", 206, 10, f.Size(), "bytes 10-" + strconv.Itoa(f.Size()-1) + "/" + strconv.Itoa(f.Size())},
				{"bytes=999999-", 416, 0, 0, "bytes */" + strconv.Itoa(f.Size())},
			}
			for _, r := range ranges {
				resp, part := fetch(t, s, "GET", u, map[string]string{"Range": r.spec})
				if resp.StatusCode != r.status || resp.Header.Get("Content-Range") != r.contentRng {
					t.Errorf("Range %s: %d %q", r.spec, resp.StatusCode, resp.Header.Get("Content-Range"))
					continue
				}
				if r.status == 206 && !bytes.Equal(part, body[r.from:r.to]) {
					t.Errorf("Range %s: wrong bytes", r.spec)
				}
			}
		})
	}
}

func TestMetadataFile(t *testing.T) {
	s := demo(t, Options{})
	f := s.File("foo_bar-2.0-py3-none-any.whl")
	tests := []struct {
		acceptEncoding string
		gzipped        bool
	}{
		{"", false},
		{"gzip", true},
		{"gzip, deflate", false}, // files.vcl compresses only for exactly "gzip"
		{"br", false},
	}
	for _, tc := range tests {
		resp, body := fetch(t, s, "GET", s.FileURL(f)+".metadata", map[string]string{"Accept-Encoding": tc.acceptEncoding})
		if resp.StatusCode != 200 || resp.Header.Get("Vary") != "Accept-Encoding" {
			t.Fatalf("%q: status %d Vary %q", tc.acceptEncoding, resp.StatusCode, resp.Header.Get("Vary"))
		}
		if (resp.Header.Get("Content-Encoding") == "gzip") != tc.gzipped {
			t.Errorf("%q: Content-Encoding %q", tc.acceptEncoding, resp.Header.Get("Content-Encoding"))
		}
		if tc.gzipped {
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			body, _ = io.ReadAll(zr)
		}
		if !bytes.Equal(body, f.Metadata) {
			t.Errorf("%q: metadata body %q", tc.acceptEncoding, body)
		}
	}
	for _, want := range []string{"Metadata-Version: 2.1\n", "Name: Foo.Bar\n", "Version: 2.0\n", "Requires-Python: >=3.8\n", "Requires-Dist: dep-one>=1\n"} {
		if !strings.Contains(string(f.Metadata), want) {
			t.Errorf("metadata lacks %q", want)
		}
	}
}

func readZip(t *testing.T, data []byte) map[string][]byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, zf := range zr.File {
		rc, _ := zf.Open()
		out[zf.Name], _ = io.ReadAll(rc)
		rc.Close()
	}
	return out
}

func TestGeneratedWheel(t *testing.T) {
	tests := []struct {
		name, project, version string
		spec                   FileSpec
		filename, module       string
		tag                    string
	}{
		{"default", "Foo.Bar", "1.0", FileSpec{}, "foo_bar-1.0-py3-none-any.whl", "foo_bar", "py3-none-any"},
		{"tags and build", "my-pkg", "2.0.post1", FileSpec{PythonTag: "cp311", ABITag: "cp311", PlatformTag: "manylinux_2_17_x86_64", BuildTag: "1"}, "my_pkg-2.0.post1-1-cp311-cp311-manylinux_2_17_x86_64.whl", "my_pkg", "cp311-cp311-manylinux_2_17_x86_64"},
		{"custom module", "python-thing", "0.1", FileSpec{Module: "thing"}, "python_thing-0.1-py3-none-any.whl", "thing", "py3-none-any"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := buildFile(tc.project, tc.version, tc.spec, archiveTime)
			if err != nil {
				t.Fatal(err)
			}
			if f.Filename != tc.filename {
				t.Errorf("filename %s, want %s", f.Filename, tc.filename)
			}
			b2 := blake2b.Sum256(f.Data)
			h := hex.EncodeToString(b2[:])
			if f.Path != "/packages/"+h[:2]+"/"+h[2:4]+"/"+h[4:]+"/"+tc.filename || len(h[4:]) != 60 {
				t.Errorf("path %s is not the blake2b-256 layout", f.Path)
			}
			files := readZip(t, f.Data)
			distInfo := DistName(tc.project) + "-" + tc.version + ".dist-info/"
			if got := string(files[tc.module+"/__init__.py"]); got != `__version__ = "`+tc.version+`"`+"\n" {
				t.Errorf("__init__.py = %q", got)
			}
			if !bytes.Equal(files[distInfo+"METADATA"], f.Metadata) {
				t.Errorf("METADATA differs from the served .metadata")
			}
			if !strings.Contains(string(files[distInfo+"WHEEL"]), "Tag: "+tc.tag+"\n") {
				t.Errorf("WHEEL = %q", files[distInfo+"WHEEL"])
			}
			// Every RECORD line must carry the right urlsafe-b64 sha256 and size.
			record := strings.Split(strings.TrimSpace(string(files[distInfo+"RECORD"])), "\n")
			if len(record) != len(files) {
				t.Errorf("RECORD has %d lines for %d files", len(record), len(files))
			}
			for _, line := range record {
				parts := strings.Split(line, ",")
				if parts[0] == distInfo+"RECORD" {
					if parts[1] != "" || parts[2] != "" {
						t.Errorf("RECORD self-entry %q", line)
					}
					continue
				}
				data, ok := files[parts[0]]
				if !ok || parts[1] != recordHash(data) || parts[2] != strconv.Itoa(len(data)) {
					t.Errorf("bad RECORD line %q", line)
				}
			}
			again, _ := buildFile(tc.project, tc.version, tc.spec, archiveTime)
			if again.SHA256 != f.SHA256 {
				t.Errorf("wheel build is not deterministic")
			}
		})
	}
}

func TestGeneratedSdist(t *testing.T) {
	f, err := buildFile("Foo.Bar", "1.2", FileSpec{Kind: Sdist, RequiresPython: ">=3.7", RequiresDist: []string{"dep-one>=1", "two"}}, archiveTime)
	if err != nil {
		t.Fatal(err)
	}
	if f.Filename != "foo_bar-1.2.tar.gz" || f.Metadata != nil || f.PythonVersion != "source" {
		t.Errorf("sdist file %s metadata=%v pyver=%s", f.Filename, f.Metadata != nil, f.PythonVersion)
	}
	zr, err := gzip.NewReader(bytes.NewReader(f.Data))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	files := map[string]string{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.ModTime.Year() < 1980 {
			t.Errorf("%s has mtime %v; zip (and so bdist_wheel) rejects pre-1980 dates", h.Name, h.ModTime)
		}
		data, _ := io.ReadAll(tr)
		files[h.Name] = string(data)
	}
	want := map[string][]string{
		"foo_bar-1.2/PKG-INFO":            {"Metadata-Version: 2.1\n", "Name: Foo.Bar\n", "Version: 1.2\n", "Requires-Python: >=3.7\n", "Requires-Dist: two\n"},
		"foo_bar-1.2/pyproject.toml":      {`requires = ["setuptools>=40.8.0"]`, `build-backend = "setuptools.build_meta"`},
		"foo_bar-1.2/setup.cfg":           {"name = Foo.Bar\n", "version = 1.2\n", "packages = foo_bar\n", "python_requires = >=3.7\n", "install_requires =\n    dep-one>=1\n    two\n"},
		"foo_bar-1.2/foo_bar/__init__.py": {`__version__ = "1.2"`},
	}
	for name, parts := range want {
		content, ok := files[name]
		if !ok {
			t.Errorf("sdist lacks %s (has %v)", name, files)
			continue
		}
		for _, p := range parts {
			if !strings.Contains(content, p) {
				t.Errorf("%s lacks %q:\n%s", name, p, content)
			}
		}
	}
}

func TestLegacyJSONAPI(t *testing.T) {
	s := demo(t, Options{})
	s.AddProject("Picker", NewRelease("1.0", FileSpec{RequiresPython: ">=3.8", RequiresDist: []string{"dep-one>=1"}}),
		Release{Version: "1.5", Files: []FileSpec{{}}, Yanked: "x"}, NewRelease("3.0rc1", FileSpec{}))
	type file struct {
		Filename    string            `json:"filename"`
		Digests     map[string]string `json:"digests"`
		PackageType string            `json:"packagetype"`
		PyVersion   string            `json:"python_version"`
		Size        int               `json:"size"`
		URL         string            `json:"url"`
		Yanked      bool              `json:"yanked"`
		Reason      *string           `json:"yanked_reason"`
		UploadISO   string            `json:"upload_time_iso_8601"`
	}
	type doc struct {
		Info struct {
			Name         string   `json:"name"`
			Version      string   `json:"version"`
			RequiresDist []string `json:"requires_dist"`
			RequiresPy   string   `json:"requires_python"`
			Yanked       bool     `json:"yanked"`
		} `json:"info"`
		LastSerial      int64             `json:"last_serial"`
		Releases        map[string][]file `json:"releases"`
		URLs            []file            `json:"urls"`
		Vulnerabilities []any             `json:"vulnerabilities"`
		Raw             map[string]any    `json:"-"`
	}
	tests := []struct {
		path, version string
		releases      bool
		nURLs         int
	}{
		// warehouse's latest query does not look at files: 4.0 (no files) wins.
		{"/pypi/foo-bar/json", "4.0", true, 0},
		// 3.0rc1 is a pre-release, 1.5 is yanked: latest is 1.0.
		{"/pypi/picker/json", "1.0", true, 1},
		{"/pypi/foo-bar/1.0/json", "1.0", false, 2},
		{"/pypi/foo-bar/2.5/json", "2.5", false, 1},
		{"/pypi/foo-bar/1.0.0/json", "1.0", false, 2},
	}
	for _, tc := range tests {
		resp, body := fetch(t, s, "GET", s.IndexURL()+tc.path, nil)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" || resp.Header.Get("Cache-Control") != "max-age=900, public" {
			t.Fatalf("%s: %d %q %q", tc.path, resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"))
		}
		var d doc
		if err := jsonUnmarshal(body, &d); err != nil {
			t.Fatal(err)
		}
		var raw map[string]any
		jsonUnmarshal(body, &raw)
		if _, has := raw["releases"]; has != tc.releases {
			t.Errorf("%s: releases present=%v", tc.path, has)
		}
		if d.Info.Version != tc.version || Normalize(d.Info.Name) != strings.Split(tc.path, "/")[2] || len(d.URLs) != tc.nURLs || d.Vulnerabilities == nil || d.LastSerial == 0 {
			t.Errorf("%s: info %+v, %d urls", tc.path, d.Info, len(d.URLs))
		}
		if strconv.FormatInt(d.LastSerial, 10) != resp.Header.Get("X-PyPI-Last-Serial") {
			t.Errorf("%s: last_serial %d vs header %s", tc.path, d.LastSerial, resp.Header.Get("X-PyPI-Last-Serial"))
		}
		for _, u := range d.URLs {
			f := s.File(u.Filename)
			if f == nil || u.Digests["sha256"] != f.SHA256 || u.Digests["md5"] != f.MD5 || u.Digests["blake2b_256"] != f.Blake2b256 || u.URL != s.FileURL(f) || u.Size != f.Size() || u.PackageType != string(f.Kind) || u.PyVersion != f.PythonVersion || u.UploadISO == "" {
				t.Errorf("%s: file entry %+v", tc.path, u)
			}
			if u.Yanked != f.Yanked || (u.Reason == nil) == f.Yanked {
				t.Errorf("%s: yank fields %v %v", tc.path, u.Yanked, u.Reason)
			}
		}
		if tc.path == "/pypi/foo-bar/json" && (len(d.Releases) != 6 || len(d.Releases["4.0"]) != 0 || len(d.Releases["1.0"]) != 2) {
			t.Errorf("releases: %v", d.Releases)
		}
		if tc.path == "/pypi/picker/json" && (d.Info.RequiresPy != ">=3.8" || len(d.Info.RequiresDist) != 1 || len(d.Releases) != 3) {
			t.Errorf("picker: info %+v releases %v", d.Info, d.Releases)
		}
	}
}

func TestRuntimeChanges(t *testing.T) {
	s := demo(t, Options{})
	serial := s.Serial()
	if !s.Yank("foo-bar", "2.0", true, "cve") {
		t.Fatal("yank failed")
	}
	_, body := fetch(t, s, "GET", s.IndexURL()+"/simple/foo-bar/", nil)
	if !strings.Contains(string(body), `data-yanked="cve"`) || s.Serial() <= serial {
		t.Errorf("yank not visible or serial unchanged")
	}
	whl := s.File("foo_bar-1.0-py3-none-any.whl")
	if !s.RemoveRelease("Foo.Bar", "1.0") {
		t.Fatal("remove failed")
	}
	_, body = fetch(t, s, "GET", s.IndexURL()+"/simple/foo-bar/", nil)
	if strings.Contains(string(body), "foo_bar-1.0") {
		t.Errorf("removed release still listed")
	}
	if resp, _ := fetch(t, s, "GET", s.FileURL(whl), nil); resp.StatusCode != 404 {
		t.Errorf("removed file still served: %d", resp.StatusCode)
	}
	s.AddProject("foo-bar", NewRelease("5.0", FileSpec{}))
	_, body = fetch(t, s, "GET", s.IndexURL()+"/simple/foo-bar/", nil)
	if !strings.Contains(string(body), "foo_bar-5.0-py3-none-any.whl") || strings.Contains(string(body), "Links for Foo") {
		t.Errorf("added release missing")
	}
	if !s.RemoveProject("FOO_BAR") {
		t.Fatal("remove project failed")
	}
	if resp, _ := fetch(t, s, "GET", s.IndexURL()+"/simple/foo-bar/", nil); resp.StatusCode != 404 {
		t.Errorf("removed project: %d", resp.StatusCode)
	}
}
