package pypi

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unsafe"

	"github.com/osaproxy/caddy-osaproxy/internal/pagegen"
)

// sameParse fails unless got holds what a fresh ParseIndex gave (want),
// apart from the flags that say whose memory the strings are.
func sameParse(t *testing.T, name string, got, want *Index) {
	t.Helper()
	if len(got.Files) != len(want.Files) {
		t.Fatalf("%s: %d files, fresh parse %d", name, len(got.Files), len(want.Files))
	}
	for i := range want.Files {
		g, w := got.Files[i], want.Files[i]
		g.flags &^= flagOwnName | flagOwnSha
		w.flags &^= flagOwnName | flagOwnSha
		if !reflect.DeepEqual(g, w) {
			t.Fatalf("%s: file %d differs:\n got %+v\nwant %+v", name, i, g, w)
		}
	}
	if !reflect.DeepEqual(got.Versions, want.Versions) || got.Name != want.Name || got.ProjectStatus != want.ProjectStatus {
		t.Fatalf("%s: page fields differ", name)
	}
}

// TestNameMemo: a page parsed with the memo of an earlier page of its
// project gives exactly what a parse without one gives — the same page, a
// page with a release inserted before others (positions shift), a renamed
// file, files whose names do not parse, another project's memo — in both
// formats; the memo's facts are used exactly where the filename at that
// position is unchanged, and the names taken from it survive the body
// being overwritten.
func TestNameMemo(t *testing.T) {
	base := pagegen.NewProject(5, "Zope.Interface", 40, 3)
	shifted := *base
	shifted.Files = append([]pagegen.File(nil), base.Files...)
	ins := base.Files[10]
	ins.Filename = strings.Replace(ins.Filename, ins.Version, "0.0.1", 1)
	ins.URL = strings.Replace(ins.URL, ins.Version, "0.0.1", 1)
	ins.Version = "0.0.1"
	shifted.Files = append(shifted.Files[:60:60], append([]pagegen.File{ins}, shifted.Files[60:]...)...)
	renamed := *base
	renamed.Files = append([]pagegen.File(nil), base.Files...)
	for _, i := range []int{3, 4} {
		f := &renamed.Files[i]
		f.Filename = "zope_interface-" + []string{"not a version", "9.9"}[i-3] + ".tar.gz"
		f.URL = f.URL[:strings.LastIndexByte(f.URL, '/')+1] + strings.ReplaceAll(f.Filename, " ", "%20")
	}
	reshaed := renamed
	reshaed.Files = append([]pagegen.File(nil), renamed.Files...)
	reshaed.Files[7].Sha256 = strings.Repeat("e", 64)
	for _, format := range []Format{FormatHTML, FormatJSON} {
		render := func(p *pagegen.Project) []byte { return pageBody(p, format) }
		first := new(Index)
		if err := ParseIndexInto(first, render(&renamed), format, "zope-interface"); err != nil {
			t.Fatal(err)
		}
		memo := NewNameMemo(first)
		for i := range first.Files {
			f := &first.Files[i]
			if f.OwnsSha256() != (memo.files[i].filename != "") || f.OwnsSha256() && unsafe.StringData(f.Sha256) != unsafe.StringData(memo.files[i].sha256) {
				t.Fatalf("%v: file %d of the memo's page does not hold the memo's sha256", format, i)
			}
		}
		if memo.Len() != len(first.Files) || memo.files[3].filename != "" || memo.files[4].filename == "" {
			t.Fatalf("%v: memo of %d files; an unparsable name must not be kept, a parsable one must", format, memo.Len())
		}
		for _, c := range []struct {
			name     string
			page     *pagegen.Project
			project  string
			hits     int // files whose name facts must come from the memo
			covered  bool
			memoless bool // the memo must not be used at all
		}{
			{"same page", &renamed, "zope-interface", len(renamed.Files) - 1, false, false},
			{"original names", base, "zope-interface", len(base.Files) - 2, false, false},
			{"release inserted", &shifted, "zope-interface", 60 - 2, false, false},
			{"other project", base, "zope-interface2", 0, false, true},
			{"a file's sha256 changed", &reshaed, "zope-interface", len(renamed.Files) - 1, false, false},
			{"unnormalized project name", &renamed, "Zope_Interface", len(renamed.Files) - 1, false, false},
		} {
			want, err := ParseIndex(render(c.page), format, c.project)
			if err != nil {
				t.Fatal(err)
			}
			body := render(c.page)
			ix := new(Index)
			if err := ParseIndexWith(ix, body, format, c.project, memo, nil); err != nil {
				t.Fatal(err)
			}
			sameParse(t, fmt.Sprint(format)+" "+c.name, ix, want)
			if ix.memoHits != c.hits || ix.MemoCovered() != c.covered {
				t.Fatalf("%v %s: %d files from the memo (covered %v), want %d (%v)", format, c.name, ix.memoHits, ix.MemoCovered(), c.hits, c.covered)
			}
			for i := range ix.Files {
				f := &ix.Files[i]
				fromMemo := f.flags&flagOwnName != 0
				if fromMemo && (c.memoless || unsafe.StringData(f.Filename) != unsafe.StringData(memo.files[i].filename)) {
					t.Fatalf("%v %s: file %d: Filename is not the memo's string", format, c.name, i)
				}
				// The memo's sha256 string exactly when the value is the same.
				ownSha := fromMemo && f.Sha256 == memo.files[i].sha256
				if (f.flags&flagOwnSha != 0) != ownSha || ownSha && unsafe.StringData(f.Sha256) != unsafe.StringData(memo.files[i].sha256) {
					t.Fatalf("%v %s: file %d: sha256 %q from the memo %v, memo has %q", format, c.name, i, f.Sha256, f.flags&flagOwnSha != 0, memo.files[i].sha256)
				}
			}
			// The strings callers may keep (detach) survive the body.
			for i := range body {
				body[i] = 'X'
			}
			for i := range want.Files {
				g, w := &ix.Files[i], &want.Files[i]
				if g.Filename != w.Filename || g.Version != w.Version || g.Type != w.Type || !reflect.DeepEqual(g.ParseErr, w.ParseErr) {
					t.Fatalf("%v %s: file %d changed with the body: %q %q", format, c.name, i, g.Filename, g.Version)
				}
			}
		}
		// A memo of the page itself covers it: nothing new to remember.
		again := new(Index)
		if err := ParseIndexWith(again, render(base), format, "zope-interface", nil, nil); err != nil {
			t.Fatal(err)
		}
		full := NewNameMemo(again)
		// A memo made from a page parsed with a memo shares its strings.
		if err := ParseIndexWith(again, render(base), format, "zope-interface", full, nil); err != nil {
			t.Fatal(err)
		}
		fuller := NewNameMemo(again)
		for i := range fuller.files {
			if fuller.files[i].sha256 != full.files[i].sha256 || unsafe.StringData(fuller.files[i].sha256) != unsafe.StringData(full.files[i].sha256) {
				t.Fatalf("%v: file %d: a memo of a memo-parsed page does not share the sha256", format, i)
			}
		}
		if err := ParseIndexWith(again, render(base), format, "zope-interface", full, nil); err != nil {
			t.Fatal(err)
		}
		if !again.MemoCovered() {
			t.Fatalf("%v: a page parsed with its own memo is not covered (%d hits of %d)", format, again.memoHits, len(again.Files))
		}
		fewer := *base
		fewer.Files = base.Files[:len(base.Files)-3]
		if err := ParseIndexWith(again, render(&fewer), format, "zope-interface", full, nil); err != nil || again.MemoCovered() || again.memoHits != len(fewer.Files) {
			t.Fatalf("%v: a page with fewer files: covered %v, %d hits, error %v", format, again.MemoCovered(), again.memoHits, err)
		}
	}
}
