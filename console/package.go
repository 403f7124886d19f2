package console

import (
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/osaproxy/caddy-osaproxy/journal"
)

// maxAdvisories bounds the advisories looked up for one package page.
const maxAdvisories = 40

// packageData is the package page.
type packageData struct {
	Name        string
	Summary     journal.PackageSummary
	Counts      []statusCount
	Blocked     int64
	Verdicts    rowsData
	Requests    rowsData
	OlderURL    string
	NewestURL   string
	FirstPage   bool
	Policies    []policyHit
	Advisories  []advisoryHit
	RequestsURL string // the Requests page filtered by this package
	Known       bool
}

type statusCount struct {
	Status string
	N      int64
}

// policyHit is a policy that fired for the package.
type policyHit struct {
	Name     string
	Requests int
	Versions []string
	LastSeen time.Time
	Statuses []string
}

// advisoryHit is an advisory cited by decisions on the package.
type advisoryHit struct {
	ID       string
	Versions []string
	Info     *AdvisoryInfo
}

// packagePage serves package/<name>.
func (rq *request) packagePage() {
	raw, err := url.PathUnescape(strings.TrimSuffix(strings.TrimPrefix(rq.path, "/package/"), "/"))
	if err != nil || strings.TrimSpace(raw) == "" {
		rq.errorPage(http.StatusBadRequest, "A package name is required: package/<name>.")
		return
	}
	name := normalizeName(raw)
	ctx := rq.r.Context()
	d := &packageData{Name: name, Verdicts: rowsData{Base: rq.base}, Requests: rowsData{Base: rq.base}}
	d.RequestsURL = rq.base + encodeQuery(url.Values{"package": {name}})
	sum, err := rq.c.b.Package(ctx, name)
	if err != nil {
		_, msg := queryError(err)
		rq.render(http.StatusInternalServerError, "package", name, "requests", d, msg)
		return
	}
	d.Summary = sum
	d.Verdicts.Rows = sum.Verdicts
	for s, n := range sum.Counts {
		d.Counts = append(d.Counts, statusCount{s, n})
		if journal.IsBlocked(s) {
			d.Blocked += n
		}
	}
	sort.Slice(d.Counts, func(i, j int) bool {
		if d.Counts[i].N != d.Counts[j].N {
			return d.Counts[i].N > d.Counts[j].N
		}
		return d.Counts[i].Status < d.Counts[j].Status
	})
	cursor := rq.r.URL.Query().Get("cursor")
	d.FirstPage = cursor == ""
	page, err := rq.c.b.Requests(ctx, journal.Filter{Package: name, Limit: rq.c.opts.PageSize, Cursor: cursor, NoTotal: true})
	if err != nil {
		status, msg := queryError(err)
		rq.render(status, "package", name, "requests", d, msg)
		return
	}
	d.Requests.Rows = page.Requests
	d.Known = len(sum.Counts) > 0 || len(page.Requests) > 0
	self := rq.base + "package/" + url.PathEscape(name)
	d.NewestURL = self
	if page.NextCursor != "" {
		d.OlderURL = self + encodeQuery(url.Values{"cursor": {page.NextCursor}})
	}
	all := append(append([]journal.Record(nil), sum.Verdicts...), page.Requests...)
	d.Policies = policyHits(all)
	d.Advisories = rq.advisoryHits(all)
	status := http.StatusOK
	if !d.Known {
		status = http.StatusNotFound
	}
	rq.render(status, "package", name, "requests", d, "")
}

// policyHits aggregates the policies named by records.
func policyHits(recs []journal.Record) []policyHit {
	idx := map[string]*policyHit{}
	var order []string
	seen := map[int64]bool{}
	for _, r := range recs {
		if r.ID != 0 {
			if seen[r.ID] {
				continue
			}
			seen[r.ID] = true
		}
		for _, p := range r.Policies {
			h := idx[p]
			if h == nil {
				h = &policyHit{Name: p}
				idx[p] = h
				order = append(order, p)
			}
			h.Requests++
			if r.Version != "" && !contains(h.Versions, r.Version) {
				h.Versions = append(h.Versions, r.Version)
			}
			if !contains(h.Statuses, r.Status) {
				h.Statuses = append(h.Statuses, r.Status)
			}
			if r.Time.After(h.LastSeen) {
				h.LastSeen = r.Time
			}
		}
	}
	out := make([]policyHit, 0, len(order))
	for _, p := range order {
		h := idx[p]
		sort.Strings(h.Versions)
		out = append(out, *h)
	}
	return out
}

// advisoryHits collects the advisories cited by records and looks them up.
func (rq *request) advisoryHits(recs []journal.Record) []advisoryHit {
	idx := map[string]*advisoryHit{}
	var order []string
	for _, r := range recs {
		for _, id := range r.Advisories {
			h := idx[id]
			if h == nil {
				if len(order) >= maxAdvisories {
					continue
				}
				h = &advisoryHit{ID: id}
				idx[id] = h
				order = append(order, id)
			}
			if r.Version != "" && !contains(h.Versions, r.Version) {
				h.Versions = append(h.Versions, r.Version)
			}
		}
	}
	out := make([]advisoryHit, 0, len(order))
	for _, id := range order {
		h := idx[id]
		sort.Strings(h.Versions)
		h.Info = rq.c.b.Advisory(id)
		out = append(out, *h)
	}
	return out
}
