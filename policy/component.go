package policy

import (
	"strings"

	version "github.com/aquasecurity/go-pep440-version"
)

// nameCond is dependency_name_in and reserved_names.
type nameCond struct {
	typ      string
	text     string
	m        nameMatcher
	reserved bool
}

func (n *nameCond) eval(x *evalCtx) tri {
	if _, ok := n.m.match(x.name); ok {
		return triTrue
	}
	return triFalse
}

func (n *nameCond) explain(x *evalCtx) {
	p, _ := n.m.match(x.name)
	if n.reserved {
		x.reasons = append(x.reasons, x.name+" matches reserved internal name "+p+
			" (dependency confusion: an internal package name must never be fetched from a public registry)")
		return
	}
	x.reasons = append(x.reasons, x.name+" matches dependency name "+p)
}

func (n *nameCond) summary() string  { return n.text }
func (n *nameCond) kind() string     { return n.typ }
func (n *nameCond) children() []cond { return nil }

// pep440Specifiers parses a PEP 440 specifier set ("<2", ">=1.0,!=1.3",
// "==1.2.*"). Pre-releases are compared like any other version.
func pep440Specifiers(s string) (version.Specifiers, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return version.Specifiers{}, errorf("empty version specifier")
	}
	sp, err := version.NewSpecifiers(s, version.WithPreRelease(true))
	if err != nil {
		return sp, errorf("invalid PEP 440 version specifier %q", s)
	}
	return sp, nil
}

// versionCond is dependency_version: the component version satisfies a
// PEP 440 specifier. Versions that are not PEP 440 never match.
type versionCond struct {
	spec *pep440Spec
	raw  string
	text string
}

func (v *versionCond) eval(x *evalCtx) tri {
	if c, ok := x.version(); ok && v.spec.check(c) {
		return triTrue
	}
	return triFalse
}

func (v *versionCond) explain(x *evalCtx) {
	x.reasons = append(x.reasons, x.pkg()+" matches version specifier "+v.raw)
}

func (v *versionCond) summary() string  { return v.text }
func (v *versionCond) kind() string     { return "dependency_version" }
func (v *versionCond) children() []cond { return nil }

// purlEntry is one compiled purl_in value.
type purlEntry struct {
	name    string // normalized
	version string // "" = every version
	parsed  pepVer
	ok      bool // version parses as PEP 440
	orig    string
}

// parsePURL parses pkg:pypi/<name>[@<version>], ignoring qualifiers and subpath.
func parsePURL(s string) (purlEntry, error) {
	orig := strings.TrimSpace(s)
	rest, ok := cutPrefixFold(orig, "pkg:pypi/")
	if !ok {
		return purlEntry{}, errorf("invalid purl %q (want pkg:pypi/<name>[@<version>])", s)
	}
	if i := strings.IndexAny(rest, "?#"); i >= 0 {
		rest = rest[:i]
	}
	name, ver, _ := strings.Cut(rest, "@")
	name = strings.ReplaceAll(name, "%2D", "-")
	if name == "" || strings.ContainsAny(name, "/ *?") {
		return purlEntry{}, errorf("invalid purl %q (want pkg:pypi/<name>[@<version>])", s)
	}
	e := purlEntry{name: NormalizeName(name), version: ver, orig: orig}
	if ver != "" {
		e.ok = parsePEP440(ver, &e.parsed)
	} else if strings.Contains(rest, "@") {
		return purlEntry{}, errorf("invalid purl %q: empty version", s)
	}
	return e, nil
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if hasPrefixFold(s, prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// purlCond is purl_in.
type purlCond struct {
	list []purlEntry
	text string
}

func (p *purlCond) find(x *evalCtx) (string, bool) {
	for i := range p.list {
		e := &p.list[i]
		if e.name != x.name {
			continue
		}
		if e.version == "" || e.version == x.c.Version {
			return e.orig, true
		}
		if e.ok {
			if c, ok := x.version(); ok && cmpVer(&c.v, &e.parsed, false) == 0 {
				return e.orig, true
			}
		}
	}
	return "", false
}

func (p *purlCond) eval(x *evalCtx) tri {
	if _, ok := p.find(x); ok {
		return triTrue
	}
	return triFalse
}

func (p *purlCond) explain(x *evalCtx) {
	e, _ := p.find(x)
	x.reasons = append(x.reasons, x.c.PURL()+" matches listed purl "+e)
}

func (p *purlCond) summary() string  { return p.text }
func (p *purlCond) kind() string     { return "purl_in" }
func (p *purlCond) children() []cond { return nil }

// setCond is a condition on one string attribute of the component that
// must be in a set (package_type_in, project_status_in).
type setCond struct {
	typ  string
	text string
	set  []string
	get  func(c *Component) string
	// what names the attribute in reasons ("package type").
	what string
}

func (s *setCond) has(v string) bool {
	for _, e := range s.set {
		if e == v {
			return true
		}
	}
	return false
}

func (s *setCond) eval(x *evalCtx) tri {
	if v := s.get(x.c); v != "" && s.has(v) {
		return triTrue
	}
	return triFalse
}

func (s *setCond) explain(x *evalCtx) {
	subject := x.pkg()
	if x.c.Filename != "" && s.typ == "package_type_in" {
		subject += " file " + x.c.Filename
	}
	x.reasons = append(x.reasons, subject+" "+s.what+" is "+s.get(x.c)+" (in "+strings.Join(s.set, ", ")+")")
}

func (s *setCond) summary() string  { return s.text }
func (s *setCond) kind() string     { return s.typ }
func (s *setCond) children() []cond { return nil }

func packageType(c *Component) string { return strings.ToLower(c.PackageType) }

func projectStatus(c *Component) string {
	if c.ProjectStatus == "" {
		return "active"
	}
	return strings.ToLower(c.ProjectStatus)
}

// yankedCond is upstream_yanked.
type yankedCond struct{}

func (yankedCond) eval(x *evalCtx) tri {
	if x.c.Yanked {
		return triTrue
	}
	return triFalse
}

func (yankedCond) explain(x *evalCtx) {
	subject := x.pkg()
	if x.c.Filename != "" {
		subject += " (" + x.c.Filename + ")"
	}
	x.reasons = append(x.reasons, subject+" is yanked upstream")
}

func (yankedCond) summary() string  { return "upstream_yanked" }
func (yankedCond) kind() string     { return "upstream_yanked" }
func (yankedCond) children() []cond { return nil }
