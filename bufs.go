package osaproxy

import (
	"bytes"

	"github.com/osaproxy/caddy-osaproxy/internal/bufpool"
	"github.com/osaproxy/caddy-osaproxy/pypi"
)

// Buffers of index filtering, kept across garbage collections
// (internal/bufpool says why) and shared by every handler, so a config
// reload starts warm and the idle memory is bounded once per process.
var (
	// pageBufs hold upstream pages and filtered output.
	pageBufs = bufpool.New(64<<20,
		func() *bytes.Buffer { return new(bytes.Buffer) },
		func(b *bytes.Buffer) int { return b.Cap() })
	// parsedPages hold parsed pages (pypi.ParseIndexInto reuses their
	// Files: a 6,000-file page's are 2 MB).
	parsedPages = bufpool.New(32<<20,
		func() *pypi.Index { return new(pypi.Index) },
		func(ix *pypi.Index) int { return ix.Storage() })
)
