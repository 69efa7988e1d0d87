package conformance

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/catalog"
	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/internal/regular"
	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/storage"
)

// The bad-input table: definitions, schemas, data files and catalog files
// that are wrong in one way each. Every one must give an error that wraps
// the sentinel of its kind (errors.Is), says where and what (the key part
// of its message), is at most a few lines long, and never a panic.

// badSchema is the schema the definition and data cases use.
const badSchema = `{
  "customerEntity": "Customer",
  "entities": [
    {"name": "Customer", "key": "CustomerId", "source": "Customer.csv",
     "attributes": [
       {"name": "CustomerId", "type": "string"},
       {"name": "Name", "type": "string"},
       {"name": "Age", "type": "integer"},
       {"name": "Joined", "type": "date"},
       {"name": "Seen", "type": "datetime"},
       {"name": "Vip", "type": "boolean"}]},
    {"name": "Order", "key": "OrderId", "source": "Order.csv",
     "attributes": [
       {"name": "OrderId", "type": "string"},
       {"name": "CustomerId", "type": "string"},
       {"name": "Amount", "type": "number"},
       {"name": "Day", "type": "date"},
       {"name": "Channel", "type": "string"}]}
  ],
  "relationships": [
    {"name": "OrderCustomer", "from": {"entity": "Order", "attribute": "CustomerId"},
     "to": {"entity": "Customer", "attribute": "CustomerId"}}
  ],
  "measures": [
    {"name": "Spend", "related": "Order", "aggregate": {"function": "sum", "attribute": "Order.Amount"}}
  ]
}`

const (
	badCustomers = "CustomerId,Name,Age,Joined,Seen,Vip\nK1,Ann,40,2020-01-02,2026-01-01T10:00:00Z,true\nK2,Bo,,,,\n"
	badOrders    = "OrderId,CustomerId,Amount,Day,Channel\nO1,K1,10.5,2026-01-01,web\nO2,K2,3,2026-02-01,app\n"
)

// badCase is one row of the table.
type badCase struct {
	name string
	// err returns the error the input gives.
	err  func(t *testing.T) error
	want error
	// msg is the key part of the message: where and what.
	msg string
}

// one wraps a condition in a definition of one group.
func one(cond string) string {
	return `{"name": "Bad", "groups": [{"condition": ` + cond + `}]}`
}

func defCase(name, def string, want error, msg string) badCase {
	return badCase{name: "definition/" + name, want: want, msg: msg, err: func(t *testing.T) error {
		sch, err := schema.Parse([]byte(badSchema))
		require.NoError(t, err)
		d, err := segment.Parse([]byte(def))
		if err != nil {
			return err
		}
		return d.ValidateWith(sch, segment.ValidateOptions{Segments: func(name string) bool { return name == "Known" }})
	}}
}

func schemaCase(name, text string, want error, msg string) badCase {
	return badCase{name: "schema/" + name, want: want, msg: msg, err: func(*testing.T) error {
		_, err := schema.Parse([]byte(text))
		return err
	}}
}

// dataCase loads a data directory of badSchema, badCustomers and
// badOrders with files replaced (a nil content removes the file); setup,
// if not nil, runs on the directory before the load.
func dataCase(name string, files map[string]string, setup func(t *testing.T, dir string), want error, msg string) badCase {
	return badCase{name: "data/" + name, want: want, msg: msg, err: func(t *testing.T) error {
		dir := t.TempDir()
		all := map[string]string{"schema.json": badSchema, "Customer.csv": badCustomers, "Order.csv": badOrders}
		for k, v := range files {
			all[k] = v
		}
		for k, v := range all {
			if v == "<none>" {
				continue
			}
			require.NoError(t, os.WriteFile(filepath.Join(dir, k), []byte(v), 0o644))
		}
		if setup != nil {
			setup(t, dir)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		snap, err := storage.Load(ctx, dir, storage.Options{})
		require.NoError(t, ctx.Err(), "the load blocked")
		if err == nil {
			snap.Release()
		}
		return err
	}}
}

// catalogCase opens a catalog file holding content and lists it.
func catalogCase(name string, content []byte, want error, msg string) badCase {
	return badCase{name: "catalog/" + name, want: want, msg: msg, err: func(t *testing.T) error {
		path := filepath.Join(t.TempDir(), "segments.db")
		require.NoError(t, os.WriteFile(path, content, 0o644))
		c, err := catalog.Open(path, catalog.Options{})
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.List(catalog.ListOptions{})
		return err
	}}
}

func badCases() []badCase {
	pred := func(attr, op, value string) string {
		if value == "" {
			return fmt.Sprintf(`{"attribute": %q, "operator": %q}`, attr, op)
		}
		return fmt.Sprintf(`{"attribute": %q, "operator": %q, "value": %s}`, attr, op, value)
	}
	nested := strings.Repeat(`{"not": `, segment.MaxDepth) + pred("Customer.Vip", "isTrue", "") + strings.Repeat(`}`, segment.MaxDepth)
	longList := "[" + strings.TrimSuffix(strings.Repeat(`"a",`, segment.MaxInValues+1), ",") + "]"
	manyGroups := `{"name": "Bad", "groups": [{"condition": ` + pred("Customer.Vip", "isTrue", "") + `}` +
		strings.Repeat(`, {"setOperator": "union", "condition": `+pred("Customer.Vip", "isTrue", "")+`}`, segment.MaxGroups) + `]}`
	cases := []badCase{
		// Definitions: JSON and text.
		defCase("not JSON", `{"name": "Bad", "groups": [`, segment.ErrSyntax, "unexpected end of JSON"),
		defCase("trailing data", one(pred("Customer.Vip", "isTrue", ""))+` {}`, segment.ErrSyntax, "after top-level value"),
		defCase("invalid UTF-8", one(pred("Customer.Name", "equals", "\"A\xff\"")), segment.ErrSyntax, "line 1, column 106: byte 0xff is not UTF-8"),
		defCase("second byte order mark", "\uFEFF\uFEFF"+one(pred("Customer.Vip", "isTrue", "")), segment.ErrSyntax, "byte order mark"),
		defCase("array at the top", `[]`, segment.ErrSyntax, "must be a JSON object, not an array"),
		defCase("unknown key", `{"name": "Bad", "groups": [{"condition": {"atribute": "Customer.Age", "operator": "equals", "value": 1}}]}`, segment.ErrSyntax, `"atribute"`),
		defCase("duplicate key", `{"name": "Bad", "name": "Worse", "groups": []}`, segment.ErrSyntax, `"name"`),
		defCase("value of the wrong JSON type", `{"name": "Bad", "groups": {}}`, segment.ErrSyntax, "groups"),
		// Definitions: names.
		defCase("unknown attribute", one(pred("Customer.Agee", "equals", "1")), segment.ErrUnknownAttribute, `Customer has no attribute "Agee" (did you mean Age?)`),
		defCase("unknown entity", one(pred("Custmer.Age", "equals", "1")), segment.ErrUnknownEntity, `did you mean Customer`),
		defCase("attribute without entity", one(pred("Age", "equals", "1")), segment.ErrUnknownAttribute, `Entity.Attribute`),
		defCase("unknown operator", one(pred("Customer.Age", "greaterThen", "1")), segment.ErrUnknownOperator, `did you mean greaterThan`),
		defCase("unknown related entity", one(`{"related": "Ordr", "match": "any"}`), segment.ErrUnknownEntity, `did you mean Order`),
		defCase("unknown segment", one(`{"segment": "Unknown"}`), segment.ErrUnknownSegment, `"Unknown"`),
		defCase("unknown measure", one(pred("Measures.Spendd", "greaterThan", "1")), segment.ErrUnknownAttribute, `did you mean Spend`),
		defCase("invalid name", `{"name": "two words", "groups": [{"condition": `+pred("Customer.Vip", "isTrue", "")+`}]}`, segment.ErrName, `"two words"`),
		defCase("name too long", `{"name": "`+strings.Repeat("n", 129)+`", "groups": [{"condition": `+pred("Customer.Vip", "isTrue", "")+`}]}`, segment.ErrName, "128"),
		// Definitions: operators, types and values.
		defCase("operator for another type", one(pred("Customer.Vip", "greaterThan", "3")), segment.ErrOperatorType, "greaterThan"),
		defCase("isTrue on an integer", one(pred("Customer.Age", "isTrue", "")), segment.ErrOperatorType, "isTrue"),
		defCase("ignoreCase on an integer", one(`{"attribute": "Customer.Age", "operator": "equals", "value": 1, "ignoreCase": true}`), segment.ErrOperatorType, "ignoreCase"),
		defCase("string for an integer", one(pred("Customer.Age", "equals", `"forty"`)), segment.ErrValue, "Customer.Age"),
		defCase("string for a boolean", one(pred("Customer.Vip", "equals", `"yes"`)), segment.ErrValue, `"yes"`),
		defCase("missing value", one(pred("Customer.Age", "equals", "")), segment.ErrValue, "value"),
		defCase("value where none is taken", one(pred("Customer.Vip", "isTrue", "true")), segment.ErrValue, "isTrue"),
		defCase("no such day", one(pred("Customer.Joined", "equals", `"2026-02-30"`)), segment.ErrValue, "2026-02-30"),
		defCase("not a date", one(pred("Customer.Joined", "equals", `"02/03/2026"`)), segment.ErrValue, "02/03/2026"),
		defCase("not a datetime", one(pred("Customer.Seen", "greaterThan", `"2026-01-01 10:00"`)), segment.ErrValue, "2026-01-01 10:00"),
		defCase("hour 25", one(pred("Customer.Seen", "greaterThan", `"2026-01-01T25:00:00Z"`)), segment.ErrValue, "T25"),
		defCase("between reversed", one(pred("Customer.Age", "between", "[10, 5]")), segment.ErrValue, "between"),
		defCase("between of one value", one(pred("Customer.Age", "between", "[10]")), segment.ErrValue, "between"),
		defCase("fractional days", one(pred("Customer.Joined", "inLastDays", "1.5")), segment.ErrValue, "1.5"),
		defCase("days that round to a whole", one(pred("Customer.Joined", "inLastDays", "1.0000000000000001")), segment.ErrValue, "1.0000000000000001"),
		defCase("negative days", one(pred("Customer.Joined", "inNextDays", "-1")), segment.ErrValue, "-1"),
		defCase("number beyond float64", one(pred("Order.Amount", "greaterThan", "1e400")), segment.ErrValue, "1e400"),
		defCase("empty in list", one(pred("Customer.Name", "in", "[]")), segment.ErrValue, "in"),
		defCase("in list of mixed types", one(pred("Customer.Name", "in", `["a", 1]`)), segment.ErrValue, "in"),
		// Definitions: structure.
		defCase("no groups", `{"name": "Bad", "groups": []}`, segment.ErrGroups, "group"),
		defCase("set operator on the first group", `{"name": "Bad", "groups": [{"setOperator": "union", "condition": `+pred("Customer.Vip", "isTrue", "")+`}]}`, segment.ErrGroups, "setOperator"),
		defCase("unknown set operator", `{"name": "Bad", "groups": [{"condition": `+pred("Customer.Vip", "isTrue", "")+`}, {"setOperator": "unon", "condition": `+pred("Customer.Vip", "isFalse", "")+`}]}`, segment.ErrGroups, "did you mean union"),
		defCase("later group without set operator", `{"name": "Bad", "groups": [{"condition": `+pred("Customer.Vip", "isTrue", "")+`}, {"condition": `+pred("Customer.Vip", "isFalse", "")+`}]}`, segment.ErrGroups, "setOperator"),
		defCase("empty and", one(`{"and": []}`), segment.ErrEmpty, "and"),
		defCase("empty or", one(`{"or": []}`), segment.ErrEmpty, "or"),
		defCase("related customer entity", one(`{"related": "Customer", "match": "any"}`), segment.ErrPath, "Customer"),
		defCase("where on another entity", one(`{"related": "Order", "where": `+pred("Customer.Age", "equals", "1")+`, "match": "any"}`), segment.ErrWhere, "Customer.Age"),
		defCase("segment inside where", one(`{"related": "Order", "where": {"segment": "Known"}, "match": "any"}`), segment.ErrWhere, "segment"),
		defCase("sum of a string", one(`{"related": "Order", "aggregate": {"function": "sum", "attribute": "Order.Channel"}, "operator": "greaterThan", "value": 1}`), segment.ErrAggregate, "sum"),
		defCase("unknown aggregate function", one(`{"related": "Order", "aggregate": {"function": "sun", "attribute": "Order.Amount"}, "operator": "greaterThan", "value": 1}`), segment.ErrAggregate, "did you mean sum"),
		defCase("match and aggregate", one(`{"related": "Order", "match": "any", "aggregate": {"function": "count"}, "operator": "greaterThan", "value": 1}`), segment.ErrAggregate, "match"),
		defCase("aggregate without comparison", one(`{"related": "Order", "aggregate": {"function": "count"}}`), segment.ErrAggregate, "operator"),
		// Definitions: limits.
		defCase("too deep", one(nested), segment.ErrLimit, "nest"),
		defCase("in list too long", one(pred("Customer.Name", "in", longList)), segment.ErrLimit, "10,000"),
		defCase("too many groups", manyGroups, segment.ErrLimit, "1,000"),
		defCase("number too long", one(pred("Customer.Age", "equals", strings.Repeat("9", segment.MaxNumberLength+1))), segment.ErrLimit, "100"),
		defCase("too large", one(pred("Customer.Name", "equals", `"`+strings.Repeat("x", segment.MaxDefinitionBytes)+`"`)), segment.ErrLimit, "at most 1,048,576 (1 MiB) are allowed"),
		defCase("too many values", one(pred("Customer.Name", "in", "["+strings.TrimSuffix(strings.Repeat(`0,`, segment.MaxDefinitionValues), ",")+"]")), segment.ErrLimit, "100,000"),

		// Schemas.
		schemaCase("not JSON", `{"customerEntity": `, schema.ErrSyntax, "schema"),
		schemaCase("unknown key", strings.Replace(badSchema, `"customerEntity"`, `"foo": 1, "customerEntity"`, 1), schema.ErrSyntax, `line 2: unknown key "foo"`),
		schemaCase("key in another case", strings.Replace(badSchema, `"customerEntity"`, `"CUSTOMERENTITY"`, 1), schema.ErrSyntax, `did you mean customerEntity`),
		schemaCase("invalid UTF-8", strings.Replace(badSchema, `"Name"`, "\"N\xffame\"", 1), schema.ErrSyntax, "schema.json: line 7, column 19: byte 0xff is not UTF-8"),
		schemaCase("second byte order mark", "\uFEFF\uFEFF"+badSchema, schema.ErrSyntax, "byte order mark"),
		schemaCase("unknown type", strings.Replace(badSchema, `"type": "integer"`, `"type": "integr"`, 1), schema.ErrUnknownType, `did you mean integer`),
		schemaCase("unknown customer entity", strings.Replace(badSchema, `"customerEntity": "Customer"`, `"customerEntity": "Customers"`, 1), schema.ErrUnknownEntity, `did you mean Customer`),
		schemaCase("unknown key attribute", strings.Replace(badSchema, `"key": "OrderId"`, `"key": "OrderID"`, 1), schema.ErrUnknownAttribute, `did you mean OrderId`),
		schemaCase("duplicate attribute", strings.Replace(badSchema, `{"name": "Name", "type": "string"}`, `{"name": "Age", "type": "string"}`, 1), schema.ErrDuplicate, "Age"),
		schemaCase("duplicate entity", strings.Replace(badSchema, `{"name": "Order", "key"`, `{"name": "Customer", "key"`, 1), schema.ErrDuplicate, "Customer"),
		schemaCase("relationship to an unknown entity", strings.Replace(badSchema, `"to": {"entity": "Customer"`, `"to": {"entity": "Custom"`, 1), schema.ErrUnknownEntity, `did you mean Customer`),
		schemaCase("relationship of mismatched types", strings.Replace(badSchema, `"from": {"entity": "Order", "attribute": "CustomerId"}`, `"from": {"entity": "Order", "attribute": "Amount"}`, 1), schema.ErrRelationship, "Amount"),
		schemaCase("relationship cycle", strings.Replace(badSchema, `"relationships": [`, `"relationships": [{"name": "Loop", "from": {"entity": "Customer", "attribute": "Name"}, "to": {"entity": "Order", "attribute": "OrderId"}},`, 1), schema.ErrCycle, "cycle"),
		schemaCase("empty entity name", strings.Replace(badSchema, `{"name": "Order", "key"`, `{"name": "", "key"`, 1), schema.ErrInvalid, "name"),
		schemaCase("too many attributes", strings.Replace(badSchema, `{"name": "Vip", "type": "boolean"}`, manyAttributes(schema.MaxAttributes), 1), schema.ErrLimit, "10,000"),
		schemaCase("paths that multiply", multiplyingPaths(20), schema.ErrLimit, "64"),
		schemaCase("too large", badSchema+strings.Repeat(" ", schema.MaxSchemaBytes), schema.ErrLimit, "16,777,216"),

		// Data directories.
		dataCase("missing data file", map[string]string{"Order.csv": "<none>"}, nil, os.ErrNotExist, "Order.csv: no such file"),
		dataCase("missing schema", map[string]string{"schema.json": "<none>"}, nil, os.ErrNotExist, "schema.json"),
		dataCase("missing column", map[string]string{"Customer.csv": "CustomerId,Nam,Age,Joined,Seen,Vip\nK1,Ann,40,2020-01-02,2026-01-01T10:00:00Z,true\n"}, nil, storage.ErrData, "Customer.csv: missing column Name (did you mean Nam?)"),
		dataCase("not an integer", map[string]string{"Customer.csv": strings.Replace(badCustomers, ",40,", ",forty,", 1)}, nil, storage.ErrData, `Customer.csv:2: column Age: "forty" is not an integer`),
		dataCase("not a date", map[string]string{"Customer.csv": strings.Replace(badCustomers, "2020-01-02", "2020-13-02", 1)}, nil, storage.ErrData, "2020-13-02"),
		dataCase("not a datetime", map[string]string{"Customer.csv": strings.Replace(badCustomers, "2026-01-01T10:00:00Z", "2026-01-01 10:00", 1)}, nil, storage.ErrData, "Seen"),
		dataCase("not a boolean", map[string]string{"Customer.csv": strings.Replace(badCustomers, ",true\n", ",yes\n", 1)}, nil, storage.ErrData, `"yes"`),
		dataCase("not a number", map[string]string{"Order.csv": strings.Replace(badOrders, "10.5", "10,5", 1)}, nil, storage.ErrData, "Order.csv"),
		dataCase("duplicate key", map[string]string{"Customer.csv": badCustomers + "K1,Cy,3,,,\n"}, nil, storage.ErrDuplicateKey, "K1"),
		dataCase("null key", map[string]string{"Customer.csv": badCustomers + ",Cy,3,,,\n"}, nil, storage.ErrNullKey, "Customer.csv"),
		dataCase("invalid UTF-8", map[string]string{"Customer.csv": strings.Replace(badCustomers, "Ann", "A\xffn", 1)}, nil, storage.ErrData, "UTF-8"),
		dataCase("unterminated quote", map[string]string{"Customer.csv": badCustomers + "K3,\"Cy,3,,,\n"}, nil, storage.ErrData, "Customer.csv"),
		dataCase("too many fields", map[string]string{"Customer.csv": badCustomers + "K3,Cy,3,,,,\n"}, nil, storage.ErrData, "Customer.csv:4: wrong number of fields: 7, the header has 6"),
		dataCase("empty file", map[string]string{"Customer.csv": ""}, nil, storage.ErrData, "Customer.csv"),
		dataCase("source outside the directory", map[string]string{"schema.json": strings.Replace(badSchema, `"source": "Order.csv"`, `"source": "../Order.csv"`, 1)}, nil, storage.ErrData, "../Order.csv"),
		dataCase("source that is a directory", map[string]string{"Order.csv": "<none>"}, func(t *testing.T, dir string) {
			require.NoError(t, os.Mkdir(filepath.Join(dir, "Order.csv"), 0o755))
		}, regular.ErrNotRegular, "directory"),
		dataCase("source that is a FIFO", map[string]string{"Order.csv": "<none>"}, func(t *testing.T, dir string) {
			require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "Order.csv"), 0o644))
		}, regular.ErrNotRegular, "named pipe"),
		dataCase("truncated Parquet", map[string]string{
			"schema.json":   strings.Replace(badSchema, `"source": "Order.csv"`, `"source": "Order.parquet"`, 1),
			"Order.parquet": "PAR1\x00\x00\x00\x00PAR1"}, nil, storage.ErrData, "Order.parquet"),
		dataCase("schema.json not valid", map[string]string{"schema.json": `{"customerEntity": 3}`}, nil, schema.ErrSyntax, "customerEntity"),

		// Catalog files.
		catalogCase("not a catalog", []byte(strings.Repeat("not a bbolt file\n", 1024)), catalog.ErrNotCatalog, "segments.db"),
	}
	return cases
}

// manyAttributes is n+1 attribute declarations, one more than the limit.
func manyAttributes(n int) string {
	parts := make([]string, n+1)
	for i := range parts {
		parts[i] = fmt.Sprintf(`{"name": "A%d", "type": "integer"}`, i)
	}
	return strings.Join(parts, ",")
}

// multiplyingPaths is a schema of hops entities in a chain, each linked
// to the next by two relationships, so the paths from the last to the
// customer number 2^hops.
func multiplyingPaths(hops int) string {
	var ents, rels []string
	for i := 0; i <= hops; i++ {
		ents = append(ents, fmt.Sprintf(`{"name": "E%d", "key": "Id", "source": "E%d.csv", "attributes": [{"name": "Id", "type": "string"}, {"name": "P", "type": "string"}, {"name": "Q", "type": "string"}]}`, i, i))
		if i > 0 {
			for _, a := range []string{"P", "Q"} {
				rels = append(rels, fmt.Sprintf(`{"name": "R%d%s", "from": {"entity": "E%d", "attribute": %q}, "to": {"entity": "E%d", "attribute": "Id"}}`, i, a, i, a, i-1))
			}
		}
	}
	return `{"customerEntity": "E0", "entities": [` + strings.Join(ents, ",") + `], "relationships": [` + strings.Join(rels, ",") + `]}`
}

// TestBadInputs runs the table: each input's error wraps its sentinel,
// carries the key part of its message, and is short (a bounded excerpt
// of a huge input, never the input itself).
func TestBadInputs(t *testing.T) {
	cases := badCases()
	require.GreaterOrEqual(t, len(cases), 80, "the table has at least 80 cases")
	names := map[string]bool{}
	for _, tt := range cases {
		require.False(t, names[tt.name], "two cases named %s", tt.name)
		names[tt.name] = true
		t.Run(tt.name, func(t *testing.T) {
			err := tt.err(t)
			require.Error(t, err)
			t.Log(err)
			require.True(t, errors.Is(err, tt.want), "want %v (%s), got: %v", tt.want, diag.Code(tt.want), err)
			require.Contains(t, err.Error(), tt.msg)
			require.LessOrEqual(t, len(err.Error()), 2048, "the message is bounded: %.300s", err.Error())
		})
	}
}
