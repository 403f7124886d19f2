package intel

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"gopkg.in/yaml.v3"
)

// osvRecord is the subset of the OSV schema (1.x) that intel reads. The
// same structure decodes PyPA advisory-database YAML, which uses the OSV
// field names.
type osvRecord struct {
	SchemaVersion    string          `json:"schema_version" yaml:"schema_version"`
	ID               string          `json:"id" yaml:"id"`
	Aliases          []string        `json:"aliases" yaml:"aliases"`
	Summary          string          `json:"summary" yaml:"summary"`
	Details          string          `json:"details" yaml:"details"`
	Published        string          `json:"published" yaml:"published"`
	Modified         string          `json:"modified" yaml:"modified"`
	Withdrawn        string          `json:"withdrawn" yaml:"withdrawn"`
	Affected         []osvAffected   `json:"affected" yaml:"affected"`
	Severity         []osvSeverity   `json:"severity" yaml:"severity"`
	References       []osvReference  `json:"references" yaml:"references"`
	DatabaseSpecific osvDBSpecific   `json:"database_specific" yaml:"database_specific"`
	CWEIDs           flexStrings     `json:"cwe_ids" yaml:"cwe_ids"`
	CWEs             json.RawMessage `json:"cwes" yaml:"-"`
}

type osvAffected struct {
	Package struct {
		Name      string `json:"name" yaml:"name"`
		Ecosystem string `json:"ecosystem" yaml:"ecosystem"`
	} `json:"package" yaml:"package"`
	Ranges           []osvRange    `json:"ranges" yaml:"ranges"`
	Versions         []string      `json:"versions" yaml:"versions"`
	DatabaseSpecific osvDBSpecific `json:"database_specific" yaml:"database_specific"`

	// Set by decodeOSVFast, which resolves the versions as it reads them:
	// Versions then holds the trimmed, non-empty versions (interned text)
	// and pvers their parses; nraw is the length of the JSON list.
	resolved bool
	nraw     int
	pvers    []*pver
}

type osvRange struct {
	Type   string     `json:"type" yaml:"type"`
	Events []osvEvent `json:"events" yaml:"events"`
}

type osvEvent struct {
	Introduced   string `json:"introduced" yaml:"introduced"`
	Fixed        string `json:"fixed" yaml:"fixed"`
	LastAffected string `json:"last_affected" yaml:"last_affected"`
	Limit        string `json:"limit" yaml:"limit"`
}

type osvSeverity struct {
	Type  string `json:"type" yaml:"type"`
	Score string `json:"score" yaml:"score"`
}

type osvReference struct {
	Type string `json:"type" yaml:"type"`
	URL  string `json:"url" yaml:"url"`
}

// osvDBSpecific reads the database_specific fields intel knows of (GHSA
// style "severity" and "cwe_ids"); anything else, and values of an
// unexpected shape, are ignored rather than failing the record.
type osvDBSpecific struct {
	Severity flexString  `json:"severity" yaml:"severity"`
	CWEIDs   flexStrings `json:"cwe_ids" yaml:"cwe_ids"`
}

// UnmarshalJSON ignores a database_specific that is not an object.
func (d *osvDBSpecific) UnmarshalJSON(b []byte) error {
	type plain osvDBSpecific
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		*d = osvDBSpecific{}
		return nil
	}
	*d = osvDBSpecific(p)
	return nil
}

// UnmarshalYAML ignores a database_specific that is not a mapping.
func (d *osvDBSpecific) UnmarshalYAML(n *yaml.Node) error {
	type plain osvDBSpecific
	var p plain
	if err := n.Decode(&p); err != nil {
		*d = osvDBSpecific{}
		return nil
	}
	*d = osvDBSpecific(p)
	return nil
}

// flexString accepts a JSON/YAML string or number (as its text); any other
// shape decodes to "".
type flexString string

// UnmarshalJSON implements json.Unmarshaler.
func (f *flexString) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
		return nil
	}
	if len(b) > 0 && (b[0] == '-' || (b[0] >= '0' && b[0] <= '9')) {
		*f = flexString(b)
		return nil
	}
	*f = ""
	return nil
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (f *flexString) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*f = flexString(n.Value)
	} else {
		*f = ""
	}
	return nil
}

// flexStrings accepts a list of strings/numbers or a single one.
type flexStrings []string

// UnmarshalJSON implements json.Unmarshaler.
func (f *flexStrings) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '[' {
		var raw []flexString
		if err := json.Unmarshal(b, &raw); err != nil {
			*f = nil
			return nil
		}
		out := make([]string, 0, len(raw))
		for _, r := range raw {
			if r != "" {
				out = append(out, string(r))
			}
		}
		*f = out
		return nil
	}
	var one flexString
	if err := one.UnmarshalJSON(b); err != nil || one == "" {
		*f = nil
		return nil
	}
	*f = []string{string(one)}
	return nil
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (f *flexStrings) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.SequenceNode:
		out := make([]string, 0, len(n.Content))
		for _, c := range n.Content {
			if c.Kind == yaml.ScalarNode && c.Value != "" {
				out = append(out, c.Value)
			}
		}
		*f = out
	case yaml.ScalarNode:
		if n.Value != "" {
			*f = []string{n.Value}
		}
	default:
		*f = nil
	}
	return nil
}

// osvJSONOptions: records are decoded with the JSON v2 implementation
// (github.com/go-json-experiment/json, the basis of encoding/json/v2),
// about twice as fast as encoding/json on OSV records. It is told to be as
// lenient as encoding/json: duplicate names and invalid UTF-8 are accepted.
var osvJSONOptions = jsonv2.JoinOptions(
	jsontext.AllowDuplicateNames(true),
	jsontext.AllowInvalidUTF8(true),
)

// ErrNoID is returned for a record without an id.
var ErrNoID = errors.New("intel: OSV record without id")

// ParseOSV decodes one OSV JSON record (schema 1.x). Only affected entries
// of the PyPI ecosystem are kept; ranges other than ECOSYSTEM are dropped.
// source is recorded in Vuln.Source.
func ParseOSV(data []byte, source string) (*Vuln, error) {
	return parseOSV(data, source, globalVersions{})
}

func parseOSV(data []byte, source string, res versionResolver) (*Vuln, error) {
	var r osvRecord
	if !decodeOSVFast(data, &r, res) {
		return parseOSVGeneral(data, source, res)
	}
	return r.toVuln(source, res)
}

// parseOSVGeneral decodes a record with the JSON v2 implementation: every
// record the fast path declines, and the reference the fast path is
// tested against.
func parseOSVGeneral(data []byte, source string, res versionResolver) (*Vuln, error) {
	var r osvRecord
	if err := jsonv2.Unmarshal(data, &r, osvJSONOptions); err != nil {
		return nil, fmt.Errorf("intel: %s: invalid OSV JSON: %w", source, err)
	}
	return r.toVuln(source, res)
}

// ParsePyPAYAML decodes one PyPA advisory-database YAML record (OSV fields
// in YAML). source is recorded in Vuln.Source.
func ParsePyPAYAML(data []byte, source string) (*Vuln, error) {
	return parsePyPAYAML(data, source, globalVersions{})
}

func parsePyPAYAML(data []byte, source string, res versionResolver) (*Vuln, error) {
	var r osvRecord
	if err := yaml.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("intel: %s: invalid PyPA YAML: %w", source, err)
	}
	return r.toVuln(source, res)
}

// maliciousCWEs are the CWE numbers that mark embedded malicious code.
var maliciousCWEs = map[string]bool{
	"CWE-506": true, "CWE-507": true, "CWE-509": true, "CWE-510": true,
	"CWE-511": true, "CWE-512": true, "CWE-912": true,
}

func (r *osvRecord) toVuln(source string, res versionResolver) (*Vuln, error) {
	id := strings.TrimSpace(r.ID)
	if id == "" {
		return nil, fmt.Errorf("%w (%s)", ErrNoID, source)
	}
	v := &Vuln{
		ID:      id,
		Summary: r.Summary,
		Details: r.Details,
		Source:  source,
	}
	var err error
	if v.Published, err = parseOSVTime(r.Published); err != nil {
		return nil, fmt.Errorf("intel: %s: %s: published: %w", source, id, err)
	}
	if v.Modified, err = parseOSVTime(r.Modified); err != nil {
		return nil, fmt.Errorf("intel: %s: %s: modified: %w", source, id, err)
	}
	if v.Withdrawn, err = parseOSVTime(r.Withdrawn); err != nil {
		return nil, fmt.Errorf("intel: %s: %s: withdrawn: %w", source, id, err)
	}
	seen := map[string]bool{id: true}
	for _, a := range r.Aliases {
		a = strings.TrimSpace(a)
		if a != "" && !seen[a] {
			seen[a] = true
			v.Aliases = append(v.Aliases, a)
		}
	}

	// CWEs from every known layout.
	cwes := map[string]bool{}
	addCWEs := func(list []string) {
		for _, c := range list {
			if n := normalizeCWE(c); n != "" && !cwes[n] {
				cwes[n] = true
				v.CWEs = append(v.CWEs, n)
			}
		}
	}
	addCWEs(r.DatabaseSpecific.CWEIDs)
	addCWEs(r.CWEIDs)
	if len(r.CWEs) > 0 {
		var list []struct {
			CWEID flexString `json:"cweId"`
		}
		if json.Unmarshal(r.CWEs, &list) == nil {
			for _, c := range list {
				addCWEs([]string{string(c.CWEID)})
			}
		} else {
			var flat flexStrings
			_ = json.Unmarshal(r.CWEs, &flat)
			addCWEs(flat)
		}
	}

	var parsed [][]*pver // per kept affected entry, its versions resolved
	for i := range r.Affected {
		a := &r.Affected[i]
		addCWEs(a.DatabaseSpecific.CWEIDs)
		if !strings.EqualFold(strings.TrimSpace(a.Package.Ecosystem), "PyPI") || strings.TrimSpace(a.Package.Name) == "" {
			continue
		}
		aff := Affected{Name: NormalizeName(a.Package.Name)}
		if a.resolved {
			if a.nraw > 0 {
				aff.Versions = a.Versions
				if aff.Versions == nil {
					aff.Versions = []string{}
				}
				pv := a.pvers
				if pv == nil {
					pv = []*pver{}
				}
				parsed = append(parsed, pv)
			} else {
				parsed = append(parsed, nil)
			}
		} else if len(a.Versions) > 0 {
			aff.Versions = make([]string, 0, len(a.Versions))
			pv := make([]*pver, 0, len(a.Versions))
			for _, ver := range a.Versions {
				if ver = strings.TrimSpace(ver); ver != "" {
					p := res.version(ver)
					if p.canon == ver {
						ver = p.canon // share the interned text
					}
					aff.Versions = append(aff.Versions, ver)
					pv = append(pv, p)
				}
			}
			parsed = append(parsed, pv)
		} else {
			parsed = append(parsed, nil)
		}
		for _, rg := range a.Ranges {
			if !strings.EqualFold(rg.Type, "ECOSYSTEM") {
				continue
			}
			var out Range
			for _, e := range rg.Events {
				var ev Event
				switch {
				case e.Introduced != "":
					ev.Introduced = internVersion(res, strings.TrimSpace(e.Introduced))
				case e.Fixed != "":
					ev.Fixed = internVersion(res, strings.TrimSpace(e.Fixed))
					aff.Fixed = append(aff.Fixed, ev.Fixed)
				case e.LastAffected != "":
					ev.LastAffected = internVersion(res, strings.TrimSpace(e.LastAffected))
				case e.Limit != "":
					ev.Limit = internVersion(res, strings.TrimSpace(e.Limit))
				default:
					continue
				}
				out.Events = append(out.Events, ev)
			}
			if len(out.Events) > 0 {
				aff.Ranges = append(aff.Ranges, out)
			}
		}
		v.Affected = append(v.Affected, aff)
	}

	applySeverity(v, r.Severity)
	if s := strings.ToUpper(strings.TrimSpace(string(r.DatabaseSpecific.Severity))); s != "" {
		v.Severity = s
	} else {
		v.Severity = SeverityFromScore(v.MaxCVSS())
	}
	for _, ref := range r.References {
		if u := strings.TrimSpace(ref.URL); u != "" {
			v.References = append(v.References, u)
		}
	}
	v.Malicious = isMalicious(v)
	v.m = compileParsed(v, parsed, res)
	return v, nil
}

// isMalicious: id or an alias starting with MAL-, or a malware CWE.
func isMalicious(v *Vuln) bool {
	if hasMALPrefix(v.ID) {
		return true
	}
	for _, a := range v.Aliases {
		if hasMALPrefix(a) {
			return true
		}
	}
	for _, c := range v.CWEs {
		if maliciousCWEs[c] {
			return true
		}
	}
	return false
}

func hasMALPrefix(s string) bool {
	return len(s) >= 4 && strings.EqualFold(s[:4], "MAL-")
}

// normalizeCWE turns "CWE-79", "cwe-79" or "79" into "CWE-79"; "" if it is
// not a CWE id.
func normalizeCWE(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 4 && strings.EqualFold(s[:4], "CWE-") {
		s = s[4:]
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return ""
	}
	return "CWE-" + strconv.Itoa(n)
}

// internVersion returns the interned copy of a version string, so that the
// thousands of records listing the same versions share their text.
func internVersion(res versionResolver, s string) string {
	if s == "" {
		return ""
	}
	if p := res.version(s); p.canon == s {
		return p.canon
	}
	return s
}

var osvTimeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05",
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05",
	"2006-01-02",
}

// parseOSVTime parses an OSV timestamp ("" -> zero time).
func parseOSVTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	var firstErr error
	for _, l := range osvTimeLayouts {
		t, err := time.Parse(l, s)
		if err == nil {
			return t.UTC(), nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return time.Time{}, firstErr
}
