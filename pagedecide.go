package osaproxy

import (
	"bytes"
	"encoding/binary"
	"hash/maphash"
	"sync"
	"time"

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
// the file is on). All of that, written unambiguously, is the key: a hit is
// an exact byte comparison of the whole key, never a hash alone, so that no
// page, however crafted, can reuse another page's verdicts.
//
// What the key cannot see is time passing inside a class: a waiver that
// expires, vulnerability_age, a delay that runs out, the exact ages named in
// reasons. Entries made under a time-dependent policy set therefore live
// timeDependentIndexTTL, the bound the filtered-page cache already gives
// such pages (indexcache.go); downloads are decided on their own, so a file
// that became forbidden within that window is still refused when fetched.

// pageDecisionBudget bounds the memory of the page decision cache (keys and
// verdicts); pageDecisionEntries bounds the number of pages.
const (
	pageDecisionBudget  = 48 << 20
	pageDecisionEntries = 4096
)

// pageDecision is one page's decisions. It is shared by concurrent requests
// and never modified after it is stored.
type pageDecision struct {
	key       []byte
	created   time.Time
	timeBound bool
	edits     []pypi.Edit
	sum       *indexSummary
	learned   uint64 // knownFiles epoch when its files were learned
	size      int
}

// pageDecisionCache is a bounded map from page decision keys to decisions,
// evicting the oldest entries first.
type pageDecisionCache struct {
	seed  maphash.Seed
	mu    sync.Mutex
	m     map[uint64]*pageDecision
	order []uint64 // insertion order, for eviction; may hold stale hashes
	bytes int
}

func newPageDecisionCache() *pageDecisionCache {
	return &pageDecisionCache{seed: maphash.MakeSeed(), m: make(map[uint64]*pageDecision)}
}

// get returns the decisions stored under key, if still valid at now.
func (c *pageDecisionCache) get(key []byte, now time.Time) *pageDecision {
	h := maphash.Bytes(c.seed, key)
	c.mu.Lock()
	defer c.mu.Unlock()
	d := c.m[h]
	if d == nil || !bytes.Equal(d.key, key) {
		return nil
	}
	if d.timeBound && (now.Before(d.created) || now.Sub(d.created) >= timeDependentIndexTTL) {
		c.drop(h, d)
		return nil
	}
	return d
}

// put stores d; d.key must not be modified afterwards.
func (c *pageDecisionCache) put(d *pageDecision) {
	d.size = len(d.key) + len(d.edits)*int(unsafeSizeofEdit) + 256
	for _, e := range d.edits {
		d.size += len(e.Reason)
	}
	if d.size > pageDecisionBudget/8 {
		return // one page may not take the cache over
	}
	h := maphash.Bytes(c.seed, d.key)
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.m[h]; old != nil {
		c.drop(h, old)
	}
	for len(c.order) > 0 && (c.bytes+d.size > pageDecisionBudget || len(c.m) >= pageDecisionEntries) {
		oh := c.order[0]
		c.order = c.order[1:]
		if old := c.m[oh]; old != nil {
			c.drop(oh, old)
		}
	}
	if len(c.order) > 2*pageDecisionEntries {
		// Hashes of entries dropped on lookup or replaced accumulate:
		// keep only the live ones, in order.
		live := c.order[:0]
		for _, oh := range c.order {
			if c.m[oh] != nil {
				live = append(live, oh)
			}
		}
		c.order = live
	}
	c.m[h] = d
	c.order = append(c.order, h)
	c.bytes += d.size
}

func (c *pageDecisionCache) drop(h uint64, d *pageDecision) {
	delete(c.m, h)
	c.bytes -= d.size
}

// unsafeSizeofEdit is the size of a pypi.Edit without its Reason's bytes.
const unsafeSizeofEdit = 24

// appendPageKey appends the decision inputs of a page to dst: the request
// context, the policy generation, the snapshot id, and each file's
// component fields and class at classEnv.Now, every field length-prefixed.
func (x *exchange) appendPageKey(dst []byte, ix *pypi.Index, snapID string, perFile bool, classEnv *policy.Env) []byte {
	a := x.h.app
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
	str(a.engine.Generation())
	str(snapID)
	str(ix.Project)
	str(ix.ProjectStatus)
	dst = binary.AppendUvarint(dst, uint64(len(ix.Files)))
	var c policy.Component
	for i := range ix.Files {
		f := &ix.Files[i]
		str(f.Filename)
		str(f.Version)
		str(string(f.Type))
		str(f.Sha256)
		var t uint64
		if !f.UploadTime.IsZero() {
			t = uint64(f.UploadTime.UnixNano())
		}
		dst = binary.LittleEndian.AppendUint64(dst, t)
		fl := byte(0)
		if f.Yanked {
			fl |= 1
		}
		if f.ParseErr != nil {
			fl |= 2
		}
		dst = append(dst, fl)
		if perFile {
			c = x.component(ix.Project, f.Version)
			fillFromIndex(&c, f, ix.ProjectStatus)
			n := len(dst)
			dst = append(dst, 0) // class length, < 128 or written again below
			dst = a.engine.AppendFileClass(dst, &c, classEnv)
			if l := len(dst) - n - 1; l < 0x80 {
				dst[n] = byte(l)
			} else {
				cls := append([]byte(nil), dst[n+1:]...)
				dst = binary.AppendUvarint(dst[:n], uint64(len(cls)))
				dst = append(dst, cls...)
			}
		}
	}
	return dst
}
