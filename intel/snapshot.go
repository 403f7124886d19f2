package intel

import (
	"crypto/sha256"
	"encoding/hex"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Snapshot is an immutable, indexed set of records. It is safe for
// concurrent use.
type Snapshot struct {
	// ID identifies the content: "sha256:<12 hex>/<records>/<newest modified RFC3339>".
	ID             string
	Records        int
	NewestModified time.Time
	LoadedAt       time.Time

	all    []*Vuln              // sorted by id
	byName map[string]*pkgIndex // normalized package name -> index
	byID   map[string]*Vuln     // id -> record
	alias  map[string]*Vuln     // alias (or merged-away id) -> record
	// folded: upper-cased id/alias -> record, for case-insensitive
	// lookups; built on the first lookup that needs it.
	foldOnce sync.Once
	folded   map[string]*Vuln
}

// Affecting returns the non-withdrawn records that affect name@version
// (name is normalized by the callee; PEP 440 ordering; versions list and
// ranges both count; introduced "0" without end covers every version).
// The result is ordered by record id.
func (s *Snapshot) Affecting(name, version string) []*Vuln {
	if s == nil {
		return nil
	}
	pi := s.byName[NormalizeName(name)]
	if pi == nil {
		return nil
	}
	return pi.affecting(parseVersion(strings.TrimSpace(version)))
}

// ForName returns every non-withdrawn record naming the package, ordered
// by id.
func (s *Snapshot) ForName(name string) []*Vuln {
	if s == nil {
		return nil
	}
	pi := s.byName[NormalizeName(name)]
	if pi == nil {
		return nil
	}
	return append([]*Vuln(nil), pi.recs...)
}

// Lookup finds a record by id or alias (an exact id wins over an alias;
// case-insensitive as a last resort). Withdrawn records are found too.
func (s *Snapshot) Lookup(id string) *Vuln {
	if s == nil {
		return nil
	}
	id = strings.TrimSpace(id)
	if v := s.byID[id]; v != nil {
		return v
	}
	if v := s.alias[id]; v != nil {
		return v
	}
	s.foldOnce.Do(s.buildFolded)
	return s.folded[strings.ToUpper(id)]
}

// All returns every record of the snapshot (withdrawn ones included),
// ordered by id. The slice must not be modified.
func (s *Snapshot) All() []*Vuln {
	if s == nil {
		return nil
	}
	return s.all
}

// Packages returns the number of distinct package names indexed.
func (s *Snapshot) Packages() int {
	if s == nil {
		return 0
	}
	return len(s.byName)
}

// Build makes a snapshot from records. Records with the same id are merged:
// the newest Modified wins (on a tie, the later one in records). Records
// that alias each other (one's id is listed among the other's aliases, as
// a PYSEC record and its GHSA twin) count once: the newest Modified is
// kept, the aliases are united, and affected packages only the other one
// names are added to it so that no coverage is lost. Build takes ownership
// of records: they must not be modified afterwards; records built by hand
// are compiled here.
func Build(records []*Vuln) *Snapshot {
	// 1. merge by id.
	byID := make(map[string]*Vuln, len(records))
	for _, v := range records {
		if v == nil || v.ID == "" {
			continue
		}
		if v.m == nil {
			v.m = compileVuln(v)
		}
		if old, ok := byID[v.ID]; !ok || !v.Modified.Before(old.Modified) {
			byID[v.ID] = v
		}
	}
	ids := make([]string, 0, len(byID))
	for id := range byID {
		ids = append(ids, id)
	}
	sort.Strings(ids)

	// 2. group records that alias each other (union-find over ids).
	parent := make(map[string]string)
	var find func(string) string
	find = func(x string) string {
		p, ok := parent[x]
		if !ok || p == x {
			return x
		}
		r := find(p)
		parent[x] = r
		return r
	}
	grouped := make(map[string]bool)
	union := func(a, b string) {
		grouped[a], grouped[b] = true, true
		ra, rb := find(a), find(b)
		if ra == rb {
			return
		}
		if ra < rb {
			parent[rb] = ra
		} else {
			parent[ra] = rb
		}
	}
	for _, id := range ids {
		for _, a := range byID[id].Aliases {
			if a != id && byID[a] != nil {
				union(id, a)
			}
		}
	}
	groups := make(map[string][]*Vuln)
	for _, id := range ids {
		if grouped[id] {
			r := find(id)
			groups[r] = append(groups[r], byID[id])
		}
	}

	all := make([]*Vuln, 0, len(ids))
	merged := make(map[string]bool)
	for _, id := range ids {
		r := find(id)
		if g := groups[r]; len(g) > 1 {
			if merged[r] {
				continue
			}
			merged[r] = true
			all = append(all, mergeGroup(g))
			continue
		}
		all = append(all, byID[id])
	}
	sort.Slice(all, func(i, j int) bool { return all[i].ID < all[j].ID })
	return index(all)
}

// mergeGroup keeps the newest record of a group of records aliasing each
// other (ties: smallest id), unites aliases and adds missing packages. The
// kept record is copied, never modified.
func mergeGroup(g []*Vuln) *Vuln {
	best := g[0]
	for _, v := range g[1:] {
		if v.Modified.After(best.Modified) {
			best = v
		}
	}
	out := *best
	seen := map[string]bool{out.ID: true}
	out.Aliases = nil
	addAlias := func(a string) {
		if a != "" && !seen[a] {
			seen[a] = true
			out.Aliases = append(out.Aliases, a)
		}
	}
	for _, a := range best.Aliases {
		addAlias(a)
	}
	names := map[string]bool{}
	for _, a := range best.Affected {
		names[NormalizeName(a.Name)] = true
	}
	extra := false
	for _, v := range g {
		if v == best {
			continue
		}
		addAlias(v.ID)
		for _, a := range v.Aliases {
			addAlias(a)
		}
		for _, a := range v.Affected {
			if n := NormalizeName(a.Name); !names[n] {
				if !extra {
					out.Affected = append([]Affected(nil), out.Affected...)
					extra = true
				}
				names[n] = true
				out.Affected = append(out.Affected, a)
			}
		}
		out.Malicious = out.Malicious || v.Malicious
		out.CWEs = unionStrings(out.CWEs, v.CWEs)
	}
	out.Malicious = out.Malicious || isMalicious(&out)
	if extra {
		out.m = compileVuln(&out)
	}
	return &out
}

func unionStrings(a, b []string) []string {
	if len(b) == 0 {
		return a
	}
	seen := make(map[string]bool, len(a)+len(b))
	out := make([]string, 0, len(a)+len(b))
	for _, s := range a {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, s := range b {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// index builds the lookup structures of a snapshot from merged records
// sorted by id.
func index(all []*Vuln) *Snapshot {
	s := &Snapshot{
		Records:  len(all),
		LoadedAt: time.Now().UTC(),
		all:      all,
		byName:   make(map[string]*pkgIndex),
		byID:     make(map[string]*Vuln, len(all)),
		alias:    make(map[string]*Vuln, len(all)*2),
	}
	type pkgRecs struct {
		recs    []*Vuln
		entries [][]*compiledAffected
	}
	pkgs := make(map[string]*pkgRecs)
	h := sha256.New()
	for _, v := range all {
		s.byID[v.ID] = v
		if v.Modified.After(s.NewestModified) {
			s.NewestModified = v.Modified
		}
		h.Write([]byte(v.ID))
		h.Write([]byte{0})
		h.Write([]byte(v.Modified.UTC().Format(time.RFC3339Nano)))
		h.Write([]byte{'\n'})
		if v.Withdrawn.IsZero() {
			c := v.m
			for i := range c.affected {
				a := &c.affected[i]
				p := pkgs[a.name]
				if p == nil {
					p = &pkgRecs{}
					pkgs[a.name] = p
				}
				if n := len(p.recs); n > 0 && p.recs[n-1] == v {
					p.entries[n-1] = append(p.entries[n-1], a)
				} else {
					p.recs = append(p.recs, v)
					p.entries = append(p.entries, []*compiledAffected{a})
				}
			}
		}
	}
	// the class tables are independent: build them on every CPU.
	names := make([]string, 0, len(pkgs))
	for name := range pkgs {
		names = append(names, name)
	}
	built := make([]*pkgIndex, len(names))
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := runtime.GOMAXPROCS(0); w > 0; w-- {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(names) {
					return
				}
				p := pkgs[names[i]]
				built[i] = buildPkgIndex(p.recs, p.entries)
			}
		}()
	}
	wg.Wait()
	for i, name := range names {
		s.byName[name] = built[i]
	}
	for _, v := range all {
		for _, a := range v.Aliases {
			if _, ok := s.alias[a]; !ok && s.byID[a] == nil {
				s.alias[a] = v
			}
		}
	}
	s.ID = "sha256:" + hex.EncodeToString(h.Sum(nil))[:12] + "/" +
		itoa(len(all)) + "/" + s.NewestModified.UTC().Format(time.RFC3339)
	return s
}

func (s *Snapshot) buildFolded() {
	all := s.all
	s.folded = make(map[string]*Vuln, len(all)*3)
	for _, v := range all {
		if k := strings.ToUpper(v.ID); s.folded[k] == nil {
			s.folded[k] = v
		}
	}
	for _, v := range all {
		for _, a := range v.Aliases {
			if k := strings.ToUpper(a); s.folded[k] == nil {
				s.folded[k] = v
			}
		}
	}
}

func itoa(n int) string { return uitoa(uint64(n)) }
