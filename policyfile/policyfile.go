// Package policyfile parses policies and waivers written in Caddyfile
// syntax into policy.Config values. It is used by the osa global option of
// the Caddyfile and by the what-if admin API (ParseString).
//
// Syntax:
//
//	policy "Critical vulnerabilities" {
//		description "..."
//		stages proxy
//		components packages
//		repositories internet-pypi
//		inactive
//		blocker
//		delay 14d
//		any {
//			condition cvss3_score >= 9.0
//			condition vulnerability_id_in CVE-2018-18074 GHSA-x84v-xcm2-53pg
//			not {
//				condition dependency_name_in safe-*
//			}
//		}
//		condition dependency_age < 7d {
//			allow_security_fixes
//			missing_upload_time treat_as_old
//		}
//		condition dependency_is_dangerous
//		condition upstream_yanked
//	}
//	waiver "false positive, reviewed" {
//		package example-lib
//		version ==1.2.3
//		repositories internet-pypi
//		sha256 <hex>
//		policies "Critical vulnerabilities"
//		expires 2026-12-31T00:00:00Z
//		justification "upstream confirmed"
//		approved_by alice
//	}
//
// Policy subdirectives: description <text>; stages <stage...> (dev, stage,
// test, prod, proxy, source, build; default proxy); components
// <packages|container_images...> (default packages); repositories
// <name...> (proxy repository names, repo-manager repository names, hosts
// or host/name; default every repository); inactive; blocker; delay
// <duration> (days as "14d", or a Go duration such as "12h"); condition;
// and the groups all { ... } (AND), any { ... } (OR) and not { ... }
// (exactly one condition or group inside), nested to any depth. The
// conditions and groups listed directly in a policy are combined with AND.
// Every subdirective except condition and the groups may appear once.
//
// Conditions with an operator take `condition <name> <op> <value>`, where
// op is one of < <= > >= == != (cvss2_score, cvss3_score, cvss4_score,
// vulnerability_age, vulnerability_count, dependency_age). List conditions
// take `condition <name> <values...>` (vulnerability_id_in, severity_in,
// dependency_name_in, dependency_version, purl_in, package_type_in,
// project_status_in, reserved_names). Flag conditions take nothing
// (dependency_is_dangerous, vulnerability_has_fix, upstream_yanked).
// dependency_age takes an options block with allow_security_fixes and the
// required missing_upload_time treat_as_old|treat_as_young.
//
// Waiver subdirectives (each at most once): package <name or glob>
// (required); version <PEP 440 specifier> (one token, quote it if it has
// spaces); repositories <name...>; sha256 <64 hex digits>; policies
// <policy name...>; expires <RFC 3339 time or YYYY-MM-DD> (required);
// justification <text> (required); approved_by <name> (required).
//
// Errors name the policy or waiver and the directive, for example
// `policy "Cooldown": condition dependency_age: unknown option "foo"`, and
// carry the Caddyfile position.
package policyfile

import (
	"fmt"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/osaproxy/caddy-osaproxy/policy"
)

var ops = []string{"<", "<=", ">", ">=", "==", "!="}

func isOp(s string) bool {
	for _, o := range ops {
		if s == o {
			return true
		}
	}
	return false
}

// ParsePolicy parses one policy block; d is positioned on the "policy"
// token. The policy is compiled on its own so that errors surface at parse
// time with their position.
func ParsePolicy(d *caddyfile.Dispenser) (policy.PolicyConfig, error) {
	var p policy.PolicyConfig
	if d.Val() != "policy" {
		return p, d.Errf("expected policy, got %q", d.Val())
	}
	if !d.NextArg() {
		return p, d.Err("policy: missing name (policy \"<name>\" { ... })")
	}
	p.Name = d.Val()
	if d.NextArg() {
		return p, d.Errf("policy %q: unexpected argument %q (quote a name with spaces)", p.Name, d.Val())
	}
	prefix := fmt.Sprintf("policy %q", p.Name)
	seen := map[string]bool{}
	once := func(dir string) error {
		if seen[dir] {
			return d.Errf("%s: duplicate %s", prefix, dir)
		}
		seen[dir] = true
		return nil
	}
	nesting := d.Nesting()
	for d.NextBlock(nesting) {
		dir := d.Val()
		switch dir {
		case "description", "delay":
			if err := once(dir); err != nil {
				return p, err
			}
			args := d.RemainingArgs()
			if len(args) != 1 {
				return p, d.Errf("%s: %s: want exactly one argument, got %d", prefix, dir, len(args))
			}
			if dir == "description" {
				p.Description = args[0]
			} else {
				p.Delay = args[0]
			}
		case "stages", "components", "repositories":
			if err := once(dir); err != nil {
				return p, err
			}
			args := d.RemainingArgs()
			if len(args) == 0 {
				return p, d.Errf("%s: %s: want at least one value", prefix, dir)
			}
			switch dir {
			case "stages":
				p.Stages = args
			case "components":
				p.Components = args
			default:
				p.Repositories = args
			}
		case "inactive", "blocker":
			if err := once(dir); err != nil {
				return p, err
			}
			if d.NextArg() {
				return p, d.Errf("%s: %s takes no argument", prefix, dir)
			}
			if dir == "inactive" {
				p.Inactive = true
			} else {
				p.Blocker = true
			}
		case "condition", "all", "any", "not":
			c, err := parseItem(d, prefix)
			if err != nil {
				return p, err
			}
			p.Conditions = append(p.Conditions, c)
		default:
			return p, d.Errf("%s: unknown subdirective %q", prefix, dir)
		}
	}
	if err := closed(d, nesting, prefix); err != nil {
		return p, err
	}
	if _, err := policy.Compile(policy.Config{Policies: []policy.PolicyConfig{p}}); err != nil {
		return p, d.Err(err.Error())
	}
	return p, nil
}

// parseItem parses a condition or a group; d is on its keyword.
func parseItem(d *caddyfile.Dispenser, prefix string) (policy.ConditionConfig, error) {
	var c policy.ConditionConfig
	kw := d.Val()
	if kw == "condition" {
		return parseCondition(d, prefix)
	}
	where := prefix + ": " + kw
	if d.NextArg() {
		return c, d.Errf("%s: unexpected argument %q (a group takes a block)", where, d.Val())
	}
	var items []policy.ConditionConfig
	nesting := d.Nesting()
	for d.NextBlock(nesting) {
		switch d.Val() {
		case "condition", "all", "any", "not":
			it, err := parseItem(d, prefix)
			if err != nil {
				return c, err
			}
			items = append(items, it)
		default:
			return c, d.Errf("%s: unknown subdirective %q (want condition, all, any or not)", where, d.Val())
		}
	}
	if err := closed(d, nesting, where); err != nil {
		return c, err
	}
	if len(items) == 0 {
		return c, d.Errf("%s: empty group", where)
	}
	switch kw {
	case "all":
		c.All = items
	case "any":
		c.Any = items
	default:
		if len(items) != 1 {
			return c, d.Errf("%s: want exactly one condition or group (wrap several in all { ... } or any { ... })", where)
		}
		c.Not = &items[0]
	}
	return c, nil
}

// parseCondition parses `condition <name> [args] [{ options }]`.
func parseCondition(d *caddyfile.Dispenser, prefix string) (policy.ConditionConfig, error) {
	var c policy.ConditionConfig
	if !d.NextArg() {
		return c, d.Errf("%s: condition: missing condition name", prefix)
	}
	c.Type = d.Val()
	where := prefix + ": condition " + c.Type
	shape, ok := policy.ConditionTypes[c.Type]
	if !ok {
		return c, d.Errf("%s: unknown condition", where)
	}
	args := d.RemainingArgs()
	switch shape {
	case "flag":
		if len(args) != 0 {
			return c, d.Errf("%s: takes no arguments, got %d", where, len(args))
		}
	case "list":
		if len(args) == 0 {
			return c, d.Errf("%s: want at least one value", where)
		}
		c.Values = args
	case "op":
		if len(args) != 2 {
			return c, d.Errf("%s: want <op> <value>, got %d arguments", where, len(args))
		}
		if !isOp(args[0]) {
			return c, d.Errf("%s: bad operator %q (one of %s)", where, args[0], strings.Join(ops, " "))
		}
		c.Op, c.Value = args[0], args[1]
	}
	seen := map[string]bool{}
	nesting := d.Nesting()
	for d.NextBlock(nesting) {
		opt := d.Val()
		if c.Type != "dependency_age" {
			return c, d.Errf("%s: takes no options block", where)
		}
		if seen[opt] {
			return c, d.Errf("%s: duplicate option %q", where, opt)
		}
		seen[opt] = true
		switch opt {
		case "allow_security_fixes":
			if d.NextArg() {
				return c, d.Errf("%s: allow_security_fixes takes no argument", where)
			}
			c.AllowSecurityFixes = true
		case "missing_upload_time":
			oargs := d.RemainingArgs()
			if len(oargs) != 1 || (oargs[0] != "treat_as_old" && oargs[0] != "treat_as_young") {
				return c, d.Errf("%s: missing_upload_time: want treat_as_old or treat_as_young", where)
			}
			c.MissingUploadTime = oargs[0]
		default:
			return c, d.Errf("%s: unknown option %q", where, opt)
		}
	}
	if err := closed(d, nesting, where); err != nil {
		return c, err
	}
	return c, nil
}

// ParseWaiver parses one waiver block; d is positioned on the "waiver"
// token. The waiver is validated on its own (the policies it names are
// checked when the whole configuration is compiled).
func ParseWaiver(d *caddyfile.Dispenser) (policy.WaiverConfig, error) {
	var w policy.WaiverConfig
	if d.Val() != "waiver" {
		return w, d.Errf("expected waiver, got %q", d.Val())
	}
	if !d.NextArg() {
		return w, d.Err("waiver: missing name (waiver \"<name>\" { ... })")
	}
	w.Name = d.Val()
	if d.NextArg() {
		return w, d.Errf("waiver %q: unexpected argument %q (quote a name with spaces)", w.Name, d.Val())
	}
	prefix := fmt.Sprintf("waiver %q", w.Name)
	seen := map[string]bool{}
	nesting := d.Nesting()
	for d.NextBlock(nesting) {
		dir := d.Val()
		if seen[dir] {
			return w, d.Errf("%s: duplicate %s", prefix, dir)
		}
		seen[dir] = true
		args := d.RemainingArgs()
		switch dir {
		case "repositories", "policies":
			if len(args) == 0 {
				return w, d.Errf("%s: %s: want at least one value", prefix, dir)
			}
			if dir == "repositories" {
				w.Repositories = args
			} else {
				w.Policies = args
			}
			continue
		case "package", "version", "sha256", "expires", "justification", "approved_by":
		default:
			return w, d.Errf("%s: unknown subdirective %q", prefix, dir)
		}
		if len(args) != 1 {
			return w, d.Errf("%s: %s: want exactly one argument, got %d", prefix, dir, len(args))
		}
		a := args[0]
		switch dir {
		case "package":
			w.Package = a
		case "version":
			w.Version = a
		case "sha256":
			w.Sha256 = a
		case "justification":
			w.Justification = a
		case "approved_by":
			w.ApprovedBy = a
		case "expires":
			t, err := parseTime(a)
			if err != nil {
				return w, d.Errf("%s: expires: %v", prefix, err)
			}
			w.Expires = t
		}
	}
	if err := closed(d, nesting, prefix); err != nil {
		return w, err
	}
	// Validate everything but the policy references, which need the
	// whole configuration.
	check := w
	check.Policies = nil
	if _, err := policy.Compile(policy.Config{Waivers: []policy.WaiverConfig{check}}); err != nil {
		return w, d.Err(err.Error())
	}
	return w, nil
}

// closed reports a block left open at the end of the input.
func closed(d *caddyfile.Dispenser, nesting int, where string) error {
	if d.Nesting() > nesting {
		return d.Errf("%s: unexpected end of input, missing '}'", where)
	}
	return nil
}

// parseTime accepts RFC 3339 or a date (midnight UTC).
func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("invalid time %q (want RFC 3339, e.g. 2026-12-31T00:00:00Z, or 2026-12-31)", s)
}

// ParseString parses a text made only of policy and waiver blocks (the
// what-if admin API) and compiles the result, so that every error
// surfaces here.
func ParseString(src string) (policy.Config, error) {
	var cfg policy.Config
	tokens, err := caddyfile.Tokenize([]byte(src), "policies")
	if err != nil {
		return cfg, err
	}
	d := caddyfile.NewDispenser(tokens)
	names := map[string]bool{}
	for d.Next() {
		switch d.Val() {
		case "policy":
			p, err := ParsePolicy(d)
			if err != nil {
				return cfg, err
			}
			if names[p.Name] {
				return cfg, d.Errf("policy %q is defined twice", p.Name)
			}
			names[p.Name] = true
			cfg.Policies = append(cfg.Policies, p)
		case "waiver":
			w, err := ParseWaiver(d)
			if err != nil {
				return cfg, err
			}
			cfg.Waivers = append(cfg.Waivers, w)
		default:
			return cfg, d.Errf("unexpected %q (want policy or waiver blocks)", d.Val())
		}
	}
	if _, err := policy.Compile(cfg); err != nil {
		return cfg, err
	}
	return cfg, nil
}
