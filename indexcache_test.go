package osaproxy

import (
	"context"
	"strings"
	"testing"
	"time"
)

func entry(key string, n int) *cachedIndex {
	return &cachedIndex{key: key, upstreamETag: `"u"`, generation: "g1", snapshot: "s1", body: []byte(strings.Repeat("x", n))}
}

func entries(keys string, n int) []*cachedIndex {
	var out []*cachedIndex
	for _, k := range keys {
		out = append(out, entry(string(k), n))
	}
	return out
}

func TestIndexCacheBoundAndLRU(t *testing.T) {
	// An entry with a 1-byte key and a 2000-byte body accounts for 3025
	// bytes; a bound of 8 such entries keeps each under the max/8 cap.
	const one = 2000 + 1 + indexEntryOverhead
	tests := []struct {
		name    string
		puts    []*cachedIndex
		touch   string // looked up (made recent) after puts
		then    []*cachedIndex
		want    string // keys present at the end
		notWant string
	}{
		{
			name:    "evicts the least recently used when over the byte bound",
			puts:    entries("abcdefgh", 2000),
			then:    entries("i", 2000),
			want:    "bcdefghi",
			notWant: "a",
		},
		{
			name:    "a lookup protects an entry from eviction",
			puts:    entries("abcdefgh", 2000),
			touch:   "a",
			then:    entries("ij", 2000),
			want:    "adefghij",
			notWant: "bc",
		},
		{
			name:    "the bound is in bytes: smaller entries fit in greater number",
			puts:    entries("abcdefghijk", 1000), // 11 x 2025 bytes fit in 24200
			then:    entries("l", 1000),
			want:    "bcdefghijkl",
			notWant: "a",
		},
		{
			name:    "an entry over an eighth of the bound is not cached and evicts nothing",
			puts:    entries("ab", 2000),
			then:    entries("z", one),
			want:    "ab",
			notWant: "z",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newIndexCache(8 * one)
			now := time.Now()
			for _, e := range tc.puts {
				c.put(e)
			}
			for _, k := range tc.touch {
				if c.lookup(string(k), "g1", "s1", now) == nil {
					t.Fatalf("touch %c: missing", k)
				}
			}
			for _, e := range tc.then {
				c.put(e)
			}
			n, size := c.stats()
			if size > 8*one {
				t.Errorf("accounted %d bytes > bound %d", size, 8*one)
			}
			var sum int64
			for el := c.ll.Front(); el != nil; el = el.Next() {
				sum += el.Value.(*cachedIndex).size
			}
			if sum != size || n != len(c.items) || n != c.ll.Len() || n != len(tc.want) {
				t.Errorf("bookkeeping: entries %d/%d/%d (want %d), bytes %d vs %d", n, len(c.items), c.ll.Len(), len(tc.want), sum, size)
			}
			for _, k := range tc.want {
				if c.lookup(string(k), "g1", "s1", now) == nil {
					t.Errorf("%c: evicted, want present", k)
				}
			}
			for _, k := range tc.notWant {
				if c.lookup(string(k), "g1", "s1", now) != nil {
					t.Errorf("%c: present, want evicted", k)
				}
			}
		})
	}
}

func TestIndexCacheReplaceAccounting(t *testing.T) {
	c := newIndexCache(1 << 20)
	c.put(entry("a", 5000))
	c.put(entry("a", 100))
	if n, size := c.stats(); n != 1 || size != int64(100+1+indexEntryOverhead) {
		t.Fatalf("after replace: %d entries, %d bytes", n, size)
	}
	if got := c.lookup("a", "g1", "s1", time.Now()); got == nil || len(got.body) != 100 {
		t.Fatalf("lookup after replace: %+v", got)
	}
}

func TestCachedIndexFresh(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name      string
		timeBound bool
		gen, snap string
		now       time.Time
		want      bool
	}{
		{"same generation and snapshot", false, "g1", "s1", t0.Add(24 * time.Hour), true},
		{"new policy generation", false, "g2", "s1", t0, false},
		{"new intelligence snapshot", false, "g1", "s2", t0, false},
		{"intelligence no longer in force", false, "g1", "", t0, false},
		{"time-dependent within TTL", true, "g1", "s1", t0.Add(timeDependentIndexTTL - time.Millisecond), true},
		{"time-dependent at TTL", true, "g1", "s1", t0.Add(timeDependentIndexTTL), false},
		{"time-dependent long after", true, "g1", "s1", t0.Add(7 * 24 * time.Hour), false},
		{"time-dependent with the clock moved back", true, "g1", "s1", t0.Add(-time.Second), false},
		{"cacheable policies ignore time", false, "g1", "s1", t0.Add(-time.Hour), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := &cachedIndex{generation: "g1", snapshot: "s1", created: t0, timeBound: tc.timeBound}
			if got := e.fresh(tc.gen, tc.snap, tc.now); got != tc.want {
				t.Fatalf("fresh = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestIndexCacheLookupDropsStale(t *testing.T) {
	c := newIndexCache(1 << 20)
	c.put(entry("a", 10))
	if c.lookup("a", "g2", "s1", time.Now()) != nil {
		t.Fatal("stale entry returned")
	}
	if n, size := c.stats(); n != 0 || size != 0 {
		t.Fatalf("stale entry kept: %d entries, %d bytes", n, size)
	}
}

func TestIndexFlight(t *testing.T) {
	tests := []struct {
		name     string
		landWith *cachedIndex
		cancel   bool
		wantE    bool
	}{
		{"waiters get the leader's page", entry("k", 10), false, true},
		{"a leader without a page releases the waiters empty-handed", nil, false, false},
		{"a waiter whose request ends stops waiting", entry("k", 10), true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newIndexCache(1 << 20)
			f, lead := c.join("k")
			if !lead {
				t.Fatal("first join is not the leader")
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			const waiters = 5
			got := make(chan *cachedIndex, waiters)
			for i := 0; i < waiters; i++ {
				g, lead := c.join("k")
				if lead || g != f {
					t.Fatal("a second join led a new flight")
				}
				go func() { got <- g.wait(ctx) }()
			}
			if tc.cancel {
				cancel()
				for i := 0; i < waiters; i++ {
					if e := <-got; e != nil {
						t.Fatal("cancelled waiter got a page")
					}
				}
				c.land("k", f, tc.landWith)
			} else {
				c.land("k", f, tc.landWith)
				for i := 0; i < waiters; i++ {
					if e := <-got; (e != nil) != tc.wantE || e != nil && e != tc.landWith {
						t.Fatalf("waiter got %v, want leader's %v", e, tc.landWith)
					}
				}
			}
			// the flight is over: the next join leads a new one
			if _, lead := c.join("k"); !lead {
				t.Fatal("flight not removed after land")
			}
		})
	}
}
