package policy

import (
	"errors"
	"sync"
	"time"

	version "github.com/aquasecurity/go-pep440-version"

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
	c    *Component
	name string // c.Name, PEP 503 normalized
	env  *Env
	now  time.Time
	idx  *intel.Snapshot

	vulnsLoaded bool
	vulns       []*intel.Vuln

	verLoaded bool
	verOK     bool
	ver       version.Version

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
	x.c, x.env = c, env
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
	x.vulnsLoaded, x.vulns = false, nil
	if x.verLoaded {
		x.verLoaded, x.verOK, x.ver = false, false, version.Version{}
	}
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

// version returns the parsed PEP 440 version of the component (cached).
func (x *evalCtx) version() (version.Version, bool) {
	if !x.verLoaded {
		x.verLoaded = true
		if v, err := version.Parse(x.c.Version); err == nil {
			x.ver, x.verOK = v, true
		}
	}
	return x.ver, x.verOK
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
