package main

import (
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
)

var syllables = []string{"py", "django", "flask", "zope", "data", "net", "lib", "tools", "core", "web", "async", "io",
	"test", "utils", "client", "api", "aws", "cdk", "ml", "torch", "sci", "kit", "jupyter", "lab", "plugin", "x", "0", "2", "3"}

var separators = []string{"-", "-", "_", ".", ""}

// normalize is the PEP 503 name normalization.
func normalize(name string) string {
	var b strings.Builder
	b.Grow(len(name))
	sep := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c == '-' || c == '_' || c == '.' {
			if !sep {
				b.WriteByte('-')
			}
			sep = true
			continue
		}
		sep = false
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	return b.String()
}

// projectList renders the /simple/ list with n distinct names in warehouse's
// HTML template and PEP 691 JSON, sorted by normalized name like pypi.org.
// It follows internal/pagegen's project-list format, with the sort keys
// computed once so 700,000 names take a second, not a minute.
func projectList(seed int64, n int) (html, js []byte) {
	r := rand.New(rand.NewPCG(uint64(seed), 0x632be59bd9b4e019))
	type entry struct{ name, norm string }
	seen := make(map[string]bool, n)
	names := make([]entry, 0, n)
	for len(names) < n {
		parts := 1 + r.IntN(3)
		var b strings.Builder
		for k := 0; k < parts; k++ {
			if k > 0 {
				b.WriteString(separators[r.IntN(len(separators))])
			}
			s := syllables[r.IntN(len(syllables))]
			if r.IntN(8) == 0 {
				s = strings.ToUpper(s[:1]) + s[1:]
			}
			b.WriteString(s)
		}
		if r.IntN(2) == 0 {
			b.WriteString(strconv.Itoa(r.IntN(100000)))
		}
		name := b.String()
		norm := normalize(name)
		if seen[norm] || strings.Trim(norm, "-") != norm {
			continue
		}
		seen[norm] = true
		names = append(names, entry{name, norm})
	}
	sort.Slice(names, func(i, j int) bool { return names[i].norm < names[j].norm })

	var hb strings.Builder
	hb.Grow(n*48 + 256)
	hb.WriteString("<!DOCTYPE html>\n<html>\n  <head>\n    <meta name=\"pypi:repository-version\" content=\"1.4\">\n    <title>Simple index</title>\n  </head>\n  <body>\n")
	var jb strings.Builder
	jb.Grow(n*52 + 128)
	jb.WriteString(`{"meta":{"_last-serial":29000000,"api-version":"1.4"},"projects":[`)
	for i, e := range names {
		// Generated names contain no character that needs escaping.
		hb.WriteString(`    <a href="/simple/` + e.norm + `/">` + e.name + "</a>\n")
		if i > 0 {
			jb.WriteByte(',')
		}
		jb.WriteString(`{"_last-serial":` + strconv.Itoa(1+r.IntN(29000000)) + `,"name":"` + e.name + `"}`)
	}
	hb.WriteString("  </body>\n</html>")
	jb.WriteString("]}\n")
	return []byte(hb.String()), []byte(jb.String())
}
