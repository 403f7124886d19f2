package osaproxy

import (
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"sort"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// Repository is one proxied package repository (today: PyPI). Its name is
// the first path segment of every proxy URL that belongs to it.
type Repository struct {
	// Name is the first path segment of the repository's proxy URLs
	// (/<name>/simple/...). Letters, digits, '-', '_' and '.'.
	Name string `json:"name"`

	// Type is the ecosystem; only "pypi" is supported.
	Type string `json:"type,omitempty"`

	// Registry is the base URL of the index host (no /simple), e.g.
	// https://pypi.org, or an Artifactory/Nexus repository URL.
	Registry string `json:"registry"`

	// PackagesRegistry is the base URL under which /packages/... files are
	// served, e.g. https://files.pythonhosted.org. Default: Registry.
	PackagesRegistry string `json:"packages_registry,omitempty"`

	// AdditionalPackagesRegistries maps a key (usually the host name) to the
	// base URL of another host that index pages link files to (for example
	// download.pytorch.org). Such files are proxied under /<name>/x/<key>/....
	AdditionalPackagesRegistries map[string]string `json:"additional_packages_registries,omitempty"`

	// ScanManifest filters index responses (Simple API pages and the JSON
	// API). Default true.
	ScanManifest *bool `json:"scan_manifest,omitempty"`

	// ScanPackage checks downloads (files, .metadata, .asc). Default true.
	ScanPackage *bool `json:"scan_package,omitempty"`

	// URLEncodedConfig accepts a base64 repository-manager context segment
	// after the repository name: /<name>/<base64 JSON>/simple/....
	URLEncodedConfig bool `json:"url_encoded_config,omitempty"`

	// WorkMode overrides the handler's work mode for this repository.
	WorkMode string `json:"work_mode,omitempty"`

	// TransportRaw configures the upstream HTTP transport exactly like
	// reverse_proxy's `transport http` (timeouts, TLS trust pool, proxies,
	// keepalive). TLS is switched on automatically for https registries.
	TransportRaw json.RawMessage `json:"transport,omitempty"`

	registry   *upstream
	packages   *upstream
	additional map[string]*upstream
	addKeys    []string
	mapper     linkTable
}

// upstream is one upstream base URL with the reverse proxy that reaches it.
type upstream struct {
	kind  string // registry, packages, additional
	key   string
	base  *url.URL // scheme://host[:port]/path (no trailing slash)
	str   string   // base.String()
	proxy caddyhttp.MiddlewareHandler
}

func (r *Repository) scanManifest() bool { return r.ScanManifest == nil || *r.ScanManifest }
func (r *Repository) scanPackage() bool  { return r.ScanPackage == nil || *r.ScanPackage }

// validateRepoName checks a repository name is a single safe path segment.
func validateRepoName(n string) error {
	if n == "" {
		return fmt.Errorf("repository name is required")
	}
	for _, c := range n {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("repository name %q: only letters, digits, '-', '_' and '.' are allowed", n)
		}
	}
	switch n {
	case ".", "..":
		return fmt.Errorf("repository name %q is not allowed", n)
	}
	return nil
}

// parseBase validates an upstream base URL.
func parseBase(field, raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil {
		return nil, fmt.Errorf("%s %q: %v", field, raw, err)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return nil, fmt.Errorf("%s %q: scheme must be https or http", field, raw)
	}
	if u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%s %q: want scheme://host[:port][/path] without credentials, query or fragment", field, raw)
	}
	if strings.Contains(u.Host, "{") {
		return nil, fmt.Errorf("%s %q: placeholders are not allowed in upstream URLs", field, raw)
	}
	return u, nil
}

// provision builds the reverse proxies (Caddy's own reverse_proxy, so
// transport, TLS, timeouts and retries are Caddy's) for each upstream.
func (r *Repository) provision(ctx caddy.Context) error {
	if err := validateRepoName(r.Name); err != nil {
		return err
	}
	if r.Type != "" && r.Type != "pypi" {
		return fmt.Errorf("repository %s: type %q is not supported (only pypi)", r.Name, r.Type)
	}
	if r.WorkMode != "" && !validMode(r.WorkMode) {
		return fmt.Errorf("repository %s: unknown work_mode %q (want warmup, spectator, moderate, strict or strict_wait)", r.Name, r.WorkMode)
	}
	if r.Registry == "" {
		return fmt.Errorf("repository %s: registry is required", r.Name)
	}
	var err error
	mk := func(kind, key, field, raw string) (*upstream, error) {
		u, err := parseBase(field, raw)
		if err != nil {
			return nil, fmt.Errorf("repository %s: %w", r.Name, err)
		}
		h, err := r.newProxy(ctx, u)
		if err != nil {
			return nil, fmt.Errorf("repository %s: %s: %w", r.Name, field, err)
		}
		return &upstream{kind: kind, key: key, base: u, str: u.String(), proxy: h}, nil
	}
	if r.registry, err = mk("registry", "", "registry", r.Registry); err != nil {
		return err
	}
	if r.PackagesRegistry == "" {
		r.packages = r.registry
	} else if r.packages, err = mk("packages", "", "packages_registry", r.PackagesRegistry); err != nil {
		return err
	}
	r.additional = make(map[string]*upstream)
	for k, v := range r.AdditionalPackagesRegistries {
		if k == "" || strings.ContainsAny(k, "/?#%\\ ") {
			return fmt.Errorf("repository %s: additional_packages_registry key %q must be a plain name such as a host name", r.Name, k)
		}
		up, err := mk("additional", k, "additional_packages_registry "+k, v)
		if err != nil {
			return err
		}
		r.additional[k] = up
		r.addKeys = append(r.addKeys, k)
	}
	sort.Strings(r.addKeys)
	r.mapper = newLinkTable(r)
	return nil
}

// newProxy provisions a reverse_proxy handler for one upstream base URL.
func (r *Repository) newProxy(ctx caddy.Context, u *url.URL) (caddyhttp.MiddlewareHandler, error) {
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	transport := map[string]any{}
	if len(r.TransportRaw) > 0 {
		if err := json.Unmarshal(r.TransportRaw, &transport); err != nil {
			return nil, fmt.Errorf("transport: %v", err)
		}
	}
	if p, ok := transport["protocol"]; ok && p != "http" {
		return nil, fmt.Errorf("transport: only the http transport is supported, not %v", p)
	}
	transport["protocol"] = "http"
	if u.Scheme == "https" {
		if _, ok := transport["tls"]; !ok {
			transport["tls"] = map[string]any{}
		}
	} else {
		delete(transport, "tls")
	}
	cfg := map[string]any{
		"upstreams": []map[string]any{{"dial": net.JoinHostPort(u.Hostname(), port)}},
		"transport": transport,
		"headers": map[string]any{
			"request": map[string]any{
				"set": map[string][]string{"Host": {u.Host}},
				// Forwarding headers reveal nothing useful to a public registry.
				"delete": []string{"X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "Via"},
			},
		},
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	mod, err := ctx.LoadModuleByID("http.handlers.reverse_proxy", raw)
	if err != nil {
		return nil, err
	}
	return mod.(caddyhttp.MiddlewareHandler), nil
}

// linkTable maps upstream file URLs to proxy paths (relative to the
// repository prefix): files under <packages>/packages/ and
// <registry>/packages/ go to /packages/..., files under an additional
// registry go to /x/<key>/.... Anything else has no mapping.
type linkTable struct {
	entries []linkEntry
}

type linkEntry struct {
	base   string // scheme://host/path with no trailing slash
	origin string // lower-case scheme://host[:port]
	path   string // escaped base path ("" or "/a/b")
	prefix string // proxy-relative prefix, e.g. "" or "/x/<key>"
	needs  string // required first path element after base ("/packages/") or ""
}

func newLinkTable(r *Repository) linkTable {
	var t linkTable
	t.entries = append(t.entries, linkEntry{base: r.packages.str, needs: "/packages/"})
	if r.registry != r.packages {
		t.entries = append(t.entries, linkEntry{base: r.registry.str, needs: "/packages/"})
	}
	for _, k := range r.addKeys {
		t.entries = append(t.entries, linkEntry{base: r.additional[k].str, prefix: "/x/" + k})
	}
	// Longest base first so nested bases resolve to the most specific upstream.
	sort.SliceStable(t.entries, func(i, j int) bool { return len(t.entries[i].base) > len(t.entries[j].base) })
	for i := range t.entries {
		t.entries[i].origin, t.entries[i].path = splitOrigin(t.entries[i].base)
	}
	return t
}

// mapURL maps an absolute upstream URL (already resolved) to the proxy path
// suffix (to be appended to the repository prefix), keeping the fragment
// and dropping any query.
func (t *linkTable) mapURL(u *url.URL) (string, bool) {
	if u.User != nil {
		return "", false
	}
	abs := strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host)
	p := u.EscapedPath()
	for _, e := range t.entries {
		if e.origin != abs || !strings.HasPrefix(p, e.path+"/") {
			continue
		}
		rest := p[len(e.path):]
		if e.needs != "" && !strings.HasPrefix(rest, e.needs) {
			continue
		}
		out := e.prefix + rest
		if u.Fragment != "" {
			out += "#" + u.EscapedFragment()
		}
		return out, true
	}
	return "", false
}

// splitOrigin splits "scheme://host[:port]/path" into origin and path.
func splitOrigin(s string) (string, string) {
	i := strings.Index(s, "://")
	if i < 0 {
		return s, ""
	}
	j := strings.IndexByte(s[i+3:], '/')
	if j < 0 {
		return strings.ToLower(s), ""
	}
	return strings.ToLower(s[:i+3+j]), s[i+3+j:]
}

// pageMapper implements pypi.LinkMapper for one response: relative links
// resolve against the upstream page URL (or its <base href>).
type pageMapper struct {
	table  *linkTable
	page   *url.URL
	prefix string // proxy prefix: [stripped]/<repo>[/<b64>]
	// heads[i] is prefix + table.entries[i].prefix, made on first use.
	heads []string
}

// SplitLink is the pypi.LinkSplitter fast path of MapLink: the common
// absolute file URL maps to a head shared by every link of the entry plus
// the href's own tail, so no string is built per link.
func (m *pageMapper) SplitLink(href string) (string, int, bool) {
	i, cut, ok := m.table.splitFast(href)
	if !ok {
		return "", 0, false
	}
	if m.heads == nil {
		m.heads = make([]string, len(m.table.entries))
	}
	if m.heads[i] == "" {
		m.heads[i] = m.prefix + m.table.entries[i].prefix
	}
	return m.heads[i], cut, true
}

// MapLink maps an href from an upstream page to a proxy link.
func (m *pageMapper) MapLink(href string) (string, bool) {
	if s, ok := m.table.mapFast(m.prefix, href); ok {
		return s, true // maplink.go: the common absolute file URL, same result
	}
	return m.mapGeneral(href)
}

// mapGeneral is MapLink without the fast path: the href resolved against
// the page with net/url, then mapped through the table.
func (m *pageMapper) mapGeneral(href string) (string, bool) {
	ref, err := url.Parse(strings.TrimSpace(href))
	if err != nil {
		return "", false
	}
	u := m.page.ResolveReference(ref)
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", false
	}
	p, ok := m.table.mapURL(u)
	if !ok {
		return "", false
	}
	return m.prefix + p, true
}

// withBase returns a mapper resolving against a <base href>.
func (m *pageMapper) withBase(base string) *pageMapper {
	if base == "" {
		return m
	}
	ref, err := url.Parse(base)
	if err != nil {
		return m
	}
	n := *m
	n.page = m.page.ResolveReference(ref)
	return &n
}

// hostMatches reports whether an outgoing request to up may carry the
// client's credentials: only the registry host they were meant for.
func (r *Repository) credentialsAllowed(up *upstream) bool {
	return strings.EqualFold(up.base.Host, r.registry.base.Host) && up.base.Scheme == r.registry.base.Scheme
}
