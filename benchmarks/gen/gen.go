// Package gen generates the retail dataset of the benchmarks: customers,
// their orders, the orders' lines and their support cases, as a segmentkit
// data directory (schema.json and one Parquet file per entity).
//
// The data is deterministic: a scale always gives the same files, whatever
// the number of cores. It is skewed like real retail data: a few heavy
// buyers hold a large share of the orders and about 15% of the customers
// never ordered; order dates follow the seasons (a peak in November and
// December) and grow over the three years before AsOf; countries,
// channels, categories and priorities follow Zipf-like weights; several
// columns hold about 1% to 5% nulls, and a few foreign keys are null or
// match no row. Amounts and prices are multiples of 0.25, exact in binary,
// so that sums do not depend on the order of addition.
//
// Rows are produced and written in row groups of RowGroupRows, generated
// on every core and written in order, so memory stays bounded whatever the
// scale:
//
//	sc, _ := gen.ScaleByName("S")
//	generated, err := gen.Generate(ctx, "data/S", sc) // false: already there
package gen

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// AsOf is the as-of instant of the dataset: every date lies on or before
// its day, and the suite evaluates at it.
var AsOf = time.Date(2025, time.July, 1, 0, 0, 0, 0, time.UTC)

// RowGroupRows is the number of rows per Parquet row group, and per batch
// of generation.
const RowGroupRows = 1 << 20

// version names the generator's output; a data directory written by
// another version is generated again.
const version = "retail-v1"

// markerFile is written last into a generated directory; it names the
// scale and the generator version.
const markerFile = ".generated"

// Scale is a named size of the dataset.
type Scale struct {
	Name       string
	Customers  int64
	Orders     int64
	Cases      int64
	OrderLines int64
}

// Scales lists the named scales.
var Scales = []Scale{
	{Name: "S", Customers: 100_000, Orders: 1_000_000, Cases: 200_000, OrderLines: 2_000_000},
	{Name: "M", Customers: 1_000_000, Orders: 10_000_000, Cases: 2_000_000, OrderLines: 20_000_000},
	{Name: "L", Customers: 10_000_000, Orders: 100_000_000, Cases: 20_000_000, OrderLines: 0},
}

// ErrScale is returned for an unknown scale name.
var ErrScale = errors.New("unknown scale")

// ScaleByName returns the scale named name (S, M or L, any case).
func ScaleByName(name string) (Scale, error) {
	for _, s := range Scales {
		if strings.EqualFold(s.Name, name) {
			return s, nil
		}
	}
	return Scale{}, fmt.Errorf("%w %q (want S, M or L)", ErrScale, name)
}

// Rows returns the number of rows of the named entity at the scale.
func (s Scale) Rows(entity string) int64 {
	switch entity {
	case "Customer":
		return s.Customers
	case "Order":
		return s.Orders
	case "OrderLine":
		return s.OrderLines
	case "SupportCase":
		return s.Cases
	}
	return 0
}

// Schema is the schema.json of the dataset.
const Schema = `{
  "customerEntity": "Customer",
  "entities": [
    {"name": "Customer", "key": "CustomerId", "source": "Customer.parquet",
     "attributes": [
       {"name": "CustomerId", "type": "integer"},
       {"name": "Age",        "type": "integer"},
       {"name": "Country",    "type": "string"},
       {"name": "Email",      "type": "string"},
       {"name": "SignupDate", "type": "date"},
       {"name": "IsVip",      "type": "boolean"}]},
    {"name": "Order", "key": "OrderId", "source": "Order.parquet",
     "attributes": [
       {"name": "OrderId",    "type": "integer"},
       {"name": "CustomerId", "type": "integer"},
       {"name": "Amount",     "type": "number"},
       {"name": "OrderDate",  "type": "date"},
       {"name": "Channel",    "type": "string"}]},
    {"name": "OrderLine", "key": "LineId", "source": "OrderLine.parquet",
     "attributes": [
       {"name": "LineId",   "type": "integer"},
       {"name": "OrderId",  "type": "integer"},
       {"name": "Category", "type": "string"},
       {"name": "Quantity", "type": "integer"},
       {"name": "Price",    "type": "number"}]},
    {"name": "SupportCase", "key": "CaseId", "source": "SupportCase.parquet",
     "attributes": [
       {"name": "CaseId",     "type": "integer"},
       {"name": "CustomerId", "type": "integer"},
       {"name": "Escalated",  "type": "boolean"},
       {"name": "Priority",   "type": "string"},
       {"name": "Opened",     "type": "date"}]}
  ],
  "relationships": [
    {"name": "OrderCustomer",
     "from": {"entity": "Order", "attribute": "CustomerId"},
     "to":   {"entity": "Customer", "attribute": "CustomerId"}},
    {"name": "LineOrder",
     "from": {"entity": "OrderLine", "attribute": "OrderId"},
     "to":   {"entity": "Order", "attribute": "OrderId"}},
    {"name": "CaseCustomer",
     "from": {"entity": "SupportCase", "attribute": "CustomerId"},
     "to":   {"entity": "Customer", "attribute": "CustomerId"}}
  ]
}
`

// Entities lists the entities in the order Generate writes them.
var Entities = []string{"Customer", "Order", "OrderLine", "SupportCase"}

// Generated reports whether dir already holds the dataset at scale s.
func Generated(dir string, s Scale) bool {
	b, err := os.ReadFile(filepath.Join(dir, markerFile))
	return err == nil && string(b) == marker(s)
}

func marker(s Scale) string {
	return fmt.Sprintf("%s %s %d %d %d %d\n", version, s.Name, s.Customers, s.Orders, s.Cases, s.OrderLines)
}

// Generate writes the dataset at scale s into dir, creating it if needed,
// unless dir already holds it; it reports whether it wrote anything. Files
// are written under temporary names and renamed, and the marker last, so
// an interrupted run is redone. Cancelling ctx stops it between row groups
// with an error wrapping ctx.Err().
func Generate(ctx context.Context, dir string, s Scale) (bool, error) {
	if Generated(dir, s) {
		return false, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, err
	}
	_ = os.Remove(filepath.Join(dir, markerFile))
	if err := os.WriteFile(filepath.Join(dir, "schema.json"), []byte(Schema), 0o644); err != nil {
		return false, err
	}
	for _, e := range Entities {
		if err := writeEntity(ctx, dir, s, e); err != nil {
			return false, fmt.Errorf("generate %s: %w", e, err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, markerFile), []byte(marker(s)), 0o644); err != nil {
		return false, err
	}
	return true, nil
}

// writeEntity generates and writes one entity's Parquet file.
func writeEntity(ctx context.Context, dir string, s Scale, entity string) error {
	g := newGenerator(s, entity)
	path := filepath.Join(dir, entity+".parquet")
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	defer func() {
		_ = f.Close()
		_ = os.Remove(tmp)
	}()
	props := []parquet.WriterProperty{
		parquet.WithCompression(compress.Codecs.Snappy),
		parquet.WithMaxRowGroupLength(RowGroupRows),
		// Only the low-cardinality strings are dictionary columns; the
		// keys and measurements would just pay for a dictionary that
		// overflows.
		parquet.WithDictionaryDefault(false),
	}
	for _, name := range g.dictColumns {
		props = append(props, parquet.WithDictionaryFor(name, true))
	}
	fw, err := pqarrow.NewFileWriter(g.schema, f, parquet.NewWriterProperties(props...),
		pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		return err
	}
	if err := generateBatches(ctx, g, func(rec arrow.RecordBatch) error { return fw.Write(rec) }); err != nil {
		_ = fw.Close()
		return err
	}
	if g.rows == 0 {
		// An empty file still needs its columns; a zero-row record
		// writes one empty row group.
		rec := g.batch(0)
		err := fw.Write(rec)
		rec.Release()
		if err != nil {
			_ = fw.Close()
			return err
		}
	}
	if err := fw.Close(); err != nil { // closes f too
		return err
	}
	return os.Rename(tmp, path)
}

// generateBatches builds the entity's batches on every core and hands
// them to write in order; at most two batches per worker are built ahead
// of the writer. Batches use Go's allocator, so those left unwritten after
// an error are simply garbage collected.
func generateBatches(ctx context.Context, g *generator, write func(arrow.RecordBatch) error) error {
	n := int((g.rows + RowGroupRows - 1) / RowGroupRows)
	if n == 0 {
		return nil
	}
	workers := min(runtime.GOMAXPROCS(0), n)
	slots := make([]chan arrow.RecordBatch, n)
	for i := range slots {
		slots[i] = make(chan arrow.RecordBatch, 1)
	}
	done := make(chan struct{})
	defer close(done)
	next := make(chan int)
	go func() {
		defer close(next)
		for i := range n {
			select {
			case next <- i:
			case <-done:
				return
			}
		}
	}()
	ahead := make(chan struct{}, 2*workers)
	for range workers {
		go func() {
			for i := range next {
				select {
				case ahead <- struct{}{}:
				case <-done:
					return
				}
				slots[i] <- g.batch(i)
			}
		}()
	}
	for i := range n {
		var rec arrow.RecordBatch
		select {
		case rec = <-slots[i]:
		case <-ctx.Done():
			return ctx.Err()
		}
		err := write(rec)
		rec.Release()
		<-ahead
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return nil
}
