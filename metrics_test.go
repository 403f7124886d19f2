package osaproxy

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// Every config reload gets a fresh registry; the collectors must register
// into each one, and journal write attempts must show in the histogram.
func TestMetricsReRegisterAndJournalWrite(t *testing.T) {
	for i := 0; i < 2; i++ {
		reg := prometheus.NewPedanticRegistry()
		registerMetrics(reg)
		registerMetrics(reg) // a second Provision on the same config is harmless
		observeJournalWrite(10, 3*time.Millisecond, nil)
		observeJournalWrite(10, 5*time.Millisecond, errors.New("locked"))
		n, err := testutil.GatherAndCount(reg, "caddy_osa_journal_write_seconds", "caddy_osa_requests_total", "caddy_osa_intel_age_seconds")
		if err != nil {
			t.Fatal(err)
		}
		if n < 3 { // ok and error series of the histogram, plus the intel gauge
			t.Fatalf("registry %d: %d series gathered, want at least 3", i, n)
		}
		want := `
# HELP caddy_osa_journal_failed_total Journal records given up after every retry failed (the store stayed unwritable).
# TYPE caddy_osa_journal_failed_total counter
caddy_osa_journal_failed_total 0
`
		if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "caddy_osa_journal_failed_total"); err != nil {
			t.Fatal(err)
		}
	}
}
