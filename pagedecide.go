package osaproxy

import (
	"encoding/binary"
	"sync"
	"time"
	"unsafe"

	"github.com/osaproxy/caddy-osaproxy/policy"
	"github.com/osaproxy/caddy-osaproxy/pypi"
)

// Page decisions: the verdicts of a whole project page, reused by the next
// request that brings the same decision inputs.
//
// Deciding a 6,000-file page was a quarter of an uncached page request: the
// per-component verdict cache (decide.go) is off for time-dependent policy
// sets (cooldowns, delays, waivers), and even when it is on, 6,000 lookups
// cost. A page's decisions depend on the request context (repository,
// repository manager, work mode), the policy generation, the intelligence
// snapshot, every field of every file that goes into a policy.Component
// (file name, version, type, sha256, upload time, yanked, whether the name
// could be read), the project status, and the instant, through each file's
// class (policy.Engine.AppendFileClass: which side of every age threshold
// the file is on). All of that is compared exactly, field by field, never
// through a hash alone, so that no page, however crafted, can reuse another
// page's verdicts: the request context, policy generation, snapshot,
// project and number of files form the key of the entry (written
// unambiguously), and the entry keeps every file's facts to compare with
// the page at hand. Comparing in place instead of writing the files into the
// key halved the cost of a hit.
//
// What the key cannot see is time passing inside a class: a waiver that
// expires, vulnerability_age, a delay that runs out, the exact ages named in
// reasons. Entries made under a time-dependent policy set therefore live
// timeDependentIndexTTL, the bound the filtered-page cache already gives
// such pages (indexcache.go); downloads are decided on their own, so a file
// that became forbidden within that window is still refused when fetched.

// pageDecisionBudget bounds the memory of the page decision cache (facts
// and verdicts); pageDecisionEntries bounds the number of pages.
const (
	pageDecisionBudget  = 48 << 20
	pageDecisionEntries = 4096
)

// pageFile is what decisions read of one file of a decided page.
type pageFile struct {
	filename, version, sha256 string
	typ                       pypi.PackageType
	uploaded                  int64 // UnixNano, 0 when unknown
	flags                     byte  // 1 yanked, 2 unreadable name
	class                     string
}

// pageDecision is one page's decisions. It is shared by concurrent requests
// and never modified after it is stored.
type pageDecision struct {
	key       string
	files     []pageFile
	created   time.Time
	timeBound bool
	edits     []pypi.Edit
	sum       *indexSummary
	proj      *policy.Project // the page's project context (projectOf)
	learned   uint64          // knownFiles epoch when its files were learned
	size      int
}

// pageDecisionCache is a bounded map from page keys to the last page
// decided under each, evicting the oldest entries first.
type pageDecisionCache struct {
	mu    sync.Mutex
	m     map[string]*pageDecision
	order []string // insertion order, for eviction; may hold stale keys
	bytes int
}

func newPageDecisionCache() *pageDecisionCache {
	return &pageDecisionCache{m: make(map[string]*pageDecision)}
}

// get returns the decisions stored under key, if still valid at now; the
// caller compares the files (pageMatcher.matches).
func (c *pageDecisionCache) get(key []byte, now time.Time) *pageDecision {
	c.mu.Lock()
	defer c.mu.Unlock()
	d := c.m[string(key)]
	if d == nil {
		return nil
	}
	if d.timeBound && (now.Before(d.created) || now.Sub(d.created) >= timeDependentIndexTTL) {
		c.drop(d)
		return nil
	}
	return d
}

// put stores d, replacing the page stored under its key.
func (c *pageDecisionCache) put(d *pageDecision) {
	d.size = 2*len(d.key) + len(d.edits)*unsafeSizeofEdit + len(d.files)*int(unsafe.Sizeof(pageFile{})) + 256
	for _, e := range d.edits {
		d.size += len(e.Reason)
	}
	for i := range d.files {
		d.size += len(d.files[i].sha256) + len(d.files[i].class)
	}
	if d.size > pageDecisionBudget/8 {
		return // one page may not take the cache over
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.m[d.key]; old != nil {
		c.drop(old)
	}
	for len(c.order) > 0 && (c.bytes+d.size > pageDecisionBudget || len(c.m) >= pageDecisionEntries) {
		k := c.order[0]
		c.order = c.order[1:]
		if old := c.m[k]; old != nil {
			c.drop(old)
		}
	}
	if len(c.order) > 2*pageDecisionEntries {
		// Keys of entries dropped on lookup or replaced accumulate: keep
		// only the live ones, in order.
		live := c.order[:0]
		for _, k := range c.order {
			if c.m[k] != nil {
				live = append(live, k)
			}
		}
		c.order = live
	}
	c.m[d.key] = d
	c.order = append(c.order, d.key)
	c.bytes += d.size
}

func (c *pageDecisionCache) drop(d *pageDecision) {
	if c.m[d.key] == d {
		delete(c.m, d.key)
		c.bytes -= d.size
	}
}

// unsafeSizeofEdit is the size of a pypi.Edit without its Reason's bytes.
const unsafeSizeofEdit = int(unsafe.Sizeof(pypi.Edit{}))

// appendPageKey appends the key of a page's entry to dst: the request
// context, the policy generation, the snapshot id, the project, its status
// and the number of files, every field length-prefixed.
func (x *exchange) appendPageKey(dst []byte, ix *pypi.Index, snapID string, perFile bool) []byte {
	str := func(s string) {
		dst = binary.AppendUvarint(dst, uint64(len(s)))
		dst = append(dst, s...)
	}
	str(x.repo.Name)
	str(x.rc.RepoManagerHost)
	str(x.rc.RepoName)
	str(x.opts.Mode)
	flags := byte(0)
	if x.opts.BlockOnErrors {
		flags |= 1
	}
	if x.h.removeBlocked() {
		flags |= 2
	}
	if perFile {
		flags |= 4
	}
	dst = append(dst, flags)
	str(x.h.app.engine.Generation())
	str(snapID)
	str(ix.Project)
	str(ix.ProjectStatus)
	return binary.AppendUvarint(dst, uint64(len(ix.Files)))
}

// pageMatcher computes what decisions read of each file of a page.
type pageMatcher struct {
	x       *exchange
	ix      *pypi.Index
	perFile bool
	env     *policy.Env
	c       policy.Component
	cls     []byte
}

func fileFlags(f *pypi.IndexFile) byte {
	fl := byte(0)
	if f.Yanked {
		fl |= 1
	}
	if f.ParseErr != nil {
		fl |= 2
	}
	return fl
}

func uploadNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// class returns file i's class at the matcher's instant (valid until the
// next call).
func (m *pageMatcher) class(i int) []byte {
	if !m.perFile {
		return nil
	}
	f := &m.ix.Files[i]
	m.c = m.x.component(m.ix.Project, f.Version)
	fillFromIndex(&m.c, f, m.ix.ProjectStatus)
	m.cls = m.x.h.app.engine.AppendFileClass(m.cls[:0], &m.c, m.env)
	return m.cls
}

// matches reports whether the page's files have exactly d's facts. Their
// classes are computed under d's project context (see decideIndex).
func (m *pageMatcher) matches(d *pageDecision) bool {
	if len(d.files) != len(m.ix.Files) {
		return false
	}
	saved := m.env.Project
	m.env.Project = d.proj
	defer func() { m.env.Project = saved }()
	for i := range m.ix.Files {
		f, g := &m.ix.Files[i], &d.files[i]
		if f.Filename != g.filename || f.Version != g.version || f.Sha256 != g.sha256 || f.Type != g.typ ||
			uploadNanos(f.UploadTime) != g.uploaded || fileFlags(f) != g.flags || string(m.class(i)) != g.class {
			return false
		}
	}
	return true
}

// facts returns the facts of every file, with memory of their own where the
// page's strings point into its body (Sha256, unless the name memo's).
func (m *pageMatcher) facts() []pageFile {
	files := make([]pageFile, len(m.ix.Files))
	var shas, classes []byte
	type span struct{ a, b, c, d int }
	spans := make([]span, len(files))
	for i := range m.ix.Files {
		f := &m.ix.Files[i]
		files[i] = pageFile{filename: f.Filename, version: f.Version, typ: f.Type, uploaded: uploadNanos(f.UploadTime), flags: fileFlags(f)}
		spans[i].a = len(shas)
		if f.OwnsSha256() {
			files[i].sha256 = f.Sha256 // shared with the name memo: later pages compare by pointer
			spans[i].a = -1
		} else {
			shas = append(shas, f.Sha256...)
		}
		spans[i].b = len(shas)
		spans[i].c = len(classes)
		classes = append(classes, m.class(i)...)
		spans[i].d = len(classes)
	}
	s, c := string(shas), string(classes)
	for i := range files {
		if spans[i].a >= 0 {
			files[i].sha256 = s[spans[i].a:spans[i].b]
		}
		files[i].class = c[spans[i].c:spans[i].d]
	}
	return files
}
