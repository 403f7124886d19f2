package osaproxy

import (
	"encoding/json"
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/dustin/go-humanize"

	"github.com/osaproxy/caddy-osaproxy/intel"
	"github.com/osaproxy/caddy-osaproxy/policyfile"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("osa_proxy", parseCaddyfileHandler)
	httpcaddyfile.RegisterDirectiveOrder("osa_proxy", httpcaddyfile.After, "templates")
	httpcaddyfile.RegisterGlobalOption("osa", parseGlobalOption)
}

func parseCaddyfileHandler(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	var m Handler
	err := m.UnmarshalCaddyfile(h.Dispenser)
	return &m, err
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens. Syntax:
//
//	osa_proxy [<matcher>] {
//		work_mode               warmup|spectator|moderate|strict|strict_wait
//		block_status            <4xx|5xx>
//		status_line             [true|false]
//		remove_blocked_versions [true|false]
//		block_on_errors         [true|false]
//		scan_timeout            <duration>
//		max_index_size          <size>
//		index_cache_size        <size>|off
//
//		pypi <name> {
//			registry                     <url>
//			packages_registry            <url>
//			additional_packages_registry <key> <url>
//			scan_manifest                [true|false]
//			scan_package                 [true|false]
//			url_encoded_config           [true|false]
//			work_mode                    <mode>
//			transport http {
//				<reverse_proxy http transport options>
//			}
//		}
//	}
//
// A flag given without a value means true.
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // directive name
	if d.NextArg() {
		return d.ArgErr()
	}
	seen := map[string]bool{}
	once := func(name string) error {
		if seen[name] {
			return d.Errf("%s: specified more than once", name)
		}
		seen[name] = true
		return nil
	}
	for d.NextBlock(0) {
		opt := d.Val()
		switch opt {
		case "pypi":
			repo, err := parseRepository(d)
			if err != nil {
				return err
			}
			for _, r := range h.Repositories {
				if r.Name == repo.Name {
					return d.Errf("pypi %s: repository defined twice", repo.Name)
				}
			}
			h.Repositories = append(h.Repositories, repo)
			continue
		}
		if err := once(opt); err != nil {
			return err
		}
		switch opt {
		case "work_mode":
			if !d.NextArg() {
				return d.ArgErr()
			}
			if !validMode(d.Val()) {
				return d.Errf("work_mode: unknown mode %q (want warmup, spectator, moderate, strict or strict_wait)", d.Val())
			}
			h.WorkMode = d.Val()
		case "block_status":
			if !d.NextArg() {
				return d.ArgErr()
			}
			code, err := strconv.Atoi(d.Val())
			if err != nil || code < 400 || code > 599 {
				return d.Errf("block_status: %q is not a 4xx or 5xx status code", d.Val())
			}
			h.BlockStatus = code
		case "status_line":
			v, err := parseFlag(d)
			if err != nil {
				return err
			}
			h.StatusLine = v
		case "remove_blocked_versions":
			v, err := parseFlag(d)
			if err != nil {
				return err
			}
			h.RemoveBlockedVersions = &v
		case "block_on_errors":
			v, err := parseFlag(d)
			if err != nil {
				return err
			}
			h.BlockOnErrors = &v
		case "scan_timeout":
			if !d.NextArg() {
				return d.ArgErr()
			}
			dur, err := caddy.ParseDuration(d.Val())
			if err != nil || dur <= 0 {
				return d.Errf("scan_timeout: invalid duration %q", d.Val())
			}
			h.ScanTimeout = caddy.Duration(dur)
		case "max_index_size":
			if !d.NextArg() {
				return d.ArgErr()
			}
			n, err := humanize.ParseBytes(d.Val())
			if err != nil || n == 0 {
				return d.Errf("max_index_size: invalid size %q", d.Val())
			}
			h.MaxIndexSize = int64(n)
		case "index_cache_size":
			if !d.NextArg() {
				return d.ArgErr()
			}
			if d.Val() == "off" {
				h.IndexCacheSize = -1
				break
			}
			n, err := humanize.ParseBytes(d.Val())
			if err != nil || n == 0 {
				return d.Errf("index_cache_size: invalid size %q (a size such as 64MiB, or off)", d.Val())
			}
			h.IndexCacheSize = int64(n)
		default:
			return d.Errf("osa_proxy: unknown subdirective %q", opt)
		}
		if d.NextArg() {
			return d.Errf("%s: too many arguments", opt)
		}
	}
	if len(h.Repositories) == 0 {
		return d.Err("osa_proxy: at least one repository (pypi <name> { ... }) is required")
	}
	return nil
}

// parseFlag reads an optional true/false argument (absent means true).
func parseFlag(d *caddyfile.Dispenser) (bool, error) {
	name := d.Val()
	if !d.NextArg() {
		return true, nil
	}
	v, err := strconv.ParseBool(d.Val())
	if err != nil {
		return false, d.Errf("%s: want true or false, not %q", name, d.Val())
	}
	if d.NextArg() {
		return false, d.Errf("%s: too many arguments", name)
	}
	return v, nil
}

// parseRepository parses a `pypi <name> { ... }` block.
func parseRepository(d *caddyfile.Dispenser) (*Repository, error) {
	if !d.NextArg() {
		return nil, d.Err("pypi: a repository name is required")
	}
	r := &Repository{Name: d.Val(), Type: "pypi"}
	if err := validateRepoName(r.Name); err != nil {
		return nil, d.Errf("pypi: %v", err)
	}
	if d.NextArg() {
		return nil, d.ArgErr()
	}
	seen := map[string]bool{}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		opt := d.Val()
		if opt != "additional_packages_registry" {
			if seen[opt] {
				return nil, d.Errf("pypi %s: %s specified more than once", r.Name, opt)
			}
			seen[opt] = true
		}
		switch opt {
		case "registry", "packages_registry":
			if !d.NextArg() {
				return nil, d.ArgErr()
			}
			if _, err := parseBase(opt, d.Val()); err != nil {
				return nil, d.Errf("pypi %s: %v", r.Name, err)
			}
			if opt == "registry" {
				r.Registry = d.Val()
			} else {
				r.PackagesRegistry = d.Val()
			}
		case "additional_packages_registry":
			args := d.RemainingArgs()
			if len(args) != 2 {
				return nil, d.Errf("pypi %s: additional_packages_registry wants <key> <url>", r.Name)
			}
			if _, err := parseBase(opt, args[1]); err != nil {
				return nil, d.Errf("pypi %s: %v", r.Name, err)
			}
			if r.AdditionalPackagesRegistries == nil {
				r.AdditionalPackagesRegistries = map[string]string{}
			}
			if _, dup := r.AdditionalPackagesRegistries[args[0]]; dup {
				return nil, d.Errf("pypi %s: additional_packages_registry %s defined twice", r.Name, args[0])
			}
			r.AdditionalPackagesRegistries[args[0]] = args[1]
			continue
		case "scan_manifest", "scan_package", "url_encoded_config":
			v, err := parseFlag(d)
			if err != nil {
				return nil, err
			}
			switch opt {
			case "scan_manifest":
				r.ScanManifest = &v
			case "scan_package":
				r.ScanPackage = &v
			default:
				r.URLEncodedConfig = v
			}
			continue
		case "work_mode":
			if !d.NextArg() {
				return nil, d.ArgErr()
			}
			if !validMode(d.Val()) {
				return nil, d.Errf("pypi %s: work_mode: unknown mode %q", r.Name, d.Val())
			}
			r.WorkMode = d.Val()
		case "transport":
			if !d.NextArg() {
				return nil, d.ArgErr()
			}
			if d.Val() != "http" {
				return nil, d.Errf("pypi %s: transport: only http is supported", r.Name)
			}
			unm, err := caddyfile.UnmarshalModule(d, "http.reverse_proxy.transport.http")
			if err != nil {
				return nil, err
			}
			r.TransportRaw = caddyconfig.JSONModuleObject(unm, "protocol", "http", nil)
			continue
		default:
			return nil, d.Errf("pypi %s: unknown subdirective %q", r.Name, opt)
		}
		if d.NextArg() {
			return nil, d.Errf("pypi %s: %s: too many arguments", r.Name, opt)
		}
	}
	if r.Registry == "" {
		return nil, d.Errf("pypi %s: registry is required", r.Name)
	}
	return r, nil
}

// parseGlobalOption parses the `osa` global option into the osa app.
// Syntax:
//
//	osa {
//		intel osv|pypa <file-folder-or-url>    # repeatable
//		intel_refresh  <duration>
//		intel_max_age  <duration>
//		journal sqlite [<path>] | postgres <dsn> {
//			retention       <duration>
//			queue_size      <n>
//			enqueue_timeout <duration>
//		}
//		retention <duration>
//		policy "<name>" { ... }                  # see package policyfile
//		waiver "<name>" { ... }
//	}
//
// Several osa blocks are merged.
func parseGlobalOption(d *caddyfile.Dispenser, existing any) (any, error) {
	app := new(App)
	if existing != nil {
		if prev, ok := existing.(httpcaddyfile.App); ok {
			if err := json.Unmarshal(prev.Value, app); err != nil {
				return nil, err
			}
		}
	}
	d.Next() // "osa"
	if d.NextArg() {
		return nil, d.ArgErr()
	}
	for d.NextBlock(0) {
		switch d.Val() {
		case "intel":
			args := d.RemainingArgs()
			if len(args) != 2 {
				return nil, d.Err("intel: want intel osv|pypa <file, folder or URL>")
			}
			if args[0] != "osv" && args[0] != "pypa" {
				return nil, d.Errf("intel: unknown source kind %q (want osv or pypa)", args[0])
			}
			app.Intel = append(app.Intel, intel.SourceConfig{Kind: args[0], Location: args[1]})
		case "intel_refresh", "intel_max_age", "retention":
			opt := d.Val()
			if !d.NextArg() {
				return nil, d.ArgErr()
			}
			dur, err := caddy.ParseDuration(d.Val())
			if err != nil {
				return nil, d.Errf("%s: invalid duration %q: %v", opt, d.Val(), err)
			}
			if d.NextArg() {
				return nil, d.ArgErr()
			}
			switch opt {
			case "intel_refresh":
				app.IntelRefresh = caddy.Duration(dur)
			case "intel_max_age":
				app.IntelMaxAge = caddy.Duration(dur)
			default:
				if app.Journal == nil {
					app.Journal = &JournalConfig{}
				}
				app.Journal.Retention = caddy.Duration(dur)
			}
		case "journal":
			jc, err := parseJournal(d, app.Journal)
			if err != nil {
				return nil, err
			}
			app.Journal = jc
		case "policy":
			p, err := policyfile.ParsePolicy(d)
			if err != nil {
				return nil, err
			}
			for _, q := range app.Policies {
				if q.Name == p.Name {
					return nil, d.Errf("policy %q is defined twice", p.Name)
				}
			}
			app.Policies = append(app.Policies, p)
		case "waiver":
			wv, err := policyfile.ParseWaiver(d)
			if err != nil {
				return nil, err
			}
			app.Waivers = append(app.Waivers, wv)
		default:
			return nil, d.Errf("osa: unknown option %q", d.Val())
		}
	}
	return httpcaddyfile.App{Name: "osa", Value: caddyconfig.JSON(app, nil)}, nil
}

func parseJournal(d *caddyfile.Dispenser, prev *JournalConfig) (*JournalConfig, error) {
	jc := &JournalConfig{}
	if prev != nil {
		jc.Retention = prev.Retention
	}
	if !d.NextArg() {
		return nil, d.Err("journal: want journal sqlite [<path>] or journal postgres <dsn>")
	}
	jc.Driver = d.Val()
	switch jc.Driver {
	case "sqlite":
		if d.NextArg() {
			jc.DSN = d.Val()
		}
	case "postgres":
		if !d.NextArg() {
			return nil, d.Err("journal postgres: a connection string is required")
		}
		jc.DSN = d.Val()
	default:
		return nil, d.Errf("journal: unknown driver %q (want sqlite or postgres)", jc.Driver)
	}
	if d.NextArg() {
		return nil, d.ArgErr()
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		opt := d.Val()
		if !d.NextArg() {
			return nil, d.ArgErr()
		}
		switch opt {
		case "retention", "enqueue_timeout":
			dur, err := caddy.ParseDuration(d.Val())
			if err != nil {
				return nil, d.Errf("journal: %s: invalid duration %q", opt, d.Val())
			}
			if opt == "retention" {
				jc.Retention = caddy.Duration(dur)
			} else {
				jc.EnqueueTimeout = caddy.Duration(dur)
			}
		case "queue_size":
			n, err := strconv.Atoi(d.Val())
			if err != nil || n <= 0 {
				return nil, d.Errf("journal: queue_size: want a positive number, not %q", d.Val())
			}
			jc.QueueSize = n
		default:
			return nil, d.Errf("journal: unknown option %q", opt)
		}
		if d.NextArg() {
			return nil, d.ArgErr()
		}
	}
	return jc, nil
}

// Interface guards
var (
	_ caddyfile.Unmarshaler = (*Handler)(nil)
)
