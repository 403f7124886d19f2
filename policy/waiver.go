package policy

import (
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// compiledWaiver is one validated waiver.
type compiledWaiver struct {
	cfg      WaiverConfig
	pkg      nameMatcher
	spec     *pep440Spec // nil: every version
	scope    scope
	sha      string          // lower-case hex, "" = every file
	policies map[string]bool // nil: every policy
}

func compileWaiver(wc WaiverConfig, policyNames map[string]bool) (*compiledWaiver, error) {
	wc.Name = strings.TrimSpace(wc.Name)
	if wc.Name == "" {
		return nil, fmt.Errorf("name is required")
	}
	w := &compiledWaiver{cfg: wc}
	if strings.TrimSpace(wc.Package) == "" {
		return nil, fmt.Errorf("package is required")
	}
	m, err := newNameMatcher([]string{wc.Package})
	if err != nil {
		return nil, fmt.Errorf("package: %w", err)
	}
	w.pkg = m
	if wc.Version != "" {
		sp, err := compilePEP440Spec(wc.Version)
		if err != nil {
			return nil, fmt.Errorf("version: %w", err)
		}
		w.spec = sp
	}
	if w.scope, err = newScope(wc.Repositories); err != nil {
		return nil, fmt.Errorf("repositories: %w", err)
	}
	if wc.Sha256 != "" {
		b, err := hex.DecodeString(wc.Sha256)
		if err != nil || len(b) != 32 {
			return nil, fmt.Errorf("sha256 %q is not 64 hex digits", wc.Sha256)
		}
		w.sha = strings.ToLower(wc.Sha256)
	}
	if len(wc.Policies) > 0 {
		w.policies = make(map[string]bool, len(wc.Policies))
		for _, p := range wc.Policies {
			if !policyNames[p] {
				return nil, fmt.Errorf("unknown policy %q", p)
			}
			w.policies[p] = true
		}
	}
	if wc.Expires.IsZero() {
		return nil, fmt.Errorf("expires is required (waivers must expire)")
	}
	if strings.TrimSpace(wc.Justification) == "" {
		return nil, fmt.Errorf("justification is required")
	}
	if strings.TrimSpace(wc.ApprovedBy) == "" {
		return nil, fmt.Errorf("approved_by is required")
	}
	return w, nil
}

// applies reports whether the waiver allows the component blocked by the
// blocking policies at time now.
func (w *compiledWaiver) applies(x *evalCtx, blocking []string) bool {
	if !x.now.Before(w.cfg.Expires) {
		return false
	}
	if _, ok := w.pkg.match(x.name); !ok {
		return false
	}
	if w.spec != nil {
		c, ok := x.version()
		if !ok || !w.spec.check(c) {
			return false
		}
	}
	if !w.scope.match(x.c) {
		return false
	}
	if w.sha != "" && !strings.EqualFold(w.sha, x.c.Sha256) {
		return false
	}
	if w.policies != nil {
		for _, p := range blocking {
			if !w.policies[p] {
				return false
			}
		}
	}
	return true
}

// WaiverStatus describes one waiver for display (/osa/policies).
type WaiverStatus struct {
	Name          string    `json:"name"`
	Package       string    `json:"package"`
	Version       string    `json:"version,omitempty"`
	Repositories  []string  `json:"repositories,omitempty"`
	Sha256        string    `json:"sha256,omitempty"`
	Policies      []string  `json:"policies,omitempty"`
	Expires       time.Time `json:"expires"`
	Justification string    `json:"justification"`
	ApprovedBy    string    `json:"approved_by"`
	// Expired is true once Expires has passed; an expired waiver no longer applies.
	Expired bool `json:"expired"`
}

// Waivers describes the waivers, with Expired computed at the current time.
func (e *Engine) Waivers() []WaiverStatus { return e.WaiversAt(time.Now()) }

// WaiversAt describes the waivers, with Expired computed at now.
func (e *Engine) WaiversAt(now time.Time) []WaiverStatus {
	out := make([]WaiverStatus, 0, len(e.waivers))
	for _, w := range e.waivers {
		c := w.cfg
		out = append(out, WaiverStatus{
			Name: c.Name, Package: c.Package, Version: c.Version,
			Repositories: c.Repositories, Sha256: c.Sha256, Policies: c.Policies,
			Expires: c.Expires, Justification: c.Justification, ApprovedBy: c.ApprovedBy,
			Expired: !now.Before(c.Expires),
		})
	}
	return out
}
