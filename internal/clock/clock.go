// Package clock is the one source of "now" for decisions, so end-to-end tests
// can move time (cooldowns, waiver expiry, delayed blocks) without sleeping.
package clock

import (
	"sync/atomic"
	"time"
)

var offset atomic.Int64

// Now returns the current time plus the test offset (zero in production).
func Now() time.Time {
	return time.Now().Add(time.Duration(offset.Load()))
}

// Advance moves the clock forward by d (tests only).
func Advance(d time.Duration) { offset.Add(int64(d)) }

// Reset removes any offset (tests only).
func Reset() { offset.Store(0) }
