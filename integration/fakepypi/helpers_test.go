package fakepypi

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"testing"
)

const pipAccept = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01"

// fetch performs a request with the given headers (User-Agent defaults to
// a non-Go value) and returns the response and its body; redirects are
// not followed and bodies are not decompressed.
func fetch(t *testing.T, s *Server, method, url string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("User-Agent", "fakepypi-test/1.0")
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, url, err)
	}
	return resp, body
}

// demo starts a fake with a small, varied catalogue.
func demo(t *testing.T, opts Options) *Server {
	t.Helper()
	s := StartT(t, opts)
	s.AddProject("Foo.Bar",
		NewRelease("1.0"),
		NewRelease("2.0", FileSpec{RequiresPython: ">=3.8", RequiresDist: []string{"dep-one>=1"}}),
		Release{Version: "2.5", Files: []FileSpec{{}}, Yanked: "bad <build>"},
		Release{Version: "2.6", Files: []FileSpec{{}}, YankedNoReason: true},
		NewRelease("3.0rc1", FileSpec{}),
		Release{Version: "4.0"}, // no files
	)
	s.AddProject("dep_one", NewRelease("1.5", FileSpec{}))
	s.AddProject("Zed", NewRelease("0.1", FileSpec{Kind: Sdist}))
	return s
}

func strconvItoa(n int) string { return strconv.Itoa(n) }

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
