package pypi

import (
	"strings"
)

// Media types of the "latest" meta version; a response to them carries v1.
const (
	MediaLatestHTML = "application/vnd.pypi.simple.latest+html"
	MediaLatestJSON = "application/vnd.pypi.simple.latest+json"
)

// offers in server preference order (warehouse _select_content_type).
var offers = [...]struct {
	media string
	f     Format
}{
	{MediaTextHTML, FormatHTML},
	{MediaV1HTML, FormatHTML},
	{MediaV1JSON, FormatJSON},
}

// Negotiate picks the Simple API representation the way pypi.org does.
//
// A formatParam (the ?format= query value) naming one of text/html,
// application/vnd.pypi.simple.v1+html, v1+json, latest+html or latest+json
// wins over Accept (the pypi.org edge replaces Accept with it); any other
// value is ignored. Otherwise the Accept header is matched against the offers
// text/html, v1+html, v1+json (in that preference order): each offer gets
// the q-value of the most specific matching media range (exact, type/*,
// */*; "latest" ranges count as v1), the highest q wins and ties go to the
// earlier offer. An empty or absent Accept means text/html. The media type to
// request and serve is returned ("latest" is answered with v1). ok is false
// when Accept rules out every offer (q=0 or no match); media is then
// text/html, which is what pypi.org itself would fall back to, and the caller
// may answer 406 instead.
func Negotiate(accept, formatParam string) (media string, f Format, ok bool) {
	switch strings.ToLower(strings.TrimSpace(formatParam)) {
	case MediaTextHTML:
		return MediaTextHTML, FormatHTML, true
	case MediaV1HTML, MediaLatestHTML:
		return MediaV1HTML, FormatHTML, true
	case MediaV1JSON, MediaLatestJSON:
		return MediaV1JSON, FormatJSON, true
	}
	if strings.TrimSpace(accept) == "" {
		return MediaTextHTML, FormatHTML, true
	}
	var qs [len(offers)]int // q * 1000
	var spec [len(offers)]int
	for i := range spec {
		spec[i] = -1
	}
	for rng := range strings.SplitSeq(accept, ",") {
		typ, q, okr := parseMediaRange(rng)
		if !okr {
			continue
		}
		for i, o := range offers {
			s := matchSpecificity(typ, o.media)
			if s > spec[i] {
				spec[i], qs[i] = s, q
			}
		}
	}
	best := -1
	for i := range offers {
		if spec[i] >= 0 && qs[i] > 0 && (best < 0 || qs[i] > qs[best]) {
			best = i
		}
	}
	if best < 0 {
		return MediaTextHTML, FormatHTML, false
	}
	return offers[best].media, offers[best].f, true
}

// matchSpecificity returns how specifically media range typ matches offer:
// 2 exact, 1 type/*, 0 */*, -1 no match.
func matchSpecificity(typ, offer string) int {
	switch typ {
	case "*/*":
		return 0
	case offer:
		return 2
	case MediaLatestHTML:
		if offer == MediaV1HTML {
			return 2
		}
	case MediaLatestJSON:
		if offer == MediaV1JSON {
			return 2
		}
	}
	if strings.HasSuffix(typ, "/*") && strings.HasPrefix(offer, typ[:len(typ)-1]) {
		return 1
	}
	return -1
}

// parseMediaRange parses one Accept element into its lower-cased type and
// its q-value in thousandths. Malformed elements report false.
func parseMediaRange(s string) (typ string, q int, ok bool) {
	typ, params, _ := strings.Cut(s, ";")
	typ = strings.ToLower(strings.TrimSpace(typ))
	main, sub, found := strings.Cut(typ, "/")
	if !found || main == "" || sub == "" || (main == "*" && sub != "*") || !isToken(main) || !isToken(sub) {
		return "", 0, false
	}
	q = 1000
	for params != "" {
		var p string
		p, params, _ = strings.Cut(params, ";")
		k, v, _ := strings.Cut(p, "=")
		if !strings.EqualFold(strings.TrimSpace(k), "q") {
			continue
		}
		var okq bool
		q, okq = parseQ(strings.TrimSpace(v))
		if !okq {
			return "", 0, false
		}
		break // parameters after q are accept-extensions
	}
	return typ, q, true
}

// parseQ parses an RFC 9110 qvalue ("0", "0.5", "1.000") into thousandths.
func parseQ(v string) (int, bool) {
	if v == "" || len(v) > 5 {
		return 0, false
	}
	whole := v[0]
	if whole != '0' && whole != '1' {
		return 0, false
	}
	q := int(whole-'0') * 1000
	rest := v[1:]
	if rest == "" {
		return q, true
	}
	if rest[0] != '.' {
		return 0, false
	}
	frac := rest[1:]
	scale := 100
	for i := 0; i < len(frac); i++ {
		if !isDigit(frac[i]) {
			return 0, false
		}
		q += int(frac[i]-'0') * scale
		scale /= 10
	}
	if q > 1000 {
		return 0, false
	}
	return q, true
}

func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isAlnum(c) || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}
