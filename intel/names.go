package intel

import (
	"strings"

	"github.com/osaproxy/caddy-osaproxy/pypi"
)

// NormalizeName returns the PEP 503 normalized form of a project name as
// pypi.NormalizeName does (one definition for the protocol, the
// intelligence and the policies), after removing surrounding white space
// (OSV records are hand-written).
func NormalizeName(name string) string { return pypi.NormalizeName(strings.TrimSpace(name)) }
