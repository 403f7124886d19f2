package main

import (
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/osaproxy/caddy-osaproxy/internal/pagegen"
	"github.com/osaproxy/caddy-osaproxy/pypi"
)

// projectList renders the /simple/ list with n distinct names in warehouse's
// HTML template and PEP 691 JSON, sorted by normalized name like pypi.org.
// The names are internal/pagegen's (sorted with their keys computed once).
func projectList(seed int64, n int) (html, js []byte) {
	names := pagegen.ProjectNames(seed, n) // sorted by normalized name, as on pypi.org
	r := rand.New(rand.NewPCG(uint64(seed), 1))

	var hb strings.Builder
	hb.Grow(n*48 + 256)
	hb.WriteString("<!DOCTYPE html>\n<html>\n  <head>\n    <meta name=\"pypi:repository-version\" content=\"1.4\">\n    <title>Simple index</title>\n  </head>\n  <body>\n")
	var jb strings.Builder
	jb.Grow(n*52 + 128)
	jb.WriteString(`{"meta":{"_last-serial":29000000,"api-version":"1.4"},"projects":[`)
	for i, name := range names {
		// Generated names contain no character that needs escaping.
		hb.WriteString(`    <a href="/simple/` + pypi.NormalizeName(name) + `/">` + name + "</a>\n")
		if i > 0 {
			jb.WriteByte(',')
		}
		jb.WriteString(`{"_last-serial":` + strconv.Itoa(1+r.IntN(29000000)) + `,"name":"` + name + `"}`)
	}
	hb.WriteString("  </body>\n</html>")
	jb.WriteString("]}\n")
	return []byte(hb.String()), []byte(jb.String())
}
