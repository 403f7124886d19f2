package policy

import (
	"math"
	"time"

	"github.com/osaproxy/caddy-osaproxy/intel"
)

// ageCond is dependency_age: the time since the component (its file, or
// else its release) was uploaded.
type ageCond struct {
	o          op
	d          time.Duration
	raw        string
	text       string
	allowFixes bool
	missingOld bool // missing_upload_time treat_as_old (else treat_as_young)
}

// uploadTime is the file upload time, else the release time from the
// project, else zero.
func (x *evalCtx) uploadTime() time.Time {
	if !x.c.UploadTime.IsZero() {
		return x.c.UploadTime
	}
	if p := x.env.Project; p != nil && p.ReleaseTimes != nil {
		return p.ReleaseTimes[x.c.Version]
	}
	return time.Time{}
}

// age returns the age used for comparison and whether the upload time is known.
func (a *ageCond) age(x *evalCtx) (time.Duration, bool) {
	t := x.uploadTime()
	if t.IsZero() {
		if a.missingOld {
			return time.Duration(math.MaxInt64), false
		}
		return 0, false
	}
	return x.now.Sub(t), true
}

func (a *ageCond) eval(x *evalCtx) tri {
	age, _ := a.age(x)
	if !cmpOrdered(a.o, age, a.d) {
		return triFalse
	}
	if !a.allowFixes {
		return triTrue
	}
	fix, older, err := securityFix(x)
	if err != nil {
		return x.fail("dependency_age", err)
	}
	if fix != nil {
		x.addNote(a.young(x) + " but is allowed: it fixes " + displayID(fix) + advisorySuffix(fix) +
			" which affects the previous version " + older)
		return triFalse
	}
	return triTrue
}

func advisorySuffix(v *intel.Vuln) string {
	if d := displayID(v); d != v.ID {
		return " (" + v.ID + ")"
	}
	return ""
}

// young renders the age part of a reason.
func (a *ageCond) young(x *evalCtx) string {
	bound := a.o.String() + " " + a.raw
	if a.o == opLT || a.o == opLE {
		bound += " cooldown"
	}
	age, known := a.age(x)
	if !known {
		treat := "young"
		if a.missingOld {
			treat = "old"
		}
		return x.pkg() + " has no known upload time (treated as " + treat + ", " + bound + ")"
	}
	return x.pkg() + " was uploaded " + FormatDuration(age) + " ago (" + bound + ")"
}

func (a *ageCond) explain(x *evalCtx) {
	x.reasons = append(x.reasons, a.young(x))
}

func (a *ageCond) summary() string  { return a.text }
func (a *ageCond) kind() string     { return "dependency_age" }
func (a *ageCond) children() []cond { return nil }

// securityFix finds a record that affects the newest version older than the
// component (among Project.Versions, PEP 440 order; pre-releases are only
// considered when the component itself is one) but not the component. It
// returns nil when there is no such record or nothing to compare with.
func securityFix(x *evalCtx) (*intel.Vuln, string, error) {
	p := x.env.Project
	if p == nil || len(p.Versions) == 0 {
		return nil, "", nil
	}
	c, ok := x.version()
	if !ok {
		return nil, "", nil
	}
	bestRaw := newestOlder(&c.v, p.Versions, &x.fixA, &x.fixB)
	if bestRaw == "" {
		return nil, "", nil
	}
	now, err := x.affecting()
	if err != nil {
		return nil, "", err
	}
	for _, old := range x.idx.Affecting(x.name, bestRaw) {
		fixed := true
		for _, v := range now {
			if v.ID == old.ID {
				fixed = false
				break
			}
		}
		if fixed {
			return old, bestRaw, nil
		}
	}
	return nil, bestRaw, nil
}

// newestOlder returns the newest of versions (PEP 440 order, the first of
// equal ones) that is older than cur, skipping pre-releases unless cur is
// one, or "" when there is none. a and b are scratch storage.
func newestOlder(cur *pepVer, versions []string, a, b *pepVer) string {
	curPre := cur.isPre()
	v, best := a, b
	var bestRaw string
	for _, raw := range versions {
		if !parsePEP440(raw, v) || cmpVer(v, cur, false) >= 0 || (!curPre && v.isPre()) {
			continue
		}
		if bestRaw == "" || cmpVer(v, best, false) > 0 {
			v, best = best, v // best keeps this parse; v's storage is reused
			bestRaw = raw
		}
	}
	return bestRaw
}
