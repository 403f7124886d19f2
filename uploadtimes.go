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
	max int
	m   map[string]time.Time
}

var knownUploadTimes = &uploadTimeMemo{max: 1 << 19, m: make(map[string]time.Time)}

func uploadTimeKey(repo, filename string) string { return repo + "\x00" + filename }

// fill sets the missing upload times of ix's files that are remembered and
// reports whether any file still has none.
func (u *uploadTimeMemo) fill(repo string, ix *pypi.Index) (missing bool) {
	u.mu.RLock()
	defer u.mu.RUnlock()
	for i := range ix.Files {
		f := &ix.Files[i]
		if !f.UploadTime.IsZero() {
			continue
		}
		if t, ok := u.m[uploadTimeKey(repo, f.Filename)]; ok {
			f.UploadTime = t
			continue
		}
		missing = true
	}
	return missing
}

// learn remembers the upload times found in the JSON API.
func (u *uploadTimeMemo) learn(repo string, times map[string]time.Time) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for name, t := range times {
		if t.IsZero() {
			continue
		}
		if len(u.m) >= u.max {
			n := 0
			for k := range u.m {
				delete(u.m, k)
				if n++; n >= u.max/8 {
					break
				}
			}
		}
		u.m[uploadTimeKey(repo, name)] = t
	}
}
