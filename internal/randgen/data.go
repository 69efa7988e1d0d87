// Package randgen generates random, valid data directories and segment
// definitions for the conformance test: small data with small value
// domains, so that equality hits, nulls, broken links, ties and relative
// date boundaries are frequent.
//
//	r := rand.New(rand.NewPCG(seed, 0))
//	info, err := randgen.Dir(r, dir)     // schema.json + CSV files
//	def := randgen.Definition(r, info)   // definition JSON
//	asOf := randgen.AsOf(r, info)
//
// Everything is a pure function of the random source: the same seed gives
// the same files and definitions.
package randgen

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"
)

// Info describes a generated data directory for the definition generator.
type Info struct {
	// Customer names the customer entity.
	Customer string
	// AsOf is the instant the generated dates and datetimes cluster
	// around: values lie exactly on its relative-date boundaries.
	AsOf time.Time
	// Entities lists every entity, the customer entity first.
	Entities []*Entity
	// Measures lists the measures written to schema.json.
	Measures []*Measure
	// NoBehaviour keeps Definition from writing the behavioural conditions
	// (sequences, stopped and started, calendar periods, anniversaries,
	// matches), which SQL compilers cannot express.
	NoBehaviour bool
	// Segments names the segments a definition may reference. Dir leaves
	// it empty; a caller that can resolve references sets it.
	Segments []string
}

// Entity describes one generated entity.
type Entity struct {
	Name string
	Key  string
	// Attrs lists the attributes, the key included.
	Attrs []*Attr
	// Paths lists the relationship paths up to the customer entity; nil
	// for the customer entity.
	Paths [][]string
}

// Attr describes one attribute and the values written for it.
type Attr struct {
	Name string
	// Type is the attribute type's name as in schema.json.
	Type string
	// Values holds the distinct non-null values written, as written.
	Values []string
	// Wide marks integers spread over the whole int64 range: comparing
	// them is interesting, summing them would overflow.
	Wide bool
}

// Measure describes one measure of schema.json.
type Measure struct {
	Name string
	// Type is the measure's type (FORMAT.md section 3).
	Type string
	// Func is the aggregate function.
	Func string
	// Source is the aggregated attribute; nil for count.
	Source *Attr
}

// entity returns the entity named name, or nil.
func (info *Info) entity(name string) *Entity {
	for _, e := range info.Entities {
		if e.Name == name {
			return e
		}
	}
	return nil
}

// Value domains. Strings are never empty: an empty CSV field is null.
var (
	ageDomain     = []string{"-5", "-1", "0", "1", "2", "3", "7", "18", "30", "31", "42", "65", "100"}
	wideDomain    = []string{strconv.FormatInt(math.MinInt64, 10), "-9007199254740993", "-1", "0", "42", "9007199254740992", "9007199254740993", strconv.FormatInt(math.MaxInt64, 10)}
	qtyDomain     = []string{"-2", "-1", "0", "1", "2", "3", "5", "10"}
	moneyDomain   = []string{"-3.5", "-1", "0", "0.1", "0.2", "0.3", "0.5", "1", "2.25", "10", "30.5", "99.99", "1000000"}
	nameDomain    = []string{"Anna", "anna", "ANNA", "Ärger", "ärger", "ÄRGER", "straße", "STRASSE", "Straße", "Ωmega", "ωmega", "Σίσυφος", "σίσυφος", "\u212Aelvin", "kelvin", "Kelvin", "O'Brien, Jr.", "say \"hi\"", "Zoë", "zoë", "b", "B", "ab", "Ab", "N/A"}
	countryDomain = []string{"DE", "de", "US", "FR", "fr", "XX", "Österreich", "ÖSTERREICH", "NULL"}
	channelDomain = []string{"web", "Web", "WEB", "store", "app", "phone", "Mail", "web shop"}
	productDomain = []string{"Apfel", "apfel", "ÄPFEL", "Birne", "Éclair", "éclair", "widget", "Widget-XL", "ß", "ẞ"}
	topicDomain   = []string{"billing", "Billing", "delivery", "refund", "Refund", "other", "ΣΦΑΛΜΑ", "σφαλμα"}
	regionDomain  = []string{"north", "North", "south", "Süd", "SÜD", "east"}
	boolDomain    = []string{"true", "false"}
)

var relativeDays = []int{1, 7, 30, 90}

type dataGen struct {
	r        *rand.Rand
	asOf     time.Time
	today    time.Time // midnight UTC of asOf's UTC day
	datePool []string
	timePool []time.Time
	zones    []*time.Location
}

// column is one attribute's generated values, "" for null.
type column struct {
	attr   *Attr
	values []string
}

type table struct {
	entity  *Entity
	columns []*column
	rows    int
}

// Dir writes a random data directory to dir (which must exist): schema.json
// and one CSV file per entity. It returns a description for Definition.
func Dir(r *rand.Rand, dir string) (*Info, error) {
	g := &dataGen{r: r}
	switch r.IntN(4) {
	case 0, 1:
		g.asOf = time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)
	case 2:
		g.asOf = time.Date(2026, 6, 15, 0, 0, 0, 0, time.UTC)
	default:
		g.asOf = time.Date(2026, 6, 12, 0, 0, 0, 0, time.UTC).Add(time.Duration(r.IntN(7*86400)) * time.Second)
	}
	u := g.asOf.UTC()
	g.today = time.Date(u.Year(), u.Month(), u.Day(), 0, 0, 0, 0, time.UTC)
	g.zones = []*time.Location{time.UTC, time.FixedZone("", 2*3600), time.FixedZone("", -(5*3600 + 1800)), time.FixedZone("", 14*3600), time.FixedZone("", -12*3600)}
	g.pools()

	info := &Info{Customer: "Customer", AsOf: g.asOf}
	intKeys := r.IntN(2) == 0
	keyType := "string"
	if intKeys {
		keyType = "integer"
	}
	nCust := 20 + r.IntN(41)
	cust := g.table("Customer", "CustomerId", keyType, nCust, "C")
	g.attr(cust, "Age", "integer", ageDomain)
	g.attr(cust, "Score", "integer", wideDomain).attr.Wide = true
	g.attr(cust, "Balance", "number", moneyDomain)
	g.attr(cust, "Name", "string", nameDomain)
	g.attr(cust, "Country", "string", countryDomain)
	g.attr(cust, "SignupDate", "date", nil)
	g.attr(cust, "LastLogin", "datetime", nil)
	g.attr(cust, "IsVip", "boolean", boolDomain)

	type rel struct{ name, from, fromAttr, to string }
	var rels []rel
	tables := []*table{cust}

	nOrders := r.IntN(201)
	if r.IntN(10) == 0 {
		nOrders = 0
	}
	order := g.table("Order", "OrderId", "string", nOrders, "O")
	g.fk(order, "CustomerId", cust)
	g.attr(order, "Amount", "number", moneyDomain)
	g.attr(order, "Quantity", "integer", qtyDomain)
	g.attr(order, "OrderDate", "date", nil)
	g.attr(order, "OrderTime", "datetime", nil)
	g.attr(order, "Channel", "string", channelDomain)
	g.attr(order, "Paid", "boolean", boolDomain)
	rels = append(rels, rel{"OrderCustomer", "Order", "CustomerId", "Customer"})
	tables = append(tables, order)

	line := g.table("OrderLine", "LineId", "integer", r.IntN(min(250, 2*nOrders+10)+1), "")
	g.fk(line, "OrderId", order)
	g.attr(line, "Product", "string", productDomain)
	g.attr(line, "Price", "number", moneyDomain)
	g.attr(line, "Units", "integer", qtyDomain)
	g.attr(line, "ShippedAt", "datetime", nil)
	rels = append(rels, rel{"OrderLineOrder", "OrderLine", "OrderId", "Order"})
	tables = append(tables, line)

	cases := g.table("SupportCase", "CaseId", "string", r.IntN(61), "K")
	g.fk(cases, "CustomerId", cust)
	g.attr(cases, "Escalated", "boolean", boolDomain)
	g.attr(cases, "Priority", "integer", qtyDomain)
	g.attr(cases, "OpenedAt", "datetime", nil)
	g.attr(cases, "ClosedOn", "date", nil)
	g.attr(cases, "Topic", "string", topicDomain)
	rels = append(rels, rel{"SupportCaseCustomer", "SupportCase", "CustomerId", "Customer"})
	tables = append(tables, cases)

	if r.IntN(2) == 0 {
		store := g.table("Store", "StoreId", keyType, 1+r.IntN(6), "S")
		g.fk(store, "OwnerId", cust)
		g.attr(store, "Region", "string", regionDomain)
		g.attr(store, "OpenedOn", "date", nil)
		rels = append(rels, rel{"StoreOwner", "Store", "OwnerId", "Customer"})
		visit := g.table("Visit", "VisitId", "integer", r.IntN(81), "")
		g.fk(visit, "CustomerId", cust)
		g.fk(visit, "StoreId", store)
		g.attr(visit, "VisitDate", "date", nil)
		g.attr(visit, "VisitTime", "datetime", nil)
		g.attr(visit, "Duration", "number", moneyDomain)
		g.attr(visit, "Purpose", "string", channelDomain)
		rels = append(rels,
			rel{"VisitCustomer", "Visit", "CustomerId", "Customer"},
			rel{"VisitStore", "Visit", "StoreId", "Store"})
		tables = append(tables, store, visit)
	}

	for _, t := range tables {
		info.Entities = append(info.Entities, t.entity)
	}
	// Every chain above ends at the customer: the paths are the chains of
	// relationships, and Visit has two.
	var pathsOf func(entity string) [][]string
	pathsOf = func(entity string) [][]string {
		var out [][]string
		for _, rl := range rels {
			if rl.from != entity {
				continue
			}
			if rl.to == "Customer" {
				out = append(out, []string{rl.name})
				continue
			}
			for _, rest := range pathsOf(rl.to) {
				out = append(out, append([]string{rl.name}, rest...))
			}
		}
		return out
	}
	for _, e := range info.Entities[1:] {
		e.Paths = pathsOf(e.Name)
	}

	for _, t := range tables {
		for _, c := range t.columns {
			for _, v := range c.values {
				if v != "" && !slices.Contains(c.attr.Values, v) {
					c.attr.Values = append(c.attr.Values, v)
				}
			}
			slices.Sort(c.attr.Values)
		}
	}
	measures := measureDefs(r, info)

	// schema.json
	type endpoint struct {
		Entity    string `json:"entity"`
		Attribute string `json:"attribute"`
	}
	type schemaAttr struct {
		Name string `json:"name"`
		Type string `json:"type"`
	}
	type schemaEntity struct {
		Name       string       `json:"name"`
		Key        string       `json:"key"`
		Source     string       `json:"source"`
		Attributes []schemaAttr `json:"attributes"`
	}
	type schemaRel struct {
		Name string   `json:"name"`
		From endpoint `json:"from"`
		To   endpoint `json:"to"`
	}
	sf := struct {
		CustomerEntity string           `json:"customerEntity"`
		Entities       []schemaEntity   `json:"entities"`
		Relationships  []schemaRel      `json:"relationships"`
		Measures       []map[string]any `json:"measures,omitempty"`
	}{CustomerEntity: "Customer", Measures: measures}
	for _, t := range tables {
		se := schemaEntity{Name: t.entity.Name, Key: t.entity.Key, Source: t.entity.Name + ".csv"}
		for _, a := range t.entity.Attrs {
			se.Attributes = append(se.Attributes, schemaAttr{a.Name, a.Type})
		}
		sf.Entities = append(sf.Entities, se)
	}
	for _, rl := range rels {
		key := info.entity(rl.to).Key
		sf.Relationships = append(sf.Relationships, schemaRel{rl.name, endpoint{rl.from, rl.fromAttr}, endpoint{rl.to, key}})
	}
	// Order in the file must not matter.
	r.Shuffle(len(sf.Entities), func(i, j int) { sf.Entities[i], sf.Entities[j] = sf.Entities[j], sf.Entities[i] })
	r.Shuffle(len(sf.Relationships), func(i, j int) {
		sf.Relationships[i], sf.Relationships[j] = sf.Relationships[j], sf.Relationships[i]
	})
	b, err := json.MarshalIndent(sf, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "schema.json"), append(b, '\n'), 0o644); err != nil {
		return nil, err
	}
	for _, t := range tables {
		if err := g.writeCSV(filepath.Join(dir, t.entity.Name+".csv"), t); err != nil {
			return nil, err
		}
	}
	return info, nil
}

// pools builds the dates and datetimes values are drawn from: the as-of
// boundaries of inLastDays/inNextDays for common N, just outside them, and
// random days within 120 days.
func (g *dataGen) pools() {
	days := []int{0}
	for _, n := range relativeDays {
		days = append(days, -n, -n-1, n, n+1)
	}
	for range 6 {
		days = append(days, g.r.IntN(241)-120)
	}
	for _, d := range days {
		g.datePool = append(g.datePool, g.today.AddDate(0, 0, d).Format(time.DateOnly))
	}
	g.timePool = []time.Time{g.asOf, g.asOf.Add(time.Second), g.asOf.Add(-time.Second), g.today, g.today.AddDate(0, 0, 1), g.today.AddDate(0, 0, -7)}
	for _, n := range relativeDays[:3] {
		span := time.Duration(n) * 24 * time.Hour
		for _, t := range []time.Time{g.asOf.Add(-span), g.asOf.Add(span)} {
			g.timePool = append(g.timePool, t, t.Add(-time.Second), t.Add(time.Second))
		}
	}
	for range 6 {
		g.timePool = append(g.timePool, g.asOf.Add(time.Duration(g.r.IntN(240*86400)-120*86400)*time.Second))
	}
}

// table starts an entity with n rows and distinct keys in random order: key
// order differs from file order, so ties broken by key are visible.
func (g *dataGen) table(name, key, keyType string, n int, prefix string) *table {
	e := &Entity{Name: name, Key: key}
	t := &table{entity: e, rows: n}
	ka := &Attr{Name: key, Type: keyType}
	e.Attrs = append(e.Attrs, ka)
	nums := g.r.Perm(n * 3)[:n]
	keys := make([]string, n)
	for i, k := range nums {
		if keyType == "integer" {
			keys[i] = strconv.Itoa(k - n)
		} else {
			keys[i] = prefix + strconv.Itoa(k)
		}
	}
	t.columns = append(t.columns, &column{attr: ka, values: keys})
	return t
}

// attr adds an attribute with values drawn from a random part of domain
// (the date or datetime pool when domain is nil) and a random share of
// nulls.
func (g *dataGen) attr(t *table, name, typ string, domain []string) *column {
	a := &Attr{Name: name, Type: typ}
	t.entity.Attrs = append(t.entity.Attrs, a)
	var pool []string
	switch typ {
	case "date":
		pool = slices.Clone(g.datePool)
	case "datetime":
		for _, tm := range g.timePool {
			pool = append(pool, g.formatTime(tm))
		}
	default:
		pool = slices.Clone(domain)
	}
	g.r.Shuffle(len(pool), func(i, j int) { pool[i], pool[j] = pool[j], pool[i] })
	pool = pool[:min(len(pool), 3+g.r.IntN(10))]
	nullRate := []float64{0, 0.1, 0.2, 0.3, 0.4}[g.r.IntN(5)]
	c := &column{attr: a, values: make([]string, t.rows)}
	for i := range c.values {
		if g.r.Float64() < nullRate {
			continue
		}
		c.values[i] = pool[g.r.IntN(len(pool))]
		if typ == "datetime" {
			// The same instant, written in another offset now and then.
			if tm, err := time.Parse(time.RFC3339, c.values[i]); err == nil && g.r.IntN(3) == 0 {
				c.values[i] = g.formatTime(tm)
			}
		}
	}
	t.columns = append(t.columns, c)
	return c
}

// formatTime writes an instant in RFC 3339 with second precision, in UTC or
// in one of a few offsets.
func (g *dataGen) formatTime(t time.Time) string {
	if g.r.IntN(2) == 0 {
		return t.UTC().Format(time.RFC3339)
	}
	return t.In(g.zones[g.r.IntN(len(g.zones))]).Format(time.RFC3339)
}

// fk adds a foreign key to target's key: mostly keys of a random subset of
// target rows (so some have none and some many), sometimes null, sometimes
// dangling.
func (g *dataGen) fk(t *table, name string, target *table) {
	keyCol := target.columns[0]
	a := &Attr{Name: name, Type: keyCol.attr.Type}
	t.entity.Attrs = append(t.entity.Attrs, a)
	active := slices.Clone(keyCol.values)
	g.r.Shuffle(len(active), func(i, j int) { active[i], active[j] = active[j], active[i] })
	if len(active) > 0 {
		active = active[:1+g.r.IntN(len(active))]
	}
	pNull := []float64{0, 0.05, 0.15}[g.r.IntN(3)]
	pDangling := []float64{0, 0.05, 0.1}[g.r.IntN(3)]
	c := &column{attr: a, values: make([]string, t.rows)}
	for i := range c.values {
		x := g.r.Float64()
		switch {
		case x < pNull:
		case x < pNull+pDangling || len(active) == 0:
			if a.Type == "integer" {
				c.values[i] = strconv.Itoa(100000 + g.r.IntN(1000))
			} else {
				c.values[i] = "missing" + strconv.Itoa(g.r.IntN(1000))
			}
		default:
			// Skewed towards the first active keys.
			c.values[i] = active[g.r.IntN(g.r.IntN(len(active))+1)]
		}
	}
	t.columns = append(t.columns, c)
}

// writeCSV writes t with its columns in random order and, sometimes, a
// column the schema does not name.
func (g *dataGen) writeCSV(path string, t *table) error {
	cols := slices.Clone(t.columns)
	g.r.Shuffle(len(cols), func(i, j int) { cols[i], cols[j] = cols[j], cols[i] })
	extra := g.r.IntN(4) == 0
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	var rec []string
	for _, c := range cols {
		rec = append(rec, c.attr.Name)
	}
	if extra {
		rec = append(rec, "Unused")
	}
	if err := w.Write(rec); err != nil {
		f.Close()
		return err
	}
	for i := range t.rows {
		rec = rec[:0]
		for _, c := range cols {
			rec = append(rec, c.values[i])
		}
		if extra {
			rec = append(rec, fmt.Sprintf("x%d,\"y\"", g.r.IntN(5)))
		}
		if err := w.Write(rec); err != nil {
			f.Close()
			return err
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
