package osaproxy

import (
	"sync"

	"github.com/osaproxy/caddy-osaproxy/pypi"
)

// nameMemoStore keeps, per repository and project, the pypi.NameMemo of
// the last page of the project parsed: the next page (the same page again,
// or one with a new release) then takes each file's version and type from
// it instead of parsing 6,000 filenames, wherever the filename at that
// position is unchanged (pypi.ParseIndexWith compares it exactly). What a
// filename parses to depends on nothing else, so a memo is never stale,
// only useless. Bounded by files held, all memos together; when full,
// arbitrary memos go first (a forgotten memo costs one parse of each name).
type nameMemoStore struct {
	mu  sync.RWMutex
	max int // bound on the files held
	n   int // files held
	m   map[string]*pypi.NameMemo
}

func newNameMemoStore(max int) *nameMemoStore {
	return &nameMemoStore{max: max, m: make(map[string]*pypi.NameMemo)}
}

// knownNames is process-wide (like the other memos of facts that do not
// depend on the configuration), so it survives config reloads. 1<<18 files
// is about 10 MB of entries; their strings are the pages' own, shared with
// the other caches.
var knownNames = newNameMemoStore(1 << 18)

func nameMemoKey(repo, project string) string { return repo + "\x00" + project }

func (s *nameMemoStore) get(key string) *pypi.NameMemo {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.m[key]
}

// put replaces key's memo with m (unless m alone exceeds the bound: then
// nothing changes).
func (s *nameMemoStore) put(key string, m *pypi.NameMemo) {
	if m.Len() > s.max {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.m[key]; old != nil {
		delete(s.m, key)
		s.n -= old.Len()
	}
	for k, old := range s.m { // arbitrary memos go first
		if s.n+m.Len() <= s.max {
			break
		}
		delete(s.m, k)
		s.n -= old.Len()
	}
	s.m[key] = m
	s.n += m.Len()
}
