package bufpool

import (
	"bytes"
	"runtime"
	"sync"
	"testing"
)

func newBuffers(max int) *Pool[*bytes.Buffer] {
	return New(max, func() *bytes.Buffer { return new(bytes.Buffer) }, func(b *bytes.Buffer) int { return b.Cap() })
}

func TestPoolReusesAcrossGC(t *testing.T) {
	p := newBuffers(1 << 20)
	b := p.Get()
	b.Grow(64 << 10)
	p.Put(b)
	runtime.GC()
	runtime.GC()
	runtime.GC()
	if got := p.Get(); got != b {
		t.Fatal("the buffer did not survive garbage collections")
	}
	if n, bytes := p.Idle(); n != 0 || bytes != 0 {
		t.Fatalf("idle after Get: %d values, %d bytes", n, bytes)
	}
}

func TestPoolLIFOAndBound(t *testing.T) {
	p := newBuffers(100 << 10)
	var bufs []*bytes.Buffer
	for i := 0; i < 5; i++ {
		b := new(bytes.Buffer)
		b.Grow(30 << 10)
		bufs = append(bufs, b)
	}
	for _, b := range bufs {
		p.Put(b)
	}
	n, idle := p.Idle()
	if n != 3 || idle > 100<<10 {
		t.Fatalf("holds %d buffers, %d bytes; want 3 within %d", n, idle, 100<<10)
	}
	if p.Get() != bufs[2] || p.Get() != bufs[1] || p.Get() != bufs[0] {
		t.Fatal("Get is not last in, first out")
	}
	if b := p.Get(); b == nil || b.Cap() != 0 {
		t.Fatal("an empty pool should make a new buffer")
	}
}

func TestPoolConcurrent(t *testing.T) {
	p := newBuffers(1 << 20)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 1000; i++ {
				b := p.Get()
				if b.Len() != 0 {
					t.Error("a buffer came back non-empty")
					return
				}
				b.WriteString("x")
				b.Reset()
				p.Put(b)
			}
		}()
	}
	wg.Wait()
	if _, idle := p.Idle(); idle > 1<<20 {
		t.Fatalf("idle %d over the bound", idle)
	}
}
