// Package bufpool keeps the large buffers of index filtering for reuse
// across garbage collections.
//
// sync.Pool empties itself over every two garbage collections. A proxy
// filtering multi-megabyte project pages for dozens of clients collects every
// few dozen requests, so its megabyte buffers kept being dropped, returned
// to the operating system by the scavenger and faulted in afresh by the next
// allocation: under load, page faults on fresh buffers were the largest
// single cost of an uncached page request (bench/run; GODEBUG=madvdontneed=0
// alone moved the ratio to plain reverse_proxy from 0.30 to 0.40). A Pool
// keeps what it is given, up to a bound on the bytes it holds idle, so the
// memory that stays resident between bursts is bounded and known.
package bufpool

import "sync"

// Pool is a bounded free list of T. Get returns the most recently put value
// (its memory is the most likely to be in cache); Put keeps a value only
// while the pool's idle bytes stay within the bound. The zero Pool is not
// usable: use New.
type Pool[T any] struct {
	newT    func() T
	size    func(T) int // bytes a value holds
	mu      sync.Mutex
	free    []T
	sizes   []int
	idle    int
	maxIdle int
}

// New returns a pool that makes values with newT, measures them with size and
// holds at most maxIdle bytes of values that are not in use.
func New[T any](maxIdle int, newT func() T, size func(T) int) *Pool[T] {
	return &Pool[T]{newT: newT, size: size, maxIdle: maxIdle}
}

// Get returns a value from the pool, or a new one.
func (p *Pool[T]) Get() T {
	p.mu.Lock()
	if n := len(p.free); n > 0 {
		v := p.free[n-1]
		var zero T
		p.free[n-1] = zero
		p.free = p.free[:n-1]
		p.idle -= p.sizes[n-1]
		p.sizes = p.sizes[:n-1]
		p.mu.Unlock()
		return v
	}
	p.mu.Unlock()
	return p.newT()
}

// Put returns v to the pool; the caller must not use it afterwards. A value
// that would take the idle bytes over the bound is left to the garbage
// collector.
func (p *Pool[T]) Put(v T) {
	n := p.size(v)
	p.mu.Lock()
	if p.idle+n <= p.maxIdle {
		p.free = append(p.free, v)
		p.sizes = append(p.sizes, n)
		p.idle += n
	}
	p.mu.Unlock()
}

// Idle returns the number of values and bytes the pool holds.
func (p *Pool[T]) Idle() (values, bytes int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.free), p.idle
}
