package fakepypi

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

func TestNegotiation(t *testing.T) {
	s := demo(t, Options{})
	tests := []struct {
		name     string
		accept   string
		format   string
		htmlOnly bool
		strict   bool
		status   int
		wantType string
	}{
		{name: "no Accept means HTML", status: 200, wantType: TypeHTML},
		{name: "*/* means HTML", accept: "*/*", status: 200, wantType: TypeHTML},
		{name: "pip 23 prefers JSON", accept: pipAccept, status: 200, wantType: TypeV1JSON},
		{name: "uv prefers JSON", accept: "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01", status: 200, wantType: TypeV1JSON},
		{name: "equal q ties go to HTML", accept: "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html, text/html;q=0.01", status: 200, wantType: TypeV1HTML},
		{name: "order inside Accept means nothing", accept: "text/html;q=0.01, application/vnd.pypi.simple.v1+html;q=0.2, application/vnd.pypi.simple.v1+json", status: 200, wantType: TypeV1JSON},
		{name: "latest+json answers v1+json", accept: TypeLatestJSON, status: 200, wantType: TypeV1JSON},
		{name: "latest+html answers v1+html", accept: TypeLatestHTML, status: 200, wantType: TypeV1HTML},
		{name: "v1+html", accept: TypeV1HTML, status: 200, wantType: TypeV1HTML},
		{name: "text/* picks text/html", accept: "text/*", status: 200, wantType: TypeHTML},
		{name: "application/* ties to v1+html", accept: "application/*;q=0.5, text/html;q=0.4", status: 200, wantType: TypeV1HTML},
		{name: "specific q=0 beats wildcard", accept: "application/vnd.pypi.simple.v1+json;q=0, application/*", status: 200, wantType: TypeV1HTML},
		{name: "unmatched falls back to HTML like pypi.org", accept: "application/json", status: 200, wantType: TypeHTML},
		{name: "unmatched is 406 in strict mode", accept: "application/json", strict: true, status: 406},
		{name: "everything q=0 is 406 in strict mode", accept: "text/html;q=0, application/*;q=0", strict: true, status: 406},
		{name: "malformed Accept counts as missing", accept: "garbage;;q=x", strict: true, status: 200, wantType: TypeHTML},
		{name: "format=json overrides Accept", accept: "text/html", format: TypeV1JSON, status: 200, wantType: TypeV1JSON},
		{name: "format=text/html overrides pip", accept: pipAccept, format: TypeHTML, status: 200, wantType: TypeHTML},
		{name: "format=latest+json", format: TypeLatestJSON, status: 200, wantType: TypeV1JSON},
		{name: "unknown format is ignored", accept: pipAccept, format: "application/xml", status: 200, wantType: TypeV1JSON},
		{name: "HTML-only server gives pip HTML", accept: pipAccept, htmlOnly: true, status: 200, wantType: TypeV1HTML},
		{name: "HTML-only server ignores format=json", format: TypeV1JSON, htmlOnly: true, status: 200, wantType: TypeHTML},
		{name: "HTML-only strict refuses JSON-only clients", accept: TypeV1JSON, htmlOnly: true, strict: true, status: 406},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s.SetHTMLOnly(tc.htmlOnly)
			s.SetStrictNegotiation(tc.strict)
			defer s.SetHTMLOnly(false)
			defer s.SetStrictNegotiation(false)
			for _, page := range []string{"/simple/foo-bar/", "/simple/"} {
				u := s.IndexURL() + page
				if tc.format != "" {
					u += "?format=" + url.QueryEscape(tc.format)
				}
				resp, body := fetch(t, s, "GET", u, map[string]string{"Accept": tc.accept})
				if resp.StatusCode != tc.status {
					t.Fatalf("%s: status %d, want %d", page, resp.StatusCode, tc.status)
				}
				if got := resp.Header.Get("Vary"); got != "Accept, Accept-Encoding" {
					t.Errorf("%s: Vary %q", page, got)
				}
				if tc.status != 200 {
					continue
				}
				if got := resp.Header.Get("Content-Type"); got != tc.wantType {
					t.Errorf("%s: Content-Type %q, want %q", page, got, tc.wantType)
				}
				if got := resp.Header.Get("Cache-Control"); got != "max-age=600, public" {
					t.Errorf("%s: Cache-Control %q", page, got)
				}
				if resp.Header.Get("X-PyPI-Last-Serial") == "" {
					t.Errorf("%s: no X-PyPI-Last-Serial", page)
				}
				isJSON := bytes.HasPrefix(body, []byte("{"))
				if isJSON != (tc.wantType == TypeV1JSON) {
					t.Errorf("%s: body does not match type %s: %.60q", page, tc.wantType, body)
				}
			}
		})
	}
}

func TestJSONIsCompactSortedWithNewline(t *testing.T) {
	s := demo(t, Options{})
	for _, page := range []string{"/simple/foo-bar/", "/simple/", "/pypi/foo-bar/json", "/pypi/foo-bar/2.0/json"} {
		_, body := fetch(t, s, "GET", s.IndexURL()+page, map[string]string{"Accept": TypeV1JSON})
		var doc any
		if err := json.Unmarshal(body, &doc); err != nil {
			t.Fatalf("%s: %v", page, err)
		}
		// Go sorts map keys, so re-encoding the generic document gives
		// PyPI's canonical form (compact, sorted keys, trailing newline).
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		enc.Encode(doc)
		if !bytes.Equal(body, want.Bytes()) {
			t.Errorf("%s: not compact+sorted:\n got %s\nwant %s", page, body, want.Bytes())
		}
	}
}

func TestASCIIEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"a":"plain"}`, `{"a":"plain"}`},
		{`{"a":"café"}`, `{"a":"caf\u00e9"}`},
		{`{"a":"𝄞"}`, `{"a":"\ud834\udd1e"}`},
	}
	for _, tc := range tests {
		if got := string(asciiEscape([]byte(tc.in))); got != tc.want {
			t.Errorf("asciiEscape(%s) = %s, want %s", tc.in, got, tc.want)
		}
		var a, b any
		json.Unmarshal([]byte(tc.in), &a)
		json.Unmarshal([]byte(tc.want), &b)
		if a.(map[string]any)["a"] != b.(map[string]any)["a"] {
			t.Errorf("escaping changed the value of %s", tc.in)
		}
	}
	if !strings.HasSuffix(string(pypiJSON(map[string]int{"b": 1, "a": 2})), "{\"a\":2,\"b\":1}\n") {
		t.Errorf("pypiJSON does not sort or lacks the newline")
	}
}
