package policy

// PolicyStatus describes one policy for display (/osa/policies).
type PolicyStatus struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Active is true when the proxy evaluates the policy.
	Active bool `json:"active"`
	// Skipped says why an inactive policy is not evaluated.
	Skipped      string   `json:"skipped,omitempty"`
	Blocker      bool     `json:"blocker"`
	Delay        string   `json:"delay,omitempty"`
	Stages       []string `json:"stages"`
	Components   []string `json:"components"`
	Repositories []string `json:"repositories,omitempty"`
	// Conditions is a readable summary, e.g.
	// "any(cvss3_score >= 9.0, not(dependency_name_in safe-*)) and upstream_yanked".
	Conditions string `json:"conditions"`
}

// Describe lists every policy (evaluated or not) in configuration order.
func (e *Engine) Describe() []PolicyStatus {
	out := make([]PolicyStatus, 0, len(e.policies))
	for _, p := range e.policies {
		out = append(out, PolicyStatus{
			Name:         p.name,
			Description:  p.cfg.Description,
			Active:       p.skip == "",
			Skipped:      p.skip,
			Blocker:      p.blocker,
			Delay:        p.cfg.Delay,
			Stages:       p.cfg.Stages,
			Components:   p.cfg.Components,
			Repositories: p.cfg.Repositories,
			Conditions:   summaries(p.conds, " and "),
		})
	}
	return out
}

// Names lists every compiled policy name, in configuration order.
func (e *Engine) Names() []string {
	out := make([]string, len(e.policies))
	for i, p := range e.policies {
		out[i] = p.name
	}
	return out
}
