// Package osaproxy is a package firewall for Caddy: the http.handlers.osa_proxy
// handler sits between package managers (or a repository manager such as
// Artifactory or Nexus) and pypi.org, removes forbidden versions from index
// responses, refuses their downloads and records every decision.
package osaproxy
