package gen

import (
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// generator builds the batches of one entity. It is immutable, so batches
// are built concurrently; batch i draws from its own seeded source, which
// makes the output independent of the number of workers.
type generator struct {
	scale       Scale
	rows        int64
	seed        uint64
	schema      *arrow.Schema
	dictColumns []string
	// fill appends rows [first, first+n) to the column builders.
	fill func(r *rand.Rand, first, n int64, cols []array.Builder)
}

var dictString = &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}

func field(name string, t arrow.DataType) arrow.Field {
	return arrow.Field{Name: name, Type: t, Nullable: true}
}

func newGenerator(s Scale, entity string) *generator {
	g := &generator{scale: s, rows: s.Rows(entity)}
	i64, f64, date := arrow.PrimitiveTypes.Int64, arrow.PrimitiveTypes.Float64, arrow.FixedWidthTypes.Date32
	switch entity {
	case "Customer":
		g.seed = 1
		g.schema = arrow.NewSchema([]arrow.Field{field("CustomerId", i64), field("Age", i64),
			field("Country", dictString), field("Email", arrow.BinaryTypes.String),
			field("SignupDate", date), field("IsVip", arrow.FixedWidthTypes.Boolean)}, nil)
		g.dictColumns = []string{"Country"}
		g.fill = g.customers
	case "Order":
		g.seed = 2
		g.schema = arrow.NewSchema([]arrow.Field{field("OrderId", i64), field("CustomerId", i64),
			field("Amount", f64), field("OrderDate", date), field("Channel", dictString)}, nil)
		g.dictColumns = []string{"Channel"}
		g.fill = g.orders
	case "OrderLine":
		g.seed = 3
		g.schema = arrow.NewSchema([]arrow.Field{field("LineId", i64), field("OrderId", i64),
			field("Category", dictString), field("Quantity", i64), field("Price", f64)}, nil)
		g.dictColumns = []string{"Category"}
		g.fill = g.orderLines
	case "SupportCase":
		g.seed = 4
		g.schema = arrow.NewSchema([]arrow.Field{field("CaseId", i64), field("CustomerId", i64),
			field("Escalated", arrow.FixedWidthTypes.Boolean), field("Priority", dictString),
			field("Opened", date)}, nil)
		g.dictColumns = []string{"Priority"}
		g.fill = g.cases
	default:
		panic("BUG: no generator for entity " + entity)
	}
	return g
}

// batch builds batch i: rows [i*RowGroupRows, min((i+1)*RowGroupRows, rows)).
func (g *generator) batch(i int) arrow.RecordBatch {
	first := int64(i) * RowGroupRows
	n := max(min(RowGroupRows, g.rows-first), 0)
	r := rand.New(rand.NewPCG(g.seed, uint64(i)))
	cols := make([]array.Builder, g.schema.NumFields())
	for k, f := range g.schema.Fields() {
		cols[k] = array.NewBuilder(memory.DefaultAllocator, f.Type)
		cols[k].Reserve(int(n))
		if d, ok := cols[k].(*array.BinaryDictionaryBuilder); ok {
			// Every row group gets the same dictionary, in the same
			// order, as a writer with a fixed vocabulary would produce.
			vocab := vocabularies[f.Name]
			sb := array.NewStringBuilder(memory.DefaultAllocator)
			sb.AppendValues(vocab.values, nil)
			dict := sb.NewStringArray()
			if err := d.InsertStringDictValues(dict); err != nil {
				panic("BUG: dictionary: " + err.Error())
			}
			dict.Release()
			sb.Release()
		}
	}
	g.fill(r, first, n, cols)
	arrs := make([]arrow.Array, len(cols))
	for k, b := range cols {
		arrs[k] = b.NewArray()
		b.Release()
	}
	rec := array.NewRecordBatch(g.schema, arrs, n)
	for _, a := range arrs {
		a.Release()
	}
	return rec
}

// vocabulary is a weighted list of string values.
type vocabulary struct {
	values []string
	cdf    []float64 // cumulative weights, normalized to end at 1
}

func newVocabulary(values []string, weights []float64) *vocabulary {
	v := &vocabulary{values: values, cdf: make([]float64, len(values))}
	total := 0.0
	for i := range values {
		total += weights[i]
		v.cdf[i] = total
	}
	for i := range v.cdf {
		v.cdf[i] /= total
	}
	return v
}

// zipf weights the values 1/(rank+1)^s.
func zipf(values []string, s float64) *vocabulary {
	w := make([]float64, len(values))
	for i := range w {
		w[i] = 1 / math.Pow(float64(i+1), s)
	}
	return newVocabulary(values, w)
}

func (v *vocabulary) pick(r *rand.Rand) int {
	return min(sort.SearchFloat64s(v.cdf, r.Float64()), len(v.values)-1)
}

var vocabularies = map[string]*vocabulary{
	"Country": zipf([]string{"US", "GB", "DE", "FR", "CA", "AU", "NL", "ES", "IT", "SE",
		"BR", "MX", "JP", "IN", "PL", "BE", "CH", "AT", "DK", "NO",
		"IE", "FI", "PT", "NZ", "SG", "ZA", "AR", "CL", "CO", "CZ",
		"GR", "HU", "IL", "KR", "RO", "TR", "AE", "HK", "TW", "TH"}, 1.1),
	"Channel": newVocabulary([]string{"web", "app", "store", "phone", "marketplace", "partner"},
		[]float64{45, 25, 15, 7, 5, 3}),
	"Category": zipf([]string{"Electronics", "Clothing", "Home", "Beauty", "Toys", "Sports",
		"Books", "Grocery", "Garden", "Shoes", "Jewelry", "Games", "Automotive", "Health",
		"Pet Supplies", "Office", "Music", "Movies", "Baby", "Tools", "Kitchen", "Outdoor",
		"Crafts", "Software", "Luggage", "Watches", "Furniture", "Lighting", "Party", "Travel"}, 1.0),
	"Priority": newVocabulary([]string{"low", "medium", "high", "urgent"}, []float64{50, 30, 15, 5}),
}

var (
	firstNames = zipf([]string{"james", "mary", "john", "patricia", "robert", "jennifer", "michael",
		"linda", "william", "elizabeth", "david", "barbara", "richard", "susan", "joseph", "jessica",
		"thomas", "sarah", "charles", "karen", "andrew", "sandra", "anna", "allison", "alexander",
		"emma", "lucas", "mia", "noah", "olivia", "liam", "sofia", "ben", "chloe", "leon", "hannah",
		"mateo", "yuki", "priya", "omar"}, 0.8)
	lastNames = zipf([]string{"smith", "johnson", "williams", "brown", "jones", "garcia", "miller",
		"davis", "rodriguez", "martinez", "hernandez", "lopez", "wilson", "anderson", "thomas",
		"taylor", "moore", "jackson", "martin", "lee", "thompson", "white", "harris", "clark",
		"lewis", "robinson", "walker", "young", "allen", "king", "wright", "scott", "green",
		"baker", "adams", "nelson", "hill", "campbell", "mitchell", "carter"}, 0.7)
	domains = zipf([]string{"gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com",
		"proton.me", "aol.com", "gmx.de", "web.de", "orange.fr", "mail.com", "example.org"}, 1.2)
)

// Days are counted back from the as-of day: day 0 is AsOf's day.
var asOfDay = int32(AsOf.Unix() / 86400)

// orderDays is the distribution of order dates over the three years
// before the as-of day: seasonal, busier on weekends, and growing.
var orderDays = sync.OnceValue(func() []float64 {
	const span = 3*365 + 1
	cdf := make([]float64, span)
	total := 0.0
	for d := range span {
		t := AsOf.AddDate(0, 0, -d)
		w := 1 + 0.6*(1-float64(d)/span) // growth: recent days busier
		switch t.Month() {
		case 11:
			w *= 1.5
		case 12:
			w *= 1.9
		case 1, 2:
			w *= 0.8
		case 7, 8:
			w *= 0.9
		}
		if wd := t.Weekday(); wd == 0 || wd == 6 {
			w *= 1.2
		}
		total += w
		cdf[d] = total
	}
	for d := range cdf {
		cdf[d] /= total
	}
	return cdf
})

func seasonalDate(r *rand.Rand) arrow.Date32 {
	cdf := orderDays()
	d := min(sort.SearchFloat64s(cdf, r.Float64()), len(cdf)-1)
	return arrow.Date32(asOfDay - int32(d))
}

func uniformDate(r *rand.Rand, days int) arrow.Date32 {
	return arrow.Date32(asOfDay - int32(r.IntN(days+1)))
}

// picker draws customer rows with a heavy head: a share of the draws goes
// to a few heavy customers, the rest follows a power law over part of the
// customers (the others never appear). A multiplicative permutation
// scatters both over the customer keys.
type picker struct {
	n          int64
	heavy      int64   // the first heavy rows (before permutation) are heavy
	heavyShare float64 // share of the draws that go to them
	reach      float64 // share of the customers that appear at all
	power      float64 // u^power concentrates the rest towards low rows
	mult, off  int64
}

func newPicker(n int64, heavyShare, reach, power float64, mult, off int64) picker {
	for gcd(mult%max(n, 1), n) != 1 && n > 1 {
		mult++
	}
	return picker{n: n, heavy: max(n/1000, 1), heavyShare: heavyShare, reach: reach, power: power, mult: mult, off: off}
}

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// pick returns a customer row in [0, n).
func (p picker) pick(r *rand.Rand) int64 {
	var x int64
	if r.Float64() < p.heavyShare {
		x = r.Int64N(p.heavy)
	} else {
		x = int64(float64(p.n) * p.reach * math.Pow(r.Float64(), p.power))
	}
	return (x%p.n*(p.mult%p.n) + p.off) % p.n
}

// foreignKey returns a key in [1, n] drawn by pick, or, with the given
// probabilities, a null (ok false) or a dangling key that matches no row.
func foreignKey(r *rand.Rand, n int64, nullP, danglingP float64, pick func() int64) (int64, bool) {
	u := r.Float64()
	switch {
	case u < nullP:
		return 0, false
	case u < nullP+danglingP:
		return n + 1 + r.Int64N(max(n, 1)), true
	}
	return pick() + 1, true
}

// lognormal draws a log-normal amount rounded to a quarter, at least 0.25.
// Quarters are exact in binary, so sums of amounts are exact and do not
// depend on the order in which an engine adds them: a customer whose orders
// add up to exactly 500 is a member for every engine.
func lognormal(r *rand.Rand, mu, sigma float64) float64 {
	return max(math.Round(math.Exp(mu+sigma*r.NormFloat64())*4)/4, 0.25)
}

func appendDict(b array.Builder, v *vocabulary, r *rand.Rand, nullP float64) {
	d := b.(*array.BinaryDictionaryBuilder)
	if r.Float64() < nullP {
		d.AppendNull()
		return
	}
	if err := d.AppendString(v.values[v.pick(r)]); err != nil {
		panic("BUG: dictionary append: " + err.Error())
	}
}

func (g *generator) customers(r *rand.Rand, first, n int64, cols []array.Builder) {
	id := cols[0].(*array.Int64Builder)
	age := cols[1].(*array.Int64Builder)
	email := cols[3].(*array.StringBuilder)
	signup := cols[4].(*array.Date32Builder)
	vip := cols[5].(*array.BooleanBuilder)
	var buf []byte
	for i := first; i < first+n; i++ {
		id.Append(i + 1)
		if r.Float64() < 0.05 {
			age.AppendNull()
		} else {
			age.Append(int64(min(max(math.Round(41+14*r.NormFloat64()), 18), 95)))
		}
		appendDict(cols[2], vocabularies["Country"], r, 0.03)
		if r.Float64() < 0.04 {
			email.AppendNull()
		} else {
			fn := firstNames.values[firstNames.pick(r)]
			ln := lastNames.values[lastNames.pick(r)]
			capital := r.Float64() < 0.15
			buf = appendName(buf[:0], fn, capital)
			buf = append(buf, '.')
			buf = appendName(buf, ln, capital)
			buf = strconv.AppendInt(buf, i+1, 10)
			buf = append(buf, '@')
			buf = append(buf, domains.values[domains.pick(r)]...)
			email.BinaryBuilder.Append(buf)
		}
		if r.Float64() < 0.01 {
			signup.AppendNull()
		} else {
			signup.Append(uniformDate(r, 6*365))
		}
		switch u := r.Float64(); {
		case u < 0.05:
			vip.AppendNull()
		default:
			vip.Append(u < 0.08)
		}
	}
}

func appendName(buf []byte, s string, capital bool) []byte {
	start := len(buf)
	buf = append(buf, s...)
	if capital && s[0] >= 'a' && s[0] <= 'z' {
		buf[start] -= 'a' - 'A'
	}
	return buf
}

func (g *generator) orders(r *rand.Rand, first, n int64, cols []array.Builder) {
	id := cols[0].(*array.Int64Builder)
	cust := cols[1].(*array.Int64Builder)
	amount := cols[2].(*array.Float64Builder)
	date := cols[3].(*array.Date32Builder)
	nc := g.scale.Customers
	p := newPicker(nc, 0.05, 0.85, 2, 1_000_000_007, 12_345)
	pick := func() int64 { return p.pick(r) }
	for i := first; i < first+n; i++ {
		id.Append(i + 1)
		if k, ok := foreignKey(r, nc, 0.002, 0.003, pick); ok {
			cust.Append(k)
		} else {
			cust.AppendNull()
		}
		if r.Float64() < 0.02 {
			amount.AppendNull()
		} else {
			amount.Append(lognormal(r, 3.7, 0.8))
		}
		if r.Float64() < 0.005 {
			date.AppendNull()
		} else {
			date.Append(seasonalDate(r))
		}
		appendDict(cols[4], vocabularies["Channel"], r, 0.05)
	}
}

func (g *generator) orderLines(r *rand.Rand, first, n int64, cols []array.Builder) {
	id := cols[0].(*array.Int64Builder)
	order := cols[1].(*array.Int64Builder)
	qty := cols[3].(*array.Int64Builder)
	price := cols[4].(*array.Float64Builder)
	no := g.scale.Orders
	pick := func() int64 { return r.Int64N(max(no, 1)) }
	for i := first; i < first+n; i++ {
		id.Append(i + 1)
		if k, ok := foreignKey(r, no, 0.001, 0.002, pick); ok {
			order.Append(k)
		} else {
			order.AppendNull()
		}
		appendDict(cols[2], vocabularies["Category"], r, 0.01)
		if r.Float64() < 0.02 {
			qty.AppendNull()
		} else {
			q := int64(1)
			for q < 20 && r.Float64() < 0.45 {
				q++
			}
			qty.Append(q)
		}
		if r.Float64() < 0.02 {
			price.AppendNull()
		} else {
			price.Append(lognormal(r, 2.8, 0.9))
		}
	}
}

func (g *generator) cases(r *rand.Rand, first, n int64, cols []array.Builder) {
	id := cols[0].(*array.Int64Builder)
	cust := cols[1].(*array.Int64Builder)
	esc := cols[2].(*array.BooleanBuilder)
	opened := cols[4].(*array.Date32Builder)
	nc := g.scale.Customers
	p := newPicker(nc, 0.03, 0.6, 3, 998_244_353, 777)
	pick := func() int64 { return p.pick(r) }
	for i := first; i < first+n; i++ {
		id.Append(i + 1)
		if k, ok := foreignKey(r, nc, 0.001, 0.003, pick); ok {
			cust.Append(k)
		} else {
			cust.AppendNull()
		}
		switch u := r.Float64(); {
		case u < 0.03:
			esc.AppendNull()
		default:
			esc.Append(u < 0.15)
		}
		appendDict(cols[3], vocabularies["Priority"], r, 0.02)
		if r.Float64() < 0.01 {
			opened.AppendNull()
		} else {
			opened.Append(uniformDate(r, 3*365))
		}
	}
}
