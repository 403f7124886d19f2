package pypi

import (
	"bytes"
	"strings"
	"testing"

	"github.com/osaproxy/caddy-osaproxy/internal/pagegen"
)

// splitMapper maps files.pythonhosted.org links to /proxy/files/... through
// both MapLink and the LinkSplitter fast path; the fast path declines links
// with "~" so that both paths meet on one page.
// head is "/proxy/&files" unless plain is set ("/proxy/files", which the
// renderers remember as free of bytes to escape).
type splitMapper struct{ onlyMap, plain bool }

const splitHost = "https://files.pythonhosted.org"

func (m splitMapper) head() string {
	if m.plain {
		return "/proxy/files"
	}
	return "/proxy/&files"
}

func (m splitMapper) MapLink(h string) (string, bool) {
	if rest, ok := strings.CutPrefix(h, splitHost); ok {
		return m.head() + rest, true
	}
	return "", false
}

func (m splitMapper) SplitLink(h string) (string, int, bool) {
	if m.onlyMap || !strings.HasPrefix(h, splitHost) || strings.Contains(h, "~") {
		return "", 0, false
	}
	return m.head(), len(splitHost), true
}

// mapOnly hides SplitLink: the renderer must take MapLink.
type mapOnly struct{ m splitMapper }

func (o mapOnly) MapLink(h string) (string, bool) { return o.m.MapLink(h) }

// TestSplitLinkRendersAlike: a mapper's LinkSplitter fast path gives the
// same page, byte for byte, as its MapLink, in HTML and JSON, for kept,
// marked and removed files (escaping included: the head has an '&').
func TestSplitLinkRendersAlike(t *testing.T) {
	p := pagegen.NewProject(3, "demo", 60, 4)
	for i := range p.Files {
		if i%7 == 0 {
			p.Files[i].URL = strings.Replace(p.Files[i].URL, "/packages/", "/packages/~x/", 1)
		}
		// links whose own part needs escaping in HTML, in JSON, or both
		switch i % 11 {
		case 2:
			p.Files[i].URL += "?a=1&b='<x>'"
		case 5:
			p.Files[i].URL += `?q="x"\y`
		}
	}
	for _, c := range []struct {
		f     Format
		plain bool
	}{{FormatHTML, false}, {FormatHTML, true}, {FormatJSON, false}, {FormatJSON, true}} {
		f := c.f
		body, ix := parsedPage(t, p, f, "demo")
		edits := make([]Edit, len(ix.Files))
		for i := range edits {
			switch i % 5 {
			case 1:
				edits[i] = Edit{Action: Mark, Reason: "blocked & \"marked\""}
			case 3:
				edits[i] = Edit{Action: Remove}
			}
		}
		fast, err := ix.Render(nil, edits, splitMapper{plain: c.plain})
		if err != nil {
			t.Fatal(err)
		}
		slow, err := ix.Render(nil, edits, mapOnly{splitMapper{plain: c.plain}})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(fast, slow) {
			t.Fatalf("format %v: split and map renders differ:\n%s\n----\n%s", f, fast, slow)
		}
		if bytes.Contains(fast, []byte(splitHost)) || !bytes.Contains(fast, []byte("/proxy/")) {
			t.Fatalf("format %v: links not mapped:\n%.2000s", f, fast)
		}
		// an identity split (head = the href's own prefix) keeps the page as it is
		same, err := ix.Render(nil, nil, identitySplit{})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(same, body) {
			t.Fatalf("format %v: identity split changed the page", f)
		}
	}
}

type identitySplit struct{}

func (identitySplit) MapLink(h string) (string, bool) { return h, true }
func (identitySplit) SplitLink(h string) (string, int, bool) {
	return h[:len(h)/2], len(h) / 2, true
}
