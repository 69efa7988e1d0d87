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

// TestDidYouMean: a suggestion is shown bare when it is a plain name, and
// quoted when a bare one would hide something.
func TestDidYouMean(t *testing.T) {
	for name, want := range map[string]string{
		"Country":       " (did you mean Country?)",
		"Customer.Age":  " (did you mean Customer.Age?)",
		"groups[0]":     " (did you mean groups[0]?)",
		"Größe":         " (did you mean Größe?)",
		" Country":      ` (did you mean " Country"?)`,
		"Coun\ufefftry": ` (did you mean "Coun\ufefftry"?)`,
		"Order Date":    ` (did you mean "Order Date"?)`,
		"":              "",
	} {
		if got := DidYouMean(name); got != want {
			t.Errorf("DidYouMean(%q) = %q, want %q", name, got, want)
		}
	}
}
