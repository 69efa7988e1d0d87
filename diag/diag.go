// Package diag holds the problem lists that segmentkit reports when it reads
// user input: schemas, data files and segment definitions.
//
// A reader collects every problem it finds into a [List] instead of stopping
// at the first one, so a user can fix them all in one pass. Each [Problem]
// says where it is (a definition path such as
// "groups[1].condition.and[0].attribute", or a file position such as
// "Order.csv:1042: column Amount"), what is wrong, and, where a name is
// close to a valid one, a suggestion. Each problem also carries a sentinel
// error of the package that found it, so callers test for a kind of problem
// with errors.Is:
//
//	if errors.Is(err, segment.ErrUnknownAttribute) { ... }
//
// Every exported sentinel of segmentkit is made by [NewSentinel], which
// gives it a stable code such as "segment.unknown_attribute". [Code]
// returns the code of the sentinel an error wraps, for output a program
// reads (the CLI's JSON) and for files that keep problems (the catalog);
// [Sentinel] gives the sentinel back from its code. Codes never change
// when messages are reworded.
package diag

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// Problem is one thing wrong with an input.
type Problem struct {
	// Path locates the problem: a definition path
	// ("groups[0].condition.attribute") or a file position
	// ("Order.csv:12: column Amount"). It may be empty for a problem of the
	// whole input.
	Path string
	// Message says what is wrong, without the path or the suggestion.
	Message string
	// Suggestion is the nearest valid name, or "" when none is close.
	Suggestion string
	// Err is the sentinel error for the kind of problem; errors.Is on the
	// problem, or on a List holding it, matches it. It may be nil.
	Err error
}

// Error formats the problem as "path: message (did you mean X?)".
func (p *Problem) Error() string {
	var b strings.Builder
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	b.WriteString(DidYouMean(p.Suggestion))
	return b.String()
}

// DidYouMean returns " (did you mean NAME?)", the suggestion every message
// of segmentkit ends with, NAME as QuoteName shows it; "" when there is no
// suggestion.
func DidYouMean(name string) string {
	if name == "" {
		return ""
	}
	return " (did you mean " + QuoteName(name) + "?)"
}

// QuoteName returns name as a message shows it: as it is when it is made
// of letters, digits and the punctuation of names and paths (_ - . [ ] /
// :), quoted as a Go string otherwise, so that a space at either end, an
// invisible character (a byte order mark, U+200B) or an empty name can be
// seen: Country, but " Country" and "Coun\ufefftry".
func QuoteName(name string) string {
	if name == "" {
		return `""`
	}
	for _, r := range name {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune("_-.[]/:", r) {
			return strconv.Quote(name)
		}
	}
	return name
}

// Unwrap returns the problem's sentinel error.
func (p *Problem) Unwrap() error { return p.Err }

// List is every problem found in one input. A non-empty List is an error;
// errors.Is and errors.As look through each of its problems.
type List []*Problem

// Add appends a problem built from the path, the sentinel and a formatted
// message.
func (l *List) Add(path string, sentinel error, format string, args ...any) *Problem {
	p := &Problem{Path: path, Message: fmt.Sprintf(format, args...), Err: sentinel}
	*l = append(*l, p)
	return p
}

// AddSuggest appends a problem like Add, with a suggestion: the nearest of
// candidates to name, if one is close.
func (l *List) AddSuggest(path string, sentinel error, name string, candidates []string, format string, args ...any) *Problem {
	p := l.Add(path, sentinel, format, args...)
	p.Suggestion = Nearest(name, candidates)
	return p
}

// Merge appends every problem of err to the list: the problems of a List,
// or err itself as a pathless problem otherwise. Prefix, if not empty, is
// put before each problem's path.
func (l *List) Merge(prefix string, err error) {
	if err == nil {
		return
	}
	var other List
	if errors.As(err, &other) {
		for _, p := range other {
			q := *p
			q.Path = join(prefix, q.Path)
			*l = append(*l, &q)
		}
		return
	}
	*l = append(*l, &Problem{Path: prefix, Message: err.Error(), Err: err})
}

func join(prefix, path string) string {
	switch {
	case prefix == "":
		return path
	case path == "":
		return prefix
	case strings.HasPrefix(path, "["):
		return prefix + path
	default:
		return prefix + "." + path
	}
}

// Err returns the list as an error, or a literal nil when it is empty.
func (l List) Err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}

// Error lists every problem, one per line.
func (l List) Error() string {
	switch len(l) {
	case 0:
		return "no problems"
	case 1:
		return l[0].Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d problems:", len(l))
	for _, p := range l {
		b.WriteString("\n  ")
		b.WriteString(p.Error())
	}
	return b.String()
}

// Unwrap returns the problems, so that errors.Is and errors.As see each.
func (l List) Unwrap() []error {
	errs := make([]error, len(l))
	for i, p := range l {
		errs[i] = p
	}
	return errs
}

// Nearest returns the candidate closest to name, or "" when none is close
// enough to be a likely typo. Case differences alone always count as close.
// A name that is not a likely typo of any candidate may still be a longer
// or shorter form of one ("operator" for "op"): the one candidate that
// starts with the name, or that the name starts with, at least two
// characters long, is returned then.
func Nearest(name string, candidates []string) string {
	if best := nearestTypo(name, candidates); best != "" {
		return best
	}
	lname := strings.ToLower(name)
	found := ""
	for _, c := range candidates {
		lc := strings.ToLower(c)
		if len(lc) < 2 || len(lname) < 2 || lc == lname {
			continue
		}
		if strings.HasPrefix(lc, lname) || strings.HasPrefix(lname, lc) {
			if found != "" {
				return "" // more than one: no likely one
			}
			found = c
		}
	}
	return found
}

func nearestTypo(name string, candidates []string) string {
	best, bestDist := "", -1
	lname := strings.ToLower(name)
	for _, c := range candidates {
		if c == name {
			continue
		}
		lc := strings.ToLower(c)
		d := distance(lname, lc)
		if lname == lc {
			d = 0
		}
		if bestDist < 0 || d < bestDist {
			best, bestDist = c, d
		}
	}
	if bestDist < 0 {
		return ""
	}
	// Allow about one edit in three characters, at least one, at most four.
	limit := len([]rune(name)) / 3
	limit = max(1, min(4, limit))
	if bestDist > limit {
		return ""
	}
	return best
}

// distance is the Levenshtein distance between a and b, counted in runes.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
