package integration

import (
	"github.com/caddyserver/caddy/v2/caddyconfig"
)

func caddyfileAdapter() caddyconfig.Adapter {
	return caddyconfig.GetAdapter("caddyfile")
}
