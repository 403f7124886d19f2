package console

import "net/http"

// intelData is the Intel & policies page.
type intelData struct {
	Intel          IntelInfo
	Stale          bool // older than MaxAge
	Policies       PolicyInfo
	ActivePolicies int
	ExpiredWaivers int
}

// intelPage serves intel: the intelligence in force, policies and waivers.
func (rq *request) intelPage() {
	d := &intelData{Intel: rq.c.b.Intel(), Policies: rq.c.b.Policies()}
	d.Stale = d.Intel.MaxAge > 0 && d.Intel.SnapshotID != "" && d.Intel.Age > d.Intel.MaxAge
	for _, p := range d.Policies.Policies {
		if p.Active {
			d.ActivePolicies++
		}
	}
	for _, w := range d.Policies.Waivers {
		if w.Expired {
			d.ExpiredWaivers++
		}
	}
	rq.render(http.StatusOK, "intel", "Intel & policies", "intel", d, "")
}
