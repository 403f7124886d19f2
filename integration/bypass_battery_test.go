package integration

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/osaproxy/caddy-osaproxy/integration/fakepypi"
)

// rsCaseKind says what a bypass case targets and so what a safe answer is.
type rsCaseKind int

const (
	rsKindFile    rsCaseKind = iota // a blocked file (download, .metadata, .asc)
	rsKindIndex                     // the project page of a project with blocked versions
	rsKindJSON                      // the legacy JSON API of such a project (project document)
	rsKindJSONVer                   // the legacy JSON API of a blocked version
	rsKindBlocked                   // a request that must be refused with block_status
)

type rsBypassCase struct {
	name    string
	method  string
	target  string // raw request target after the proxy prefix
	headers []string
	kind    rsCaseKind
	// mustBlock: the answer must be exactly block_status (the spelling is
	// one the proxy must recognise, not merely refuse as malformed).
	mustBlock bool
}

// rsPctAll percent-encodes every byte of s.
func rsPctAll(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		fmt.Fprintf(&b, "%%%02X", s[i])
	}
	return b.String()
}

// rsFileCases returns every spelling of a request for file f (hashed path on
// the files host) that the battery tries.
func rsFileCases(label string, f *fakepypi.File, extraKey string) []rsBypassCase {
	p := f.Path
	dir, name := path.Dir(p), path.Base(p)
	segs := strings.Split(strings.TrimPrefix(p, "/"), "/") // packages aa bb hash name
	c := func(n, method, target string, must bool, hdr ...string) rsBypassCase {
		return rsBypassCase{name: label + "/" + n, method: method, target: target, headers: hdr, kind: rsKindFile, mustBlock: must}
	}
	cs := []rsBypassCase{
		c("canonical", "GET", p, true),
		c("HEAD", "HEAD", p, true),
		c("Range", "GET", p, true, "Range: bytes=0-3"),
		c("Range suffix", "GET", p, true, "Range: bytes=-100"),
		c("If-Range", "GET", p, true, "Range: bytes=0-", `If-Range: "`+f.MD5+`"`),
		c("query", "GET", p+"?download=1", true),
		c("query with encoded traversal", "GET", p+"?a=%2F..%2F..%2F", true),
		c("fragment in target", "GET", p+"#frag", false),
		c("metadata", "GET", p+".metadata", true),
		c("metadata HEAD", "HEAD", p+".metadata", true),
		c("metadata gzip", "GET", p+".metadata", true, "Accept-Encoding: gzip"),
		c("signature", "GET", p+".asc", true),
		c("name fully percent-encoded", "GET", dir+"/"+rsPctAll(name), true),
		c("name lower-case escapes", "GET", dir+"/"+strings.ToLower(rsPctAll(name)), true),
		c("hash segment percent-encoded", "GET", "/packages/"+segs[1]+"/"+segs[2]+"/"+rsPctAll(segs[3])+"/"+name, true),
		c("name upper-case", "GET", dir+"/"+strings.ToUpper(name[:3])+name[3:], false),
		c("name with dots", "GET", dir+"/"+strings.Replace(name, "_", ".", 1), false),
		c("encoded slash in segment", "GET", "/packages/"+segs[1]+"%2F"+segs[2]+"/"+segs[3]+"/"+name, false),
		c("encoded slash lower", "GET", "/packages/"+segs[1]+"%2f"+segs[2]+"/"+segs[3]+"/"+name, false),
		c("encoded slash before name", "GET", dir+"%2F"+name, false),
		c("double-encoded slash", "GET", "/packages/"+segs[1]+"%252F"+segs[2]+"/"+segs[3]+"/"+name, false),
		c("double-encoded name", "GET", dir+"/"+strings.ReplaceAll(rsPctAll(name), "%", "%25"), false),
		c("double slash", "GET", strings.Replace(p, "/packages/", "/packages//", 1), false),
		c("double slash before name", "GET", dir+"//"+name, false),
		c("leading double slash", "GET", "/"+p, false),
		c("dot segment", "GET", "/packages/"+segs[1]+"/./"+segs[2]+"/"+segs[3]+"/"+name, false),
		c("dot-dot segment", "GET", "/packages/"+segs[1]+"/zz/../"+segs[2]+"/"+segs[3]+"/"+name, false),
		c("encoded dot-dot", "GET", "/packages/"+segs[1]+"/zz/%2e%2e/"+segs[2]+"/"+segs[3]+"/"+name, false),
		c("encoded dot-dot upper", "GET", "/packages/"+segs[1]+"/zz/%2E%2E/"+segs[2]+"/"+segs[3]+"/"+name, false),
		c("double-encoded dot-dot", "GET", "/packages/"+segs[1]+"/zz/%252e%252e/"+segs[2]+"/"+segs[3]+"/"+name, false),
		c("backslash", "GET", "/packages/"+segs[1]+"\\"+segs[2]+"/"+segs[3]+"/"+name, false),
		c("encoded backslash", "GET", "/packages/"+segs[1]+"%5C"+segs[2]+"/"+segs[3]+"/"+name, false),
		c("trailing dot", "GET", p+".", false),
		c("trailing encoded dot", "GET", p+"%2E", false),
		c("trailing encoded space", "GET", p+"%20", false),
		c("trailing NUL", "GET", p+"%00", false),
		c("trailing slash", "GET", p+"/", false),
		c("path parameter", "GET", p+";x=1", false),
		c("packages upper-case", "GET", "/PACKAGES/"+strings.Join(segs[1:], "/"), false),
		c("absolute-form target", "GET", "http://{host}{prefix}"+p, true),
	}
	if strings.Contains(name, "+") {
		cs = append(cs,
			c("plus encoded %2B", "GET", dir+"/"+strings.ReplaceAll(name, "+", "%2B"), true),
			c("plus encoded %2b", "GET", dir+"/"+strings.ReplaceAll(name, "+", "%2b"), true),
			c("plus double-encoded", "GET", dir+"/"+strings.ReplaceAll(name, "+", "%252B"), false),
			c("plus as space", "GET", dir+"/"+strings.ReplaceAll(name, "+", "%20"), false),
			c("plus metadata encoded", "GET", dir+"/"+strings.ReplaceAll(name, "+", "%2B")+".metadata", true),
		)
	}
	// Legacy predictable URLs (files.pythonhosted.org redirects them to
	// the hashed path).
	norm := fakepypi.Normalize(f.Project)
	for _, spelling := range []string{norm, fakepypi.DistName(f.Project), "Foo.Bar", "FOO--bar", "foo_Bar"} {
		first := spelling[:1]
		cs = append(cs,
			c("legacy "+f.PythonVersion+" "+spelling, "GET", "/packages/"+f.PythonVersion+"/"+first+"/"+spelling+"/"+name, true),
			c("legacy "+f.PythonVersion+" "+spelling+" metadata", "GET", "/packages/"+f.PythonVersion+"/"+first+"/"+spelling+"/"+name+".metadata", true),
		)
	}
	cs = append(cs,
		c("legacy upper initial", "GET", "/packages/"+f.PythonVersion+"/F/"+norm+"/"+name, true),
		c("legacy encoded name", "GET", "/packages/"+f.PythonVersion+"/f/"+rsPctAll(norm)+"/"+rsPctAll(name), true),
		c("legacy dot-dot", "GET", "/packages/"+f.PythonVersion+"/f/"+norm+"/../"+norm+"/"+name, false),
	)
	if extraKey != "" {
		x := "/x/" + extraKey
		cs = append(cs,
			c("additional host", "GET", x+p, true),
			c("additional host HEAD", "HEAD", x+p, true),
			c("additional host Range", "GET", x+p, true, "Range: bytes=0-9"),
			c("additional host metadata", "GET", x+p+".metadata", true),
			c("additional host encoded name", "GET", x+dir+"/"+rsPctAll(name), true),
			c("additional host dot-dot", "GET", x+"/packages/../"+strings.TrimPrefix(p, "/"), false),
			c("additional host encoded slash", "GET", "/x/"+extraKey+"%2Fpackages"+strings.TrimPrefix(p, "/packages"), false),
			c("additional key upper-case", "GET", "/x/"+strings.ToUpper(extraKey)+p, false),
			c("additional key encoded", "GET", "/x/"+rsPctAll(extraKey)+p, true),
			c("additional key unknown", "GET", "/x/evil.example"+p, false),
		)
	}
	return cs
}

// rsIndexCases are the spellings of the project page, the legacy JSON API and
// a blocked version's JSON document of project (display name) with a
// blocked version ver.
func rsIndexCases(ver string) []rsBypassCase {
	var cs []rsBypassCase
	acc := map[string]string{
		"json":   "Accept: application/vnd.pypi.simple.v1+json",
		"v1html": "Accept: application/vnd.pypi.simple.v1+html",
		"html":   "Accept: text/html",
		"pip":    "Accept: application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01",
		"latest": "Accept: application/vnd.pypi.simple.latest+json",
		"any":    "Accept: */*",
	}
	keys := make([]string, 0, len(acc))
	for k := range acc {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		a := acc[k]
		for _, tgt := range []string{
			"/simple/foo-bar/", "/simple/Foo_Bar/", "/simple/foo.bar/", "/simple/FOO--bar/", "/simple/foo_bar/",
			"/simple/foo-bar", "/simple/foo%2Dbar/", "/simple/foo%2dbar/", "/simple/%66oo-bar/",
		} {
			cs = append(cs, rsBypassCase{name: "index " + k + " " + tgt, method: "GET", target: tgt, headers: []string{a}, kind: rsKindIndex})
		}
	}
	for _, tgt := range []string{
		"/simple/foo-bar/?format=application/vnd.pypi.simple.v1+json",
		"/simple/foo-bar/?format=application/vnd.pypi.simple.v1+html",
		"/simple/foo-bar/?format=text/html",
		"/simple/foo-bar/?format=application%2Fvnd.pypi.simple.latest%2Bjson",
		"/simple/foo-bar/?format=nonsense",
		"/simple/foo-bar/?format=application/vnd.pypi.simple.v1+json&format=text/html",
		"/simple/foo-bar/#frag",
		"/simple/foo-bar/?x=1#frag",
		"/simple/foo%252Dbar/", "/simple//foo-bar/", "/simple/./foo-bar/", "/simple/foo-bar/./",
		"/simple/x/../foo-bar/", "/simple/x/%2e%2e/foo-bar/", "/simple/foo-bar./", "/simple/foo-bar%20/",
		"/simple/foo-bar%00/", "/simple/foo-bar%2F/", "/simple/foo-bar//", "/simple/foo-bar/index.html",
		"/simple/foo-bar/;v=1", "/simple%2Ffoo-bar/", "/SIMPLE/foo-bar/", "/simple/foo-bar/%2e%2e/",
		"/simple/foo\u00adbar/", "/simple/foo%C2%ADbar/", "/simple/foo%E2%80%8Bbar/",
	} {
		cs = append(cs, rsBypassCase{name: "index " + tgt, method: "GET", target: tgt, kind: rsKindIndex,
			headers: []string{"Accept: application/vnd.pypi.simple.v1+json, text/html;q=0.1"}})
	}
	cs = append(cs,
		rsBypassCase{name: "index HEAD", method: "HEAD", target: "/simple/foo-bar/", kind: rsKindIndex},
		rsBypassCase{name: "index Range", method: "GET", target: "/simple/foo-bar/", headers: []string{"Range: bytes=0-100"}, kind: rsKindIndex},
		rsBypassCase{name: "index gzip", method: "GET", target: "/simple/foo-bar/", headers: []string{"Accept-Encoding: gzip"}, kind: rsKindIndex},
		rsBypassCase{name: "index If-None-Match *", method: "GET", target: "/simple/foo-bar/", headers: []string{"If-None-Match: *"}, kind: rsKindIndex},
		rsBypassCase{name: "index all blocked", method: "GET", target: "/simple/evil-only/", kind: rsKindBlocked, mustBlock: true},
		rsBypassCase{name: "index all blocked spelled", method: "GET", target: "/simple/Evil_Only/", kind: rsKindBlocked, mustBlock: true},
		rsBypassCase{name: "index all blocked json", method: "GET", target: "/simple/evil-only/?format=application/vnd.pypi.simple.v1+json", kind: rsKindBlocked, mustBlock: true},
	)
	for _, tgt := range []string{
		"/pypi/foo-bar/json", "/pypi/Foo_Bar/json", "/pypi/foo.bar/json", "/pypi/FOO--bar/json", "/pypi/foo-bar/json/",
		"/pypi/foo-bar/json?x=1", "/pypi/foo%2Dbar/json", "/pypi/foo-bar/json#x", "/pypi/foo%252Dbar/json",
		"/pypi//foo-bar/json", "/pypi/foo-bar/../foo-bar/json", "/pypi/foo-bar./json", "/pypi/evil-latest/json",
	} {
		cs = append(cs, rsBypassCase{name: "json " + tgt, method: "GET", target: tgt, kind: rsKindJSON})
	}
	cs = append(cs, rsBypassCase{name: "json HEAD", method: "HEAD", target: "/pypi/foo-bar/json", kind: rsKindJSON})
	for _, v := range []string{ver, "1.0.0", "v1.0", "1.0.0.0", "01.0", "1.0+cpu", "1.5+cpu", "1.5%2Bcpu", "1.5%2bcpu", "1.5+CPU", "1.5.0+cpu"} {
		must := v == ver || v == "1.5+cpu" || v == "1.5%2Bcpu" || v == "1.5%2bcpu"
		cs = append(cs,
			rsBypassCase{name: "json version " + v, method: "GET", target: "/pypi/foo-bar/" + v + "/json", kind: rsKindJSONVer, mustBlock: must},
			rsBypassCase{name: "json version spelled " + v, method: "GET", target: "/pypi/Foo_Bar/" + v + "/json", kind: rsKindJSONVer},
		)
	}
	cs = append(cs,
		rsBypassCase{name: "json version HEAD", method: "HEAD", target: "/pypi/foo-bar/1.0/json", kind: rsKindJSONVer, mustBlock: true},
		rsBypassCase{name: "json version double-encoded", method: "GET", target: "/pypi/foo-bar/1.5%252Bcpu/json", kind: rsKindJSONVer},
		rsBypassCase{name: "json version trailing slash", method: "GET", target: "/pypi/foo-bar/1.0/json/", kind: rsKindJSONVer},
		rsBypassCase{name: "json version query", method: "GET", target: "/pypi/foo-bar/1.0/json?v=2.0", kind: rsKindJSONVer, mustBlock: true},
		rsBypassCase{name: "json version latest blocked", method: "GET", target: "/pypi/evil-latest/3.0/json", kind: rsKindJSONVer, mustBlock: true},
	)
	return cs
}

var rsHrefRe = regexp.MustCompile(`(?i)(?:href|url)\s*[=:]\s*"([^"]*)"`)

// rsLinksOutside returns the links of a page that lead anywhere but into the
// proxy (an absolute path under prefix).
func rsLinksOutside(body []byte, prefix string) []string {
	var bad []string
	for _, m := range rsHrefRe.FindAllSubmatch(body, -1) {
		l := string(m[1])
		if !strings.HasPrefix(l, prefix+"/") || strings.HasPrefix(l, "//") {
			bad = append(bad, l)
		}
	}
	return bad
}

// rsBattery runs the bypass battery against the running proxy.
type rsBattery struct {
	t           *testing.T
	mode        string
	blockStatus int
	prefixes    []string
	markers     rsLeakMarkers       // blocked files and names
	blockedVers map[string][]string // project -> versions that must not be listed
	upstreams   []string
	statuses    map[int]int
	n           int
}

func (b *rsBattery) run(cs []rsBypassCase) {
	for _, prefix := range b.prefixes {
		for _, c := range cs {
			b.one(prefix, c)
		}
	}
}

func (b *rsBattery) one(prefix string, c rsBypassCase) {
	t := b.t
	target := c.target
	if strings.Contains(target, "{prefix}") {
		target = strings.Replace(strings.Replace(target, "{prefix}", prefix, 1), "{host}", rsProxyHost, 1)
	} else {
		target = prefix + target
	}
	where := fmt.Sprintf("[%s] %s %s %s %v", b.mode, c.name, c.method, target, c.headers)
	b.n++
	resp, err := rsRawRequest(c.method, target, c.headers...)
	// A client follows redirects within the proxy; follow them too (a
	// redirect outside it is a failure by itself).
	for hops := 0; err == nil && resp.Status >= 300 && resp.Status < 400 && resp.Status != http.StatusNotModified; hops++ {
		loc := resp.Header.Get("Location")
		if bad := b.foreignLocation(loc); bad != "" || hops > 3 {
			t.Errorf("%s: redirect %d to %q (%s)", where, resp.Status, loc, bad)
			return
		}
		resp, err = rsRawRequest(c.method, loc, c.headers...)
	}
	if err != nil {
		t.Errorf("%s: %v", where, err)
		return
	}
	b.statuses[resp.Status]++
	// A block answer names the file it refused; only bytes, hashes and
	// listings of a blocked file are leaks there. A 200 must not even name it.
	markers := b.markers
	if resp.Status != http.StatusOK {
		markers.strings = nil
	}
	if leak := markers.check(resp.Body); leak != "" {
		t.Errorf("%s: BYPASS: status %d, %s\n%s", where, resp.Status, leak, rsTruncateBytes(resp.Body, 400))
		return
	}
	for _, h := range b.upstreams {
		if strings.Contains(string(resp.Raw), h) {
			t.Errorf("%s: upstream host %s appears in the response headers:\n%s", where, h, resp.Raw)
		}
	}
	refused := resp.Status == b.blockStatus || resp.Status == http.StatusBadRequest || resp.Status == http.StatusNotFound
	if c.mustBlock && resp.Status != b.blockStatus {
		t.Errorf("%s: want block_status %d, got %d\n%s", where, b.blockStatus, resp.Status, rsTruncateBytes(resp.Body, 300))
		return
	}
	switch c.kind {
	case rsKindFile, rsKindBlocked:
		if !refused {
			t.Errorf("%s: want %d, 400 or 404, got %d\n%s", where, b.blockStatus, resp.Status, rsTruncateBytes(resp.Body, 300))
		}
		if resp.Status == b.blockStatus && resp.Header.Get("X-OSA-Status") == "" {
			t.Errorf("%s: block answer without X-OSA-Status", where)
		}
	case rsKindJSONVer:
		if !refused && resp.Status != http.StatusOK {
			t.Errorf("%s: want a refusal or a filtered 200, got %d", where, resp.Status)
		}
		if resp.Status == http.StatusOK {
			b.checkJSONDoc(where, resp.Body, true)
		}
	case rsKindIndex:
		if resp.Status != http.StatusOK && resp.Status != http.StatusNotModified && !refused && resp.Status != http.StatusNotAcceptable {
			t.Errorf("%s: unexpected status %d\n%s", where, resp.Status, rsTruncateBytes(resp.Body, 300))
		}
		if resp.Status == http.StatusOK && c.method == "GET" {
			b.checkIndex(where, resp.Header.Get("Content-Type"), resp.Body, prefix)
		}
	case rsKindJSON:
		if resp.Status != http.StatusOK && !refused {
			t.Errorf("%s: unexpected status %d", where, resp.Status)
		}
		if resp.Status == http.StatusOK && c.method == "GET" {
			b.checkJSONDoc(where, resp.Body, false)
		}
	}
}

func (b *rsBattery) foreignLocation(loc string) string {
	if loc == "" {
		return "empty Location"
	}
	u, err := url.Parse(loc)
	if err != nil {
		return "unparseable"
	}
	if u.Host != "" && u.Host != rsProxyHost {
		return "host " + u.Host
	}
	if !strings.HasPrefix(u.Path, "/") || strings.HasPrefix(loc, "//") {
		return "not an absolute path"
	}
	return ""
}

// checkIndex asserts a served project page lists no blocked version and
// links only into the proxy.
func (b *rsBattery) checkIndex(where, ct string, body []byte, prefix string) {
	t := b.t
	if !strings.Contains(string(body), "foo_bar-2.0") {
		t.Errorf("%s: allowed version 2.0 missing from the page (vacuous filter?)\n%s", where, rsTruncateBytes(body, 400))
	}
	if bad := rsLinksOutside(body, prefix); len(bad) > 0 {
		t.Errorf("%s: links outside the proxy: %v", where, bad)
	}
	if strings.Contains(ct, "json") {
		var doc struct {
			Versions []string `json:"versions"`
		}
		if err := json.Unmarshal(body, &doc); err != nil {
			t.Errorf("%s: JSON page does not parse: %v", where, err)
		}
		for _, v := range doc.Versions {
			for _, bv := range b.blockedVers["foo-bar"] {
				if v == bv {
					t.Errorf("%s: BYPASS: versions lists blocked %s: %v", where, bv, doc.Versions)
				}
			}
		}
	}
}

// checkJSONDoc asserts a legacy JSON API document carries no blocked
// release and no link outside the proxy.
func (b *rsBattery) checkJSONDoc(where string, body []byte, perVersion bool) {
	t := b.t
	var doc struct {
		Info struct {
			Name    string `json:"name"`
			Version string `json:"version"`
		} `json:"info"`
		Releases map[string]json.RawMessage `json:"releases"`
		URLs     []struct {
			Filename string `json:"filename"`
			URL      string `json:"url"`
		} `json:"urls"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Errorf("%s: JSON API document does not parse: %v", where, err)
		return
	}
	blockedVers := b.blockedVers[fakepypi.Normalize(doc.Info.Name)]
	if len(blockedVers) == 0 {
		t.Errorf("%s: unknown project %q in the JSON API document", where, doc.Info.Name)
	}
	for v := range doc.Releases {
		for _, bv := range blockedVers {
			if v == bv {
				t.Errorf("%s: BYPASS: releases lists blocked %s", where, bv)
			}
		}
	}
	for _, bv := range blockedVers {
		// info describes the latest release; when upstream's latest is
		// blocked the proxy substitutes the newest allowed release.
		if doc.Info.Version == bv {
			t.Errorf("%s: BYPASS: info names blocked release %s (urls: %d)", where, bv, len(doc.URLs))
		}
	}
	for _, u := range doc.URLs {
		if !strings.HasPrefix(u.URL, "/r/") {
			t.Errorf("%s: urls[] links outside the proxy: %s", where, u.URL)
		}
	}
	if !perVersion && doc.Releases == nil {
		t.Errorf("%s: project document without releases", where)
	}
}

// TestBypassBattery proves that a blocked file and a blocked version stay
// blocked under every spelling a client (or an attacker) can send, in each
// blocking work mode, through the real proxy in Caddy.
func TestBypassBattery(t *testing.T) {
	fake := fakepypi.StartT(t, fakepypi.Options{})
	extra := fakepypi.StartT(t, fakepypi.Options{})
	fake.AddProject("Foo_Bar",
		fakepypi.NewRelease("1.0"),
		fakepypi.NewRelease("1.5+cpu", fakepypi.FileSpec{}),
		fakepypi.NewRelease("2.0"),
	)
	fake.AddProject("evil-only", fakepypi.NewRelease("0.1"))
	fake.AddProject("evil-latest", fakepypi.NewRelease("1.0", fakepypi.FileSpec{}), fakepypi.NewRelease("3.0", fakepypi.FileSpec{}))
	fake.AddProject("goodpkg", fakepypi.NewRelease("1.0", fakepypi.FileSpec{}))
	extra.AddProject("Foo_Bar", fakepypi.NewRelease("1.0", fakepypi.FileSpec{}))

	dir := t.TempDir()
	osv := dir + "/osv"
	rsWriteMAL(t, osv, "MAL-2099-0001", "foo-bar", "1.0", "1.5+cpu")
	rsWriteMAL(t, osv, "MAL-2099-0002", "evil-only", "0.1")
	rsWriteMAL(t, osv, "MAL-2099-0003", "evil-latest", "3.0")

	blocked := append(fake.ProjectFiles("foo-bar", "1.0"), fake.ProjectFiles("foo-bar", "1.5+cpu")...)
	blocked = append(blocked, fake.ProjectFiles("evil-only", "0.1")...)
	blocked = append(blocked, fake.ProjectFiles("evil-latest", "3.0")...)
	if len(blocked) != 6 {
		t.Fatalf("want 6 blocked files, got %d", len(blocked))
	}
	markers := rsLeakMarkers{files: blocked}
	for _, f := range blocked {
		markers.strings = append(markers.strings, f.Filename, url.PathEscape(f.Filename))
	}
	allowed := fake.ProjectFiles("foo-bar", "2.0")

	var cases []rsBypassCase
	for _, f := range fake.ProjectFiles("foo-bar", "1.0") {
		key := ""
		if f.Kind == fakepypi.Wheel {
			key = "extra.example"
		}
		cases = append(cases, rsFileCases(f.Filename, f, key)...)
	}
	for _, f := range fake.ProjectFiles("foo-bar", "1.5+cpu") {
		cases = append(cases, rsFileCases(f.Filename, f, "")...)
	}
	cases = append(cases, rsIndexCases("1.0")...)
	// Only the canonical spellings under every context (the rest once).
	var ctxCases []rsBypassCase
	for _, c := range cases {
		if c.mustBlock || c.kind == rsKindIndex && strings.HasPrefix(c.name, "index pip") {
			ctxCases = append(ctxCases, c)
		}
	}

	ctxs := []string{
		rsB64ctx(map[string]string{"repoManagerHost": "nexus.example", "repoName": "pypi-remote"}),
		rsB64ctx(map[string]string{"repoManagerHost": strings.TrimPrefix(extra.FilesURL(), "http://"), "repoName": "x"}),
		rsB64ctx(map[string]any{}),
		rsB64ctx(map[string]any{"repoManagerHost": "http://169.254.169.254/", "registry": fake.FilesURL(), "nested": map[string]any{"a": []int{1}}}),
	}

	modes := []struct {
		mode   string
		status int
	}{{"moderate", 403}, {"strict", 451}, {"strict_wait", 403}}
	for _, m := range modes {
		t.Run(m.mode, func(t *testing.T) {
			cfg := rsProxyCfg{
				Mode:       m.mode,
				Handler:    fmt.Sprintf("block_status %d", m.status),
				Registry:   fake.IndexURL(),
				Packages:   fake.FilesURL(),
				Additional: map[string]string{"extra.example": extra.FilesURL()},
				Repo:       "url_encoded_config",
				Intel:      []string{osv},
				Dir:        t.TempDir(),
			}
			rsLoadProxy(t, cfg)
			rsWaitReady(t, 30*time.Second)
			fake.ResetRequests()
			extra.ResetRequests()

			// Positive controls: the allowed version downloads and is
			// listed, so the battery is not vacuous.
			for _, f := range allowed {
				resp, err := rsRawRequest("GET", "/r"+f.Path)
				if err != nil || resp.Status != http.StatusOK || rsSha256hex(resp.Body) != f.SHA256 {
					t.Fatalf("allowed %s not served intact: %v %+v", f.Filename, err, resp)
				}
			}
			b := &rsBattery{t: t, mode: m.mode, blockStatus: m.status, markers: markers,
				blockedVers: map[string][]string{"foo-bar": {"1.0", "1.5+cpu"}, "evil-latest": {"3.0"}, "evil-only": {"0.1"}}, upstreams: rsUpstreamHosts(fake, extra), statuses: map[int]int{},
				prefixes: []string{"/r"}}
			b.run(cases)
			rsHeadMatchesGet(t, "/r/simple/foo-bar/", "Accept: application/vnd.pypi.simple.v1+json")
			rsHeadMatchesGet(t, "/r/simple/foo-bar/", "Accept: text/html")
			rsHeadMatchesGet(t, "/r/pypi/foo-bar/json")
			for _, c := range ctxs {
				b.prefixes = []string{"/r/" + c}
				b.run(ctxCases)
			}
			// The blocked files never left the upstream.
			for _, rq := range append(fake.Requests(), extra.Requests()...) {
				p := strings.ToLower(rq.Path)
				for _, f := range blocked {
					if rq.Host == "files" && strings.Contains(p, strings.ToLower(f.Filename)) {
						t.Errorf("[%s] the files host was asked for blocked %s: %s %s", m.mode, f.Filename, rq.Method, rq.Path)
					}
				}
				// (evil-latest 1.0 is allowed: its document is fetched to
				// describe the latest allowed release in /pypi/evil-latest/json.)
				if rq.Host == "index" && (strings.Contains(p, "/foo-bar/1.0/json") || strings.Contains(p, "/evil-latest/3.0/json")) {
					t.Errorf("[%s] the index was asked for a blocked version document: %s", m.mode, rq.Path)
				}
			}
			// Every block was journaled with the blocking status.
			rows, total := rsJournalRows(t, "status=blocked")
			if total == 0 || len(rows) == 0 {
				t.Errorf("[%s] no blocked records in the journal", m.mode)
			}
			for _, r := range rows {
				if r.HTTPStatus != m.status || r.WorkMode != m.mode {
					t.Errorf("[%s] journal row %+v: want http_status %d", m.mode, r, m.status)
					break
				}
			}
			t.Logf("[%s] %d requests, statuses %v, %d blocked journal rows", m.mode, b.n, b.statuses, total)
		})
	}
}

// rsHeadMatchesGet asserts that HEAD of a filtered document answers with
// the status, ETag and Content-Length of the GET (the filtered page, not
// whatever an upstream HEAD says).
func rsHeadMatchesGet(t *testing.T, target string, hdr ...string) {
	t.Helper()
	get, err := rsRawRequest("GET", target, hdr...)
	if err != nil {
		t.Fatal(err)
	}
	head, err := rsRawRequest("HEAD", target, hdr...)
	if err != nil {
		t.Fatal(err)
	}
	if get.Status != http.StatusOK || head.Status != get.Status {
		t.Errorf("HEAD %s: status %d, GET %d", target, head.Status, get.Status)
		return
	}
	for _, k := range []string{"Etag", "Content-Length", "Content-Type", "X-Osa-Removed"} {
		if head.Header.Get(k) != get.Header.Get(k) {
			t.Errorf("HEAD %s: %s %q, GET has %q", target, k, head.Header.Get(k), get.Header.Get(k))
		}
	}
	if len(head.Body) != 0 {
		t.Errorf("HEAD %s: %d body bytes", target, len(head.Body))
	}
}
