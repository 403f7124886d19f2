package pypi

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

const (
	jf1   = `{"core-metadata":false,"data-dist-info-metadata":false,"filename":"demo-1.0.tar.gz","hashes":{"sha256":"1111"},"provenance":null,"requires-python":null,"size":100,"upload-time":"2020-01-02T03:04:05.678901Z","url":"https://files.pythonhosted.org/packages/aa/bb/cccc/demo-1.0.tar.gz","yanked":false}`
	jf2   = `{"core-metadata":{"sha256":"3333"},"data-dist-info-metadata":{"sha256":"3333"},"filename":"demo-2.0-py3-none-any.whl","hashes":{"sha256":"2222"},"provenance":"https://pypi.org/integrity/demo/2.0/demo-2.0-py3-none-any.whl/provenance","requires-python":">=3.8","size":2000,"upload-time":"2021-01-02T03:04:05.000001Z","url":"https://files.pythonhosted.org/packages/aa/bb/dddd/demo-2.0-py3-none-any.whl","yanked":false}`
	jf3   = `{"core-metadata":false,"data-dist-info-metadata":false,"filename":"demo-2.0.tar.gz","hashes":{"sha256":"4444"},"provenance":null,"requires-python":">=3.8","size":300,"upload-time":"2021-01-03T03:04:05.000000Z","url":"https://files.pythonhosted.org/packages/aa/bb/eeee/demo-2.0.tar.gz","yanked":"broken \u0026 bad"}`
	jtail = `],"meta":{"_last-serial":22406780,"api-version":"1.4"},"name":"Demo","project-status":{"status":"active"},"versions":["1.0","2.0"]}` + "\n"
)

var warehouseJSON = `{"files":[` + jf1 + "," + jf2 + "," + jf3 + jtail

func TestJSONWarehouseRender(t *testing.T) {
	pre := `{"files":[`
	mapped := func(s string) string {
		return strings.ReplaceAll(s, `"url":"https://files.pythonhosted.org/`, `"url":"/proxy/`)
	}
	cases := []struct {
		name   string
		edits  []Edit
		mapper LinkMapper
		want   string
	}{
		{"identity", nil, identity, warehouseJSON},
		{"remove only file of 1.0 drops the version", []Edit{{Action: Remove}}, nil,
			pre + jf2 + "," + jf3 + strings.Replace(jtail, `["1.0","2.0"]`, `["2.0"]`, 1)},
		{"remove one of two 2.0 files keeps the version", []Edit{{}, {Action: Remove}}, nil,
			pre + jf1 + "," + jf3 + jtail},
		{"remove last", []Edit{{}, {}, {Action: Remove}}, nil, pre + jf1 + "," + jf2 + jtail},
		{"remove all 2.0", []Edit{{}, {Action: Remove}, {Action: Remove}}, nil,
			pre + jf1 + strings.Replace(jtail, `["1.0","2.0"]`, `["1.0"]`, 1)},
		{"remove everything", []Edit{{Action: Remove}, {Action: Remove}, {Action: Remove}}, nil,
			pre + strings.Replace(jtail, `["1.0","2.0"]`, `[]`, 1)},
		{"mark", []Edit{{}, {Action: Mark, Reason: `CVE "1"`}}, nil,
			pre + jf1 + "," + strings.NewReplacer(`"core-metadata":{"sha256":"3333"}`, `"core-metadata":false`,
				`"data-dist-info-metadata":{"sha256":"3333"}`, `"data-dist-info-metadata":false`,
				`"yanked":false`, `"yanked":"CVE \"1\""`).Replace(jf2) + "," + jf3 + jtail},
		{"mark empty reason", []Edit{{Action: Mark}}, nil,
			pre + strings.Replace(jf1, `"yanked":false`, `"yanked":true`, 1) + "," + jf2 + "," + jf3 + jtail},
		{"map", nil, testMapper{}, mapped(warehouseJSON)},
		{"mapper refuses all 2.0", nil, mapFunc(func(h string) (string, bool) { return h, strings.Contains(h, "1.0") }),
			pre + jf1 + strings.Replace(jtail, `["1.0","2.0"]`, `["1.0"]`, 1)},
		{"map and mark", []Edit{{}, {}, {Action: Mark, Reason: "x"}}, testMapper{},
			mapped(pre + jf1 + "," + jf2 + "," + strings.Replace(jf3, `"yanked":"broken \u0026 bad"`, `"yanked":"x"`, 1) + jtail)},
		{"mapper escapes", []Edit{{Action: Remove}, {Action: Remove}}, mapFunc(func(h string) (string, bool) { return h + "\"\\\n<", true }),
			pre + strings.Replace(jf3, `demo-2.0.tar.gz","yanked"`, `demo-2.0.tar.gz\"\\\n<","yanked"`, 1) +
				strings.Replace(jtail, `["1.0","2.0"]`, `["2.0"]`, 1)},
	}
	for _, c := range cases {
		ix, err := ParseIndex([]byte(warehouseJSON), FormatJSON, "demo")
		if err != nil {
			t.Fatal(err)
		}
		got, err := ix.Render(nil, c.edits, c.mapper)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if string(got) != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, got, c.want)
		}
		if !json.Valid(got) {
			t.Errorf("%s: output is not valid JSON", c.name)
		}
	}
}

func TestJSONFields(t *testing.T) {
	ix, err := ParseIndex([]byte(warehouseJSON), FormatJSON, "demo")
	if err != nil {
		t.Fatal(err)
	}
	if ix.ProjectStatus != "active" || ix.Name != "Demo" || strings.Join(ix.Versions, ",") != "1.0,2.0" || len(ix.Files) != 3 {
		t.Fatalf("index: %+v", ix)
	}
	type want struct {
		filename, version, sha, reqPy, reason string
		yanked, meta                          bool
		size                                  int64
		upload                                time.Time
	}
	wants := []want{
		{"demo-1.0.tar.gz", "1.0", "1111", "", "", false, false, 100, time.Date(2020, 1, 2, 3, 4, 5, 678901000, time.UTC)},
		{"demo-2.0-py3-none-any.whl", "2.0", "2222", ">=3.8", "", false, true, 2000, time.Date(2021, 1, 2, 3, 4, 5, 1000, time.UTC)},
		{"demo-2.0.tar.gz", "2.0", "4444", ">=3.8", "broken & bad", true, false, 300, time.Date(2021, 1, 3, 3, 4, 5, 0, time.UTC)},
	}
	for i, w := range wants {
		f := ix.Files[i]
		got := want{f.Filename, f.Version, f.Sha256, f.RequiresPython, f.YankedReason, f.Yanked, f.HasMetadata, f.Size, f.UploadTime}
		if got != w || f.ParseErr != nil {
			t.Errorf("file %d: %+v (err %v), want %+v", i, got, f.ParseErr, w)
		}
	}
}

func TestJSONPrettyAndOrder(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal([]byte(warehouseJSON), &doc); err != nil {
		t.Fatal(err)
	}
	doc["unknown"] = map[string]any{"nested": []any{1.5, "x", nil}}
	doc["files"].([]any)[0].(map[string]any)["x-private"] = "keep"
	pretty, _ := json.MarshalIndent(doc, "", "  ")
	ix, err := ParseIndex(pretty, FormatJSON, "demo")
	if err != nil {
		t.Fatal(err)
	}
	if out, _ := ix.Render(nil, nil, identity); !bytes.Equal(out, pretty) {
		t.Fatalf("identity differs")
	}
	out, _ := ix.Render(nil, []Edit{{Action: Remove}, {Action: Mark, Reason: "r"}}, nil)
	var got map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("invalid JSON after edit: %v\n%s", err, out)
	}
	files := got["files"].([]any)
	if len(files) != 2 || files[0].(map[string]any)["yanked"] != "r" || files[0].(map[string]any)["core-metadata"] != false ||
		files[0].(map[string]any)["data-dist-info-metadata"] != false || files[1].(map[string]any)["filename"] != "demo-2.0.tar.gz" {
		t.Fatalf("files: %v", files)
	}
	if _, ok := files[0].(map[string]any)["dist-info-metadata"]; ok {
		t.Fatal("dist-info-metadata added")
	}
	if v := got["versions"].([]any); len(v) != 1 || v[0] != "2.0" {
		t.Fatalf("versions: %v", v)
	}
	if got["unknown"] == nil || !strings.Contains(string(out), "\n  \"unknown\": {\n    \"nested\": [\n      1.5,") {
		t.Fatalf("unknown key not kept byte-exact:\n%s", out)
	}
	// Removing the first and keeping formatting: the pretty separators stay.
	if !strings.Contains(string(out), "\"files\": [\n    {\n      \"core-metadata\": false,") {
		t.Fatalf("pretty layout lost:\n%s", out)
	}
}

func TestJSONVariants(t *testing.T) {
	cases := []struct {
		name, page string
		edits      []Edit
		want       string
	}{
		{"API 1.0 without versions",
			`{"meta":{"api-version":"1.0"},"name":"demo","files":[{"filename":"demo-1.0.tar.gz","url":"demo-1.0.tar.gz","hashes":{}},{"filename":"demo-2.0.tar.gz","url":"demo-2.0.tar.gz","hashes":{}}]}`,
			[]Edit{{Action: Remove}},
			`{"meta":{"api-version":"1.0"},"name":"demo","files":[{"filename":"demo-2.0.tar.gz","url":"demo-2.0.tar.gz","hashes":{}}]}`},
		{"versions before files",
			`{"versions":["1.0", "2.0"], "files":[ {"filename":"demo-1.0.tar.gz","url":"demo-1.0.tar.gz","hashes":{}} , {"filename":"demo-2.0.tar.gz","url":"demo-2.0.tar.gz","hashes":{}} ] }`,
			[]Edit{{}, {Action: Remove}},
			`{"versions":["1.0"], "files":[ {"filename":"demo-1.0.tar.gz","url":"demo-1.0.tar.gz","hashes":{}} ] }`},
		{"versions matched by PEP 440 equality",
			`{"files":[{"filename":"demo-1.0.0rc1.tar.gz","url":"demo-1.0.0rc1.tar.gz","hashes":{}}],"versions":["1.0rc1","1.0"]}`,
			[]Edit{{Action: Remove}},
			`{"files":[],"versions":["1.0"]}`},
		{"version with no files stays",
			`{"files":[{"filename":"demo-1.0.tar.gz","url":"demo-1.0.tar.gz","hashes":{}}],"versions":["0.9","1.0"]}`,
			[]Edit{{Action: Remove}},
			`{"files":[],"versions":["0.9"]}`},
		{"mark inserts yanked and falsifies all metadata keys",
			`{"files":[{"filename":"demo-1.0.tar.gz","dist-info-metadata":true,"url":"demo-1.0.tar.gz","core-metadata":true}]}`,
			[]Edit{{Action: Mark, Reason: "no"}},
			`{"files":[{"filename":"demo-1.0.tar.gz","dist-info-metadata":false,"url":"demo-1.0.tar.gz","core-metadata":false,"yanked":"no"}]}`},
		{"mark inserts with pretty separators",
			"{\"files\": [\n {\n  \"filename\": \"demo-1.0.tar.gz\",\n  \"url\": \"demo-1.0.tar.gz\"\n }\n]}",
			[]Edit{{Action: Mark, Reason: "no"}},
			"{\"files\": [\n {\n  \"filename\": \"demo-1.0.tar.gz\",\n  \"url\": \"demo-1.0.tar.gz\",\n  \"yanked\": \"no\"\n }\n]}"},
		{"escaped keys are understood",
			`{"fil\u0065s":[{"filename":"demo-1.0.tar.gz","\u0075rl":"demo-1.0.tar.gz"}]}`,
			[]Edit{{Action: Remove}},
			`{"fil\u0065s":[]}`},
		{"empty files",
			`{"files":[ ],"versions":[]}`,
			nil,
			`{"files":[ ],"versions":[]}`},
	}
	for _, c := range cases {
		ix, err := ParseIndex([]byte(c.page), FormatJSON, "demo")
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if out, _ := ix.Render(nil, nil, nil); string(out) != c.page {
			t.Errorf("%s: identity differs", c.name)
		}
		out, _ := ix.Render(nil, c.edits, nil)
		if string(out) != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, out, c.want)
		}
		if !json.Valid(out) {
			t.Errorf("%s: invalid JSON", c.name)
		}
	}
}

func TestJSONRefused(t *testing.T) {
	f := `{"filename":"demo-1.0.tar.gz","url":"demo-1.0.tar.gz","hashes":{}}`
	cases := []struct{ name, page string }{
		{"empty", ``},
		{"not object", `[` + f + `]`},
		{"no files", `{"versions":[]}`},
		{"files not array", `{"files":{}}`},
		{"file not object", `{"files":["demo-1.0.tar.gz"]}`},
		{"missing url", `{"files":[{"filename":"demo-1.0.tar.gz"}]}`},
		{"missing filename", `{"files":[{"url":"demo-1.0.tar.gz"}]}`},
		{"url not string", `{"files":[{"filename":"demo-1.0.tar.gz","url":1}]}`},
		{"duplicate files", `{"files":[],"files":[` + f + `]}`},
		{"duplicate url", `{"files":[{"filename":"demo-1.0.tar.gz","url":"demo-1.0.tar.gz","url":"evil-1.0.tar.gz"}]}`},
		{"duplicate escaped url", `{"files":[{"filename":"demo-1.0.tar.gz","url":"demo-1.0.tar.gz","\u0075rl":"evil-1.0.tar.gz"}]}`},
		{"duplicate sha256", `{"files":[{"filename":"demo-1.0.tar.gz","url":"demo-1.0.tar.gz","hashes":{"sha256":"a","sha256":"b"}}]}`},
		{"duplicate yanked", `{"files":[{"filename":"demo-1.0.tar.gz","url":"demo-1.0.tar.gz","yanked":true,"yanked":false}]}`},
		{"duplicate versions", `{"files":[],"versions":[],"versions":[]}`},
		{"yanked null", `{"files":[{"filename":"demo-1.0.tar.gz","url":"demo-1.0.tar.gz","yanked":null}]}`},
		{"yanked number", `{"files":[{"filename":"demo-1.0.tar.gz","url":"demo-1.0.tar.gz","yanked":1}]}`},
		{"hashes not object", `{"files":[{"filename":"demo-1.0.tar.gz","url":"demo-1.0.tar.gz","hashes":"x"}]}`},
		{"versions not array", `{"files":[],"versions":"1.0"}`},
		{"version not string", `{"files":[],"versions":[1.0]}`},
		{"trailing comma", `{"files":[` + f + `,]}`},
		{"trailing data", `{"files":[]}{}`},
		{"trailing garbage", `{"files":[]} x`},
		{"truncated", `{"files":[` + f},
		{"invalid utf8", "{\"files\":[],\"x\":\"\xff\"}"},
		{"control char in string", "{\"files\":[],\"x\":\"a\tb\"}"},
		{"bad escape", `{"files":[],"x":"\x"}`},
		{"bad unicode escape", `{"files":[],"x":"\u12G4"}`},
		{"bad number", `{"files":[],"x":01}`},
		{"bad number 2", `{"files":[],"x":1.}`},
		{"number beyond float64 (inf to pip, an error to uv)", `{"files":[],"meta":{"_last-serial":2E406780}}`},
		{"negative number beyond float64", `{"files":[],"x":-1e309}`},
		{"309-digit number", `{"files":[],"x":` + strings.Repeat("9", 309) + `}`},
		{"bad literal", `{"files":[],"x":tru}`},
		{"single quotes", `{'files':[]}`},
		{"too deep", `{"files":[],"x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`},
		{"missing colon", `{"files" []}`},
	}
	for _, c := range cases {
		_, err := ParseIndex([]byte(c.page), FormatJSON, "demo")
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("%s: accepted (err %v)", c.name, err)
		}
	}
}

func TestJSONParseErrs(t *testing.T) {
	cases := []struct{ name, file string }{
		{"filename and url disagree", `{"filename":"demo-1.0.tar.gz","url":"https://h/evil-1.0.tar.gz"}`},
		{"wrong project", `{"filename":"other-1.0.tar.gz","url":"other-1.0.tar.gz"}`},
		{"backslash", `{"filename":"demo-1.0.tar.gz","url":"x\\demo-1.0.tar.gz"}`},
		{"empty url", `{"filename":"demo-1.0.tar.gz","url":""}`},
	}
	for _, c := range cases {
		ix, err := ParseIndex([]byte(`{"files":[`+c.file+`]}`), FormatJSON, "demo")
		if err != nil {
			t.Errorf("%s: refused: %v", c.name, err)
			continue
		}
		if ix.Files[0].ParseErr == nil {
			t.Errorf("%s: no ParseErr", c.name)
		}
	}
}

// jsonParser.str skips 8 bytes at a time: compare it with a bytewise scan
// for every special byte at every position.
func TestJSONStrWordScan(t *testing.T) {
	ref := func(s string) (int, int, bool, bool) { // a, b, esc, ok
		i := 1
		esc := false
		for i < len(s) {
			switch c := s[i]; {
			case c == '"':
				return 1, i, esc, true
			case c == '\\':
				if i+1 >= len(s) || !strings.ContainsRune(`"\/bfnrt`, rune(s[i+1])) {
					return 0, 0, false, false // \u is not generated here
				}
				esc = true
				i += 2
			case c < 0x20:
				return 0, 0, false, false
			default:
				i++
			}
		}
		return 0, 0, false, false
	}
	for n := 0; n <= 20; n++ {
		for pos := 0; pos < n; pos++ {
			for _, c := range []byte{'"', '\\', 0, 0x1f, ' ', 0x21, 0x5b, 0x5d, 0x7f, 0x80, 0xff} {
				b := append([]byte{'"'}, bytes.Repeat([]byte{'a'}, n)...)
				b[1+pos] = c
				for _, tail := range []string{`"`, `n"`, ``, `\"x"`} {
					s := string(b) + tail
					p := jsonParser{s: s}
					a, e, esc, err := p.str()
					ra, re, resc, rok := ref(s)
					if (err == nil) != rok || (rok && (a != ra || e != re || esc != resc)) {
						t.Fatalf("%q: %d %d %v %v, want %d %d %v ok=%v", s, a, e, esc, err, ra, re, resc, rok)
					}
				}
			}
		}
	}
}

// Every known file key is refused twice, and only known keys are.
func TestJSONFileKeysDuplicate(t *testing.T) {
	values := map[string]string{"filename": `"demo-1.0.tar.gz"`, "url": `"demo-1.0.tar.gz"`, "hashes": `{}`, "requires-python": `">=3"`,
		"yanked": `false`, "upload-time": `null`, "core-metadata": `false`, "data-dist-info-metadata": `false`, "dist-info-metadata": `false`, "size": `1`}
	for k, v := range values {
		page := `{"files":[{"filename":"demo-1.0.tar.gz","url":"demo-1.0.tar.gz","` + k + `":` + v + `,"` + k + `":` + v + `}]}`
		if _, err := ParseIndex([]byte(page), FormatJSON, "demo"); err == nil {
			t.Errorf("duplicate %q accepted", k)
		}
	}
	page := `{"files":[{"filename":"demo-1.0.tar.gz","url":"demo-1.0.tar.gz","other":1,"other":2,"Size":1,"Size":2}]}`
	if _, err := ParseIndex([]byte(page), FormatJSON, "demo"); err != nil {
		t.Errorf("duplicate unknown keys refused: %v", err)
	}
}

// TestJSONNumbersInRange: numbers float64 holds (large, tiny, many digits)
// are still accepted.
func TestJSONNumbersInRange(t *testing.T) {
	for _, n := range []string{"0", "-0", "1e308", "1.7976931348623157e308", "1e-400", "-2.5E+10", strings.Repeat("9", 308), "123456789012345678901234567890.5"} {
		if _, err := ParseIndex([]byte(`{"files":[],"x":`+n+`}`), FormatJSON, "demo"); err != nil {
			t.Errorf("%s: %v", n, err)
		}
	}
}
