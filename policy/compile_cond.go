package policy

import (
	"fmt"
	"strconv"
	"strings"
)

// ConditionTypes maps every condition type to its operand shape: "flag"
// (no operand), "op" (comparison operator and value) or "list" (values).
//
// Conditions on intelligence look at the non-withdrawn records affecting
// the component and fire when any one of them qualifies:
//   - dependency_is_dangerous: a malicious-package record (MAL- id or
//     alias, or CWE-506/507/509/510/511/512/912).
//   - vulnerability_id_in <ids...>: the record id or an alias is listed
//     (case-insensitive).
//   - cvss2_score, cvss3_score, cvss4_score <op> <0-10>: the record's score
//     of that CVSS version compares true; records without a vector of that
//     version never match.
//   - severity_in <CRITICAL HIGH MODERATE|MEDIUM LOW...>: MEDIUM is MODERATE;
//     without a stated severity the highest CVSS score decides.
//   - vulnerability_has_fix: the record names a fixed version.
//   - vulnerability_age <op> <duration>: time since the record was published
//     (records without a date never match).
//   - vulnerability_count <op> <n>: the number of affecting records.
//
// Conditions on the component:
//   - dependency_name_in, reserved_names <names or globs...>: PEP 503
//     normalized name, "*" and "?" wildcards; reserved_names reports
//     dependency confusion.
//   - dependency_version <PEP 440 specifiers...> (joined with ","):
//     versions that are not valid PEP 440 never match, not even "!=".
//   - purl_in <pkg:pypi/name[@version]...>: without a version every version.
//   - package_type_in <sdist wheel egg other...>: unknown types never match.
//   - upstream_yanked: the index marks the file yanked.
//   - project_status_in <quarantined archived deprecated active...>: an
//     unknown status counts as active.
//   - dependency_age <op> <duration>: time since the file (else the release)
//     was uploaded; missing_upload_time treat_as_old|treat_as_young is
//     required, allow_security_fixes lets a young version through when it
//     fixes a record affecting the newest older version (noted in
//     Decision.Notes).
var ConditionTypes = map[string]string{
	"dependency_is_dangerous": "flag",
	"vulnerability_id_in":     "list",
	"cvss2_score":             "op",
	"cvss3_score":             "op",
	"cvss4_score":             "op",
	"severity_in":             "list",
	"vulnerability_has_fix":   "flag",
	"vulnerability_age":       "op",
	"vulnerability_count":     "op",
	"dependency_name_in":      "list",
	"dependency_version":      "list",
	"purl_in":                 "list",
	"package_type_in":         "list",
	"upstream_yanked":         "flag",
	"project_status_in":       "list",
	"dependency_age":          "op",
	"reserved_names":          "list",
}

var (
	packageTypes    = []string{"sdist", "wheel", "egg", "other"}
	projectStatuses = []string{"quarantined", "archived", "deprecated", "active"}
	severities      = []string{"CRITICAL", "HIGH", "MODERATE", "MEDIUM", "LOW"}
)

func oneOf(v string, allowed []string, fold bool) bool {
	for _, a := range allowed {
		if v == a || (fold && strings.EqualFold(v, a)) {
			return true
		}
	}
	return false
}

// compileCond compiles one condition or group.
func compileCond(cc *ConditionConfig) (cond, error) {
	set := 0
	if cc.All != nil {
		set++
	}
	if cc.Any != nil {
		set++
	}
	if cc.Not != nil {
		set++
	}
	if cc.Type != "" {
		set++
	}
	if set != 1 {
		return nil, fmt.Errorf("a condition needs exactly one of all, any, not or type (has %d)", set)
	}
	switch {
	case cc.All != nil, cc.Any != nil:
		group, list := "all", cc.All
		if cc.Any != nil {
			group, list = "any", cc.Any
		}
		if err := noOperands(cc); err != nil {
			return nil, fmt.Errorf("%s group: %w", group, err)
		}
		if len(list) == 0 {
			return nil, fmt.Errorf("%s group: empty", group)
		}
		conds := make([]cond, 0, len(list))
		for i := range list {
			c, err := compileCond(&list[i])
			if err != nil {
				return nil, fmt.Errorf("%s group: %w", group, err)
			}
			conds = append(conds, c)
		}
		if group == "all" {
			return &allCond{list: conds}, nil
		}
		return &anyCond{list: conds}, nil
	case cc.Not != nil:
		if err := noOperands(cc); err != nil {
			return nil, fmt.Errorf("not group: %w", err)
		}
		c, err := compileCond(cc.Not)
		if err != nil {
			return nil, fmt.Errorf("not group: %w", err)
		}
		return &notCond{inner: c}, nil
	}
	c, err := compileLeaf(cc)
	if err != nil {
		return nil, fmt.Errorf("condition %s: %w", cc.Type, err)
	}
	return c, nil
}

func noOperands(cc *ConditionConfig) error {
	if cc.Op != "" || cc.Value != "" || len(cc.Values) > 0 || cc.AllowSecurityFixes || cc.MissingUploadTime != "" {
		return fmt.Errorf("a group takes no operator, value or options")
	}
	return nil
}

func compileLeaf(cc *ConditionConfig) (cond, error) {
	typ := cc.Type
	shape, ok := ConditionTypes[typ]
	if !ok {
		return nil, fmt.Errorf("unknown condition type")
	}
	if typ != "dependency_age" && (cc.AllowSecurityFixes || cc.MissingUploadTime != "") {
		return nil, fmt.Errorf("allow_security_fixes and missing_upload_time apply only to dependency_age")
	}
	text := typ
	switch shape {
	case "flag":
		if cc.Op != "" || cc.Value != "" || len(cc.Values) > 0 {
			return nil, fmt.Errorf("takes no operand")
		}
	case "list":
		if cc.Op != "" || cc.Value != "" {
			return nil, fmt.Errorf("takes a list of values, not an operator and value")
		}
		if len(cc.Values) == 0 {
			return nil, fmt.Errorf("needs at least one value")
		}
		for _, v := range cc.Values {
			if strings.TrimSpace(v) == "" {
				return nil, fmt.Errorf("empty value")
			}
		}
		text += " " + strings.Join(cc.Values, " ")
	case "op":
		if len(cc.Values) > 0 {
			return nil, fmt.Errorf("takes an operator and one value, not a list")
		}
		if cc.Value == "" {
			return nil, fmt.Errorf("missing value")
		}
		text += " " + cc.Op + " " + cc.Value
	}

	switch typ {
	case "dependency_is_dangerous":
		return newDangerous(), nil
	case "vulnerability_has_fix":
		return newHasFix(), nil
	case "upstream_yanked":
		return yankedCond{}, nil
	case "vulnerability_id_in":
		return newIDIn(cc.Values, text), nil
	case "severity_in":
		for _, v := range cc.Values {
			if !oneOf(strings.ToUpper(v), severities, false) {
				return nil, fmt.Errorf("unknown severity %q (CRITICAL, HIGH, MODERATE or MEDIUM, LOW)", v)
			}
		}
		return newSeverityIn(cc.Values, text), nil
	case "dependency_name_in", "reserved_names":
		m, err := newNameMatcher(cc.Values)
		if err != nil {
			return nil, err
		}
		return &nameCond{typ: typ, text: text, m: m, reserved: typ == "reserved_names"}, nil
	case "dependency_version":
		raw := strings.Join(cc.Values, ",")
		spec, err := compilePEP440Spec(raw)
		if err != nil {
			return nil, err
		}
		return &versionCond{spec: spec, raw: raw, text: text}, nil
	case "purl_in":
		list := make([]purlEntry, 0, len(cc.Values))
		for _, v := range cc.Values {
			e, err := parsePURL(v)
			if err != nil {
				return nil, err
			}
			list = append(list, e)
		}
		return &purlCond{list: list, text: text}, nil
	case "package_type_in", "project_status_in":
		allowed, what, get := packageTypes, "package type", packageType
		if typ == "project_status_in" {
			allowed, what, get = projectStatuses, "project status", projectStatus
		}
		set := make([]string, 0, len(cc.Values))
		for _, v := range cc.Values {
			lv := strings.ToLower(strings.TrimSpace(v))
			if !oneOf(lv, allowed, false) {
				return nil, fmt.Errorf("unknown value %q (one of %s)", v, strings.Join(allowed, ", "))
			}
			set = append(set, lv)
		}
		return &setCond{typ: typ, text: text, set: set, get: get, what: what}, nil
	}

	// Comparison conditions.
	o, err := parseOp(cc.Op)
	if err != nil {
		return nil, err
	}
	switch typ {
	case "cvss2_score", "cvss3_score", "cvss4_score":
		f, err := strconv.ParseFloat(cc.Value, 64)
		if err != nil || f < 0 || f > 10 {
			return nil, fmt.Errorf("invalid score %q (a number from 0 to 10)", cc.Value)
		}
		return newCVSS(typ, o, f, cc.Value, text), nil
	case "vulnerability_count":
		n, err := strconv.Atoi(cc.Value)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("invalid count %q (a whole number >= 0)", cc.Value)
		}
		return &countCond{o: o, n: n, raw: cc.Value, text: text}, nil
	case "vulnerability_age":
		d, err := ParseDuration(cc.Value)
		if err != nil {
			return nil, err
		}
		return newVulnAge(o, d, cc.Value, text), nil
	}
	// dependency_age
	d, err := ParseDuration(cc.Value)
	if err != nil {
		return nil, err
	}
	a := &ageCond{o: o, d: d, raw: cc.Value, allowFixes: cc.AllowSecurityFixes}
	switch cc.MissingUploadTime {
	case "treat_as_old":
		a.missingOld = true
	case "treat_as_young":
	case "":
		return nil, fmt.Errorf("missing_upload_time is required (treat_as_old or treat_as_young)")
	default:
		return nil, fmt.Errorf("invalid missing_upload_time %q (treat_as_old or treat_as_young)", cc.MissingUploadTime)
	}
	if a.allowFixes && o != opLT && o != opLE {
		return nil, fmt.Errorf("allow_security_fixes needs a cooldown comparison (< or <=)")
	}
	var opts []string
	if a.allowFixes {
		opts = append(opts, "allow_security_fixes")
	}
	opts = append(opts, "missing_upload_time "+cc.MissingUploadTime)
	a.text = text + " (" + strings.Join(opts, ", ") + ")"
	return a, nil
}
