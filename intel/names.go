package intel

import "strings"

// NormalizeName returns the PEP 503 normalized form of a project name:
// lower case, with every run of "-", "_" and "." replaced by a single "-".
// Surrounding white space is removed.
func NormalizeName(name string) string {
	if isNormalizedName(name) {
		return name
	}
	name = strings.TrimSpace(name)
	var b strings.Builder
	b.Grow(len(name))
	sep := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '-' || c == '_' || c == '.':
			sep = true
			continue
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		}
		if sep {
			b.WriteByte('-')
			sep = false
		}
		b.WriteByte(c)
	}
	if sep {
		b.WriteByte('-')
	}
	return b.String()
}

// isNormalizedName reports whether name is already in normalized form, so
// the hot path of a lookup does not allocate.
func isNormalizedName(name string) bool {
	if name == "" {
		return true
	}
	prevSep := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '-':
			if prevSep {
				return false
			}
			prevSep = true
			continue
		case c == '_' || c == '.' || (c >= 'A' && c <= 'Z') || c == ' ' || c == '\t' || c == '\n' || c == '\r':
			return false
		}
		prevSep = false
	}
	return true
}
