package policy

// CONTRACT STUBS: the policy helper replaces these with real implementations
// and deletes this file. Signatures are the contract; more may be added.

import "errors"

// Engine is a compiled, immutable policy set.
type Engine struct{}

// Compile validates and compiles a config. Errors name the policy/waiver and
// the problem ("policy \"Cooldown\": condition dependency_age: missing_upload_time is required").
func Compile(cfg Config) (*Engine, error) { return nil, errors.New("todo") }

// Generation is a short hash of the compiled config (for caches and ETags).
func (e *Engine) Generation() string { return "" }

// NeedsIntel reports whether any active policy has a condition that needs intelligence.
func (e *Engine) NeedsIntel() bool { return false }

// FileSensitive reports whether decisions can differ between files of the
// same version (package_type, sha256 waivers, per-file upload time).
func (e *Engine) FileSensitive() bool { return false }

// NeedsUploadTime reports whether any active policy uses dependency_age.
func (e *Engine) NeedsUploadTime() bool { return false }

// Evaluate decides one component. It is safe for concurrent use.
func (e *Engine) Evaluate(c *Component, env *Env) Decision { return Decision{} }
