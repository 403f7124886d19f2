package intel

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// indexRow is one line of malicious/INDEX.tsv.
type indexRow struct {
	id, pkg, style string
	nversions      int
	withdrawn      bool
}

func readIndex(t *testing.T, dir string) []indexRow {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "INDEX.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	var rows []indexRow
	for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if i == 0 {
			continue // header
		}
		f := strings.Split(line, "\t")
		if len(f) < 5 {
			t.Fatalf("INDEX.tsv line %d: %q", i+1, line)
		}
		n, err := strconv.Atoi(f[3])
		if err != nil {
			t.Fatalf("INDEX.tsv line %d: %v", i+1, err)
		}
		rows = append(rows, indexRow{id: f[0], pkg: f[1], style: f[2], nversions: n, withdrawn: f[4] == "yes"})
	}
	return rows
}

// rawVersions reads the top-level affected versions of a record file
// independently of the loader.
func rawVersions(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Affected []struct {
			Versions []string `json:"versions"`
		} `json:"affected"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range r.Affected {
		out = append(out, a.Versions...)
	}
	return out
}

func TestMaliciousFolder(t *testing.T) {
	dir := filepath.Join(sharedOSV(t), "malicious")
	recs, err := LoadPath(context.Background(), KindOSV, dir)
	if err != nil {
		t.Fatal(err)
	}
	rows := readIndex(t, dir)
	if len(recs) != len(rows) || len(rows) != 92 {
		t.Fatalf("loaded %d records, INDEX.tsv lists %d (want 92)", len(recs), len(rows))
	}
	s := Build(recs)
	withdrawn := 0
	for _, row := range rows {
		v := s.Lookup(row.id)
		if v == nil {
			t.Errorf("%s: not found", row.id)
			continue
		}
		if !v.Malicious {
			t.Errorf("%s: not flagged malicious", row.id)
		}
		if v.IsWithdrawn() != row.withdrawn {
			t.Errorf("%s: withdrawn = %v, INDEX says %v", row.id, v.IsWithdrawn(), row.withdrawn)
		}
		versions := rawVersions(t, filepath.Join(dir, row.id+".json"))
		if len(versions) != row.nversions {
			t.Errorf("%s: %d versions in file, INDEX says %d", row.id, len(versions), row.nversions)
		}
		if row.withdrawn {
			withdrawn++
			for _, ver := range append(versions, "999.0") {
				if v.Affects(row.pkg, ver) || len(s.Affecting(row.pkg, ver)) != 0 {
					t.Errorf("withdrawn %s matches %s@%s", row.id, row.pkg, ver)
				}
			}
			if len(s.ForName(row.pkg)) != 0 {
				t.Errorf("withdrawn %s listed by ForName(%s)", row.id, row.pkg)
			}
			continue
		}
		for _, ver := range versions {
			if !containsID(s.Affecting(row.pkg, ver), row.id) {
				t.Errorf("%s does not affect %s@%s", row.id, row.pkg, ver)
			}
		}
		if !containsID(s.ForName(strings.ToUpper(row.pkg)), row.id) {
			t.Errorf("ForName(%s) misses %s", row.pkg, row.id)
		}
		// every-version records (style "both": introduced "0" with no end)
		// cover versions that do not exist yet; the others do not.
		future := v.Affects(row.pkg, "999.0")
		if want := row.style == "both"; future != want {
			t.Errorf("%s (%s) affects %s@999.0 = %v, want %v", row.id, row.style, row.pkg, future, want)
		}
		if row.style == "both" && !v.Affects(row.pkg, "not-a-pep440-version") {
			t.Errorf("%s: introduced 0 without end must cover a non-PEP 440 version", row.id)
		}
	}
	if withdrawn != 3 {
		t.Errorf("withdrawn records = %d, want 3", withdrawn)
	}
}

func containsID(vs []*Vuln, id string) bool {
	for _, v := range vs {
		if v.ID == id {
			return true
		}
	}
	return false
}
