package policy

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// DelayKey is the key under which Env.FirstTrigger records when a component
// first triggered a delayed-block policy: "<policy>|pkg:pypi/<name>@<version>".
// The repository is deliberately not part of it: a version is the same
// artifact through every repository, and a new repository must not restart
// the clock.
func DelayKey(policy string, c *Component) string {
	return policy + "|" + c.PURL()
}

// Evaluate decides one component. It is safe for concurrent use. Every
// active policy in scope whose conditions hold is a Match; the outcome is
// Block if a blocker matched (and its delay, if any, is over), Delayed if
// only delayed blockers matched, ReportOnly if only non-blockers matched,
// Allow otherwise. An unexpired waiver that covers the component and every
// blocking policy turns Block or Delayed into Allow (Matches are kept).
// When a condition cannot be evaluated (no intelligence) and that decides
// a policy, Decision.Err is set and the caller applies its fail mode.
func (e *Engine) Evaluate(c *Component, env *Env) Decision {
	var d Decision
	if c == nil {
		d.Err = errors.New("policy: nil component")
		return d
	}
	if env == nil {
		env = &Env{}
	}
	x := getCtx(c, env)
	defer putCtx(x)

	blockers, delayed := 0, 0
	for _, p := range e.active {
		if !p.scope.match(c) {
			continue
		}
		x.err = nil
		switch evalAnd(x, p.conds) {
		case triFalse:
			continue
		case triUnknown:
			if d.Err == nil {
				d.Err = fmt.Errorf("policy %q: %w", p.name, x.err)
			}
			continue
		}
		m := e.match(x, p)
		if p.blocker {
			if p.delay > 0 && env.FirstTrigger != nil {
				first, err := env.FirstTrigger(DelayKey(p.name, c), x.now)
				switch {
				case err != nil:
					if d.Err == nil {
						d.Err = fmt.Errorf("policy %q: delayed block: %w", p.name, err)
					}
				case x.now.Before(first.Add(p.delay)):
					m.Delayed = true
					m.BlockAfter = first.Add(p.delay)
				}
			}
			if m.Delayed {
				delayed++
			} else {
				blockers++
			}
		}
		d.Matches = append(d.Matches, m)
	}

	switch {
	case blockers > 0:
		d.Outcome = Block
	case delayed > 0:
		d.Outcome = Delayed
	case len(d.Matches) > 0:
		d.Outcome = ReportOnly
	}

	if d.Outcome == Block || d.Outcome == Delayed {
		blocking := make([]string, 0, blockers+delayed)
		for _, m := range d.Matches {
			if m.Blocker {
				blocking = append(blocking, m.Policy)
			}
		}
		for _, w := range e.waivers {
			if w.applies(x, blocking) {
				d.Outcome = Allow
				d.Waiver = w.cfg.Name
				break
			}
		}
	}

	if len(d.Matches) > 0 {
		var all []string
		for _, m := range d.Matches {
			all = append(all, m.Advisories...)
		}
		d.Advisories = sortUnique(all)
	}
	if len(x.notes) > 0 {
		d.Notes = slices.Clone(x.notes)
	}
	return d
}

// match builds the Match of a policy whose conditions hold.
func (e *Engine) match(x *evalCtx, p *compiledPolicy) Match {
	x.reasons = x.reasons[:0]
	x.advisories = x.advisories[:0]
	for _, c := range p.conds {
		c.explain(x)
	}
	return Match{
		Policy:     p.name,
		Blocker:    p.blocker,
		Reasons:    slices.Clone(x.reasons),
		Advisories: sortUnique(slices.Clone(x.advisories)),
	}
}

func sortUnique(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	slices.Sort(s)
	return slices.Compact(s)
}

// BlockAfterOf returns the earliest instant a Delayed decision turns into a
// block (zero when no match is delayed).
func (d *Decision) BlockAfterOf() time.Time {
	var t time.Time
	for _, m := range d.Matches {
		if m.Delayed && (t.IsZero() || m.BlockAfter.Before(t)) {
			t = m.BlockAfter
		}
	}
	return t
}
