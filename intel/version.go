package intel

import (
	"strings"
	"sync"
	"sync/atomic"

	pep440 "github.com/aquasecurity/go-pep440-version"
)

// pver is a parsed, interned version string. Validity, normalization and
// ordering follow PEP 440 through github.com/aquasecurity/go-pep440-version;
// each version also keeps a compact position so that most comparisons need
// no call into the library (whose Compare formats both versions with fmt):
//
// PEP 440 orders versions by (epoch, release, pre, post, dev, local), so a
// version V sits either exactly on its base B = epoch!release (a final
// release such as "1.2"), just below it (pre-releases and dev releases,
// "1.2rc1", "1.2.dev3") or just above it (post releases and local
// versions, "1.2.post1", "1.2+ubuntu1"): side = library.Compare(V, B),
// computed once. Two versions with different bases are ordered by their
// bases (epoch, then release numbers with trailing zeros ignored); with
// the same base, by side; only two versions on the same side of the same
// base ("1.2rc1" vs "1.2a3") are left to the library.
type pver struct {
	// canon is the PEP 440 normalized form ("0.12.01" -> "0.12.1"), or the
	// raw string when the version is not PEP 440.
	canon string
	// eq is canon with the release's trailing zeros removed ("1.0.0rc1" ->
	// "1rc1"): two valid versions are equal under PEP 440 when their eq
	// texts are equal, so explicit version lists match by text search.
	eq string
	// ok: the version is valid PEP 440.
	ok bool
	// epoch and rel (release numbers, trailing zeros trimmed) form the base.
	epoch uint64
	rel   []uint64
	// side is -1, 0 or +1: the version's position relative to its base.
	side int8
	// subOK: the version is one of the common shapes "<base>.devN",
	// "<base>{a|b|rc}N" or "<base>.postN", whose order among versions of
	// the same base and side is (subRank, subNum): dev-only releases sort
	// before pre-releases (PEP 440), pre-releases by letter (a < b < rc)
	// then number, post releases by number.
	subOK   bool
	subRank uint8
	subNum  uint64
	// plain: a final release "N(.N)*" without epoch (side 0), recognized
	// without the library.
	plain bool
	// libOnly: the base could not be held in numbers (a release number of
	// more than 18 digits): every comparison goes to the library.
	libOnly bool
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
const verCacheMax = 1 << 17

type verCache struct {
	m sync.Map
	n atomic.Int64
}

var currentVerCache atomic.Pointer[verCache]

func init() { currentVerCache.Store(&verCache{}) }

// versionResolver maps version text to its interned parse.
type versionResolver interface {
	version(s string) *pver
	// versionBytes resolves b and returns a string equal to b that can be
	// kept: the interned text when there is one.
	versionBytes(b []byte) (*pver, string)
}

// globalVersions resolves through the process-wide cache.
type globalVersions struct{}

func (globalVersions) version(s string) *pver { return parseVersion(s) }

func (globalVersions) versionBytes(b []byte) (*pver, string) {
	s := string(b)
	p := parseVersion(s)
	if p.canon == s {
		s = p.canon
	}
	return p, s
}

// localVersions is a single-goroutine cache in front of the process-wide
// one, used while loading (the same version strings repeat across
// thousands of records, and a plain map is cheaper than sync.Map). It also
// carries the worker's reusable OSV decoder buffers.
type localVersions struct {
	m   map[string]localVersion
	dec osvDecoder
}

type localVersion struct {
	p   *pver
	raw string // the map key: the text resolved (canon when equal)
}

func newLocalVersions() *localVersions {
	return &localVersions{m: make(map[string]localVersion, 1024)}
}

func (l *localVersions) version(s string) *pver {
	if e, ok := l.m[s]; ok {
		return e.p
	}
	p := parseVersion(s)
	if len(l.m) < verCacheMax {
		k := p.rawKey(s)
		l.m[k] = localVersion{p, k}
	}
	return p
}

func (l *localVersions) versionBytes(b []byte) (*pver, string) {
	if e, ok := l.m[string(b)]; ok { // no allocation for the lookup
		return e.p, e.raw
	}
	s := string(b)
	p := parseVersion(s)
	if p.canon == s {
		s = p.canon
	}
	if len(l.m) < verCacheMax {
		l.m[s] = localVersion{p, s}
	}
	return p, s
}

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
		return &pver{canon: canon, eq: releaseText(0, rel, canon, ""), ok: true, rel: rel, plain: true}
	}
	v, err := pep440.Parse(s)
	if err != nil {
		return &pver{canon: strings.Clone(s)}
	}
	p := &pver{canon: v.String(), ok: true}
	base := v.BaseVersion() // "[N!]R(.R)*"
	relText := base
	if i := strings.IndexByte(base, '!'); i >= 0 {
		epoch, _, ok := parsePlain(base[:i])
		if ok && len(epoch) <= 1 {
			if len(epoch) == 1 {
				p.epoch = epoch[0]
			}
		} else {
			p.libOnly = true
		}
		relText = base[i+1:]
	}
	rel, _, ok := parsePlain(relText)
	if !ok {
		p.libOnly = true
	}
	p.rel = rel
	if !p.libOnly {
		if b, err := pep440.Parse(base); err == nil {
			p.side = int8(v.Compare(b))
		} else {
			p.libOnly = true
		}
	}
	if !p.libOnly && strings.HasPrefix(p.canon, base) {
		tail := p.canon[len(base):]
		p.eq = releaseText(p.epoch, p.rel, p.canon[:len(base)], tail)
		p.subOK, p.subRank, p.subNum = subKey(tail, p.side)
	} else {
		p.eq = p.canon
	}
	p.lib.Store(&v)
	return p
}

// subKey reads the tail of a canonical version (as the library's String
// writes it) when it is a single dev, pre or post segment.
func subKey(tail string, side int8) (ok bool, rank uint8, num uint64) {
	number := func(s string) (uint64, bool) {
		rel, _, ok := parsePlain(s)
		if !ok || strings.IndexByte(s, '.') >= 0 {
			return 0, false
		}
		if len(rel) == 0 {
			return 0, true
		}
		return rel[0], true
	}
	var n uint64
	switch {
	case side < 0 && strings.HasPrefix(tail, ".dev"):
		n, ok = number(tail[4:])
		rank = 0
	case side < 0 && strings.HasPrefix(tail, "rc"):
		n, ok = number(tail[2:])
		rank = 3
	case side < 0 && strings.HasPrefix(tail, "a"):
		n, ok = number(tail[1:])
		rank = 1
	case side < 0 && strings.HasPrefix(tail, "b"):
		n, ok = number(tail[1:])
		rank = 2
	case side > 0 && strings.HasPrefix(tail, ".post"):
		n, ok = number(tail[5:])
		rank = 0
	}
	if !ok {
		return false, 0, 0
	}
	return true, rank, n
}

// releaseText writes "[epoch!]release" with the release's trailing zeros
// removed (at least one number kept), followed by tail; it returns
// same+tail when that is the same text, to share storage.
func releaseText(epoch uint64, rel []uint64, same, tail string) string {
	var b strings.Builder
	if epoch != 0 {
		b.WriteString(uitoa(epoch))
		b.WriteByte('!')
	}
	if len(rel) == 0 {
		b.WriteByte('0')
	}
	for i, n := range rel {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(uitoa(n))
	}
	if b.String() == same {
		if tail == "" {
			return same
		}
		return same + tail
	}
	b.WriteString(tail)
	return b.String()
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
	if !a.libOnly && !b.libOnly {
		if a.epoch != b.epoch {
			if a.epoch < b.epoch {
				return -1
			}
			return 1
		}
		if c := compareRelease(a.rel, b.rel); c != 0 {
			return c
		}
		if a.side != b.side {
			if a.side < b.side {
				return -1
			}
			return 1
		}
		if a.side == 0 {
			return 0 // both are their (common) base
		}
		if a.subOK && b.subOK {
			switch {
			case a.subRank != b.subRank:
				if a.subRank < b.subRank {
					return -1
				}
				return 1
			case a.subNum != b.subNum:
				if a.subNum < b.subNum {
					return -1
				}
				return 1
			}
			return 0
		}
	}
	la, lb := a.library(), b.library()
	a.cmpMu.Lock()
	c := la.Compare(*lb)
	a.cmpMu.Unlock()
	return c
}

// compareRelease orders release numbers, missing numbers counting as 0.
func compareRelease(a, b []uint64) int {
	n := len(a)
	if len(b) > n {
		n = len(b)
	}
	for i := 0; i < n; i++ {
		var x, y uint64
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
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
