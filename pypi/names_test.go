package pypi

import "testing"

func TestNormalizeName(t *testing.T) {
	cases := []struct{ in, want string }{
		{"requests", "requests"},
		{"Django", "django"},
		{"python-dateutil", "python-dateutil"},
		{"zope.interface", "zope-interface"},
		{"Foo__Bar..baz--Qux", "foo-bar-baz-qux"},
		{"A-_.B", "a-b"},
		{"-leading", "-leading"},
		{"trailing_", "trailing-"},
		{"a", "a"},
		{"", ""},
		{"has.script", "has-script"},
		{"Ünïcode_Name", "ünïcode-name"},
	}
	for _, c := range cases {
		if got := NormalizeName(c.in); got != c.want {
			t.Errorf("NormalizeName(%q) = %q, want %q", c.in, got, c.want)
		}
		if got := IsNormalized(c.in); got != (c.in == c.want) {
			t.Errorf("IsNormalized(%q) = %v", c.in, got)
		}
		if !equalNormalized(c.in, c.want) {
			t.Errorf("equalNormalized(%q, %q) = false", c.in, c.want)
		}
		if c.want != "" && equalNormalized(c.in, c.want+"x") {
			t.Errorf("equalNormalized(%q, %q) = true", c.in, c.want+"x")
		}
	}
}

func TestNormalizeNameNoAlloc(t *testing.T) {
	n := testing.AllocsPerRun(100, func() {
		_ = NormalizeName("python-dateutil")
		_ = equalNormalized("Python_DateUtil", "python-dateutil")
	})
	if n != 0 {
		t.Fatalf("allocations for a normalized name: %v", n)
	}
}
