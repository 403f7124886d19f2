package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Engine is a compiled, immutable policy set. It is safe for concurrent use.
type Engine struct {
	gen      string
	policies []*compiledPolicy // every policy, in configuration order
	active   []*compiledPolicy // the policies the proxy evaluates
	waivers  []*compiledWaiver

	needsIntel, fileSensitive, needsUploadTime bool
	// File attributes read by active conditions and waivers (AppendFileClass).
	usesType, usesYanked, usesSha bool
	ages                          []*ageCond
	// timeDependent: a decision can change with Env.Now, Env.Project or
	// Env.FirstTrigger alone (ages, delays, waiver expiry).
	timeDependent bool
}

// compiledPolicy is one validated policy.
type compiledPolicy struct {
	cfg     PolicyConfig // with defaults applied
	name    string
	blocker bool
	delay   time.Duration
	scope   scope
	conds   []cond
	// skip says why the proxy does not evaluate the policy ("" = evaluated).
	skip string
}

// knownStages are the CodeScoring stages; only "proxy" concerns the proxy.
var knownStages = []string{"dev", "stage", "test", "prod", "proxy", "source", "build"}

// knownComponents are the OSA component kinds; the proxy decides packages.
var knownComponents = []string{"packages", "container_images"}

// Compile validates and compiles a config. Errors name the policy or waiver
// and the problem, e.g.
// `policy "Cooldown": condition dependency_age: missing_upload_time is required (treat_as_old or treat_as_young)`.
//
// Policies whose stages lack "proxy", whose components lack "packages" or
// that are inactive are kept for Describe but never evaluated.
func Compile(cfg Config) (*Engine, error) {
	raw, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("policy config: %w", err)
	}
	sum := sha256.Sum256(raw)
	e := &Engine{gen: hex.EncodeToString(sum[:])[:12]}

	names := make(map[string]bool, len(cfg.Policies))
	for i := range cfg.Policies {
		p, err := compilePolicy(cfg.Policies[i])
		if err != nil {
			if cfg.Policies[i].Name == "" {
				return nil, fmt.Errorf("policy #%d: %w", i+1, err)
			}
			return nil, fmt.Errorf("policy %q: %w", cfg.Policies[i].Name, err)
		}
		if names[p.name] {
			return nil, fmt.Errorf("policy %q: duplicate policy name", p.name)
		}
		names[p.name] = true
		e.policies = append(e.policies, p)
		if p.skip != "" {
			continue
		}
		e.active = append(e.active, p)
		for _, c := range p.conds {
			if condNeedsIntel(c) {
				e.needsIntel = true
			}
			if condUses(c, "dependency_age") {
				e.needsUploadTime = true
			}
			if condUses(c, "package_type_in", "upstream_yanked", "dependency_age") {
				e.fileSensitive = true
			}
			e.usesType = e.usesType || condUses(c, "package_type_in")
			e.usesYanked = e.usesYanked || condUses(c, "upstream_yanked")
			e.ages = appendAgeConds(e.ages, c)
			if condUses(c, "dependency_age", "vulnerability_age") {
				e.timeDependent = true
			}
		}
		if p.blocker && p.delay > 0 {
			e.timeDependent = true
		}
	}

	wnames := make(map[string]bool, len(cfg.Waivers))
	for i := range cfg.Waivers {
		w, err := compileWaiver(cfg.Waivers[i], names)
		if err != nil {
			if cfg.Waivers[i].Name == "" {
				return nil, fmt.Errorf("waiver #%d: %w", i+1, err)
			}
			return nil, fmt.Errorf("waiver %q: %w", cfg.Waivers[i].Name, err)
		}
		if wnames[w.cfg.Name] {
			return nil, fmt.Errorf("waiver %q: duplicate waiver name", w.cfg.Name)
		}
		wnames[w.cfg.Name] = true
		if w.sha != "" {
			e.fileSensitive = true
			e.usesSha = true
		}
		e.timeDependent = true // waivers expire
		e.waivers = append(e.waivers, w)
	}
	return e, nil
}

func compilePolicy(pc PolicyConfig) (*compiledPolicy, error) {
	pc.Name = strings.TrimSpace(pc.Name)
	if pc.Name == "" {
		return nil, fmt.Errorf("name is required")
	}
	p := &compiledPolicy{name: pc.Name, blocker: pc.Blocker}

	stages := make([]string, 0, len(pc.Stages))
	for _, s := range pc.Stages {
		ls := strings.ToLower(strings.TrimSpace(s))
		if !oneOf(ls, knownStages, false) {
			return nil, fmt.Errorf("unknown stage %q (one of %s)", s, strings.Join(knownStages, ", "))
		}
		stages = append(stages, ls)
	}
	if len(stages) == 0 {
		stages = []string{"proxy"}
	}
	pc.Stages = stages

	comps := make([]string, 0, len(pc.Components))
	for _, s := range pc.Components {
		ls := strings.ToLower(strings.TrimSpace(s))
		if !oneOf(ls, knownComponents, false) {
			return nil, fmt.Errorf("unknown component kind %q (one of %s)", s, strings.Join(knownComponents, ", "))
		}
		comps = append(comps, ls)
	}
	if len(comps) == 0 {
		comps = []string{"packages"}
	}
	pc.Components = comps

	sc, err := newScope(pc.Repositories)
	if err != nil {
		return nil, err
	}
	p.scope = sc

	if pc.Delay != "" {
		d, err := ParseDuration(pc.Delay)
		if err != nil {
			return nil, fmt.Errorf("delay: %w", err)
		}
		p.delay = d
	}

	if len(pc.Conditions) == 0 {
		return nil, fmt.Errorf("no conditions (a policy without conditions would match everything)")
	}
	for i := range pc.Conditions {
		c, err := compileCond(&pc.Conditions[i])
		if err != nil {
			return nil, err
		}
		p.conds = append(p.conds, c)
	}

	switch {
	case pc.Inactive:
		p.skip = "inactive"
	case !oneOf("proxy", stages, false):
		p.skip = "stages do not include proxy"
	case !oneOf("packages", comps, false):
		p.skip = "components do not include packages"
	}
	p.cfg = pc
	return p, nil
}

// Generation is a short hash (12 hex digits) of the canonical JSON of the
// configuration, for caches and ETags.
func (e *Engine) Generation() string { return e.gen }

// NeedsIntel reports whether any active policy has a condition that needs intelligence.
func (e *Engine) NeedsIntel() bool { return e.needsIntel }

// FileSensitive reports whether decisions can differ between files of the
// same version (package_type_in, upstream_yanked, dependency_age on the file
// upload time, waivers limited to a sha256).
func (e *Engine) FileSensitive() bool { return e.fileSensitive }

// AppendFileClass appends to dst the file attributes of c that decisions
// read, as the active conditions and waivers see them at env.Now: the package
// type (package_type_in), the upstream yanked flag (upstream_yanked), for
// every dependency_age condition whether the file's age satisfies its
// comparison, and the sha256 when a waiver is limited to one. Two files of
// the same name and version whose classes are equal get the same outcome
// from Evaluate with the same Env (only the wording of reasons that name the
// file or its exact age can differ), so a caller deciding thousands of files
// of one page can evaluate once per version and class. It appends nothing
// when the engine is not FileSensitive.
func (e *Engine) AppendFileClass(dst []byte, c *Component, env *Env) []byte {
	if !e.fileSensitive {
		return dst
	}
	if e.usesType {
		dst = append(dst, c.PackageType...)
		dst = append(dst, 0)
	}
	if e.usesYanked {
		if c.Yanked {
			dst = append(dst, 'y')
		} else {
			dst = append(dst, 'n')
		}
	}
	if len(e.ages) > 0 {
		x := evalCtx{c: c, env: env, now: env.Now}
		if x.now.IsZero() {
			x.now = time.Now()
		}
		for _, a := range e.ages {
			age, _ := a.age(&x)
			if cmpOrdered(a.o, age, a.d) {
				dst = append(dst, '1')
			} else {
				dst = append(dst, '0')
			}
		}
	}
	if e.usesSha {
		dst = append(dst, 0)
		dst = append(dst, strings.ToLower(c.Sha256)...)
	}
	return dst
}

// appendAgeConds collects the dependency_age conditions under c.
func appendAgeConds(dst []*ageCond, c cond) []*ageCond {
	if a, ok := c.(*ageCond); ok {
		dst = append(dst, a)
	}
	for _, ch := range c.children() {
		dst = appendAgeConds(dst, ch)
	}
	return dst
}

// NeedsUploadTime reports whether any active policy uses dependency_age.
func (e *Engine) NeedsUploadTime() bool { return e.needsUploadTime }

// Cacheable reports whether a decision depends only on the component's
// fields, the policy generation and the intelligence snapshot, so that it
// may be cached under those. It is false when an active policy uses
// dependency_age or vulnerability_age (they depend on Env.Now and
// Env.Project), when an active blocker has a delay (Env.FirstTrigger) and
// when there are waivers (they expire at evaluation time).
func (e *Engine) Cacheable() bool { return !e.timeDependent }

// scope matches a component's repository against a policy's or waiver's
// repositories: the proxy repository name, the repo-manager repository
// name, the repo-manager host, or "host/name" (case-insensitive).
type scope struct{ entries []string }

func newScope(list []string) (scope, error) {
	var s scope
	for _, r := range list {
		r = strings.TrimSpace(r)
		if r == "" {
			return s, fmt.Errorf("empty repository name")
		}
		s.entries = append(s.entries, r)
	}
	return s, nil
}

func (s *scope) match(c *Component) bool {
	if len(s.entries) == 0 {
		return true
	}
	for _, e := range s.entries {
		if (c.Repository != "" && strings.EqualFold(e, c.Repository)) ||
			(c.RepoName != "" && strings.EqualFold(e, c.RepoName)) ||
			(c.RepoManagerHost != "" && strings.EqualFold(e, c.RepoManagerHost)) {
			return true
		}
		h := len(c.RepoManagerHost)
		if h > 0 && c.RepoName != "" && len(e) == h+1+len(c.RepoName) && e[h] == '/' &&
			strings.EqualFold(e[:h], c.RepoManagerHost) && strings.EqualFold(e[h+1:], c.RepoName) {
			return true
		}
	}
	return false
}
