package diag

import "testing"

func TestNearest(t *testing.T) {
	for _, c := range []struct {
		name       string
		candidates []string
		want       string
	}{
		{"dta", []string{"data", "segment"}, "data"},
		{"DATA", []string{"data", "segment"}, "data"},
		{"verbose", []string{"data", "segment"}, ""},
		{"operator", []string{"op", "value", "field"}, "op"},
		{"seg", []string{"segment", "source"}, "segment"},
		{"s", []string{"segment", "source"}, ""},
		{"so", []string{"source", "sort"}, ""},
		{"data", []string{"data"}, ""},
	} {
		if got := Nearest(c.name, c.candidates); got != c.want {
			t.Errorf("Nearest(%q, %q) = %q, want %q", c.name, c.candidates, got, c.want)
		}
	}
}
