// Package deps pins the libraries the project builds on, so go.mod keeps
// them while packages are being written. Remove an entry once a real package
// imports it.
package deps

import (
	_ "github.com/aquasecurity/go-pep440-version"
	_ "github.com/caddyserver/caddy/v2"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "github.com/pandatix/go-cvss/20"
	_ "github.com/pandatix/go-cvss/31"
	_ "github.com/pandatix/go-cvss/40"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "golang.org/x/net/html"
	_ "gopkg.in/yaml.v3"
	_ "modernc.org/sqlite"
)
