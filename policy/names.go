package policy

import (
	"strings"

	"github.com/osaproxy/caddy-osaproxy/pypi"
)

// NormalizeName returns the PEP 503 normalized form of a project name
// (pypi.NormalizeName: one definition for the protocol, the intelligence
// and the policies). It returns name itself when it is already normalized.
func NormalizeName(name string) string { return pypi.NormalizeName(name) }

// nameMatcher matches normalized project names against a list of names and
// globs ("*" any run, "?" one character), all normalized at compile time.
type nameMatcher struct {
	exact map[string]string // normalized name -> pattern as written
	globs []namePattern
}

type namePattern struct {
	norm, orig string
}

func newNameMatcher(patterns []string) (nameMatcher, error) {
	m := nameMatcher{exact: make(map[string]string)}
	for _, p := range patterns {
		p = strings.TrimSpace(p)
		if p == "" {
			return m, errorf("empty name")
		}
		if strings.ContainsAny(p, " \t/[]") {
			return m, errorf("invalid name or glob %q", p)
		}
		n := NormalizeName(p)
		if strings.ContainsAny(n, "*?") {
			m.globs = append(m.globs, namePattern{norm: n, orig: p})
		} else {
			m.exact[n] = p
		}
	}
	return m, nil
}

// match returns the pattern (as written) matching name, if any. name must
// be PEP 503 normalized (evalCtx.name is).
func (m *nameMatcher) match(name string) (string, bool) {
	if p, ok := m.exact[name]; ok {
		return p, true
	}
	for _, g := range m.globs {
		if globMatch(g.norm, name) {
			return g.orig, true
		}
	}
	return "", false
}

// globMatch reports whether s matches pattern, where "*" matches any run of
// characters (including none) and "?" exactly one. It does not allocate.
func globMatch(pattern, s string) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
