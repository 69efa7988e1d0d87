package clickhouse

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// The tests' data directory: customers, their orders, order lines (two
// hops from the customer), support cases, and stores (related to no
// customer), with nulls, hard strings, floats, dates and datetimes, and
// broken links.

type testAttr struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

type testEntity struct {
	Name       string     `json:"name"`
	Key        string     `json:"key"`
	Source     string     `json:"source"`
	Attributes []testAttr `json:"attributes"`
}

type testEndpoint struct {
	Entity    string `json:"entity"`
	Attribute string `json:"attribute"`
}

type testRel struct {
	Name string       `json:"name"`
	From testEndpoint `json:"from"`
	To   testEndpoint `json:"to"`
}

var testEntities = []testEntity{
	{Name: "Customer", Key: "CustomerId", Source: "Customer.csv", Attributes: []testAttr{
		{"CustomerId", "integer"}, {"Name", "string"}, {"Score", "number"}, {"Born", "date"}, {"LastSeen", "datetime"}, {"Vip", "boolean"},
	}},
	{Name: "Order", Key: "OrderId", Source: "Order.csv", Attributes: []testAttr{
		{"OrderId", "string"}, {"CustomerId", "integer"}, {"Amount", "number"}, {"OrderDate", "date"}, {"PlacedAt", "datetime"}, {"Gift", "boolean"}, {"Note", "string"},
	}},
	{Name: "OrderLine", Key: "LineId", Source: "OrderLine.csv", Attributes: []testAttr{
		{"LineId", "integer"}, {"OrderId", "string"}, {"Qty", "integer"}, {"Price", "number"},
	}},
	{Name: "SupportCase", Key: "CaseId", Source: "SupportCase.csv", Attributes: []testAttr{
		{"CaseId", "integer"}, {"CustomerId", "integer"}, {"Opened", "datetime"}, {"Escalated", "boolean"},
	}},
	{Name: "Store", Key: "StoreId", Source: "Store.csv", Attributes: []testAttr{
		{"StoreId", "string"}, {"City", "string"},
	}},
}

var testRels = []testRel{
	{"OrderCustomer", testEndpoint{"Order", "CustomerId"}, testEndpoint{"Customer", "CustomerId"}},
	{"OrderLineOrder", testEndpoint{"OrderLine", "OrderId"}, testEndpoint{"Order", "OrderId"}},
	{"CaseCustomer", testEndpoint{"SupportCase", "CustomerId"}, testEndpoint{"Customer", "CustomerId"}},
}

// testRow is one row: attribute name to CSV text, "" for null.
type testRow map[string]string

type testData struct {
	dir  string
	rows map[string][]testRow
}

func (d *testData) entity(name string) testEntity {
	for _, e := range testEntities {
		if e.Name == name {
			return e
		}
	}
	panic("no entity " + name)
}

// Pools of values, cycled through by the rows.
var (
	hardStrings = []string{
		`O'Brien said "hi"`, "tab\there", "new\nline", `back\slash`, `\N`, `\\N`, "NULL",
		"Grüße aus Köln, 東京, 🙂", "comma, inside", "  padded  ", "semi;colon", "ÉTÉ", "x\x01y",
		"'", "\\", "\t", "trailing backslash\\",
	}
	hardFloats = []string{
		"0.1", "1e-300", "5e-324", "2.2250738585072011e-308", "8.41e21", "-0", "1.7976931348623157e308",
		"-1.7976931348623157e308", "123.25", "", "9007199254740993", "0.30000000000000004", "1e23", "-2.5", "3",
	}
	hardDates     = []string{"1970-01-01", "2105-12-31", "2000-02-29", "", "2026-06-15", "1999-12-31"}
	hardDatetimes = []string{
		"2026-06-15T12:00:00.123456Z", "1969-12-31T23:59:59.999999Z", "2026-06-15T16:05:00.5+02:00",
		"1970-01-01T00:00:00Z", "", "2105-12-31T23:59:59.000001Z", "1900-01-01T00:00:00Z",
	}
	hardBools = []string{"true", "false", ""}
	hardInts  = []string{"0", "-1", "9223372036854775807", "-9223372036854775808", "", "42"}
)

func pick(pool []string, i int) string { return pool[i%len(pool)] }

// writeTestData writes the data directory into a new temporary folder.
func writeTestData(t *testing.T) *testData {
	t.Helper()
	d := &testData{dir: t.TempDir(), rows: map[string][]testRow{}}
	custKeys := []string{"-9223372036854775808", "9223372036854775807", "0"}
	for i := 1; i <= 45; i++ {
		custKeys = append(custKeys, strconv.Itoa(i*7919))
	}
	for i, k := range custKeys {
		d.rows["Customer"] = append(d.rows["Customer"], testRow{
			"CustomerId": k, "Name": pick(hardStrings, i), "Score": pick(hardFloats, i), "Born": pick(hardDates, i),
			"LastSeen": pick(hardDatetimes, i), "Vip": pick(hardBools, i),
		})
	}
	orderKeys := []string{"o'quote", "o\ttab", `o\back`, "о-кириллица", "o\nnewline", `\N`}
	n := 0
	addOrder := func(cust string) {
		id := fmt.Sprintf("o-%d", n)
		if n < len(orderKeys) {
			id = orderKeys[n]
		}
		d.rows["Order"] = append(d.rows["Order"], testRow{
			"OrderId": id, "CustomerId": cust, "Amount": pick(hardFloats, n+3), "OrderDate": pick(hardDates, n),
			"PlacedAt": pick(hardDatetimes, n), "Gift": pick(hardBools, n), "Note": pick(hardStrings, n+5),
		})
		n++
	}
	for i, k := range custKeys {
		for range i % 4 {
			addOrder(k)
		}
	}
	// Broken links: orders without a customer, or of one that is not there.
	addOrder("")
	addOrder("")
	addOrder("424242")
	addOrder("-5")
	line := 0
	addLine := func(order string) {
		line++
		d.rows["OrderLine"] = append(d.rows["OrderLine"], testRow{
			"LineId": strconv.Itoa(line), "OrderId": order, "Qty": pick(hardInts, line), "Price": pick(hardFloats, line+7),
		})
	}
	for i, o := range d.rows["Order"] {
		for range i % 3 {
			addLine(o["OrderId"])
		}
	}
	addLine("")
	addLine("no such order")
	for i, k := range custKeys {
		if i%3 == 0 {
			d.rows["SupportCase"] = append(d.rows["SupportCase"], testRow{
				"CaseId": strconv.Itoa(100 + i), "CustomerId": k, "Opened": pick(hardDatetimes, i+1), "Escalated": pick(hardBools, i+1),
			})
		}
	}
	d.rows["SupportCase"] = append(d.rows["SupportCase"], testRow{"CaseId": "1", "CustomerId": "", "Opened": "", "Escalated": "true"})
	d.rows["Store"] = []testRow{{"StoreId": "s1", "City": "Zürich"}, {"StoreId": "s2", "City": ""}, {"StoreId": "s'3", "City": "a\tb"}}
	d.write(t)
	return d
}

func (d *testData) write(t *testing.T) {
	t.Helper()
	sch := map[string]any{"customerEntity": "Customer", "entities": testEntities, "relationships": testRels}
	b, err := json.MarshalIndent(sch, "", "  ")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(d.dir, "schema.json"), b, 0o644))
	for _, e := range testEntities {
		f, err := os.Create(filepath.Join(d.dir, e.Source))
		require.NoError(t, err)
		w := csv.NewWriter(f)
		var header []string
		for _, a := range e.Attributes {
			header = append(header, a.Name)
		}
		require.NoError(t, w.Write(header))
		for _, r := range d.rows[e.Name] {
			rec := make([]string, len(header))
			for i, h := range header {
				rec[i] = r[h]
			}
			require.NoError(t, w.Write(rec))
		}
		w.Flush()
		require.NoError(t, w.Error())
		require.NoError(t, f.Close())
	}
}

// customerOf returns the key of the customer a row of entity links to,
// following the relationships, or "" when it links to none.
func (d *testData) customerOf(entity string, r testRow) string {
	switch entity {
	case "Customer":
		return r["CustomerId"]
	case "Order", "SupportCase":
		k := r["CustomerId"]
		for _, c := range d.rows["Customer"] {
			if c["CustomerId"] == k && k != "" {
				return k
			}
		}
		return ""
	case "OrderLine":
		for _, o := range d.rows["Order"] {
			if o["OrderId"] == r["OrderId"] && r["OrderId"] != "" {
				return d.customerOf("Order", o)
			}
		}
	}
	return ""
}

// expectedShard is where Load must put a row: its customer's shard, or
// shard 0 without a customer.
func (d *testData) expectedShard(entity string, r testRow, shards int) int {
	k := d.customerOf(entity, r)
	if k == "" {
		return 0
	}
	return ShardOf(k, shards)
}
