package intel

import (
	"strings"
	"sync"
	"sync/atomic"

	pep440 "github.com/aquasecurity/go-pep440-version"
)

// pver is a parsed, interned version string. Ordering and validity follow
// PEP 440 through github.com/aquasecurity/go-pep440-version; the common case
// of a plain release ("1.2.3") is additionally kept as numbers so that two
// plain releases compare without going through the library (the result is
// identical: a plain release has no epoch, pre, post, dev or local part, so
// PEP 440 orders it by its release numbers with trailing zeros ignored).
type pver struct {
	// canon is the PEP 440 normalized form ("0.12.01" -> "0.12.1"), or the
	// raw string when the version is not PEP 440.
	canon string
	// ok: the version is valid PEP 440.
	ok bool
	// rel holds the release numbers (trailing zeros trimmed) of a plain
	// release; plain tells whether rel is meaningful.
	rel   []uint64
	plain bool
	// lib is the library's parse; for plain releases it is made lazily,
	// only when compared with a version that is not plain.
	lib atomic.Pointer[pep440.Version]
	// cmpMu guards comparisons where this version is the receiver:
	// pep440.Version.Compare pads the receiver's release numbers with
	// append, which writes into the shared backing array of a release that
	// had trailing zeros trimmed (go-version part.Parts.Padding), a data
	// race when one parsed Version is compared from several goroutines.
	cmpMu sync.Mutex
}

// version caches: raw string -> *pver. A bounded map that is dropped when
// it grows past verCacheMax entries keeps both loading (the same version
// strings repeat across thousands of records) and lookups cheap.
const verCacheMax = 1 << 18

type verCache struct {
	m sync.Map
	n atomic.Int64
}

var currentVerCache atomic.Pointer[verCache]

func init() { currentVerCache.Store(&verCache{}) }

// parseVersion returns the interned parse of s.
func parseVersion(s string) *pver {
	c := currentVerCache.Load()
	if v, ok := c.m.Load(s); ok {
		return v.(*pver)
	}
	p := newPver(s)
	if actual, loaded := c.m.LoadOrStore(p.rawKey(s), p); loaded {
		return actual.(*pver)
	}
	if c.n.Add(1) > verCacheMax {
		currentVerCache.CompareAndSwap(c, &verCache{})
	}
	return p
}

// rawKey returns s itself or canon when they are equal, so that the map key
// and canon share storage.
func (p *pver) rawKey(s string) string {
	if s == p.canon {
		return p.canon
	}
	return strings.Clone(s)
}

func newPver(s string) *pver {
	if rel, canon, ok := parsePlain(s); ok {
		return &pver{canon: canon, ok: true, rel: rel, plain: true}
	}
	v, err := pep440.Parse(s)
	if err != nil {
		return &pver{canon: strings.Clone(s)}
	}
	p := &pver{canon: v.String(), ok: true}
	p.lib.Store(&v)
	return p
}

// parsePlain recognizes "N(.N)*" with each N fitting in 18 digits and
// returns its release numbers (trailing zeros trimmed) and canonical text.
func parsePlain(s string) ([]uint64, string, bool) {
	if s == "" {
		return nil, "", false
	}
	var rel []uint64
	canonical := true
	var cur uint64
	digits := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '.' {
			if digits == 0 {
				return nil, "", false
			}
			rel = append(rel, cur)
			cur, digits = 0, 0
			continue
		}
		c := s[i]
		if c < '0' || c > '9' || digits >= 18 {
			return nil, "", false
		}
		if c == '0' && digits == 0 && i+1 < len(s) && s[i+1] != '.' {
			canonical = false // leading zero
		}
		cur = cur*10 + uint64(c-'0')
		digits++
	}
	canon := s
	if !canonical {
		var b strings.Builder
		for i, n := range rel {
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(uitoa(n))
		}
		canon = b.String()
	} else {
		canon = strings.Clone(s)
	}
	for len(rel) > 0 && rel[len(rel)-1] == 0 {
		rel = rel[:len(rel)-1]
	}
	return rel, canon, true
}

func uitoa(n uint64) string {
	var buf [20]byte
	i := len(buf)
	for {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	return string(buf[i:])
}

// library returns the pep440 parse of a valid version.
func (p *pver) library() *pep440.Version {
	if v := p.lib.Load(); v != nil {
		return v
	}
	v, err := pep440.Parse(p.canon)
	if err != nil { // cannot happen for a plain release
		v = pep440.Version{}
	}
	p.lib.Store(&v)
	return &v
}

// compareVersions orders two valid PEP 440 versions (-1, 0, 1).
func compareVersions(a, b *pver) int {
	if a == b {
		return 0
	}
	if a.plain && b.plain {
		n := len(a.rel)
		if len(b.rel) > n {
			n = len(b.rel)
		}
		for i := 0; i < n; i++ {
			var x, y uint64
			if i < len(a.rel) {
				x = a.rel[i]
			}
			if i < len(b.rel) {
				y = b.rel[i]
			}
			if x != y {
				if x < y {
					return -1
				}
				return 1
			}
		}
		return 0
	}
	la, lb := a.library(), b.library()
	a.cmpMu.Lock()
	c := la.Compare(*lb)
	a.cmpMu.Unlock()
	return c
}

// CompareVersions orders two PEP 440 versions (-1, 0, 1); ok is false when
// either is not a valid PEP 440 version.
func CompareVersions(a, b string) (cmp int, ok bool) {
	pa, pb := parseVersion(a), parseVersion(b)
	if !pa.ok || !pb.ok {
		return 0, false
	}
	return compareVersions(pa, pb), true
}

// NormalizeVersion returns the PEP 440 normalized form of v, or v unchanged
// when it is not a valid PEP 440 version.
func NormalizeVersion(v string) string { return parseVersion(v).canon }
