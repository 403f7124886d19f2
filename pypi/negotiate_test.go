package pypi

import "testing"

func TestNegotiate(t *testing.T) {
	const (
		pip    = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01"
		uv     = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"
		poetry = "application/vnd.pypi.simple.v1+json, */*;q=0.1"
		spec   = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"
		pypi46 = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html, text/html;q=0.01"
	)
	cases := []struct {
		name, accept, format string
		media                string
		f                    Format
		ok                   bool
	}{
		{"no accept", "", "", MediaTextHTML, FormatHTML, true},
		{"blank accept", "  ", "", MediaTextHTML, FormatHTML, true},
		{"star", "*/*", "", MediaTextHTML, FormatHTML, true},
		{"pip", pip, "", MediaV1JSON, FormatJSON, true},
		{"uv", uv, "", MediaV1JSON, FormatJSON, true},
		{"poetry 2.3", poetry, "", MediaV1JSON, FormatJSON, true},
		{"poetry built-in", MediaV1JSON, "", MediaV1JSON, FormatJSON, true},
		{"spec", spec, "", MediaV1JSON, FormatJSON, true},
		{"pypi-simple#46 tie goes to html", pypi46, "", MediaV1HTML, FormatHTML, true},
		{"browser", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "", MediaTextHTML, FormatHTML, true},
		{"v1 html", MediaV1HTML, "", MediaV1HTML, FormatHTML, true},
		{"latest json", MediaLatestJSON, "", MediaV1JSON, FormatJSON, true},
		{"latest html", MediaLatestHTML, "", MediaV1HTML, FormatHTML, true},
		{"application wildcard", "application/*", "", MediaV1HTML, FormatHTML, true},
		{"application wildcard json preferred", "application/*;q=0.5, application/vnd.pypi.simple.v1+json", "", MediaV1JSON, FormatJSON, true},
		{"text wildcard", "text/*", "", MediaTextHTML, FormatHTML, true},
		{"q decides", "text/html;q=0.5, application/vnd.pypi.simple.v1+json;q=0.6", "", MediaV1JSON, FormatJSON, true},
		{"order means nothing", "application/vnd.pypi.simple.v1+json;q=0.5, text/html;q=0.5", "", MediaTextHTML, FormatHTML, true},
		{"specific q=0 beats wildcard", "text/html;q=0, */*", "", MediaV1HTML, FormatHTML, true},
		{"all refused", "text/html;q=0, application/*;q=0", "", MediaTextHTML, FormatHTML, false},
		{"unsupported only", "application/json", "", MediaTextHTML, FormatHTML, false},
		{"garbage", "garbage", "", MediaTextHTML, FormatHTML, false},
		{"case insensitive", "Application/VND.PyPI.Simple.V1+JSON; Q=1", "", MediaV1JSON, FormatJSON, true},
		{"bad q skipped", "application/vnd.pypi.simple.v1+json;q=2, text/html;q=0.3", "", MediaTextHTML, FormatHTML, true},
		{"params ignored", "text/html; charset=utf-8; q=0.2, application/vnd.pypi.simple.v1+json;q=0.1", "", MediaTextHTML, FormatHTML, true},
		{"format json wins", "text/html", "application/vnd.pypi.simple.v1+json", MediaV1JSON, FormatJSON, true},
		{"format latest json", "", "application/vnd.pypi.simple.latest+json", MediaV1JSON, FormatJSON, true},
		{"format latest html", pip, "application/vnd.pypi.simple.latest+html", MediaV1HTML, FormatHTML, true},
		{"format v1 html", pip, "application/vnd.pypi.simple.v1+html", MediaV1HTML, FormatHTML, true},
		{"format text/html", pip, "text/html", MediaTextHTML, FormatHTML, true},
		{"unknown format ignored", pip, "xml", MediaV1JSON, FormatJSON, true},
	}
	for _, c := range cases {
		media, f, ok := Negotiate(c.accept, c.format)
		if media != c.media || f != c.f || ok != c.ok {
			t.Errorf("%s: Negotiate(%q, %q) = %q, %v, %v; want %q, %v, %v", c.name, c.accept, c.format, media, f, ok, c.media, c.f, c.ok)
		}
	}
}
