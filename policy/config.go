package policy

import "time"

// Config is the JSON form of policies and waivers (the osa app's "policies"
// and "waivers"). The Caddyfile form is parsed into it by the root package.
type Config struct {
	Policies []PolicyConfig `json:"policies,omitempty"`
	Waivers  []WaiverConfig `json:"waivers,omitempty"`
}

// PolicyConfig is one policy.
type PolicyConfig struct {
	// Name identifies the policy in decisions and the journal.
	Name string `json:"name"`
	// Description is free text shown in the console.
	Description string `json:"description,omitempty"`
	// Stages the policy applies to; only policies whose stages include
	// "proxy" are applied by the proxy. Empty means ["proxy"].
	Stages []string `json:"stages,omitempty"`
	// Components the policy applies to: "packages" (default) or "container_images".
	Components []string `json:"components,omitempty"`
	// Repositories scopes the policy: proxy repository names, repo-manager
	// repository names (repoName of the URL context) or "host/name" pairs.
	// Empty: every repository.
	Repositories []string `json:"repositories,omitempty"`
	// Inactive disables the policy without removing it.
	Inactive bool `json:"inactive,omitempty"`
	// Blocker makes matches block; without it the policy only reports (would_block).
	Blocker bool `json:"blocker,omitempty"`
	// Delay turns a blocker into a delayed block: a component is allowed until
	// Delay has passed since it first triggered the policy. Go duration string
	// or with a "d" suffix for days ("14d").
	Delay string `json:"delay,omitempty"`
	// Conditions are combined with AND.
	Conditions []ConditionConfig `json:"conditions"`
}

// ConditionConfig is one condition or a group. Exactly one of All, Any, Not
// or Type is set.
type ConditionConfig struct {
	// All is an AND group.
	All []ConditionConfig `json:"all,omitempty"`
	// Any is an OR group.
	Any []ConditionConfig `json:"any,omitempty"`
	// Not negates its condition.
	Not *ConditionConfig `json:"not,omitempty"`
	// Type is the condition name, e.g. "dependency_is_dangerous", "cvss3_score".
	Type string `json:"type,omitempty"`
	// Op is the comparison for numeric, duration and count conditions:
	// "<", "<=", ">", ">=", "==", "!=".
	Op string `json:"op,omitempty"`
	// Value is the comparison operand ("9.0", "7d", "3").
	Value string `json:"value,omitempty"`
	// Values are the list operand (ids, names, globs, purls, types, severities, statuses).
	Values []string `json:"values,omitempty"`
	// AllowSecurityFixes (dependency_age): a young version passes when it fixes
	// a vulnerability that affects the newest older version.
	AllowSecurityFixes bool `json:"allow_security_fixes,omitempty"`
	// MissingUploadTime (dependency_age): "treat_as_old" or "treat_as_young"; required.
	MissingUploadTime string `json:"missing_upload_time,omitempty"`
}

// WaiverConfig is an exception that expires.
type WaiverConfig struct {
	// Name identifies the waiver in decisions.
	Name string `json:"name"`
	// Package is the project name (normalized when compared; globs allowed).
	Package string `json:"package"`
	// Version is a PEP 440 specifier ("==1.2.3", ">=1,<2"); empty: every version.
	Version string `json:"version,omitempty"`
	// Repositories limits the waiver like a policy's repositories; empty: all.
	Repositories []string `json:"repositories,omitempty"`
	// Sha256 limits the waiver to one file.
	Sha256 string `json:"sha256,omitempty"`
	// Policies limits the waiver to these policies; empty: all.
	Policies []string `json:"policies,omitempty"`
	// Expires is mandatory: the waiver stops applying at this instant.
	Expires time.Time `json:"expires"`
	// Justification says why (mandatory).
	Justification string `json:"justification"`
	// ApprovedBy names who approved it (mandatory).
	ApprovedBy string `json:"approved_by"`
}
