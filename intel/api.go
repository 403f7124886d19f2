// Package intel loads threat intelligence (OSV records and PyPA-style YAML
// advisories) into immutable, indexed snapshots and keeps them fresh. A
// snapshot is swapped atomically, so a reader sees the old one or the new one,
// never half of either.
package intel

import "time"

// Vuln is one advisory or malicious-package record, normalized for fast matching.
type Vuln struct {
	ID        string
	Aliases   []string
	Summary   string
	Details   string
	Published time.Time
	Modified  time.Time
	Withdrawn time.Time // non-zero: retracted; it never matches

	// CWEs are the CWE ids of the record ("CWE-506"), from database_specific.cwe_ids.
	CWEs []string
	// Malicious: the id or an alias starts with "MAL-", or a CWE is one of
	// 506, 507, 509, 510, 511, 512, 912.
	Malicious bool

	// CVSS base scores computed from the vectors in "severity"; Has* tells
	// whether the record carried a vector of that version.
	CVSS2, CVSS3, CVSS4          float64
	HasCVSS2, HasCVSS3, HasCVSS4 bool
	CVSS3Vector                  string
	// Severity is CRITICAL, HIGH, MODERATE/MEDIUM, LOW (upper case) from
	// database_specific.severity or derived from the highest CVSS score; "" if unknown.
	Severity string

	Affected   []Affected
	References []string // URLs
	Source     string   // the source location the record came from

	// m is the compiled matcher (pre-parsed versions), set by ParseOSV,
	// ParsePyPAYAML and Build. Affected must not change afterwards.
	m *compiledVuln
}

// Affected is one PyPI package entry of a record.
type Affected struct {
	Name string // PEP 503 normalized
	// Versions are the explicit versions, as published. A version matches
	// one of them when equal under PEP 440 ("1.0" = "1.0.0"), or by exact
	// text when it is not PEP 440.
	Versions []string
	Ranges   []Range // ECOSYSTEM ranges only (GIT/SEMVER ignored)
	// Fixed lists every "fixed" event version of the ranges.
	Fixed []string
}

// Range is an ECOSYSTEM range as OSV events.
type Range struct {
	Events []Event
}

// Event is one OSV range event; exactly one field is set.
type Event struct {
	Introduced   string
	Fixed        string
	LastAffected string
	Limit        string
}

// SourceConfig names one intelligence source.
type SourceConfig struct {
	// Kind is "osv" (zip, folder of *.json, or http(s) URL of a zip) or
	// "pypa" (folder or zip of PyPA advisory-database YAML files).
	Kind string `json:"kind"`
	// Location is a file path, folder path or http(s) URL.
	Location string `json:"location"`
}

// SourceStatus reports one source's state for /osa/intel and health.
type SourceStatus struct {
	Kind         string    `json:"kind"`
	Location     string    `json:"location"`
	Records      int       `json:"records"`
	LoadedAt     time.Time `json:"loaded_at,omitempty"`
	LastAttempt  time.Time `json:"last_attempt,omitempty"`
	LastError    string    `json:"last_error,omitempty"`
	ETag         string    `json:"etag,omitempty"`
	LastModified string    `json:"last_modified,omitempty"`
}
