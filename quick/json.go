package quick

import (
	"encoding/json"
	"time"

	"github.com/segmentkit/segmentkit/segment"
)

// The JSON forms of a quick segment's fields, insights and sizes, which
// the CLI's --json and the service write.

type fieldJSON struct {
	Name        string `json:"name"`
	Origin      string `json:"source"`
	Type        string `json:"type"`
	Scale       string `json:"kind"`
	DisplayName string `json:"displayName,omitempty"`
}

func (f Field) json() fieldJSON {
	return fieldJSON{Name: f.Name, Origin: f.Origin.String(), Type: f.Type.String(), Scale: f.Scale.String(), DisplayName: f.DisplayName}
}

// MarshalJSON writes the field as {"name", "source", "type", "kind",
// "displayName"}: kind is categorical or numerical.
func (f Field) MarshalJSON() ([]byte, error) { return json.Marshal(f.json()) }

// jsonValue writes a value as a definition does; a value JSON cannot hold
// (an infinite sum) is written as the string of its text.
type jsonValue segment.Value

func (v jsonValue) MarshalJSON() ([]byte, error) {
	if b, err := segment.Value(v).MarshalJSON(); err == nil {
		return b, nil
	}
	return json.Marshal(string(v.Num))
}

// MarshalJSON writes {"value", "customers"}.
func (v ValueCount) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Value     jsonValue `json:"value"`
		Customers int       `json:"customers"`
	}{jsonValue(v.Value), v.Customers})
}

// MarshalJSON writes the field's members (Field.MarshalJSON), then asOf,
// customers, nulls and distinct, and top and other for a categorical
// field or percentiles (101 values, p0 to p100) for a numerical one.
func (in Insights) MarshalJSON() ([]byte, error) {
	out := struct {
		fieldJSON
		AsOf        string       `json:"asOf"`
		Customers   int          `json:"customers"`
		Nulls       int          `json:"nulls"`
		Distinct    int          `json:"distinct"`
		Top         []ValueCount `json:"top,omitempty"`
		Other       *int         `json:"other,omitempty"`
		Percentiles []jsonValue  `json:"percentiles,omitempty"`
	}{fieldJSON: in.Field.json(), AsOf: in.AsOf.Format(time.RFC3339Nano), Customers: in.Customers, Nulls: in.Nulls, Distinct: in.Distinct}
	if in.Field.Scale == Categorical {
		out.Top = in.Top
		if out.Top == nil {
			out.Top = []ValueCount{}
		}
		out.Other = &in.Other
	}
	for _, p := range in.Percentiles {
		out.Percentiles = append(out.Percentiles, jsonValue(p))
	}
	return json.Marshal(out)
}

// MarshalJSON writes {"members", "customers", "share"}.
func (s Size) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Members   int     `json:"members"`
		Customers int     `json:"customers"`
		Share     float64 `json:"share"`
	}{s.MemberCount, s.Customers, s.Share})
}

// ValueJSON returns v as JSON the way quick's JSON forms write values: as
// a definition does, or as a string when JSON cannot hold it.
func ValueJSON(v segment.Value) json.Marshaler { return jsonValue(v) }
