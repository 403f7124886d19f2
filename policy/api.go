// Package policy decides whether a component may pass the proxy. It holds the
// policy model (stages, scope, blocker, delayed block, nested conditions),
// waivers with mandatory expiry, and the evaluation that explains every match
// in words a developer can act on. It knows nothing of HTTP or Caddy.
package policy

import (
	"time"

	"github.com/osaproxy/caddy-osaproxy/intel"
)

// Component is what is being decided: one file or one version of a package.
type Component struct {
	Ecosystem string // "pypi"
	Name      string // PEP 503 normalized
	Version   string
	// Filename is empty when a whole version is decided (legacy JSON API).
	Filename    string
	PackageType string // sdist, wheel, egg, other ("" unknown)
	Sha256      string
	// UploadTime of the file (PEP 700); zero when unknown.
	UploadTime    time.Time
	Yanked        bool
	ProjectStatus string // PEP 792 status ("" unknown / active)
	// Repository is the proxy repository name; RepoManagerHost and RepoName
	// come from the base64 URL context (empty without one).
	Repository      string
	RepoManagerHost string
	RepoName        string
}

// PURL returns pkg:pypi/<name>@<version>.
func (c *Component) PURL() string {
	if c.Version == "" {
		return "pkg:pypi/" + c.Name
	}
	return "pkg:pypi/" + c.Name + "@" + c.Version
}

// Project is what is known about the component's project from the index
// (all its versions and their release upload times); nil when unknown.
type Project struct {
	Versions []string
	// ReleaseTimes maps version -> earliest upload time of its files.
	ReleaseTimes map[string]time.Time
}

// Env is the evaluation environment.
type Env struct {
	Now   time.Time
	Intel *intel.Snapshot // nil: no intelligence (conditions needing it count as errors)
	// Project gives context for cooldown security-fix bypass; may be nil.
	Project *Project
	// FirstTrigger returns (and records on first call) when key first
	// triggered a delayed-block policy. Nil disables delayed blocks (they then block).
	FirstTrigger func(key string, now time.Time) (time.Time, error)
}

// Outcome of an evaluation.
type Outcome uint8

// Outcomes.
const (
	Allow      Outcome = iota // no blocker policy matched (or a waiver applied)
	Block                     // a blocker policy matched
	ReportOnly                // only non-blocker policies matched (recorded as would_block)
	Delayed                   // a blocker with delay matched, delay not yet over (delayed_block)
)

func (o Outcome) String() string {
	switch o {
	case Block:
		return "block"
	case ReportOnly:
		return "report_only"
	case Delayed:
		return "delayed"
	}
	return "allow"
}

// Match is one policy that fired.
type Match struct {
	Policy     string    `json:"policy"`
	Blocker    bool      `json:"blocker"`
	Delayed    bool      `json:"delayed,omitempty"`
	BlockAfter time.Time `json:"block_after,omitempty"`
	// Reasons explain each condition that fired, e.g.
	// "requests 2.19.0 has CVE-2018-18074, CVSS 3.x 7.5 >= 7.0".
	Reasons    []string `json:"reasons"`
	Advisories []string `json:"advisories,omitempty"`
}

// Decision is the result of evaluating a component.
type Decision struct {
	Outcome Outcome
	Matches []Match
	// Waiver names the waiver that allowed a component that would otherwise be blocked.
	Waiver string
	// Advisories is the union of advisory ids of all matches (sorted).
	Advisories []string
	// Notes explain decisions that did not block although a condition came
	// close, e.g. a young version let through the cooldown because it fixes
	// a vulnerability of the previous version (allow_security_fixes).
	Notes []string
	// Err is set when a condition could not be evaluated (e.g. no intel);
	// the caller applies block_on_errors / work mode.
	Err error
}

// Policies returns the names of the matched policies.
func (d *Decision) Policies() []string {
	out := make([]string, 0, len(d.Matches))
	for _, m := range d.Matches {
		out = append(out, m.Policy)
	}
	return out
}
