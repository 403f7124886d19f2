package osaproxy

import (
	"fmt"
	"testing"

	"github.com/osaproxy/caddy-osaproxy/internal/pagegen"
	"github.com/osaproxy/caddy-osaproxy/pypi"
)

// TestNameMemoStoreBound: the store never holds more files than its bound,
// replaces a project's memo, and refuses a memo larger than the bound.
func TestNameMemoStoreBound(t *testing.T) {
	memo := func(files int) *pypi.NameMemo {
		ix, err := pypi.ParseIndex(pagegen.NewProject(1, "demo", files, 1).HTML(), pypi.FormatHTML, "demo")
		if err != nil {
			t.Fatal(err)
		}
		return pypi.NewNameMemo(ix)
	}
	s := newNameMemoStore(100)
	m30 := memo(30)
	for i := range 10 {
		s.put(nameMemoKey("r", fmt.Sprint("p", i)), m30)
		if s.n > 100 || s.n != 30*len(s.m) {
			t.Fatalf("after %d puts: %d files held in %d memos", i+1, s.n, len(s.m))
		}
		if s.get(nameMemoKey("r", fmt.Sprint("p", i))) != m30 {
			t.Fatalf("the memo just put is not there")
		}
	}
	m10 := memo(10)
	s.put(nameMemoKey("r", "p9"), m10) // replaced, not added
	if s.get(nameMemoKey("r", "p9")) != m10 || s.n != 30*(len(s.m)-1)+10 {
		t.Fatalf("replacing: %d files in %d memos", s.n, len(s.m))
	}
	n, held := s.n, len(s.m)
	s.put(nameMemoKey("r", "big"), memo(101))
	if s.get(nameMemoKey("r", "big")) != nil || s.n != n || len(s.m) != held {
		t.Fatalf("a memo beyond the bound changed the store (%d files in %d memos)", s.n, len(s.m))
	}
}
