package osaproxy

import (
	"container/list"
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/osaproxy/caddy-osaproxy/internal/clock"
	"github.com/osaproxy/caddy-osaproxy/journal"
	"github.com/osaproxy/caddy-osaproxy/pypi"
)

// Filtered index cache
//
// Parsing a large project page, deciding every file and rendering the result
// costs milliseconds (a 6,000-file page is 3-4 MB). When the same page is
// requested again, nothing that went into the result has usually changed:
// the upstream page (its ETag), the policies (engine generation), the
// intelligence (snapshot id) and the work mode. The handler therefore keeps
// the filtered bytes of recent pages in a bounded in-memory cache and, on
// the next request, revalidates the upstream page with
// If-None-Match: <upstream ETag>. A 304 from upstream means the cached
// filtered page is still exactly what filtering would produce, and it is
// served with the proxy's own ETag (a client If-None-Match still gets 304).
// Any other upstream answer goes through the normal path and replaces the
// entry. The upstream is always asked: a page that changed upstream, or
// that upstream removed, is never answered from the cache.
//
// Keys: (repository, link prefix — which carries the repository-manager
// context and any stripped path prefix —, project, negotiated media type
// and format, work mode). The entry records the upstream ETag, policy
// generation and snapshot id it was computed under and is used only when
// the generation and the snapshot in force are the same; the upstream ETag
// is what the conditional request checks.
//
// Time-dependent policies: when engine.Cacheable() is false (dependency_age,
// vulnerability_age, delayed blockers, waivers — their verdicts change with
// the clock, not only with the inputs above), an entry is reused for at most
// timeDependentIndexTTL after it was computed, measured on internal/clock so
// tests that move time see the expiry. The staleness is bounded and safe:
// downloads are always decided at request time, so a version that became
// forbidden within the TTL is still refused when fetched, and one that
// became allowed appears in the index at most that much later.
//
// Memory: the cache is bounded by the bytes of the bodies it holds (plus a
// small per-entry estimate), evicting the least recently used entries; a
// single page larger than an eighth of the bound is not cached. Pages whose
// every file is blocked are not cached (they are answered with block_status).
//
// Cost of a hit: the upstream round trip of a 304 (no body), one map lookup,
// and the journal record, which is written exactly as for a miss.
//
// Concurrent misses: requests that receive the same upstream page (same key,
// upstream ETag, generation and snapshot) while one of them is filtering it
// wait for that one and serve its result (a "flight"), instead of all
// parsing and deciding the same megabytes at once — which is what happens
// when a popular page's entry expires (time-dependent policies) or a new
// upstream version appears under load. If the leader produces nothing
// cacheable (an error, a fully blocked page) the waiters filter themselves.

// timeDependentIndexTTL bounds how long a filtered page computed under
// time-dependent policies (engine.Cacheable() false) is reused.
const timeDependentIndexTTL = 5 * time.Second

// defaultIndexCacheSize is the default bound of the filtered index cache.
const defaultIndexCacheSize = 64 << 20

// indexEntryOverhead approximates the bookkeeping of one entry (key, headers,
// journal summary, list element).
const indexEntryOverhead = 1024

// cachedIndex is one filtered page and what is needed to answer with it.
type cachedIndex struct {
	key          string
	upstreamETag string
	generation   string
	snapshot     string    // snapshot id in force when the page was filtered ("" when none)
	created      time.Time // clock.Now() when filtered
	timeBound    bool      // computed under time-dependent policies: expires after timeDependentIndexTTL

	body   []byte      // the filtered page exactly as sent
	etag   string      // the proxy's own ETag for body
	header http.Header // upstream headers passed on (Content-Type, X-Pypi-Last-Serial, ...)

	// journal summary, repeated in every hit's record
	status     string
	removed    int
	policies   []string
	advisories []string
	reason     string
	recSnap    string
	blocks     map[string]int // per-policy removed-file counts, for the metrics

	size int64
}

// fresh reports whether the entry may answer a request made under the given
// policy generation and snapshot at time now.
func (e *cachedIndex) fresh(gen, snap string, now time.Time) bool {
	if e.generation != gen || e.snapshot != snap {
		return false
	}
	if e.timeBound {
		// A clock moved backwards (tests) also invalidates.
		if now.Before(e.created) || now.Sub(e.created) >= timeDependentIndexTTL {
			return false
		}
	}
	return true
}

// indexCache is a byte-bounded LRU of filtered index pages, safe for
// concurrent use.
type indexCache struct {
	mu      sync.Mutex
	max     int64
	size    int64
	ll      *list.List // front: most recently used; values are *cachedIndex
	items   map[string]*list.Element
	flights map[string]*indexFlight
}

func newIndexCache(max int64) *indexCache {
	return &indexCache{max: max, ll: list.New(), items: make(map[string]*list.Element), flights: make(map[string]*indexFlight)}
}

// indexFlight is one request filtering a page that others wait for.
type indexFlight struct {
	done chan struct{}
	e    *cachedIndex // written by the leader before done is closed; nil: nothing to share
}

// join returns the flight for key and whether the caller leads it (a new
// flight is created when none is under way). A leader must call land.
func (c *indexCache) join(key string) (*indexFlight, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f, ok := c.flights[key]; ok {
		return f, false
	}
	f := &indexFlight{done: make(chan struct{})}
	c.flights[key] = f
	return f, true
}

// land ends a flight and releases its waiters with e.
func (c *indexCache) land(key string, f *indexFlight, e *cachedIndex) {
	c.mu.Lock()
	if c.flights[key] == f {
		delete(c.flights, key)
	}
	c.mu.Unlock()
	f.e = e
	close(f.done)
}

// wait blocks until the leader lands or ctx ends and returns the leader's
// entry (nil when there is none or ctx ended first).
func (f *indexFlight) wait(ctx context.Context) *cachedIndex {
	select {
	case <-f.done:
		return f.e
	case <-ctx.Done():
		return nil
	}
}

// lookup returns the entry for key when it is fresh under gen, snap and now;
// a stale entry is dropped.
func (c *indexCache) lookup(key, gen, snap string, now time.Time) *cachedIndex {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return nil
	}
	e := el.Value.(*cachedIndex)
	if !e.fresh(gen, snap, now) {
		c.removeElement(el)
		return nil
	}
	c.ll.MoveToFront(el)
	return e
}

// put stores e under e.key, replacing any previous entry, and evicts least
// recently used entries until the cache fits its bound. It reports whether
// the entry was stored (an entry over an eighth of the bound is not).
func (c *indexCache) put(e *cachedIndex) bool {
	e.size = int64(len(e.body)) + int64(len(e.key)) + indexEntryOverhead
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[e.key]; ok {
		c.removeElement(el)
	}
	if e.size > c.max/8 {
		return false
	}
	c.items[e.key] = c.ll.PushFront(e)
	c.size += e.size
	for c.size > c.max {
		c.removeElement(c.ll.Back())
	}
	return true
}

// remove drops the entry for key, if any.
func (c *indexCache) remove(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		c.removeElement(el)
	}
}

func (c *indexCache) removeElement(el *list.Element) {
	e := c.ll.Remove(el).(*cachedIndex)
	delete(c.items, e.key)
	c.size -= e.size
}

// stats returns the number of entries and their accounted bytes.
func (c *indexCache) stats() (entries int, bytes int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len(), c.size
}

// indexCacheKey identifies a filtered page up to the upstream ETag, policy
// generation and snapshot (checked by fresh and the conditional request).
func (x *exchange) indexCacheKey(media string, format pypi.Format) string {
	return x.repo.Name + "\x00" + x.prefix + "\x00" + x.route.Project + "\x00" + media + "\x00" +
		strconv.Itoa(int(format)) + "\x00" + x.opts.Mode
}

// currentSnapshotID is the id of the intelligence in force ("" when none).
func (a *App) currentSnapshotID() string {
	if s := a.snapshot(); s != nil {
		return s.ID
	}
	return ""
}

// indexCacheLookup returns the cached page to revalidate for this request,
// with its key (key "" when the cache is off for the handler).
func (x *exchange) indexCacheLookup(media string, format pypi.Format) (key, snap string, e *cachedIndex) {
	c := x.h.icache
	if c == nil {
		return "", "", nil
	}
	a := x.h.app
	key = x.indexCacheKey(media, format)
	snap = a.currentSnapshotID()
	return key, snap, c.lookup(key, a.engine.Generation(), snap, clock.Now())
}

// indexCacheStore keeps a freshly filtered page. upstreamETag "" (the
// upstream sent none) means the page cannot be revalidated: it is not kept
// and an entry for an older version is dropped.
func (x *exchange) indexCacheStore(key, snap, upstreamETag string, hdr http.Header, body []byte, etag string, rec *journal.Record, sum *indexSummary) *cachedIndex {
	if key == "" {
		return nil
	}
	if upstreamETag == "" {
		// The upstream's current page cannot be revalidated: an entry for
		// an older version of it is of no more use.
		x.h.icache.remove(key)
		return nil
	}
	a := x.h.app
	e := &cachedIndex{
		key: key, upstreamETag: upstreamETag, generation: a.engine.Generation(), snapshot: snap,
		created: clock.Now(), timeBound: !a.engine.Cacheable(),
		body: append([]byte(nil), body...), etag: etag, header: make(http.Header, len(indexPassHeaders)),
		status: rec.Status, removed: rec.Removed, policies: rec.Policies, advisories: rec.Advisories,
		reason: rec.Reason, recSnap: rec.Snapshot, blocks: sum.blocks,
	}
	copyHeaders(e.header, hdr, indexPassHeaders...)
	x.h.icache.put(e)
	return e
}

// indexFlightKey identifies one upstream version of a page under one policy
// generation and snapshot: the requests that may share one filtering.
func (x *exchange) indexFlightKey(key, snap, upstreamETag string) string {
	return key + "\x00" + upstreamETag + "\x00" + x.h.app.engine.Generation() + "\x00" + snap
}

// indexCacheJoin makes the request the leader of the filtering of the page
// it received (lead true: it must call the returned land with its result),
// or waits for the request already filtering it and returns that result
// (shared non-nil). key "" or an upstream page without ETag: neither.
func (x *exchange) indexCacheJoin(ctx context.Context, key, snap, upstreamETag string) (shared *cachedIndex, land func(*cachedIndex)) {
	if key == "" || upstreamETag == "" {
		return nil, nil
	}
	c := x.h.icache
	fk := x.indexFlightKey(key, snap, upstreamETag)
	f, lead := c.join(fk)
	if lead {
		// A request that fetched the page just before the previous leader
		// stored it finds that result here instead of filtering again.
		if e := c.lookup(key, x.h.app.engine.Generation(), snap, clock.Now()); e != nil && e.upstreamETag == upstreamETag {
			c.land(fk, f, e)
			return e, nil
		}
		return nil, func(e *cachedIndex) { c.land(fk, f, e) }
	}
	return f.wait(ctx), nil
}

// serveCachedIndex answers with a cached filtered page after upstream
// confirmed (304) that its page is unchanged. The journal record and the
// metrics are those of the original filtering.
func (x *exchange) serveCachedIndex(w http.ResponseWriter, r *http.Request, e *cachedIndex, rec journal.Record) error {
	rec.Status, rec.Removed, rec.Snapshot = e.status, e.removed, e.recSnap
	rec.Policies, rec.Advisories, rec.Reason = e.policies, e.advisories, e.reason
	if e.removed > 0 {
		metrics.removed.WithLabelValues(x.repo.Name).Add(float64(e.removed))
		for p, n := range e.blocks {
			metrics.blocks.WithLabelValues(x.repo.Name, p).Add(float64(n))
		}
	}
	return x.writeIndex(w, r, rec, e.header, e.body, e.etag)
}

// writeIndex sends a filtered page (or 304 when the client's If-None-Match
// matches its ETag) and records the request.
func (x *exchange) writeIndex(w http.ResponseWriter, r *http.Request, rec journal.Record, upHdr http.Header, body []byte, etag string) error {
	hdr := w.Header()
	copyHeaders(hdr, upHdr, indexPassHeaders...)
	hdr.Set("Vary", "Accept")
	hdr.Set("ETag", etag)
	hdr.Set("Cache-Control", "max-age=0, must-revalidate")
	if rec.Removed > 0 {
		hdr.Set("X-OSA-Removed", strconv.Itoa(rec.Removed))
	}
	rec.HTTPStatus = http.StatusOK
	if etagMatch(r.Header.Get("If-None-Match"), etag) {
		rec.HTTPStatus = http.StatusNotModified
		x.record(rec)
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	x.record(rec)
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}
	_, err := w.Write(body)
	return err
}

// indexPassHeaders are the upstream headers an index response passes on.
var indexPassHeaders = []string{"Content-Type", "X-Pypi-Last-Serial", "Access-Control-Allow-Origin"}
