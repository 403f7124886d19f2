package pypi

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func legacyFile(name, version, iso string, yanked bool) string {
	return `{"comment_text":"","digests":{"blake2b_256":"bb","md5":"mm","sha256":"sha-` + name + `"},"downloads":-1,"filename":"` + name +
		`","has_sig":false,"md5_digest":"mm","packagetype":"sdist","python_version":"source","requires_python":">=3.8","size":123,` +
		`"upload_time":"` + strings.TrimSuffix(iso, "Z")[:19] + `","upload_time_iso_8601":"` + iso + `","url":"https://files.pythonhosted.org/packages/aa/bb/cc/` + name +
		`","yanked":` + map[bool]string{true: "true", false: "false"}[yanked] + `,"yanked_reason":null}`
}

var legacyDoc = `{"info":{"name":"Demo","version":"2.0","summary":"<b>&</b>","x-unknown":[1,2]},"last_serial":42,"releases":{` +
	`"1.0":[` + legacyFile("demo-1.0.tar.gz", "1.0", "2020-01-01T00:00:00.123456Z", false) + `],` +
	`"2.0":[` + legacyFile("demo-2.0.tar.gz", "2.0", "2021-01-01T00:00:00.000001Z", false) + `,` + legacyFile("demo-2.0-py3-none-any.whl", "2.0", "2021-01-01T00:00:01Z", false) + `],` +
	`"3.0a1":[]},` +
	`"urls":[` + legacyFile("demo-2.0.tar.gz", "2.0", "2021-01-01T00:00:00.000001Z", false) + `,` + legacyFile("demo-2.0-py3-none-any.whl", "2.0", "2021-01-01T00:00:01Z", false) + `],` +
	`"vulnerabilities":[{"id":"X"}]}`

func TestFilterJSONAPI(t *testing.T) {
	var seen []string
	var files20 []IndexFile
	decide := func(remove ...string) func(r *JSONAPIRelease) Edit {
		return func(r *JSONAPIRelease) Edit {
			seen = append(seen, r.Version)
			if r.Version == "2.0" {
				files20 = r.Files
			}
			for _, v := range remove {
				if v == r.Version {
					return Edit{Action: Remove}
				}
			}
			if r.Version == "1.0" {
				return Edit{Action: Mark, Reason: "old & bad"}
			}
			return Edit{}
		}
	}
	out, err := FilterJSONAPI([]byte(legacyDoc), "demo", decide(), testMapper{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(seen, []string{"1.0", "2.0", "3.0a1"}) {
		t.Fatalf("decide calls: %v", seen)
	}
	want := IndexFile{Filename: "demo-2.0.tar.gz", URL: "https://files.pythonhosted.org/packages/aa/bb/cc/demo-2.0.tar.gz", Version: "2.0",
		Type: TypeSdist, Sha256: "sha-demo-2.0.tar.gz", UploadTime: time.Date(2021, 1, 1, 0, 0, 0, 1000, time.UTC), RequiresPython: ">=3.8", Size: 123}
	if len(files20) != 2 || files20[0] != want {
		t.Fatalf("release 2.0 files: %+v", files20)
	}
	var doc struct {
		Info     map[string]any              `json:"info"`
		Releases map[string][]map[string]any `json:"releases"`
		URLs     []map[string]any            `json:"urls"`
		Vulns    []any                       `json:"vulnerabilities"`
		Serial   int                         `json:"last_serial"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Info["summary"] != "<b>&</b>" || doc.Serial != 42 || len(doc.Vulns) != 1 || doc.Info["x-unknown"] == nil {
		t.Fatalf("unknown keys lost: %s", out)
	}
	if !strings.Contains(string(out), `"summary":"<b>&</b>"`) {
		t.Fatalf("HTML characters escaped: %s", out)
	}
	r1 := doc.Releases["1.0"][0]
	if r1["yanked"] != true || r1["yanked_reason"] != "old & bad" || r1["url"] != "/proxy/packages/aa/bb/cc/demo-1.0.tar.gz" {
		t.Fatalf("marked release: %v", r1)
	}
	if len(doc.URLs) != 2 || doc.URLs[1]["url"] != "/proxy/packages/aa/bb/cc/demo-2.0-py3-none-any.whl" {
		t.Fatalf("urls: %v", doc.URLs)
	}
	if _, ok := doc.Releases["3.0a1"]; !ok {
		t.Fatal("release without files dropped")
	}

	// removing the latest release empties urls and drops it from releases
	seen = nil
	out, err = FilterJSONAPI([]byte(legacyDoc), "demo", decide("2.0"), nil)
	if err != nil {
		t.Fatal(err)
	}
	doc.Releases, doc.URLs = nil, nil
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	if _, ok := doc.Releases["2.0"]; ok || len(doc.URLs) != 0 || !strings.Contains(string(out), `"urls":[]`) || len(doc.Releases) != 2 {
		t.Fatalf("removal: %s", out)
	}
	if !reflect.DeepEqual(seen, []string{"1.0", "2.0", "3.0a1"}) {
		t.Fatalf("decide called again for urls: %v", seen)
	}

	// the mapper refusing a link drops that file
	out, err = FilterJSONAPI([]byte(legacyDoc), "demo", decide(), mapFunc(func(h string) (string, bool) { return h, !strings.HasSuffix(h, ".whl") }))
	if err != nil || strings.Contains(string(out), "demo-2.0-py3-none-any.whl") || !strings.Contains(string(out), "demo-2.0.tar.gz") {
		t.Fatalf("refused link kept: %v %s", err, out)
	}
}

func TestFilterJSONAPIVersionEndpoint(t *testing.T) {
	doc := `{"info":{"version":"2.0"},"urls":[` + legacyFile("demo-2.0.tar.gz", "2.0", "2021-01-01T00:00:00Z", false) + `]}`
	_, err := FilterJSONAPI([]byte(doc), "demo", func(r *JSONAPIRelease) Edit {
		if r.Version != "2.0" || len(r.Files) != 1 {
			t.Fatalf("release %+v", r)
		}
		return Edit{Action: Remove}
	}, nil)
	if !errors.Is(err, ErrReleaseRemoved) {
		t.Fatalf("want ErrReleaseRemoved, got %v", err)
	}
	out, err := FilterJSONAPI([]byte(doc), "demo", func(*JSONAPIRelease) Edit { return Edit{} }, nil)
	if err != nil || !strings.Contains(string(out), `"filename":"demo-2.0.tar.gz"`) {
		t.Fatalf("keep: %v %s", err, out)
	}
	for _, bad := range []string{``, `[]`, `{"urls":{}}`, `{"releases":[]}`, `{"info":[]}`, `{} {}`} {
		if _, err := FilterJSONAPI([]byte(bad), "demo", func(*JSONAPIRelease) Edit { return Edit{} }, nil); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestUploadTimes(t *testing.T) {
	got, err := UploadTimes([]byte(legacyDoc))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]time.Time{
		"demo-1.0.tar.gz":           time.Date(2020, 1, 1, 0, 0, 0, 123456000, time.UTC),
		"demo-2.0.tar.gz":           time.Date(2021, 1, 1, 0, 0, 0, 1000, time.UTC),
		"demo-2.0-py3-none-any.whl": time.Date(2021, 1, 1, 0, 0, 1, 0, time.UTC),
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v", got)
	}
	naive := `{"urls":[{"filename":"a-1.tar.gz","upload_time":"2019-05-06T07:08:09"},{"filename":"b-1.tar.gz","upload_time_iso_8601":"2019-05-06T07:08:09+02:00"}]}`
	got, err = UploadTimes([]byte(naive))
	if err != nil || !got["a-1.tar.gz"].Equal(time.Date(2019, 5, 6, 7, 8, 9, 0, time.UTC)) || !got["b-1.tar.gz"].Equal(time.Date(2019, 5, 6, 5, 8, 9, 0, time.UTC)) {
		t.Fatalf("naive: %v %v", got, err)
	}
	if _, err := UploadTimes([]byte(`{"urls":`)); err == nil {
		t.Fatal("truncated accepted")
	}
}
