package osaproxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/osaproxy/caddy-osaproxy/intel"
	"github.com/osaproxy/caddy-osaproxy/internal/clock"
	"github.com/osaproxy/caddy-osaproxy/journal"
	"github.com/osaproxy/caddy-osaproxy/policy"
)

func init() {
	caddy.RegisterModule(App{})
}

// App is the `osa` app: what every osa_proxy handler of the configuration
// shares — threat intelligence, policies and waivers, and the journal of
// decisions. Long-lived parts (the intelligence feed and the journal) live in
// usage pools, so they survive config reloads and are never reloaded or
// reopened when their own configuration did not change.
type App struct {
	// Intel lists the threat-intelligence sources: OSV zips (osv.dev's
	// <ECOSYSTEM>/all.zip layout), folders of OSV JSON, http(s) URLs of OSV
	// zips, and PyPA advisory-database YAML folders or zips.
	Intel []intel.SourceConfig `json:"intel,omitempty"`

	// IntelRefresh is how often URL sources are refreshed (conditional
	// requests; incremental through modified_id.csv when offered). Default 1h.
	IntelRefresh caddy.Duration `json:"intel_refresh,omitempty"`

	// IntelMaxAge is the age of the last successful intelligence load after
	// which components count as unscanned (strict modes then block them).
	// Zero (the default) means no limit.
	IntelMaxAge caddy.Duration `json:"intel_max_age,omitempty"`

	// Policies are evaluated for every component at the proxy stage.
	Policies []policy.PolicyConfig `json:"policies,omitempty"`

	// Waivers are exceptions with a mandatory expiry.
	Waivers []policy.WaiverConfig `json:"waivers,omitempty"`

	// Journal configures where decisions are stored. Default: SQLite at
	// <caddy data dir>/osa/journal.db.
	Journal *JournalConfig `json:"journal,omitempty"`

	engine   *policy.Engine
	feed     *pooledFeed
	feedKey  string
	jrnl     *pooledJournal
	jrnlKey  string
	verdicts *verdictCache
	pages    *pageDecisionCache // whole project pages' verdicts (pagedecide.go)
	logger   *zap.Logger
}

// JournalConfig configures the decision journal.
type JournalConfig struct {
	// Driver is "sqlite" (default) or "postgres".
	Driver string `json:"driver,omitempty"`
	// DSN is the SQLite file path or the PostgreSQL connection string.
	DSN string `json:"dsn,omitempty"`
	// Retention deletes records older than this in the background. Default 90 days; negative keeps everything.
	Retention caddy.Duration `json:"retention,omitempty"`
	// QueueSize bounds the in-memory queue of records waiting to be written (default 65536).
	QueueSize int `json:"queue_size,omitempty"`
	// EnqueueTimeout is how long a request waits for room in a full queue
	// before its record is dropped, counted in caddy_osa_journal_dropped_total and logged. Default 2s.
	EnqueueTimeout caddy.Duration `json:"enqueue_timeout,omitempty"`
}

// CaddyModule returns the Caddy module information.
func (App) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "osa",
		New: func() caddy.Module { return new(App) },
	}
}

var (
	feedPool    = caddy.NewUsagePool()
	journalPool = caddy.NewUsagePool()
)

// Provision compiles policies and attaches the pooled feed and journal.
func (a *App) Provision(ctx caddy.Context) error {
	a.logger = ctx.Logger()
	registerMetrics(ctx.GetMetricsRegistry())

	eng, err := policy.Compile(policy.Config{Policies: a.Policies, Waivers: a.Waivers})
	if err != nil {
		return fmt.Errorf("osa: %w", err)
	}
	a.engine = eng
	a.verdicts = newVerdictCache(1 << 16)
	a.pages = newPageDecisionCache()

	refresh := time.Duration(a.IntelRefresh)
	if refresh == 0 {
		refresh = time.Hour
	}
	for i, s := range a.Intel {
		if s.Kind == "" {
			a.Intel[i].Kind = "osv"
		}
		if s.Location == "" {
			return fmt.Errorf("osa: intel source %d: location is required", i)
		}
	}
	keyb, _ := json.Marshal(struct {
		S []intel.SourceConfig
		R time.Duration
	}{a.Intel, refresh})
	a.feedKey = string(keyb)
	sources := append([]intel.SourceConfig(nil), a.Intel...)
	logger := a.logger
	val, _, err := feedPool.LoadOrNew(a.feedKey, func() (caddy.Destructor, error) {
		return newPooledFeed(intel.FeedConfig{
			Sources: sources,
			Refresh: refresh,
			Client:  &http.Client{Timeout: 5 * time.Minute},
			Logger:  logger.Named("intel"),
			OnSwap: func(old, new *intel.Snapshot) {
				if new != nil {
					logger.Info("intel snapshot in force", zap.String("snapshot", new.ID), zap.Int("records", new.Records))
				}
			},
		}), nil
	})
	if err != nil {
		return fmt.Errorf("osa: intel: %w", err)
	}
	a.feed = val.(*pooledFeed)

	jc := JournalConfig{}
	if a.Journal != nil {
		jc = *a.Journal
	}
	if jc.Driver == "" {
		jc.Driver = "sqlite"
	}
	switch jc.Driver {
	case "sqlite":
		if jc.DSN == "" {
			jc.DSN = filepath.Join(caddy.AppDataDir(), "osa", "journal.db")
		}
	case "postgres":
		if jc.DSN == "" {
			return errors.New("osa: journal postgres: a connection string is required")
		}
	default:
		return fmt.Errorf("osa: journal: unknown driver %q (want sqlite or postgres)", jc.Driver)
	}
	if jc.Retention == 0 {
		jc.Retention = caddy.Duration(90 * 24 * time.Hour)
	}
	a.jrnlKey = jc.Driver + "|" + jc.DSN
	val, _, err = journalPool.LoadOrNew(a.jrnlKey, func() (caddy.Destructor, error) {
		return openPooledJournal(jc, logger.Named("journal"))
	})
	if err != nil {
		return fmt.Errorf("osa: journal %s: %w", jc.Driver, err)
	}
	a.jrnl = val.(*pooledJournal)
	a.jrnl.retention.Store(int64(jc.Retention))
	return nil
}

// Start begins loading intelligence (in the background: until it is in
// force, components are unscanned and the work mode decides).
func (a *App) Start() error {
	setMetricsApp(a)
	a.feed.start()
	a.jrnl.startRetention()
	return nil
}

// Stop flushes the journal so nothing acknowledged is lost across reloads.
func (a *App) Stop() error {
	if a.jrnl != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := a.jrnl.writer.Flush(ctx); err != nil {
			a.logger.Error("flushing journal", zap.Error(err))
		}
	}
	return nil
}

// Cleanup releases the pooled resources.
func (a *App) Cleanup() error {
	if a.feed != nil {
		_, _ = feedPool.Delete(a.feedKey)
	}
	if a.jrnl != nil {
		_, _ = journalPool.Delete(a.jrnlKey)
	}
	return nil
}

// snapshot returns the intelligence in force, or nil when none is loaded or
// it is older than IntelMaxAge.
func (a *App) snapshot() *intel.Snapshot {
	s := a.feed.feed.Current()
	if s == nil {
		return nil
	}
	if a.IntelMaxAge > 0 && a.feed.feed.Age() > time.Duration(a.IntelMaxAge) {
		return nil
	}
	return s
}

// pooledFeed is an intelligence feed shared across config reloads.
type pooledFeed struct {
	feed    *intel.Feed
	once    sync.Once
	ready   chan struct{}
	stop    chan struct{}
	stopped sync.Once
	logger  *zap.Logger
}

func newPooledFeed(cfg intel.FeedConfig) *pooledFeed {
	return &pooledFeed{feed: intel.NewFeed(cfg), ready: make(chan struct{}), stop: make(chan struct{}), logger: cfg.Logger}
}

// start loads the feed in the background, retrying until the first load
// succeeds, then starts periodic refresh.
func (p *pooledFeed) start() {
	p.once.Do(func() {
		go func() {
			backoff := 2 * time.Second
			for {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
				err := p.feed.Load(ctx)
				cancel()
				if p.feed.Current() != nil {
					close(p.ready)
					if err != nil {
						p.logger.Error("some intelligence sources failed to load", zap.Error(err))
					}
					p.feed.Start()
					return
				}
				p.logger.Error("intelligence not loaded; components are unscanned until it is", zap.Error(err), zap.Duration("retry_in", backoff))
				select {
				case <-p.stop:
					return
				case <-time.After(backoff):
				}
				if backoff < time.Minute {
					backoff *= 2
				}
			}
		}()
	})
}

// wait blocks until the feed is loaded, ctx ends or d passes.
func (p *pooledFeed) wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-p.ready:
		return true
	case <-ctx.Done():
	case <-t.C:
	}
	return false
}

// Destruct stops the feed.
func (p *pooledFeed) Destruct() error {
	p.stopped.Do(func() {
		close(p.stop)
		p.feed.Stop()
	})
	return nil
}

// pooledJournal is a journal store and its writer shared across reloads.
type pooledJournal struct {
	store     journal.Store
	writer    *journal.Writer
	retention atomic.Int64
	retOnce   sync.Once
	retStop   chan struct{}
	triggers  sync.Map // key -> time.Time
	logger    *zap.Logger
}

func openPooledJournal(jc JournalConfig, logger *zap.Logger) (*pooledJournal, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := journal.Open(ctx, jc.Driver, jc.DSN)
	if err != nil {
		return nil, err
	}
	wc := journal.WriterConfig{QueueSize: jc.QueueSize, EnqueueTimeout: time.Duration(jc.EnqueueTimeout), Logger: logger,
		OnWrite: observeJournalWrite}
	return &pooledJournal{store: st, writer: journal.NewWriter(st, wc), retStop: make(chan struct{}), logger: logger}, nil
}

func (p *pooledJournal) startRetention() {
	p.retOnce.Do(func() {
		go func() {
			t := time.NewTicker(time.Hour)
			defer t.Stop()
			for {
				if r := time.Duration(p.retention.Load()); r > 0 {
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
					n, err := p.store.Purge(ctx, clock.Now().Add(-r))
					cancel()
					if err != nil {
						p.logger.Error("journal retention", zap.Error(err))
					} else if n > 0 {
						p.logger.Info("journal retention purged records", zap.Int64("records", n))
					}
				}
				select {
				case <-p.retStop:
					return
				case <-t.C:
				}
			}
		}()
	})
}

// firstTrigger returns when key first triggered a delayed policy; the first
// answer is cached because it never changes.
func (p *pooledJournal) firstTrigger(key string, now time.Time) (time.Time, error) {
	if v, ok := p.triggers.Load(key); ok {
		return v.(time.Time), nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	t, err := p.store.FirstTrigger(ctx, key, now)
	if err != nil {
		return time.Time{}, err
	}
	p.triggers.Store(key, t)
	return t, nil
}

// Destruct flushes the writer and closes the store.
func (p *pooledJournal) Destruct() error {
	close(p.retStop)
	err := p.writer.Close()
	return errors.Join(err, p.store.Close())
}

// Interface guards
var (
	_ caddy.App          = (*App)(nil)
	_ caddy.Provisioner  = (*App)(nil)
	_ caddy.CleanerUpper = (*App)(nil)
	_ caddy.Destructor   = (*pooledFeed)(nil)
	_ caddy.Destructor   = (*pooledJournal)(nil)
)

// observeJournalWrite feeds caddy_osa_journal_write_seconds.
func observeJournalWrite(_ int, took time.Duration, err error) {
	metricsOnce.Do(initMetrics)
	result := "ok"
	if err != nil {
		result = "error"
	}
	metrics.journalWrite.WithLabelValues(result).Observe(took.Seconds())
}
