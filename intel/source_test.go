package intel

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// realRecords returns the raw JSON of the PyPA zip's records by id.
func realRecords(t testing.TB) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	eachZipEntry(t, filepath.Join(sharedOSV(t), "pypa-advisories.zip"), nil, func(name string, b []byte) {
		out[strings.TrimSuffix(filepath.Base(name), ".json")] = b
	})
	return out
}

// makeZip writes name -> content into a zip held in memory.
func makeZip(t testing.TB, files map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, b := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// toYAML converts an OSV JSON record to the PyPA YAML layout.
func toYAML(t testing.TB, js []byte) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(js, &m); err != nil {
		t.Fatal(err)
	}
	y, err := yaml.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return y
}

func TestPyPAYAMLSources(t *testing.T) {
	real := realRecords(t)
	ids := []string{"PYSEC-2018-28", "PYSEC-2023-262", "PYSEC-2021-335", "PYSEC-2021-370"}
	dir := t.TempDir()
	zipFiles := map[string][]byte{}
	for i, id := range ids {
		y := toYAML(t, real[id])
		sub := filepath.Join(dir, "vulns", "pkg"+string(rune('a'+i)))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(sub, id+".yaml"), y, 0o644); err != nil {
			t.Fatal(err)
		}
		zipFiles["advisory-database-main/vulns/x/"+id+".yaml"] = y
	}
	zipFiles["advisory-database-main/README.md"] = []byte("not a record")
	zipPath := filepath.Join(t.TempDir(), "pypa.zip")
	if err := os.WriteFile(zipPath, makeZip(t, zipFiles), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, loc := range []string{dir, zipPath} {
		recs, err := LoadPath(context.Background(), KindPyPA, loc)
		if err != nil {
			t.Fatalf("%s: %v", loc, err)
		}
		if len(recs) != len(ids) {
			t.Fatalf("%s: %d records", loc, len(recs))
		}
		s := Build(recs)
		for _, id := range ids {
			fromJSON, err := ParseOSV(real[id], "j")
			if err != nil {
				t.Fatal(err)
			}
			y := s.Lookup(id)
			if y == nil || y.CVSS3 != fromJSON.CVSS3 || y.Severity != fromJSON.Severity ||
				!y.Modified.Equal(fromJSON.Modified) || strings.Join(y.Aliases, ",") != strings.Join(fromJSON.Aliases, ",") {
				t.Errorf("%s: YAML record differs from JSON: %+v", id, y)
				continue
			}
			for _, a := range fromJSON.Affected {
				for _, ver := range append(a.Versions, a.Fixed...) {
					if y.Affects(a.Name, ver) != fromJSON.Affects(a.Name, ver) {
						t.Errorf("%s: %s@%s differs between YAML and JSON", id, a.Name, ver)
					}
				}
			}
		}
		if !containsID(s.Affecting("requests", "2.19.0"), "PYSEC-2018-28") || len(s.Affecting("requests", "2.20.0")) != 0 {
			t.Errorf("%s: requests matching wrong", loc)
		}
	}
}

func TestLoadPathRejectsDamage(t *testing.T) {
	real := realRecords(t)
	good := real["PYSEC-2018-28"]
	full, err := os.ReadFile(filepath.Join(sharedOSV(t), "pypa-advisories.zip"))
	if err != nil {
		t.Fatal(err)
	}
	badDir := t.TempDir()
	os.WriteFile(filepath.Join(badDir, "a.json"), good, 0o644)
	os.WriteFile(filepath.Join(badDir, "b.json"), []byte(`{"id": "X", "affected": [`), 0o644)

	write := func(b []byte) string {
		p := filepath.Join(t.TempDir(), "x.zip")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct{ name, kind, path string }{
		{"truncated zip", KindOSV, write(full[:len(full)/2])},
		{"not a zip", KindOSV, write([]byte("PK-ish garbage"))},
		{"zip with an invalid record", KindOSV, write(makeZip(t, map[string][]byte{"a.json": good, "b.json": good[:100]}))},
		{"zip without records", KindOSV, write(makeZip(t, map[string][]byte{"README": []byte("x")}))},
		{"folder with an invalid record", KindOSV, badDir},
		{"missing path", KindOSV, filepath.Join(badDir, "nope")},
		{"unknown kind", "nvd", badDir},
	}
	for _, c := range cases {
		if recs, err := LoadPath(context.Background(), c.kind, c.path); err == nil {
			t.Errorf("%s: loaded %d records without error", c.name, len(recs))
		}
	}
	// a single good record file loads.
	p := filepath.Join(t.TempDir(), "PYSEC-2018-28.json")
	os.WriteFile(p, good, 0o644)
	if recs, err := LoadPath(context.Background(), KindOSV, p); err != nil || len(recs) != 1 {
		t.Errorf("single file: %d %v", len(recs), err)
	}
}
