// Package suite holds the benchmark suite: segment definitions over the
// retail dataset of package gen (JSON, FORMAT.md section 2), the two
// insights of a quick segment, and for each the hand-written DuckDB SQL
// that gives the same answer.
//
// Each segment's SQL selects the customer keys (CustomerId) of its members,
// one row per member. Each insight's SQL selects the rows of the insight:
// (value, customers) for the most frequent values, (p, value) for the
// percentiles. In the SQL, {{asof}} stands for the as-of day, as a DATE
// literal.
//
//	cases, err := suite.Cases(gen.AsOf)
package suite

import (
	"embed"
	"fmt"
	"strings"
	"time"

	"github.com/segmentkit/segmentkit/segment"
)

//go:embed segments/*.json sql/*.sql
var files embed.FS

// Kind says what a case computes.
type Kind uint8

const (
	// Members: a segment's member set.
	Members Kind = iota
	// TopValues: the ten most frequent values of a field with their
	// customer counts (quick insights of a categorical field).
	TopValues
	// Percentiles: the percentiles p0..p100 of a field, nearest rank
	// (quick insights of a numerical field).
	Percentiles
)

// String returns "members", "top-values", "percentiles" or "Kind(N)".
func (k Kind) String() string {
	switch k {
	case Members:
		return "members"
	case TopValues:
		return "top-values"
	case Percentiles:
		return "percentiles"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Case is one entry of the suite.
type Case struct {
	Name string
	Kind Kind
	// Def is the segment definition, for Members.
	Def *segment.Definition
	// Field is the insight's field ("Customer.Country"), for TopValues and
	// Percentiles.
	Field string
	// SQL is the DuckDB query, with the as-of day filled in.
	SQL string
}

// order lists the cases in the order they are run and reported.
var order = []struct {
	name  string
	kind  Kind
	field string
}{
	{"CustomerMix", Members, ""},
	{"EmailContains", Members, ""},
	{"HighValueEscalated", Members, ""},
	{"ToyLines", Members, ""},
	{"OnlineOnly", Members, ""},
	{"NoSeriousCases", Members, ""},
	{"DormantVips", Members, ""},
	{"FrequentBuyers", Members, ""},
	{"RecentBuyers", Members, ""},
	{"LapsedBuyers", Members, ""},
	{"BigBaskets", Members, ""},
	{"MultiChannel", Members, ""},
	{"GroupOps", Members, ""},
	{"TopCountries", TopValues, "Customer.Country"},
	{"AgePercentiles", Percentiles, "Customer.Age"},
}

// Cases returns the suite, with the SQL's as-of day set to asOf's day in
// UTC. The definitions are parsed fresh on every call; they are the
// caller's.
func Cases(asOf time.Time) ([]Case, error) {
	day := "DATE '" + asOf.UTC().Format(time.DateOnly) + "'"
	out := make([]Case, 0, len(order))
	for _, o := range order {
		q, err := files.ReadFile("sql/" + o.name + ".sql")
		if err != nil {
			return nil, fmt.Errorf("suite %s: %w", o.name, err)
		}
		c := Case{Name: o.name, Kind: o.kind, Field: o.field, SQL: strings.ReplaceAll(string(q), "{{asof}}", day)}
		if o.kind == Members {
			data, err := files.ReadFile("segments/" + o.name + ".json")
			if err != nil {
				return nil, fmt.Errorf("suite %s: %w", o.name, err)
			}
			if c.Def, err = segment.Parse(data); err != nil {
				return nil, fmt.Errorf("suite %s: %w", o.name, err)
			}
			if c.Def.Name != o.name {
				return nil, fmt.Errorf("suite %s: definition is named %q", o.name, c.Def.Name)
			}
		}
		out = append(out, c)
	}
	return out, nil
}
