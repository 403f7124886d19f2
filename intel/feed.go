package intel

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// FeedConfig configures a Feed.
type FeedConfig struct {
	Sources []SourceConfig
	// Refresh is the interval between refreshes of URL sources (0: never).
	Refresh time.Duration
	Client  *http.Client
	Logger  *zap.Logger
	// OnSwap is called after a new snapshot is in force (optional). It runs
	// while the feed is updating and must not call Load or Refresh.
	OnSwap func(old, new *Snapshot)
}

// Feed holds the current snapshot and refreshes it. All methods are safe
// for concurrent use.
type Feed struct {
	cfg     FeedConfig
	log     *zap.Logger
	client  *http.Client
	created time.Time

	cur atomic.Pointer[Snapshot]

	mu      sync.Mutex // serializes Load and Refresh; guards sourceState data
	sources []*sourceState

	smu    sync.RWMutex // guards every sourceState.status and lastOK
	lastOK time.Time

	life    sync.Mutex
	cancel  context.CancelFunc
	stopped chan struct{}
}

// sourceState is what the feed knows of one source.
type sourceState struct {
	cfg    SourceConfig
	isURL  bool
	status SourceStatus // guarded by Feed.smu

	// guarded by Feed.mu
	loaded       bool
	recs         map[string]*Vuln
	etag         string
	lastModified string
	fileSize     int64
	fileMod      time.Time

	// modified_id.csv support (osv URL sources)
	csvURL     string // "" when the URL does not allow deriving it
	csvMissing bool   // the server answered 404/410 for it
	csvETag    string
	watermark  time.Time // newest modified applied
	forceFull  bool      // the last incremental update failed
}

// NewFeed creates a feed; nothing is loaded until Load.
func NewFeed(cfg FeedConfig) *Feed {
	f := &Feed{cfg: cfg, log: cfg.Logger, client: cfg.Client, created: time.Now()}
	if f.log == nil {
		f.log = zap.NewNop()
	}
	if f.client == nil {
		f.client = &http.Client{Timeout: 10 * time.Minute}
	}
	for _, sc := range cfg.Sources {
		s := &sourceState{cfg: sc, status: SourceStatus{Kind: sc.Kind, Location: sc.Location}}
		s.isURL = isURL(sc.Location)
		if s.isURL && !strings.EqualFold(sc.Kind, KindPyPA) {
			s.csvURL = siblingURL(sc.Location, "modified_id.csv")
		}
		f.sources = append(f.sources, s)
	}
	return f
}

func isURL(loc string) bool {
	l := strings.ToLower(strings.TrimSpace(loc))
	return strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://")
}

// siblingURL replaces the last path segment of a URL (".../PyPI/all.zip")
// by name (".../PyPI/<name>"); "" if loc is not a URL.
func siblingURL(loc, name string) string {
	u, err := url.Parse(strings.TrimSpace(loc))
	if err != nil || u.Host == "" {
		return ""
	}
	u.RawQuery, u.Fragment, u.RawPath = "", "", ""
	dir := path.Dir(u.Path)
	if !strings.HasSuffix(dir, "/") {
		dir += "/"
	}
	u.Path = dir + name
	return u.String()
}

// Current returns the snapshot in force, or nil before the first successful load.
func (f *Feed) Current() *Snapshot { return f.cur.Load() }

// Status reports the sources, in configuration order.
func (f *Feed) Status() []SourceStatus {
	f.smu.RLock()
	defer f.smu.RUnlock()
	out := make([]SourceStatus, len(f.sources))
	for i, s := range f.sources {
		out[i] = s.status
	}
	return out
}

// Age is the time since a source last loaded successfully or was confirmed
// unchanged (a 304). Before any success it is the largest Duration, so
// that "age above a threshold" checks treat missing data as stale.
func (f *Feed) Age() time.Duration {
	f.smu.RLock()
	defer f.smu.RUnlock()
	if f.lastOK.IsZero() {
		return time.Duration(math.MaxInt64)
	}
	return time.Since(f.lastOK)
}

// LastError returns the errors of the sources whose last attempt failed,
// joined by "; " ("" when every source is healthy).
func (f *Feed) LastError() string {
	f.smu.RLock()
	defer f.smu.RUnlock()
	var errs []string
	for _, s := range f.sources {
		if s.status.LastError != "" {
			errs = append(errs, s.status.LastError)
		}
	}
	return strings.Join(errs, "; ")
}

// Load loads every source once. A source that fails is reported in Status
// and the error is returned, but the sources that loaded are in force (a
// failing source keeps the records it had before).
func (f *Feed) Load(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.update(ctx, true)
}

// Refresh reloads URL sources now (conditional requests, modified_id.csv
// when offered), reloads a zip file source whose size or modification time
// changed, and retries sources that never loaded.
func (f *Feed) Refresh(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.update(ctx, false)
}

// update runs one pass over the sources and swaps in a new snapshot when
// any changed. Caller holds f.mu.
func (f *Feed) update(ctx context.Context, full bool) error {
	var errs []error
	changed := false
	for _, s := range f.sources {
		start := time.Now().UTC()
		var (
			recs    map[string]*Vuln
			touched bool
			err     error
		)
		switch {
		case full || !s.loaded:
			recs, touched, err = f.loadSource(ctx, s, s.loaded)
		case s.isURL:
			recs, touched, err = f.refreshURL(ctx, s)
		default:
			recs, touched, err = f.refreshFile(ctx, s)
		}
		f.smu.Lock()
		s.status.LastAttempt = start
		if err != nil {
			s.status.LastError = err.Error()
		} else {
			s.status.LastError = ""
			f.lastOK = time.Now()
		}
		if touched {
			s.status.LoadedAt = time.Now().UTC()
			s.status.Records = len(recs)
		}
		s.status.ETag, s.status.LastModified = s.etag, s.lastModified
		f.smu.Unlock()
		if err != nil {
			f.log.Error("intel source failed; previous data stays in force",
				zap.String("kind", s.cfg.Kind), zap.String("location", s.cfg.Location), zap.Error(err))
			errs = append(errs, fmt.Errorf("%s %s: %w", s.cfg.Kind, s.cfg.Location, err))
			continue
		}
		if touched {
			s.recs = recs
			s.loaded = true
			changed = true
		}
	}
	if changed {
		f.swap()
	}
	return errors.Join(errs...)
}

// swap builds a snapshot from every loaded source and puts it in force.
func (f *Feed) swap() {
	n := 0
	for _, s := range f.sources {
		n += len(s.recs)
	}
	all := make([]*Vuln, 0, n)
	for _, s := range f.sources {
		if !s.loaded {
			continue
		}
		for _, v := range s.recs {
			all = append(all, v)
		}
	}
	snap := Build(all)
	old := f.cur.Swap(snap)
	f.log.Info("intel snapshot in force", zap.String("id", snap.ID), zap.Int("records", snap.Records),
		zap.Int("packages", snap.Packages()))
	if f.cfg.OnSwap != nil {
		f.cfg.OnSwap(old, snap)
	}
}

func recordMap(list []*Vuln) map[string]*Vuln {
	m := make(map[string]*Vuln, len(list))
	for _, v := range list {
		if old, ok := m[v.ID]; !ok || !v.Modified.Before(old.Modified) {
			m[v.ID] = v
		}
	}
	return m
}

func newestModified(m map[string]*Vuln) time.Time {
	var t time.Time
	for _, v := range m {
		if v.Modified.After(t) {
			t = v.Modified
		}
	}
	return t
}

// loadSource fully loads a source. With conditional set (URL sources
// already loaded) a 304 answer means unchanged: touched is false.
func (f *Feed) loadSource(ctx context.Context, s *sourceState, conditional bool) (map[string]*Vuln, bool, error) {
	if !s.isURL {
		st, err := os.Stat(s.cfg.Location)
		if err != nil {
			return nil, false, fmt.Errorf("intel: %w", err)
		}
		list, err := LoadPath(ctx, s.cfg.Kind, s.cfg.Location)
		if err != nil {
			return nil, false, err
		}
		s.fileSize, s.fileMod = st.Size(), st.ModTime()
		return recordMap(list), true, nil
	}
	list, notModified, err := f.downloadZip(ctx, s, conditional)
	if err != nil {
		return nil, false, err
	}
	if notModified {
		return nil, false, nil
	}
	m := recordMap(list)
	s.watermark = newestModified(m)
	s.forceFull = false
	return m, true, nil
}

// refreshFile reloads a local zip or record file whose size or mtime
// changed; folders are reloaded by Load only.
func (f *Feed) refreshFile(ctx context.Context, s *sourceState) (map[string]*Vuln, bool, error) {
	st, err := os.Stat(s.cfg.Location)
	if err != nil {
		return nil, false, fmt.Errorf("intel: %w", err)
	}
	if st.IsDir() || (st.Size() == s.fileSize && st.ModTime().Equal(s.fileMod)) {
		return nil, false, nil
	}
	return f.loadSource(ctx, s, false)
}

// refreshURL updates a loaded URL source: through modified_id.csv when the
// server offers it, otherwise (or after a failed incremental update) by a
// conditional download of the whole zip.
func (f *Feed) refreshURL(ctx context.Context, s *sourceState) (map[string]*Vuln, bool, error) {
	if s.csvURL != "" && !s.csvMissing && !s.forceFull {
		recs, touched, offered, err := f.incremental(ctx, s)
		if err != nil {
			s.forceFull = true
			return nil, false, err
		}
		if offered {
			return recs, touched, nil
		}
		s.csvMissing = true
		f.log.Info("intel source offers no modified_id.csv; using conditional downloads",
			zap.String("location", s.cfg.Location))
	}
	recs, touched, err := f.loadSource(ctx, s, true)
	if err == nil {
		s.forceFull = false // the data is consistent with the zip again
	}
	return recs, touched, err
}

// newRequest makes a GET request with the feed's user agent.
func newRequest(ctx context.Context, u string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("intel: %w", err)
	}
	req.Header.Set("User-Agent", "caddy-osaproxy-intel/1")
	return req, nil
}

// downloadZip fetches a URL source's zip into a temporary file and parses
// it. The body must be complete: a short body, a size different from
// Content-Length, a damaged zip or any invalid record fails the download.
func (f *Feed) downloadZip(ctx context.Context, s *sourceState, conditional bool) ([]*Vuln, bool, error) {
	parse, suffixes, err := kindFormat(s.cfg.Kind)
	if err != nil {
		return nil, false, err
	}
	req, err := newRequest(ctx, s.cfg.Location)
	if err != nil {
		return nil, false, err
	}
	if conditional {
		if s.etag != "" {
			req.Header.Set("If-None-Match", s.etag)
		}
		if s.lastModified != "" {
			req.Header.Set("If-Modified-Since", s.lastModified)
		}
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, false, fmt.Errorf("intel: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotModified && conditional {
		return nil, true, nil
	}
	if resp.StatusCode != http.StatusOK {
		return nil, false, fmt.Errorf("intel: GET %s: %s", s.cfg.Location, resp.Status)
	}
	tmp, err := os.CreateTemp("", "osaproxy-intel-*.zip")
	if err != nil {
		return nil, false, fmt.Errorf("intel: %w", err)
	}
	defer func() {
		tmp.Close()
		os.Remove(tmp.Name())
	}()
	n, err := io.Copy(tmp, resp.Body)
	if err != nil {
		return nil, false, fmt.Errorf("intel: GET %s: incomplete body after %d bytes: %w", s.cfg.Location, n, err)
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return nil, false, fmt.Errorf("intel: GET %s: got %d bytes, Content-Length %d", s.cfg.Location, n, resp.ContentLength)
	}
	if err := tmp.Close(); err != nil {
		return nil, false, fmt.Errorf("intel: %w", err)
	}
	list, err := loadZipFile(ctx, tmp.Name(), s.cfg.Location, parse, suffixes, 0)
	if err != nil {
		return nil, false, err
	}
	s.etag = resp.Header.Get("ETag")
	s.lastModified = resp.Header.Get("Last-Modified")
	return list, false, nil
}

// maxIncremental is the number of changed records above which a refresh
// downloads the whole zip instead of one record at a time.
var maxIncremental = 2000

// csvEntry is one line of modified_id.csv.
type csvEntry struct {
	modified time.Time
	id       string
}

// incremental applies the entries of modified_id.csv newer than the
// watermark: each is fetched as <dir>/<id>.json. offered is false when the
// server has no such file (404/410). Nothing is applied unless every entry
// was fetched and parsed.
func (f *Feed) incremental(ctx context.Context, s *sourceState) (recs map[string]*Vuln, touched, offered bool, err error) {
	req, err := newRequest(ctx, s.csvURL)
	if err != nil {
		return nil, false, true, err
	}
	if s.csvETag != "" {
		req.Header.Set("If-None-Match", s.csvETag)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, false, true, fmt.Errorf("intel: %w", err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusNotFound, http.StatusGone:
		return nil, false, false, nil
	case http.StatusNotModified:
		return nil, false, true, nil
	case http.StatusOK:
	default:
		return nil, false, true, fmt.Errorf("intel: GET %s: %s", s.csvURL, resp.Status)
	}
	var fresh []csvEntry
	newest := s.watermark
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		ts, id, ok := strings.Cut(text, ",")
		if !ok {
			return nil, false, true, fmt.Errorf("intel: %s line %d: malformed %q", s.csvURL, line, text)
		}
		t, err := parseOSVTime(ts)
		id = strings.TrimSpace(id)
		if err != nil || id == "" || t.IsZero() {
			return nil, false, true, fmt.Errorf("intel: %s line %d: malformed %q", s.csvURL, line, text)
		}
		if i := strings.LastIndexByte(id, '/'); i >= 0 { // "PyPI/ID" in osv.dev's root listing
			id = id[i+1:]
		}
		if !t.After(s.watermark) {
			continue // lines are newest first, but tolerate any order
		}
		fresh = append(fresh, csvEntry{modified: t, id: id})
		if t.After(newest) {
			newest = t
		}
	}
	if err := sc.Err(); err != nil {
		return nil, false, true, fmt.Errorf("intel: %s: %w", s.csvURL, err)
	}
	etag := resp.Header.Get("ETag")
	if len(fresh) > maxIncremental {
		// after a long pause one download is cheaper than thousands.
		f.log.Info("intel: many records changed; downloading the whole source",
			zap.String("location", s.cfg.Location), zap.Int("changed", len(fresh)))
		recs, touched, err := f.loadSource(ctx, s, false)
		if err != nil {
			return nil, false, true, err
		}
		s.csvETag = etag // the watermark is now the zip's newest record
		return recs, touched, true, nil
	}
	if len(fresh) == 0 {
		s.csvETag = etag
		return nil, false, true, nil
	}
	updated := make(map[string]*Vuln, len(fresh))
	for _, e := range fresh {
		if _, done := updated[e.id]; done {
			continue
		}
		v, err := f.fetchRecord(ctx, s, e.id)
		if err != nil {
			return nil, false, true, err
		}
		updated[e.id] = v
	}
	next := make(map[string]*Vuln, len(s.recs)+len(updated))
	for id, v := range s.recs {
		next[id] = v
	}
	for id, v := range updated {
		if len(v.Affected) == 0 {
			delete(next, id) // no longer about PyPI
			continue
		}
		next[id] = v
	}
	s.watermark = newest
	s.csvETag = etag
	f.log.Info("intel incremental update", zap.String("location", s.cfg.Location), zap.Int("records", len(updated)))
	return next, true, true, nil
}

// fetchRecord downloads and parses <dir>/<id>.json of a URL source.
func (f *Feed) fetchRecord(ctx context.Context, s *sourceState, id string) (*Vuln, error) {
	u := siblingURL(s.cfg.Location, url.PathEscape(id)+".json")
	req, err := newRequest(ctx, u)
	if err != nil {
		return nil, err
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("intel: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("intel: GET %s: %s", u, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxRecordSize+1))
	if err != nil {
		return nil, fmt.Errorf("intel: GET %s: incomplete body: %w", u, err)
	}
	if len(body) > maxRecordSize {
		return nil, fmt.Errorf("intel: GET %s: record too large", u)
	}
	v, err := ParseOSV(body, s.cfg.Location)
	if err != nil {
		return nil, err
	}
	if v.ID != id {
		return nil, fmt.Errorf("intel: GET %s: record id %q, want %q", u, v.ID, id)
	}
	return v, nil
}

// Start begins background refreshing every FeedConfig.Refresh until Stop
// (nothing when Refresh is 0). A tick before the first successful Load
// retries the sources that never loaded.
func (f *Feed) Start() {
	f.life.Lock()
	defer f.life.Unlock()
	if f.cancel != nil || f.cfg.Refresh <= 0 {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	f.cancel, f.stopped = cancel, done
	go func() {
		defer close(done)
		t := time.NewTicker(f.cfg.Refresh)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := f.Refresh(ctx); err != nil && ctx.Err() == nil {
					f.log.Warn("intel refresh incomplete", zap.Error(err))
				}
			}
		}
	}()
}

// Stop ends background refreshing and waits for a refresh in progress to
// be abandoned.
func (f *Feed) Stop() {
	f.life.Lock()
	cancel, done := f.cancel, f.stopped
	f.cancel, f.stopped = nil, nil
	f.life.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}
