package osaproxy

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func init() {
	caddy.RegisterModule(Health{})
	httpcaddyfile.RegisterHandlerDirective("osa_health", parseHealth)
	httpcaddyfile.RegisterDirectiveOrder("osa_health", httpcaddyfile.Before, "reverse_proxy")
}

// Health answers readiness probes of load balancers on a site (the same
// check as GET /osa/ready on the admin endpoint): 200 when the threat
// intelligence the policies need is loaded and fresh enough and the journal
// is writable, otherwise 503 with the reason. It is a terminal handler.
//
//	handle /healthz {
//		osa_health
//	}
type Health struct {
	app *App
}

// CaddyModule returns the Caddy module information.
func (Health) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.osa_health",
		New: func() caddy.Module { return new(Health) },
	}
}

// Provision gets the osa app.
func (h *Health) Provision(ctx caddy.Context) error {
	a, err := ctx.App("osa")
	if err != nil {
		return fmt.Errorf("getting osa app: %v", err)
	}
	h.app = a.(*App)
	return nil
}

// ServeHTTP implements caddyhttp.MiddlewareHandler.
func (h *Health) ServeHTTP(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
	ok, why := h.app.ready(r.Context())
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if !ok {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	if r.Method == http.MethodHead {
		return nil
	}
	return json.NewEncoder(w).Encode(map[string]any{"ready": ok, "reason": why})
}

// UnmarshalCaddyfile parses `osa_health` (no arguments, no block).
func (h *Health) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next()
	if d.NextArg() || d.NextBlock(0) {
		return d.Err("osa_health takes no arguments")
	}
	return nil
}

func parseHealth(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	m := new(Health)
	err := m.UnmarshalCaddyfile(h.Dispenser)
	return m, err
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Health)(nil)
	_ caddyhttp.MiddlewareHandler = (*Health)(nil)
	_ caddyfile.Unmarshaler       = (*Health)(nil)
)
