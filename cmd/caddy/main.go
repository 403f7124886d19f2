// Command caddy is Caddy with its standard modules and the OSA proxy module,
// so `go build ./cmd/caddy` gives a ready binary without xcaddy.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"
	_ "github.com/osaproxy/caddy-osaproxy"
)

func main() {
	caddycmd.Main()
}
