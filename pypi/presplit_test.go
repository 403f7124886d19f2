package pypi

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/osaproxy/caddy-osaproxy/internal/pagegen"
)

// countingSplitter maps links of one host under a head, counting its calls;
// links whose name contains skip are left to MapLink.
type countingSplitter struct {
	origin, head, skip string
	calls              int
}

func (c *countingSplitter) SplitLink(href string) (string, int, bool) {
	c.calls++
	if !strings.HasPrefix(href, c.origin) || (c.skip != "" && strings.Contains(href, c.skip)) {
		return "", 0, false
	}
	return c.head, len(c.origin), true
}

func (c *countingSplitter) MapLink(href string) (string, bool) {
	if rest, ok := strings.CutPrefix(href, c.origin); ok {
		return c.head + "/mapped" + rest, true
	}
	return "", false
}

// sliceSplitter is a LinkMapper whose values cannot be compared.
type sliceSplitter []string

func (s sliceSplitter) SplitLink(href string) (string, int, bool) {
	if strings.HasPrefix(href, s[0]) {
		return s[1], len(s[0]), true
	}
	return "", 0, false
}

func (s sliceSplitter) MapLink(href string) (string, bool) { return "", false }

// TestParseTimeSplit: links split while the page is parsed render exactly as
// links split at render time, are used only by the splitter that made them
// (another one, a value of an uncomparable type, or the same one released
// split again), and spare Render the splitting.
func TestParseTimeSplit(t *testing.T) {
	p := pagegen.NewProject(9, "demo", 30, 3)
	const origin = "https://files.pythonhosted.org"
	split := func(head, skip string) *countingSplitter {
		return &countingSplitter{origin: origin, head: head, skip: skip}
	}
	for _, format := range []Format{FormatHTML, FormatJSON} {
		body, plain := parsedPage(t, p, format, "demo")
		ed := make([]Edit, len(plain.Files))
		kept, declined := 0, 0
		for i := range ed {
			switch i % 7 {
			case 1:
				ed[i] = Edit{Action: Remove}
				continue
			case 2:
				ed[i] = Edit{Action: Mark, Reason: "blocked"}
			}
			kept++
			if strings.Contains(plain.Files[i].URL, ".tar.gz") {
				declined++
			}
		}
		if declined == 0 || declined == kept {
			t.Fatalf("%v: the page must have links the splitter declines and links it splits", format)
		}
		render := func(ix *Index, m LinkMapper) []byte {
			t.Helper()
			out, err := ix.Render(nil, ed, m)
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
		want := render(plain, split("/r1", ".tar.gz"))

		s := split("/r1", ".tar.gz")
		ix := new(Index)
		if err := ParseIndexWith(ix, slices.Clone(body), format, "demo", nil, s); err != nil {
			t.Fatal(err)
		}
		if s.calls != len(ix.Files) {
			t.Fatalf("%v: %d splits while parsing %d files", format, s.calls, len(ix.Files))
		}
		s.calls = 0
		if got := render(ix, s); !bytes.Equal(got, want) || s.calls != declined {
			t.Fatalf("%v: own splitter: equal %v, %d links split again at render, want the %d it declined", format, bytes.Equal(got, want), s.calls, declined)
		}
		other := split("/r2", "")
		if got := render(ix, other); !bytes.Equal(got, render(plain, split("/r2", ""))) || other.calls != kept {
			t.Fatalf("%v: another splitter: %d calls for %d kept links", format, other.calls, kept)
		}
		ix.ReleaseSplitter()
		s.calls = 0
		if got := render(ix, s); !bytes.Equal(got, want) || s.calls != kept {
			t.Fatalf("%v: released splitter: %d calls for %d kept links", format, s.calls, kept)
		}
		// Values that cannot be compared are never taken for the parse's.
		ix2 := new(Index)
		if err := ParseIndexWith(ix2, slices.Clone(body), format, "demo", nil, sliceSplitter{origin, "/r3"}); err != nil {
			t.Fatal(err)
		}
		if got := render(ix2, sliceSplitter{origin, "/r4"}); !bytes.Equal(got, render(plain, sliceSplitter{origin, "/r4"})) {
			t.Fatalf("%v: an uncomparable splitter's parse-time splits were used", format)
		}
	}
}
