package intel

import (
	"slices"
	"sort"
	"strings"
)

// compiledVuln is the matching form of a record: every version of the
// affected entries is parsed once, when the record is loaded.
type compiledVuln struct {
	affected []compiledAffected
}

// compiledAffected is one PyPI package entry ready for matching.
type compiledAffected struct {
	name string
	// versions are the explicit PEP 440 versions, sorted by their eq text
	// and deduplicated (1.0 and 1.0.0 are one version), for binary search.
	versions []*pver
	// odd are the explicit versions that are not PEP 440, matched by text.
	odd    []string
	ranges []compiledRange
}

const (
	evIntroduced uint8 = iota
	evFixed
	evLastAffected
)

type compiledEvent struct {
	kind uint8
	zero bool // introduced "0": before every version
	v    *pver
}

// compiledRange is an ECOSYSTEM range with its events sorted.
type compiledRange struct {
	events []compiledEvent // introduced / fixed / last_affected, sorted
	limits []*pver
	// open: only introduced "0" events, no end: every version, including
	// versions that are not PEP 440 and versions not yet published.
	open bool
	// usable is false when an event version is not PEP 440: the range
	// cannot be ordered, so only the explicit versions list applies.
	usable bool
}

// compileVuln pre-parses every version of v's affected entries.
func compileVuln(v *Vuln) *compiledVuln { return compileVulnWith(v, globalVersions{}) }

func compileVulnWith(v *Vuln, res versionResolver) *compiledVuln {
	c := &compiledVuln{affected: make([]compiledAffected, 0, len(v.Affected))}
	for i := range v.Affected {
		c.affected = append(c.affected, compileAffected(&v.Affected[i], res))
	}
	return c
}

// compileParsed compiles v whose explicit versions were already resolved
// (parsed[i] for v.Affected[i]).
func compileParsed(v *Vuln, parsed [][]*pver, res versionResolver) *compiledVuln {
	c := &compiledVuln{affected: make([]compiledAffected, 0, len(v.Affected))}
	for i := range v.Affected {
		c.affected = append(c.affected, compileAffectedFrom(&v.Affected[i], parsed[i], res))
	}
	return c
}

func compileAffected(a *Affected, res versionResolver) compiledAffected {
	var parsed []*pver
	for _, s := range a.Versions {
		parsed = append(parsed, res.version(strings.TrimSpace(s)))
	}
	return compileAffectedFrom(a, parsed, res)
}

// compileAffectedFrom compiles a; it takes ownership of parsed.
func compileAffectedFrom(a *Affected, parsed []*pver, res versionResolver) compiledAffected {
	ca := compiledAffected{name: NormalizeName(a.Name)}
	if len(parsed) > 0 {
		vs := parsed[:0]
		for _, p := range parsed {
			if p.ok {
				vs = append(vs, p)
			} else {
				ca.odd = append(ca.odd, p.canon)
			}
		}
		slices.SortFunc(vs, func(a, b *pver) int { return strings.Compare(a.eq, b.eq) })
		out := vs[:0]
		for i, p := range vs {
			if i == 0 || p.eq != vs[i-1].eq {
				out = append(out, p)
			}
		}
		ca.versions = out[:len(out):len(out)]
	}
	for _, r := range a.Ranges {
		ca.ranges = append(ca.ranges, compileRange(r, res))
	}
	return ca
}

func compileRange(r Range, res versionResolver) compiledRange {
	cr := compiledRange{usable: true, open: true}
	for _, e := range r.Events {
		var ce compiledEvent
		var s string
		switch {
		case e.Introduced != "":
			ce.kind, s = evIntroduced, e.Introduced
		case e.Fixed != "":
			ce.kind, s = evFixed, e.Fixed
			cr.open = false
		case e.LastAffected != "":
			ce.kind, s = evLastAffected, e.LastAffected
			cr.open = false
		case e.Limit != "":
			cr.open = false
			p := res.version(strings.TrimSpace(e.Limit))
			if !p.ok {
				cr.usable = false
			}
			cr.limits = append(cr.limits, p)
			continue
		default:
			continue
		}
		s = strings.TrimSpace(s)
		if ce.kind == evIntroduced && s == "0" {
			ce.zero = true
		} else {
			ce.v = res.version(s)
			if !ce.v.ok {
				cr.usable = false
			}
			if ce.kind == evIntroduced {
				cr.open = false
			}
		}
		cr.events = append(cr.events, ce)
	}
	if len(cr.events) == 0 || !cr.usable {
		cr.open = false
	}
	if cr.usable {
		sort.SliceStable(cr.events, func(i, j int) bool {
			a, b := cr.events[i], cr.events[j]
			if a.zero || b.zero {
				return a.zero && !b.zero
			}
			return compareVersions(a.v, b.v) < 0
		})
	}
	return cr
}

// contains evaluates the range for version q.
func (r *compiledRange) contains(q *pver) bool {
	if r.open {
		return true
	}
	if !r.usable || !q.ok {
		return false
	}
	return r.eval(func(e *pver) int { return compareVersions(q, e) })
}

// eval runs the OSV evaluation of a usable range for a version whose order
// against an event version is given by cmp (sign of version - event): the
// version must be below one of the limits (if any); walking the sorted
// events, introduced turns "affected" on when version >= it, fixed turns it
// off when version >= it, last_affected when version > it.
func (r *compiledRange) eval(cmp func(e *pver) int) bool {
	if len(r.limits) > 0 {
		below := false
		for _, l := range r.limits {
			if cmp(l) < 0 {
				below = true
				break
			}
		}
		if !below {
			return false
		}
	}
	affected := false
	for i := range r.events {
		e := &r.events[i]
		if e.zero {
			affected = true
			continue
		}
		c := cmp(e.v)
		if c < 0 {
			break // events are sorted: none of the rest applies
		}
		switch e.kind {
		case evIntroduced:
			affected = true
		case evFixed:
			affected = false
		case evLastAffected:
			if c > 0 {
				affected = false
			}
		}
	}
	return affected
}

// matches reports whether the entry covers version q: an explicit version
// equal to q under PEP 440 (by text when q is not PEP 440), or a range.
func (a *compiledAffected) matches(q *pver) bool {
	if q.ok {
		vs := a.versions
		i := sort.Search(len(vs), func(i int) bool { return vs[i].eq >= q.eq })
		if i < len(vs) && vs[i].eq == q.eq {
			return true
		}
	} else {
		for _, o := range a.odd {
			if o == q.canon {
				return true
			}
		}
	}
	for i := range a.ranges {
		if a.ranges[i].contains(q) {
			return true
		}
	}
	return false
}

// compiled returns the matcher of v, compiling it when v was built by hand.
func (v *Vuln) compiled() *compiledVuln {
	if v.m != nil {
		return v.m
	}
	return compileVuln(v)
}

// Affects reports whether v affects name@version. name is PEP 503
// normalized and version PEP 440 normalized by the callee. A withdrawn
// record never affects anything. An explicit versions entry matches on its
// PEP 440 normalized form (exact text when not PEP 440); an ECOSYSTEM range
// matches by PEP 440 ordering; a version that is not PEP 440 matches only
// through the versions list or a range that is just introduced "0".
func (v *Vuln) Affects(name, version string) bool {
	if v == nil || !v.Withdrawn.IsZero() {
		return false
	}
	return v.compiled().affects(NormalizeName(name), parseVersion(strings.TrimSpace(version)))
}

func (c *compiledVuln) affects(name string, q *pver) bool {
	for i := range c.affected {
		a := &c.affected[i]
		if a.name == name && a.matches(q) {
			return true
		}
	}
	return false
}

// Names returns the normalized package names the record covers.
func (v *Vuln) Names() []string {
	var out []string
	for _, a := range v.Affected {
		n := NormalizeName(a.Name)
		dup := false
		for _, o := range out {
			if o == n {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, n)
		}
	}
	return out
}

// IsWithdrawn reports whether the record was retracted.
func (v *Vuln) IsWithdrawn() bool { return !v.Withdrawn.IsZero() }
