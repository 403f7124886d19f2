package intel

import "slices"

// pkgIndex answers "which records affect this package at version q" with
// one binary search, whatever the number of records naming the package.
//
// Every version a record mentions for the package (explicit versions and
// range event versions) becomes a bound; the sorted, distinct bounds
// b0 < b1 < ... cut the version line into classes: below b0, equal to b0,
// between b0 and b1, equal to b1, ... above the last. Whether a record
// affects a version cannot change inside a class (the OSV evaluation only
// compares the version with event versions, and explicit versions are
// bounds), so the records of each class are computed once, at Build.
type pkgIndex struct {
	recs []*Vuln // non-withdrawn records naming the package, by id
	// per record (same order), its entries for this package
	entries [][]*compiledAffected

	bounds  []*pver
	classes [][]int32 // 2*len(bounds)+1 lists of indexes into recs
	// open: records with a range that is just introduced "0" (they cover
	// versions that are not PEP 440 too); odd: records listing a version
	// that is not PEP 440, by its text.
	open []int32
	odd  map[string][]int32
	// linear: the class table would be too large; records are evaluated
	// one by one.
	linear bool
}

// maxClassCells bounds the class table of one package (entries in all
// class lists, as classes x records) before falling back to evaluation
// record by record.
const maxClassCells = 1 << 21

// minIndexed is the number of records from which a package gets a class
// table; below it, evaluating the few records directly is as fast.
const minIndexed = 4

func buildPkgIndex(recs []*Vuln, entries [][]*compiledAffected) *pkgIndex {
	pi := &pkgIndex{recs: recs, entries: entries}
	if len(recs) < minIndexed {
		pi.linear = true
		return pi
	}
	// collect the distinct versions (records of one package list the
	// same ones), in order of first appearance.
	pos := make(map[*pver]int, 64)
	var all []*pver
	add := func(p *pver) {
		if _, seen := pos[p]; !seen {
			pos[p] = -1
			all = append(all, p)
		}
	}
	for i, es := range entries {
		for _, a := range es {
			for _, p := range a.versions {
				add(p)
			}
			for _, o := range a.odd {
				if pi.odd == nil {
					pi.odd = map[string][]int32{}
				}
				if l := pi.odd[o]; len(l) == 0 || l[len(l)-1] != int32(i) {
					pi.odd[o] = append(l, int32(i))
				}
			}
			for ri := range a.ranges {
				r := &a.ranges[ri]
				if r.open {
					if len(pi.open) == 0 || pi.open[len(pi.open)-1] != int32(i) {
						pi.open = append(pi.open, int32(i))
					}
				}
				if !r.usable {
					continue
				}
				for _, e := range r.events {
					if !e.zero {
						add(e.v)
					}
				}
				for _, p := range r.limits {
					add(p)
				}
			}
		}
	}
	slices.SortFunc(all, compareVersions)
	for _, p := range all {
		if n := len(pi.bounds); n > 0 && compareVersions(pi.bounds[n-1], p) == 0 {
			pos[p] = n - 1
			continue
		}
		pos[p] = len(pi.bounds)
		pi.bounds = append(pi.bounds, p)
	}
	nClasses := 2*len(pi.bounds) + 1
	if nClasses*len(recs) > maxClassCells {
		pi.linear = true
		pi.bounds = nil
		return pi
	}
	pi.classes = make([][]int32, nClasses)
	// membership, one row of nClasses per record, in one allocation.
	member := make([]bool, nClasses*len(recs))
	for i, es := range entries {
		m := member[i*nClasses : (i+1)*nClasses]
		for _, a := range es {
			for _, v := range a.versions {
				m[2*pos[v]+1] = true
			}
			for ri := range a.ranges {
				r := &a.ranges[ri]
				if r.open {
					for c := range m {
						m[c] = true
					}
					continue
				}
				if !r.usable {
					continue
				}
				r.markClasses(pos, m)
			}
		}
	}
	// the class lists, in one arena; identical neighbours share a list.
	type span struct{ lo, hi int }
	spans := make([]span, nClasses)
	arena := make([]int32, 0, 4*len(recs))
	prev := span{}
	for c := 0; c < nClasses; c++ {
		lo := len(arena)
		for i, k := 0, c; i < len(recs); i, k = i+1, k+nClasses {
			if member[k] {
				arena = append(arena, int32(i))
			}
		}
		cur := span{lo, len(arena)}
		if slices.Equal(arena[cur.lo:cur.hi], arena[prev.lo:prev.hi]) {
			arena = arena[:lo]
			cur = prev
		}
		spans[c] = cur
		prev = cur
	}
	lists := make([]int32, len(arena))
	copy(lists, arena)
	for c, sp := range spans {
		if sp.hi > sp.lo {
			pi.classes[c] = lists[sp.lo:sp.hi:sp.hi]
		}
	}
	return pi
}

// markClasses sets m[c] for every class c the usable range covers. It is
// the OSV evaluation of eval, run once over all classes: events are
// sorted, so the events applied for a version of class c are those at or
// below it; a last_affected event only ends the range for classes strictly
// above its bound.
func (r *compiledRange) markClasses(pos map[*pver]int, m []bool) {
	nClasses := len(m)
	limit := nClasses // classes >= limit are not below any limit
	if len(r.limits) > 0 {
		maxK := -1
		for _, l := range r.limits {
			if k := pos[l]; k > maxK {
				maxK = k
			}
		}
		limit = 2*maxK + 1
	}
	state := false // state for versions above every event applied so far
	i := 0
	for ; i < len(r.events) && r.events[i].zero; i++ {
		state = true
	}
	for c := 0; c < limit && c < nClasses; c++ {
		if c%2 == 0 { // strictly between bounds: only definite events apply
			if state {
				m[c] = true
			}
			continue
		}
		j := (c - 1) / 2
		at := state // the version equals bound j
		after := state
		for ; i < len(r.events) && pos[r.events[i].v] == j; i++ {
			switch r.events[i].kind {
			case evIntroduced:
				at, after = true, true
			case evFixed:
				at, after = false, false
			case evLastAffected:
				after = false // at bound j itself: unchanged
			}
		}
		if at {
			m[c] = true
		}
		state = after
	}
}

// affecting returns the records affecting version q.
func (pi *pkgIndex) affecting(q *pver) []*Vuln {
	var idx []int32
	switch {
	case pi.linear:
		var out []*Vuln
		for i, es := range pi.entries {
			for _, a := range es {
				if a.matches(q) {
					out = append(out, pi.recs[i])
					break
				}
			}
		}
		return out
	case !q.ok:
		idx = mergeInt32(pi.open, pi.odd[q.canon])
	default:
		b := pi.bounds
		lo, hi := 0, len(b)
		c := -1
		for lo < hi {
			mid := int(uint(lo+hi) >> 1)
			switch cmp := compareVersions(q, b[mid]); {
			case cmp == 0:
				c = 2*mid + 1
				lo = hi
			case cmp < 0:
				hi = mid
			default:
				lo = mid + 1
			}
		}
		if c < 0 {
			c = 2 * lo
		}
		idx = pi.classes[c]
	}
	if len(idx) == 0 {
		return nil
	}
	out := make([]*Vuln, len(idx))
	for i, k := range idx {
		out[i] = pi.recs[k]
	}
	return out
}

// mergeInt32 unites two sorted lists.
func mergeInt32(a, b []int32) []int32 {
	if len(b) == 0 {
		return a
	}
	if len(a) == 0 {
		return b
	}
	out := make([]int32, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || (i < len(a) && a[i] < b[j]):
			out = append(out, a[i])
			i++
		case i == len(a) || b[j] < a[i]:
			out = append(out, b[j])
			j++
		default:
			out = append(out, a[i])
			i, j = i+1, j+1
		}
	}
	return out
}
