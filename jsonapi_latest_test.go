package osaproxy

import "testing"

func TestNewestStable(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want string
	}{
		{[]string{"1.0", "3.0", "2.0"}, "3.0"},
		{[]string{"1.0", "2.0rc1"}, "1.0"},
		{[]string{"1.0.dev3", "1.0a1"}, "1.0a1"},
		{[]string{"1.0+cpu", "1.0.post1"}, "1.0.post1"},
		{[]string{"2.0.0-rc.1", "1.9"}, "1.9"},
		{[]string{"10.0", "9.0"}, "10.0"},
		{nil, ""},
	} {
		if got := newestStable(tc.in); got != tc.want {
			t.Errorf("newestStable(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestIsPre(t *testing.T) {
	for v, want := range map[string]bool{
		"1.0": false, "2.0rc1": true, "1.0.dev3": true, "1.0a1": true, "1.0.post1": false,
		"1.0+abc": false, "1.0+cpu": false, "1.0beta": true, "1.0-alpha": true, "2.0.0-rc.1": true,
		"1.0.post1.dev2": true, "2.0c1": true,
	} {
		if got := isPre(v); got != want {
			t.Errorf("isPre(%q) = %v, want %v", v, got, want)
		}
	}
}
