package policy

import (
	"errors"
	"sync"
	"time"

	"github.com/osaproxy/caddy-osaproxy/intel"
)

// ErrNoIntel is the cause of Decision.Err when a condition needs threat
// intelligence and Env.Intel is nil. Test with errors.Is.
var ErrNoIntel = errors.New("no vulnerability intelligence loaded")

// tri is the three-valued result of a condition: an unknown result (a
// condition could not be evaluated) only matters when it decides the policy.
type tri uint8

const (
	triFalse tri = iota
	triTrue
	triUnknown
)

// evalCtx is the per-evaluation state, pooled so that the Allow path does
// not allocate.
type evalCtx struct {
	// c points to comp, a copy of the component: keeping the caller's
	// pointer in a pooled context would move every caller's Component to
	// the heap.
	c    *Component
	comp Component
	name string // c.Name, PEP 503 normalized
	env  *Env
	now  time.Time
	idx  *intel.Snapshot

	vulnsLoaded bool
	vulns       []*intel.Vuln

	// cand is the component version, parsed on first use (verLoaded).
	verLoaded bool
	cand      pepCandidate
	// fixA, fixB are scratch versions for the security-fix search.
	fixA, fixB pepVer

	// err is the first evaluation error of the policy being evaluated.
	err error
	// notes are appended by conditions that let a component through on a
	// documented exception (allow_security_fixes).
	notes []string

	// reasons and advisories are filled by explain for a matching policy.
	reasons    []string
	advisories []string
}

var ctxPool = sync.Pool{New: func() any { return new(evalCtx) }}

func getCtx(c *Component, env *Env) *evalCtx {
	x := ctxPool.Get().(*evalCtx)
	x.comp = *c
	x.c, x.env = &x.comp, env
	x.name = NormalizeName(c.Name)
	x.now = env.Now
	if x.now.IsZero() {
		x.now = time.Now()
	}
	x.idx = env.Intel
	return x
}

func putCtx(x *evalCtx) {
	x.c, x.env, x.idx, x.err = nil, nil, nil, nil
	x.comp = Component{}
	x.vulnsLoaded, x.vulns = false, nil
	if x.verLoaded {
		// Keep the release storage for the next evaluation.
		x.verLoaded = false
		x.cand = pepCandidate{v: pepVer{rel: x.cand.v.rel[:0]}}
	}
	x.fixA.local, x.fixB.local = "", "" // may point into Project.Versions
	x.notes, x.reasons, x.advisories = x.notes[:0], x.reasons[:0], x.advisories[:0]
	ctxPool.Put(x)
}

// affecting returns the records affecting the component (cached per evaluation).
func (x *evalCtx) affecting() ([]*intel.Vuln, error) {
	if x.idx == nil {
		return nil, ErrNoIntel
	}
	if !x.vulnsLoaded {
		x.vulns = x.idx.Affecting(x.name, x.c.Version)
		x.vulnsLoaded = true
	}
	return x.vulns, nil
}

// version returns the component version, parsed once per evaluation;
// ok is false when it is not PEP 440.
func (x *evalCtx) version() (*pepCandidate, bool) {
	if !x.verLoaded {
		x.verLoaded = true
		x.cand.raw = x.c.Version
		x.cand.ok = parsePEP440(x.c.Version, &x.cand.v)
	}
	return &x.cand, x.cand.ok
}

func (x *evalCtx) fail(kind string, err error) tri {
	if x.err == nil {
		x.err = &condError{kind: kind, err: err}
	}
	return triUnknown
}

func (x *evalCtx) addNote(n string) {
	for _, o := range x.notes {
		if o == n {
			return
		}
	}
	x.notes = append(x.notes, n)
}

// pkg is "name version" as used at the start of reasons.
func (x *evalCtx) pkg() string {
	if x.c.Version == "" {
		return x.name
	}
	return x.name + " " + x.c.Version
}

type condError struct {
	kind string
	err  error
}

func (e *condError) Error() string { return "condition " + e.kind + ": " + e.err.Error() }
func (e *condError) Unwrap() error { return e.err }
