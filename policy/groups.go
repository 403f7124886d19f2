package policy

import "strings"

// cond is a compiled condition or group.
type cond interface {
	// eval decides the condition without building any text.
	eval(x *evalCtx) tri
	// explain appends the reasons (and advisories) of a condition whose
	// eval returned triTrue.
	explain(x *evalCtx)
	// summary renders the condition for display.
	summary() string
	// kind is the condition type, or "all", "any", "not".
	kind() string
	// children of a group (nil for a leaf).
	children() []cond
}

// needsIntelTypes lists the condition types that read threat intelligence.
var needsIntelTypes = map[string]bool{
	"dependency_is_dangerous": true,
	"vulnerability_id_in":     true,
	"cvss2_score":             true,
	"cvss3_score":             true,
	"cvss4_score":             true,
	"severity_in":             true,
	"vulnerability_has_fix":   true,
	"vulnerability_age":       true,
	"vulnerability_count":     true,
}

// condNeedsIntel reports whether c (or a descendant) reads intelligence.
func condNeedsIntel(c cond) bool {
	if needsIntelTypes[c.kind()] {
		return true
	}
	if a, ok := c.(*ageCond); ok && a.allowFixes {
		return true
	}
	for _, ch := range c.children() {
		if condNeedsIntel(ch) {
			return true
		}
	}
	return false
}

// condUses reports whether c or a descendant has one of the types.
func condUses(c cond, types ...string) bool {
	for _, t := range types {
		if c.kind() == t {
			return true
		}
	}
	for _, ch := range c.children() {
		if condUses(ch, types...) {
			return true
		}
	}
	return false
}

// evalAnd is the AND of conds: false as soon as one is false.
func evalAnd(x *evalCtx, conds []cond) tri {
	r := triTrue
	for _, c := range conds {
		switch c.eval(x) {
		case triFalse:
			return triFalse
		case triUnknown:
			r = triUnknown
		}
	}
	return r
}

// evalOr is the OR of conds: true as soon as one is true.
func evalOr(x *evalCtx, conds []cond) tri {
	r := triFalse
	for _, c := range conds {
		switch c.eval(x) {
		case triTrue:
			return triTrue
		case triUnknown:
			r = triUnknown
		}
	}
	return r
}

func summaries(conds []cond, sep string) string {
	parts := make([]string, len(conds))
	for i, c := range conds {
		parts[i] = c.summary()
	}
	return strings.Join(parts, sep)
}

// allCond is an AND group.
type allCond struct{ list []cond }

func (g *allCond) eval(x *evalCtx) tri { return evalAnd(x, g.list) }
func (g *allCond) explain(x *evalCtx) {
	for _, c := range g.list {
		c.explain(x)
	}
}
func (g *allCond) summary() string  { return "all(" + summaries(g.list, ", ") + ")" }
func (g *allCond) kind() string     { return "all" }
func (g *allCond) children() []cond { return g.list }

// anyCond is an OR group; its reasons are those of its firing children.
type anyCond struct{ list []cond }

func (g *anyCond) eval(x *evalCtx) tri { return evalOr(x, g.list) }
func (g *anyCond) explain(x *evalCtx) {
	for _, c := range g.list {
		if c.eval(x) == triTrue {
			c.explain(x)
		}
	}
}
func (g *anyCond) summary() string  { return "any(" + summaries(g.list, ", ") + ")" }
func (g *anyCond) kind() string     { return "any" }
func (g *anyCond) children() []cond { return g.list }

// notCond negates its child.
type notCond struct{ inner cond }

func (g *notCond) eval(x *evalCtx) tri {
	switch g.inner.eval(x) {
	case triTrue:
		return triFalse
	case triFalse:
		return triTrue
	}
	return triUnknown
}
func (g *notCond) explain(x *evalCtx) {
	x.reasons = append(x.reasons, x.pkg()+": not ("+g.inner.summary()+")")
}
func (g *notCond) summary() string  { return "not(" + g.inner.summary() + ")" }
func (g *notCond) kind() string     { return "not" }
func (g *notCond) children() []cond { return []cond{g.inner} }
