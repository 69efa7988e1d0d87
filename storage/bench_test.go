package storage

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkLoadCSV loads a generated customer file of 100k rows with every
// type, a plain string key and a dictionary string column.
func BenchmarkLoadCSV(b *testing.B) {
	const rows = 100_000
	var sb strings.Builder
	sb.WriteString("Id,I,N,S,D,T,B\n")
	countries := []string{"FR", "DE", "IT", "ES", "NL", "BE", ""}
	for i := range rows {
		fmt.Fprintf(&sb, "%d,%d,%g,%s,2024-%02d-%02d,2024-01-01T%02d:%02d:%02d.%03dZ,%t\n",
			i, i*37-1000, float64(i)/7, countries[i%len(countries)], i%12+1, i%28+1, i%24, i%60, (i/60)%60, i%1000, i%3 == 0)
	}
	data := sb.String()
	dir := writeDir(b, typesSchema, map[string]string{"Customer.csv": data})
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		snap, err := Load(b.Context(), dir, Options{})
		if err != nil {
			b.Fatal(err)
		}
		snap.Release()
	}
}
