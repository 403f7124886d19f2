package console

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/osaproxy/caddy-osaproxy/whatif"
)

// examplePolicies prefills the what-if form.
const examplePolicies = `# Proposed policies and waivers in Caddyfile syntax, as inside the osa
# global option. They REPLACE the set in force for the replay: copy the
# policies you keep, then add or change blocks.
policy "Dangerous dependency at the proxy stage" {
	stages proxy
	blocker
	condition dependency_is_dangerous
}
policy "Critical vulnerabilities" {
	stages proxy
	blocker
	condition cvss3_score >= 9.0
}
# waiver "Reviewed false positive" {
# 	package example-lib
# 	version ==1.2.3
# 	expires 2026-12-31
# 	justification "upstream confirmed"
# 	approved_by alice
# }
`

// Limits of the what-if form.
const (
	maxWhatIfBody   = 256 << 10
	maxPoliciesText = 128 << 10
	maxPeriodText   = 64
	whatIfTimeout   = 2 * time.Minute
)

// processToken is the anti-CSRF token of this process: a per-process
// secret, the same for every console instance (so a form survives a config
// reload), which a cross-origin page cannot read.
var processToken = sync.OnceValue(func() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("console: no randomness for the CSRF token: " + err.Error())
	}
	return hex.EncodeToString(b[:])
})

// whatIfData is the what-if page.
type whatIfData struct {
	Policies     string
	Since        string
	Until        string
	Token        string
	Result       *whatif.Result
	NewlyBlocked []whatif.Change
	NewlyAllowed []whatif.Change
	Ran          bool
}

// whatIfPage serves what-if: the form (GET) and a replay (POST).
func (rq *request) whatIfPage() {
	d := &whatIfData{Policies: examplePolicies, Since: "7d", Token: processToken()}
	switch rq.r.Method {
	case http.MethodGet, http.MethodHead:
		rq.render(http.StatusOK, "whatif", "What-if", "whatif", d, "")
		return
	case http.MethodPost:
	default:
		rq.w.Header().Set("Allow", "GET, POST")
		rq.errorPage(http.StatusMethodNotAllowed, "Method "+rq.r.Method+" is not allowed here.")
		return
	}
	if err := rq.c.protect.Check(rq.r); err != nil {
		rq.errorPage(http.StatusForbidden, "Cross-origin form submissions are refused.")
		return
	}
	rq.r.Body = http.MaxBytesReader(rq.w, rq.r.Body, maxWhatIfBody)
	if err := rq.r.ParseForm(); err != nil {
		rq.render(http.StatusBadRequest, "whatif", "What-if", "whatif", d, "The form could not be read: "+err.Error())
		return
	}
	form := rq.r.PostForm
	d.Policies = form.Get("policies")
	d.Since = strings.TrimSpace(form.Get("since"))
	d.Until = strings.TrimSpace(form.Get("until"))
	if subtle.ConstantTimeCompare([]byte(form.Get("token")), []byte(d.Token)) != 1 {
		rq.render(http.StatusForbidden, "whatif", "What-if", "whatif", d,
			"This form was not issued by this console (or the server restarted): submit it again.")
		return
	}
	if msg := validateWhatIf(d); msg != "" {
		rq.render(http.StatusBadRequest, "whatif", "What-if", "whatif", d, msg)
		return
	}
	ctx, cancel := context.WithTimeout(rq.r.Context(), whatIfTimeout)
	defer cancel()
	res, err := rq.c.b.WhatIf(ctx, d.Policies, d.Since, d.Until)
	if err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, context.DeadlineExceeded) {
			status = http.StatusGatewayTimeout
		}
		rq.render(status, "whatif", "What-if", "whatif", d, "The replay was refused: "+err.Error())
		return
	}
	d.Ran = true
	d.Result = res
	if res != nil {
		for _, g := range res.Groups {
			if g.Change == "newly_allowed" {
				d.NewlyAllowed = append(d.NewlyAllowed, g)
			} else {
				d.NewlyBlocked = append(d.NewlyBlocked, g)
			}
		}
	}
	rq.render(http.StatusOK, "whatif", "What-if", "whatif", d, "")
}

// validateWhatIf checks the form before the backend sees it; "" when fine.
func validateWhatIf(d *whatIfData) string {
	switch {
	case strings.TrimSpace(d.Policies) == "":
		return "Policies: paste at least one policy or waiver block."
	case len(d.Policies) > maxPoliciesText:
		return "Policies: the text is too long."
	case len(d.Since) > maxPeriodText || len(d.Until) > maxPeriodText:
		return "Since/Until: the value is too long."
	}
	return ""
}
