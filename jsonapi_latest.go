package osaproxy

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/osaproxy/caddy-osaproxy/intel"
	"github.com/osaproxy/caddy-osaproxy/pypi"
)

// substituteLatest fixes "info" and "urls" of a filtered /pypi/<p>/json
// document whose latest release was removed: tools such as Renovate and
// Dependabot read info.version as the newest release, so it must name the
// newest allowed one. That release's own /pypi/<p>/<v>/json gives the
// replacement (its urls mapped into the proxy). allowed lists the versions
// the filter kept (with files). When nothing is allowed, or the replacement
// cannot be fetched, info.version is cleared rather than left pointing at a
// blocked release.
func (x *exchange) substituteLatest(r *http.Request, doc []byte, removed map[string]bool, allowed []string) []byte {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(doc, &top); err != nil {
		return doc
	}
	var info map[string]json.RawMessage
	if err := json.Unmarshal(top["info"], &info); err != nil {
		return doc
	}
	var ver string
	_ = json.Unmarshal(info["version"], &ver)
	if ver == "" || !removed[ver] {
		return doc
	}
	best := newestStable(allowed)
	if best != "" {
		if sub := x.fetchVersionDoc(r, best); sub != nil {
			if v, ok := sub["info"]; ok {
				top["info"] = v
			}
			if v, ok := sub["urls"]; ok {
				top["urls"] = v
			}
			if out, err := marshalNoEscape(top); err == nil {
				return out
			}
		}
	}
	// No allowed release to describe: keep info but without the blocked version.
	info["version"] = json.RawMessage(`""`)
	ib, err := json.Marshal(info)
	if err != nil {
		return doc
	}
	top["info"] = ib
	top["urls"] = json.RawMessage(`[]`)
	if out, err := marshalNoEscape(top); err == nil {
		return out
	}
	return doc
}

// newestStable picks warehouse's "latest": the highest final release, or the
// highest pre-release when there is no final one.
func newestStable(versions []string) string {
	var best, bestPre string
	for _, v := range versions {
		pre := isPre(v)
		cur := &best
		if pre {
			cur = &bestPre
		}
		if *cur == "" {
			*cur = v
			continue
		}
		if c, ok := intel.CompareVersions(v, *cur); ok && c > 0 {
			*cur = v
		}
	}
	if best != "" {
		return best
	}
	return bestPre
}

func isPre(v string) bool {
	l := strings.ToLower(v)
	for _, m := range []string{"a", "b", "rc", "dev", "alpha", "beta", "pre", "c"} {
		if i := strings.Index(l, m); i > 0 && l[i-1] >= '0' && l[i-1] <= '9' || strings.Contains(l, "."+m) || strings.Contains(l, "-"+m) {
			return true
		}
	}
	return false
}

// fetchVersionDoc fetches and link-maps /pypi/<p>/<v>/json.
func (x *exchange) fetchVersionDoc(r *http.Request, version string) map[string]json.RawMessage {
	buf := pageBufs.Get()
	buf.Reset()
	defer pageBufs.Put(buf)
	bw := &bufferWriter{header: make(http.Header), buf: buf, limit: x.h.MaxIndexSize}
	get := r.WithContext(r.Context())
	get.Method = http.MethodGet
	path := "/pypi/" + url.PathEscape(x.route.Project) + "/" + url.PathEscape(version) + "/json"
	err := x.forward(bw, get, x.repo.registry, path, func(hd http.Header) {
		for _, k := range []string{"Accept-Encoding", "Range", "If-Range", "If-None-Match", "If-Modified-Since"} {
			hd.Del(k)
		}
	})
	if err != nil || bw.overflow || bw.status != http.StatusOK {
		return nil
	}
	body, err := decodeBody(bw.header, buf.Bytes(), x.h.MaxIndexSize)
	if err != nil {
		return nil
	}
	keep := func(*pypi.JSONAPIRelease) pypi.Edit { return pypi.Edit{} }
	out, err := pypi.FilterJSONAPI(body, x.route.Project, keep, x.mapper(x.repo.registry, path))
	if err != nil {
		return nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(out, &m) != nil {
		return nil
	}
	return m
}

func marshalNoEscape(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}
