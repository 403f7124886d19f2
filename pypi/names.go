package pypi

import (
	"strings"
	"unicode/utf8"
)

// NormalizeName returns the PEP 503 normalized form of a project name:
// re.sub(r"[-_.]+", "-", name).lower(). A name that is already normalized is
// returned as is, without allocating.
func NormalizeName(name string) string {
	if IsNormalized(name) {
		return name
	}
	var b strings.Builder
	b.Grow(len(name))
	sep := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '-' || c == '_' || c == '.':
			if !sep {
				b.WriteByte('-')
			}
			sep = true
			continue
		case c >= 'A' && c <= 'Z':
			b.WriteByte(c + ('a' - 'A'))
		case c < utf8.RuneSelf:
			b.WriteByte(c)
		default:
			// Non-ASCII: lower-case the rest of this run the way Go does
			// (close to Python's str.lower; valid project names are ASCII).
			r, size := utf8.DecodeRuneInString(name[i:])
			b.WriteString(strings.ToLower(string(r)))
			i += size - 1
		}
		sep = false
	}
	return b.String()
}

// IsNormalized reports whether name is already in PEP 503 normalized form.
func IsNormalized(name string) bool {
	prevDash := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '-':
			if prevDash {
				return false
			}
			prevDash = true
			continue
		case c == '_' || c == '.' || (c >= 'A' && c <= 'Z'):
			return false
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRuneInString(name[i:])
			if strings.ToLower(string(r)) != name[i:i+size] {
				return false
			}
			i += size - 1
		}
		prevDash = false
	}
	return true
}

// equalNormalized reports whether NormalizeName(name) == norm without
// allocating. norm must already be normalized.
func equalNormalized(name, norm string) bool {
	j := 0
	for i := 0; i < len(name); {
		c := name[i]
		if c == '-' || c == '_' || c == '.' {
			for i < len(name) && (name[i] == '-' || name[i] == '_' || name[i] == '.') {
				i++
			}
			if j >= len(norm) || norm[j] != '-' {
				return false
			}
			j++
			continue
		}
		if c >= utf8.RuneSelf {
			// Rare: fall back to the allocating path.
			return NormalizeName(name) == norm
		}
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if j >= len(norm) || norm[j] != c {
			return false
		}
		i++
		j++
	}
	return j == len(norm)
}

// validProjectName reports whether name is a syntactically valid project
// name in the sense of PEP 508 (ASCII letters, digits, '-', '_', '.',
// beginning and ending with a letter or digit).
func validProjectName(name string) bool {
	if name == "" || len(name) > 200 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if isAlnum(c) {
			continue
		}
		if (c == '-' || c == '_' || c == '.') && i > 0 && i < len(name)-1 {
			continue
		}
		return false
	}
	return true
}

func isAlnum(c byte) bool {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func lowerASCII(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}

// hasSuffixFold reports whether s ends with suffix, ASCII case-insensitively
// (suffix must be lower case).
func hasSuffixFold(s, suffix string) bool {
	if len(s) < len(suffix) {
		return false
	}
	t := s[len(s)-len(suffix):]
	for i := 0; i < len(t); i++ {
		if lowerASCII(t[i]) != suffix[i] {
			return false
		}
	}
	return true
}
