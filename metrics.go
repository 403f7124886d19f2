package osaproxy

import (
	"errors"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Collectors are created once and registered into each config's registry on
// every Provision (Caddy gives every config context a fresh registry).
var metrics = struct {
	requests       *prometheus.CounterVec
	blocks         *prometheus.CounterVec
	verdictLatency *prometheus.HistogramVec
	removed        *prometheus.CounterVec
	indexCache     *prometheus.CounterVec
	pageDecisions  *prometheus.CounterVec
	intelAge       prometheus.GaugeFunc
	intelRecords   prometheus.GaugeFunc
	intelErrors    prometheus.GaugeFunc
	journalQueue   prometheus.GaugeFunc
	journalWritten prometheus.CounterFunc
	journalDropped prometheus.CounterFunc
	journalFailed  prometheus.CounterFunc
	journalWrite   *prometheus.HistogramVec
}{}

// current app, read by the gauge functions (the newest provisioned app wins).
var (
	metricsOnce sync.Once
	metricsApp  struct {
		sync.RWMutex
		app *App
	}
)

func setMetricsApp(a *App) {
	metricsApp.Lock()
	metricsApp.app = a
	metricsApp.Unlock()
}

func withMetricsApp(f func(a *App) float64) float64 {
	metricsApp.RLock()
	defer metricsApp.RUnlock()
	if metricsApp.app == nil {
		return 0
	}
	return f(metricsApp.app)
}

func initMetrics() {
	const ns, sub = "caddy", "osa"
	metrics.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: ns, Subsystem: sub, Name: "requests_total",
		Help: "Requests handled by osa_proxy by repository, operation and outcome (journal block status).",
	}, []string{"repository", "operation", "outcome"})
	metrics.blocks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: ns, Subsystem: sub, Name: "blocks_total",
		Help: "Blocked requests or removed versions by policy.",
	}, []string{"repository", "policy"})
	metrics.removed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: ns, Subsystem: sub, Name: "index_files_removed_total",
		Help: "Files removed (or marked) from index responses.",
	}, []string{"repository"})
	metrics.indexCache = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: ns, Subsystem: sub, Name: "index_cache_total",
		Help: "Index requests by filtered-page cache result: hit (upstream answered 304, cached page served), shared (served the result of a concurrent request filtering the same upstream page) or miss (page filtered).",
	}, []string{"result"})
	metrics.pageDecisions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: ns, Subsystem: sub, Name: "page_decisions_total",
		Help: "Filtered index pages by page decision cache result: hit (the same files, context, policies and snapshot as a page decided before: its verdicts reused) or miss (every file decided).",
	}, []string{"result"})
	metrics.verdictLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: ns, Subsystem: sub, Name: "verdict_seconds",
		Help:    "Time to decide one request (all components of an index page included).",
		Buckets: []float64{.00001, .00005, .0001, .0005, .001, .005, .01, .05, .1, .5, 1},
	}, []string{"operation"})
	metrics.intelAge = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: ns, Subsystem: sub, Name: "intel_age_seconds",
		Help: "Seconds since the intelligence snapshot in force was loaded (-1: none loaded).",
	}, func() float64 {
		return withMetricsApp(func(a *App) float64 {
			if a.feed == nil || a.feed.feed.Current() == nil {
				return -1
			}
			return a.feed.feed.Age().Seconds()
		})
	})
	metrics.intelRecords = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: ns, Subsystem: sub, Name: "intel_records",
		Help: "Records in the intelligence snapshot in force.",
	}, func() float64 {
		return withMetricsApp(func(a *App) float64 {
			if a.feed == nil || a.feed.feed.Current() == nil {
				return 0
			}
			return float64(a.feed.feed.Current().Records)
		})
	})
	metrics.intelErrors = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: ns, Subsystem: sub, Name: "intel_refresh_failing",
		Help: "1 when the last intelligence load or refresh failed.",
	}, func() float64 {
		return withMetricsApp(func(a *App) float64 {
			if a.feed != nil && a.feed.feed.LastError() != "" {
				return 1
			}
			return 0
		})
	})
	metrics.journalQueue = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: ns, Subsystem: sub, Name: "journal_queue_depth",
		Help: "Records waiting to be written to the journal.",
	}, func() float64 {
		return withMetricsApp(func(a *App) float64 {
			if a.jrnl == nil {
				return 0
			}
			return float64(a.jrnl.writer.Stats().QueueDepth)
		})
	})
	metrics.journalWritten = prometheus.NewCounterFunc(prometheus.CounterOpts{
		Namespace: ns, Subsystem: sub, Name: "journal_written_total",
		Help: "Records written to the journal.",
	}, func() float64 {
		return withMetricsApp(func(a *App) float64 {
			if a.jrnl == nil {
				return 0
			}
			return float64(a.jrnl.writer.Stats().Written)
		})
	})
	metrics.journalDropped = prometheus.NewCounterFunc(prometheus.CounterOpts{
		Namespace: ns, Subsystem: sub, Name: "journal_dropped_total",
		Help: "Records dropped because the journal queue stayed full past enqueue_timeout.",
	}, func() float64 {
		return withMetricsApp(func(a *App) float64 {
			if a.jrnl == nil {
				return 0
			}
			return float64(a.jrnl.writer.Stats().Dropped)
		})
	})
	metrics.journalWrite = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: ns, Subsystem: sub, Name: "journal_write_seconds",
		Help:    "Duration of one journal batch write attempt, by result (ok or error).",
		Buckets: []float64{.0005, .001, .005, .01, .025, .05, .1, .25, .5, 1, 5, 15},
	}, []string{"result"})
	metrics.journalFailed = prometheus.NewCounterFunc(prometheus.CounterOpts{
		Namespace: ns, Subsystem: sub, Name: "journal_failed_total",
		Help: "Journal records given up after every retry failed (the store stayed unwritable).",
	}, func() float64 {
		return withMetricsApp(func(a *App) float64 {
			if a.jrnl == nil {
				return 0
			}
			return float64(a.jrnl.writer.Stats().Failed)
		})
	})
}

// registerMetrics registers the collectors into a config's registry.
func registerMetrics(reg prometheus.Registerer) {
	metricsOnce.Do(initMetrics)
	if reg == nil {
		return
	}
	for _, c := range []prometheus.Collector{
		metrics.requests, metrics.blocks, metrics.removed, metrics.indexCache, metrics.pageDecisions, metrics.verdictLatency,
		metrics.intelAge, metrics.intelRecords, metrics.intelErrors,
		metrics.journalQueue, metrics.journalWritten, metrics.journalDropped, metrics.journalFailed, metrics.journalWrite,
	} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				panic(err)
			}
		}
	}
}
