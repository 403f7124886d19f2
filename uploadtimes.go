package osaproxy

import (
	"sync"
	"time"

	"github.com/osaproxy/caddy-osaproxy/pypi"
)

// Upload times learned from the legacy JSON API.
//
// A cooldown policy on an HTML index (which carries no PEP 700 upload-time)
// makes fillUploadTimes fetch and decode /pypi/<project>/json: for a large
// project that is several megabytes and most of the cost of the request. A
// file's upload time never changes (an index cannot re-upload a filename),
// so the times learned once are remembered per (repository, filename) and
// the JSON API is fetched again only when the page lists a file whose time
// is not known yet — typically a new release, which is exactly the file a
// cooldown is about, so it is never decided without its time.

// uploadTimeMemo is a bounded, process-wide map of repository+filename to
// upload time. Eviction drops an arbitrary eighth when full (a forgotten
// time costs one JSON API fetch, never a wrong decision).
type uploadTimeMemo struct {
	mu  sync.RWMutex
	max int                             // bound on the number of times, all repositories together
	n   int                             // number of times held
	m   map[string]map[string]time.Time // repository -> filename -> time (no key to build per lookup)

	// pages holds, per repository and project, the files of the last page
	// whose times were all known, in page order, with their times: the
	// same page again (the usual case) is filled by comparing names in
	// order instead of 6,000 map lookups (a millisecond per request).
	// Times never change, so a page entry stays true even when m forgets
	// its times. Bounded by files held, like m.
	pages     map[string]*pageTimes
	pageFiles int
}

type pageTimes struct {
	names []string
	times []time.Time
}

func newUploadTimeMemo(max int) *uploadTimeMemo {
	return &uploadTimeMemo{max: max, m: make(map[string]map[string]time.Time), pages: make(map[string]*pageTimes)}
}

var knownUploadTimes = newUploadTimeMemo(1 << 19)

// fill sets the missing upload times of ix's files that are remembered and
// reports whether any file still has none.
func (u *uploadTimeMemo) fill(repo string, ix *pypi.Index) (missing bool) {
	pk := repo + "\x00" + ix.Project
	u.mu.RLock()
	if pt := u.pages[pk]; pt != nil && samePageFiles(pt.names, ix) {
		for i := range ix.Files {
			if f := &ix.Files[i]; f.UploadTime.IsZero() {
				f.UploadTime = pt.times[i]
			}
		}
		u.mu.RUnlock()
		return false
	}
	m := u.m[repo]
	for i := range ix.Files {
		f := &ix.Files[i]
		if !f.UploadTime.IsZero() {
			continue
		}
		if t, ok := m[f.Filename]; ok {
			f.UploadTime = t
			continue
		}
		missing = true
	}
	u.mu.RUnlock()
	if !missing && ix.Project != "" && len(ix.Files) > 0 {
		u.rememberPage(pk, ix)
	}
	return missing
}

// samePageFiles reports whether ix lists exactly names, in order.
func samePageFiles(names []string, ix *pypi.Index) bool {
	if len(names) != len(ix.Files) {
		return false
	}
	for i := range names {
		if names[i] != ix.Files[i].Filename {
			return false
		}
	}
	return true
}

// rememberPage keeps the files and times of a page whose times are all
// known (Filename has memory of its own: pypi.ParseIndex).
func (u *uploadTimeMemo) rememberPage(pk string, ix *pypi.Index) {
	pt := &pageTimes{names: make([]string, len(ix.Files)), times: make([]time.Time, len(ix.Files))}
	for i := range ix.Files {
		pt.names[i], pt.times[i] = ix.Files[i].Filename, ix.Files[i].UploadTime
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if old := u.pages[pk]; old != nil {
		u.pageFiles -= len(old.names)
	}
	for k, old := range u.pages { // arbitrary pages go first
		if u.pageFiles+len(pt.names) <= u.max {
			break
		}
		delete(u.pages, k)
		u.pageFiles -= len(old.names)
	}
	if u.pageFiles+len(pt.names) > u.max {
		return
	}
	u.pages[pk] = pt
	u.pageFiles += len(pt.names)
}

// learn remembers the upload times found in the JSON API.
func (u *uploadTimeMemo) learn(repo string, times map[string]time.Time) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for name, t := range times {
		if t.IsZero() {
			continue
		}
		m := u.m[repo]
		if m == nil {
			m = make(map[string]time.Time)
			u.m[repo] = m
		}
		if _, ok := m[name]; !ok {
			if u.n >= u.max {
				u.evict()
				if m = u.m[repo]; m == nil {
					m = make(map[string]time.Time)
					u.m[repo] = m
				}
			}
			u.n++
		}
		m[name] = t
	}
}

// evict drops about an eighth of the times (arbitrary ones).
func (u *uploadTimeMemo) evict() {
	drop := u.max / 8
	for repo, m := range u.m {
		for k := range m {
			delete(m, k)
			u.n--
			if drop--; drop <= 0 {
				break
			}
		}
		if len(m) == 0 {
			delete(u.m, repo)
		}
		if drop <= 0 {
			return
		}
	}
}
