package pypi

import (
	"encoding/base64"
	"strings"
	"testing"
)

func TestParseContext(t *testing.T) {
	url := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	urlPad := func(s string) string { return base64.URLEncoding.EncodeToString([]byte(s)) }
	std := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	ok := `{"repoManagerHost":"artifactory.example.com","repoName":"pypi-remote"}`
	want := RepoContext{RepoManagerHost: "artifactory.example.com", RepoName: "pypi-remote"}
	// ">>>?" encodes to "Pj4+Pw" (std) / "Pj4-Pw" (URL-safe): exercises the alphabet difference.
	alpha := `{"repoName":">>>?","repoManagerHost":"h"}`
	alphaWant := RepoContext{RepoManagerHost: "h", RepoName: ">>>?"}
	cases := []struct {
		name, seg string
		want      RepoContext
		errSub    string
	}{
		{"raw url", url(ok), want, ""},
		{"padded url", urlPad(ok + " "), want, ""},
		{"percent padding", strings.ReplaceAll(urlPad(ok+" "), "=", "%3D"), want, ""},
		{"std alphabet", std(alpha), alphaWant, ""},
		{"std alphabet escaped", strings.ReplaceAll(std(alpha), "+", "%2B"), alphaWant, ""},
		{"url alphabet", url(alpha), alphaWant, ""},
		{"unknown keys ignored", url(`{"x":{"y":[1,{"z":null}]},"repoName":"r"}`), RepoContext{RepoName: "r"}, ""},
		{"only host", url(`{"repoManagerHost":"h"}`), RepoContext{RepoManagerHost: "h"}, ""},
		{"unicode value", url(`{"repoName":"dépôt"}`), RepoContext{RepoName: "dépôt"}, ""},
		{"empty", "", RepoContext{}, "empty"},
		{"too long", strings.Repeat("A", 2049), RepoContext{}, "2048"},
		{"bad char", "abc.def", RepoContext{}, "alphabet"},
		{"mixed alphabets", std(alpha) + "-_", RepoContext{}, "mixes"},
		{"bad padding", url(ok) + "===", RepoContext{}, "padding"},
		{"inner padding", "ab=c", RepoContext{}, "padding"},
		{"bad escape", "ab%41", RepoContext{}, "percent"},
		{"not base64", "A", RepoContext{}, "base64"},
		{"not json", url("hello"), RepoContext{}, "JSON"},
		{"array", url(`["repoName"]`), RepoContext{}, "object"},
		{"string", url(`"x"`), RepoContext{}, "object"},
		{"number value", url(`{"repoName":1}`), RepoContext{}, "must be a string"},
		{"null value", url(`{"repoName":null}`), RepoContext{}, "must be a string"},
		{"object value", url(`{"repoManagerHost":{}}`), RepoContext{}, "must be a string"},
		{"duplicate", url(`{"repoName":"a","repoName":"b"}`), RepoContext{}, "more than once"},
		{"too deep", url(`{"a":{"b":{"c":{"d":{}}}}}`), RepoContext{}, "deeper"},
		{"deep arrays", url(`{"a":[[[[1]]]]}`), RepoContext{}, "deeper"},
		{"depth 4 ok", url(`{"a":{"b":{"c":{}}},"repoName":"r"}`), RepoContext{RepoName: "r"}, ""},
		{"control char", url(`{"repoName":"a\u0000b"}`), RepoContext{}, "control"},
		{"newline", url(`{"repoName":"a\nb"}`), RepoContext{}, "control"},
		{"bidi", url(`{"repoName":"a` + "\u202e" + `b"}`), RepoContext{}, "control"},
		{"invalid utf8", url("{\"repoName\":\"\xff\"}"), RepoContext{}, "UTF-8"},
		{"lone surrogate", url(`{"repoName":"\ud800"}`), RepoContext{}, "control"},
		{"trailing data", url(ok + `{}`), RepoContext{}, "trailing"},
		{"trailing comma", url(`{"repoName":"a",}`), RepoContext{}, "JSON"},
		{"truncated", url(`{"repoName":"a"`), RepoContext{}, "JSON"},
	}
	for _, c := range cases {
		got, err := ParseContext(c.seg)
		if c.errSub != "" {
			if err == nil || !strings.Contains(err.Error(), c.errSub) {
				t.Errorf("%s: ParseContext = %+v, %v; want error containing %q", c.name, got, err, c.errSub)
			}
			if err != nil && strings.ContainsAny(err.Error(), "\x00\xff") {
				t.Errorf("%s: error echoes raw bytes: %q", c.name, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%s: ParseContext = %+v, %v; want %+v", c.name, got, err, c.want)
		}
	}
}

func TestEncodeContextRoundTrip(t *testing.T) {
	for _, rc := range []RepoContext{
		{},
		{RepoManagerHost: "nexus.corp:8443", RepoName: "pypi-proxy"},
		{RepoManagerHost: "<&>", RepoName: "ünï/+="},
	} {
		seg := EncodeContext(rc)
		if strings.ContainsAny(seg, "+/=") {
			t.Errorf("EncodeContext(%+v) = %q is not unpadded URL-safe", rc, seg)
		}
		got, err := ParseContext(seg)
		if err != nil || got != rc {
			t.Errorf("round trip %+v: %+v, %v", rc, got, err)
		}
	}
}
