package demo

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/internal/exact"
)

// DefaultCustomers is the number of customers Write generates when
// Options.Customers is zero.
const DefaultCustomers = 20_000

// MaxCustomers is the largest Options.Customers that Write accepts.
const MaxCustomers = 10_000_000

// DefaultAsOf is the as-of instant Write generates for when Options.AsOf is
// zero: orders and cases end on its day, and the example segment is meant
// to be evaluated at it.
var DefaultAsOf = time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC)

// Options configures Write. The zero value writes the default demo:
// DefaultCustomers customers, seed 0, as of DefaultAsOf.
type Options struct {
	// Customers is the number of customers; zero means DefaultCustomers.
	// There are ten orders per customer, about two order lines per order,
	// two support cases per customer and a churn score for most customers.
	Customers int
	// Seed seeds the generator. The same Customers, Seed and AsOf give
	// byte-identical files.
	Seed uint64
	// AsOf is the instant the data describes: no order, case or visit is
	// later. Zero means DefaultAsOf.
	AsOf time.Time
	// Format is the data files' format; "" means CSV. The same Customers,
	// Seed and AsOf give the same rows in either.
	Format Format
}

// ErrOptions reports Options that Write cannot use.
var ErrOptions = diag.NewSentinel("demo.options", "invalid demo options")

// BrokenLinks counts the rows of one relationship whose foreign key is null
// or matches no row, as written.
type BrokenLinks struct {
	Relationship string
	Null         int
	Dangling     int
}

// Summary describes a directory written by Write.
type Summary struct {
	// Dir is the data directory.
	Dir string
	// Format is the data files' format.
	Format Format
	// Seed and AsOf are the values the data was generated with (AsOf in
	// UTC); evaluate the example segment at AsOf to reproduce the demo.
	Seed uint64
	AsOf time.Time
	// Row counts per entity.
	Customers    int
	Orders       int
	OrderLines   int
	SupportCases int
	ChurnScores  int
	// Broken lists the broken links of every relationship, in schema order.
	Broken []BrokenLinks
	// Bytes is the total size of the files written.
	Bytes int64
	// Segment is the path of the example segment file.
	Segment string
	// ExpectedMembers is the number of customers in the example segment at
	// AsOf, counted from the generated values while writing them: a
	// reference for checking an evaluation of the segment.
	ExpectedMembers int
}

// Write writes a demo data directory into dir, creating it if needed and
// overwriting the demo's files in it; the data files of the other format,
// left by an earlier Write, are removed. It checks ctx between files and
// batches of rows.
//
// A Parquet directory is written as a CSV one first, then loaded with the
// storage package and written again as Parquet (the CSV files are then
// removed), so that both formats hold the values the storage package
// reads from the CSV text.
func Write(ctx context.Context, dir string, opts Options) (*Summary, error) {
	n := opts.Customers
	switch {
	case n == 0:
		n = DefaultCustomers
	case n < 0 || n > MaxCustomers:
		return nil, fmt.Errorf("%w: customers must be between 1 and %d, not %d", ErrOptions, MaxCustomers, n)
	}
	format := opts.Format
	if format == "" {
		format = CSV
	}
	if _, err := ParseFormat(string(format)); err != nil {
		return nil, err
	}
	asOf := opts.AsOf
	if asOf.IsZero() {
		asOf = DefaultAsOf
	}
	asOf = asOf.UTC()
	if y := asOf.Year(); y < 1900 || y > 9000 {
		return nil, fmt.Errorf("%w: as-of year must be between 1900 and 9000, not %d", ErrOptions, y)
	}
	if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(SegmentFile)), 0o755); err != nil {
		return nil, fmt.Errorf("write demo data: %w", err)
	}
	g := newGenerator(n, opts.Seed, asOf)
	g.dir = dir
	sum := &Summary{Dir: dir, Format: format, Seed: opts.Seed, AsOf: asOf, Customers: n, Segment: filepath.Join(dir, SegmentFile)}
	if err := removeFiles(dir, Parquet); err != nil {
		return nil, fmt.Errorf("write demo data: %w", err)
	}
	g.planOrders()
	// Orders come first: customers' last visits and churn scores follow
	// their orders.
	for _, write := range []func(context.Context) error{g.writeOrders, g.writeCases, g.writeCustomers, g.writeChurn} {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("write demo data: %w", err)
		}
		if err := write(ctx); err != nil {
			return nil, fmt.Errorf("write demo data: %w", err)
		}
	}
	sum.Bytes = g.bytes
	schemaData, err := schemaJSON(Schema())
	if err != nil {
		return nil, fmt.Errorf("write demo data: %w", err)
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{SchemaFile, schemaData}, {SegmentFile, ExampleSegment()}} {
		if err := os.WriteFile(filepath.Join(dir, f.name), f.data, 0o644); err != nil {
			return nil, fmt.Errorf("write demo data: %w", err)
		}
		sum.Bytes += int64(len(f.data))
	}
	if format == Parquet {
		size, err := toParquet(ctx, dir)
		if err != nil {
			return nil, fmt.Errorf("write demo data as Parquet: %w", err)
		}
		sum.Bytes = size + int64(len(ExampleSegment()))
		if st, err := os.Stat(filepath.Join(dir, SchemaFile)); err == nil {
			sum.Bytes += st.Size()
		}
	}
	sum.Orders = g.numOrders
	sum.OrderLines = g.numLines
	sum.SupportCases = g.numCases
	sum.ChurnScores = g.numChurn
	sum.Broken = []BrokenLinks{
		{OrderCustomer, g.brokenOrders[brokenNull], g.brokenOrders[brokenDangling]},
		{OrderLineOrder, g.brokenLines[brokenNull], g.brokenLines[brokenDangling]},
		{SupportCaseCustomer, g.brokenCases[brokenNull], g.brokenCases[brokenDangling]},
		{ChurnScoreCustomer, 0, 0},
	}
	sum.ExpectedMembers = g.expectedMembers()
	return sum, nil
}

// CustomerKey returns the CustomerId of the demo customer at row i
// (zero-based), "C0000001" for row 0.
func CustomerKey(i int) string { return string(appendPadded(nil, "C", i+1, 7)) }

const (
	historyDays = 3*365 + 1 // orders and cases span about three years
	spendDays   = 90        // the example segment's window
	spendLimit  = 500_00    // the example segment's threshold, in cents
	linesBatch  = 1 << 14   // rows between context checks
)

const (
	brokenNone uint8 = iota
	brokenNull
	brokenDangling
)

// Stream identifiers: each part of the data draws from its own PCG stream,
// so changing how one file is drawn leaves the others as they were.
const (
	streamCustomers = iota + 1
	streamOrders
	streamLines
	streamCases
	streamAttrs
	streamChurn
)

type generator struct {
	n     int
	seed  uint64
	asOf  time.Time
	today int32 // the as-of calendar day, days since 1970-01-01
	first int32 // the first day of the order history

	// season[i] is the cumulative relative activity of the history's days
	// before first+i: sampling a day is a binary search.
	season []float64

	// Per customer.
	cumWeight []float64 // cumulative purchase weight
	weight    []float64
	signup    []int32
	country   []uint8
	lastOrder []int32 // -1: no order
	spend     []float64
	escalated []bool

	// Orders, in row order after planOrders.
	orderCust []int32 // customer row, -1 for a null key, >= n for a dangling key
	orderDay  []int32

	numOrders, numLines, numCases, numChurn int
	brokenOrders, brokenLines, brokenCases  [3]int
	dir                                     string
	bytes                                   int64
}

func newRand(seed uint64, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, 0x5e6d_e17c_0000_0000|stream))
}

func newGenerator(n int, seed uint64, asOf time.Time) *generator {
	today := int32(exact.Day(asOf))
	g := &generator{n: n, seed: seed, asOf: asOf, today: today, first: today - historyDays + 1}
	g.season = make([]float64, historyDays+1)
	for i := range historyDays {
		day := g.first + int32(i)
		t := exact.DayTime(int64(day))
		doy := float64(t.YearDay())
		f := 1.0
		f += 1.1 * math.Exp(-sq((doy-335)/14))  // late November to mid December
		f += 0.35 * math.Exp(-sq((doy-190)/20)) // summer sales
		if wd := t.Weekday(); wd == time.Saturday || wd == time.Sunday {
			f += 0.2
		}
		f *= 1 + 0.4*float64(i)/historyDays // the shop grows
		g.season[i+1] = g.season[i] + f
	}

	r := newRand(seed, streamCustomers)
	g.cumWeight = make([]float64, n)
	g.weight = make([]float64, n)
	g.signup = make([]int32, n)
	g.country = make([]uint8, n)
	g.lastOrder = make([]int32, n)
	g.spend = make([]float64, n)
	g.escalated = make([]bool, n)
	countryCum := cumulative(countryWeights)
	total := 0.0
	for i := range n {
		// Pareto purchase weight: a few heavy buyers, many light ones.
		w := math.Min(math.Pow(1-r.Float64(), -1/1.2), 250)
		var s int32
		if r.Float64() < 0.75 {
			s = g.first - 1 - int32(r.IntN(4*365))
		} else {
			s = g.first + int32(r.IntN(historyDays))
			w *= float64(g.today-s+1) / historyDays // a newer customer has had less time to buy
		}
		g.weight[i] = w
		g.signup[i] = s
		g.country[i] = uint8(pick(r, countryCum))
		g.lastOrder[i] = -1
		total += w
		g.cumWeight[i] = total
	}
	return g
}

func sq(x float64) float64 { return x * x }

// cumulative returns the running sums of w.
func cumulative(w []float64) []float64 {
	out := make([]float64, len(w))
	s := 0.0
	for i, x := range w {
		s += x
		out[i] = s
	}
	return out
}

// pick draws an index with probability proportional to the weights whose
// running sums are cum.
func pick(r *rand.Rand, cum []float64) int {
	u := r.Float64() * cum[len(cum)-1]
	i, _ := slices.BinarySearch(cum, u)
	return min(i, len(cum)-1)
}

// day draws a day in [from, today] following the seasonal activity.
func (g *generator) day(r *rand.Rand, from int32) int32 {
	lo := max(from, g.first) - g.first
	a, b := g.season[lo], g.season[historyDays]
	u := a + r.Float64()*(b-a)
	i, _ := slices.BinarySearch(g.season, u)
	i = min(max(i, int(lo)+1), historyDays)
	return g.first + int32(i) - 1
}

// customer draws a customer row by purchase weight.
func (g *generator) customer(r *rand.Rand) int {
	return pick(r, g.cumWeight)
}

// markBroken returns a flag per row: brokenNull for nulls rows, brokenDangling
// for dangling rows, chosen at random; at least one of each when rows > 1.
func markBroken(r *rand.Rand, rows int, nullRate, danglingRate float64) []uint8 {
	flags := make([]uint8, rows)
	if rows < 2 {
		return flags
	}
	for _, k := range []struct {
		flag uint8
		rate float64
	}{{brokenNull, nullRate}, {brokenDangling, danglingRate}} {
		want := max(1, int(math.Round(float64(rows)*k.rate)))
		for want > 0 {
			i := r.IntN(rows)
			if flags[i] == brokenNone {
				flags[i] = k.flag
				want--
			}
		}
	}
	return flags
}

// planOrders draws every order's customer and day, and puts the orders in
// date order, the order of their ids.
func (g *generator) planOrders() {
	r := newRand(g.seed, streamOrders)
	m := 10 * g.n
	cust := make([]int32, m)
	day := make([]int32, m)
	flags := markBroken(r, m, 0.003, 0.001)
	for i := range m {
		switch flags[i] {
		case brokenNull:
			cust[i] = -1 // a guest checkout
			day[i] = g.day(r, g.first)
		case brokenDangling:
			cust[i] = int32(g.n + 1000 + r.IntN(g.n+1)) // a deleted customer
			day[i] = g.day(r, g.first)
		default:
			c := g.customer(r)
			cust[i] = int32(c)
			day[i] = g.day(r, g.signup[c])
		}
		g.brokenOrders[flags[i]]++
	}
	// Counting sort by day keeps draw order within a day: deterministic and
	// linear, where a comparison sort of ten million orders is not.
	start := make([]int, historyDays+1)
	for _, d := range day {
		start[d-g.first+1]++
	}
	for i := 1; i < len(start); i++ {
		start[i] += start[i-1]
	}
	g.orderCust = make([]int32, m)
	g.orderDay = make([]int32, m)
	for i, d := range day {
		j := start[d-g.first]
		start[d-g.first]++
		g.orderCust[j] = cust[i]
		g.orderDay[j] = d
	}
	g.numOrders = m
}

var (
	channels       = []string{"web", "app", "store", "phone"}
	channelWeights = cumulative([]float64{0.50, 0.26, 0.17, 0.07})

	categories = []string{"Electronics", "Clothing", "Home", "Beauty", "Sports", "Toys",
		"Books", "Grocery", "Garden", "Automotive", "Jewelry", "Pets"}
	categoryCode = []string{"EL", "CL", "HO", "BE", "SP", "TO", "BK", "GR", "GA", "AU", "JW", "PE"}
	// categoryPrice is a typical price per category, in currency units.
	categoryPrice = []float64{90, 35, 42, 18, 45, 24, 14, 7, 30, 55, 140, 21}

	countries      = []string{"", "US", "GB", "DE", "FR", "CA", "NL", "ES", "IT", "AU", "SE", "BR", "JP", "IN", "MX", "PL", "IE"}
	countryWeights = []float64{0.03, 0.30, 0.11, 0.10, 0.08, 0.07, 0.05, 0.05, 0.05, 0.04, 0.03, 0.03, 0.03, 0.02, 0.02, 0.02, 0.01}

	firstNames = []string{"Emma", "Liam", "Olivia", "Noah", "Sophia", "Lucas", "Mia", "Leon", "Ava", "Hugo",
		"Isabella", "Mateo", "Charlotte", "Elias", "Amelia", "Louis", "Harper", "Jonas", "Ella", "Gabriel",
		"Chloe", "Arthur", "Lina", "Finn", "Sofia", "Raphael", "Hannah", "Oscar", "Ana", "Luca",
		"Yuki", "Hiro", "Priya", "Arjun", "Camila", "Diego", "Maja", "Oliver", "Freya", "Sebastian",
		"Zoe", "Adam", "Nora", "Theo", "Ingrid", "Jakub", "Zofia", "Sean", "Aoife", "Lea",
		"Ethan", "Grace", "Daniel", "Chiara", "Marco", "Julia", "Ravi", "Meera", "Tomás", "Beatriz"}

	priorities       = []string{"low", "normal", "high", "urgent"}
	priorityWeights  = cumulative([]float64{0.30, 0.45, 0.18, 0.07})
	escalationChance = []float64{0.04, 0.08, 0.20, 0.45}

	emailDomains       = []string{"example.com", "example.net", "example.org", "mail.example"}
	emailDomainWeights = cumulative([]float64{0.55, 0.2, 0.15, 0.1})
)

const productsPerCategory = 250

// catalog draws every product's price, in cents.
func catalog(r *rand.Rand) [][]int64 {
	prices := make([][]int64, len(categories))
	for c := range categories {
		prices[c] = make([]int64, productsPerCategory)
		for p := range prices[c] {
			v := categoryPrice[c] * math.Exp(0.55*r.NormFloat64())
			prices[c][p] = max(1, int64(v))*100 - 1 // prices end in .99
		}
	}
	return prices
}

// create opens one of the directory's files for writing.
func (g *generator) create(name string) (*fileWriter, error) {
	return createFile(filepath.Join(g.dir, name))
}

// finish closes w, counting its bytes, and returns err or the close error.
func (g *generator) finish(w *fileWriter, err error) error {
	cerr := w.close()
	g.bytes += w.bytes
	if err == nil && cerr != nil {
		err = fmt.Errorf("write %s: %w", filepath.Base(w.f.Name()), cerr)
	}
	return err
}

// writeOrders writes Order.csv, and OrderLine.csv alongside it, since an
// order's amount is the sum of its lines.
func (g *generator) writeOrders(ctx context.Context) error {
	w, err := g.create(OrderFile)
	if err != nil {
		return err
	}
	lw, err := g.create(OrderLineFile)
	if err != nil {
		return g.finish(w, err)
	}
	err = g.writeOrderRows(ctx, w, lw)
	err = g.finish(lw, err)
	return g.finish(w, err)
}

func (g *generator) writeOrderRows(ctx context.Context, w, lw *fileWriter) error {
	r := newRand(g.seed, streamLines)
	prices := catalog(r)
	catZipf := rand.NewZipf(r, 1.25, 2, uint64(len(categories)-1))
	prodZipf := rand.NewZipf(r, 1.1, 4, productsPerCategory-1)
	m := g.numOrders
	lineFlags := map[int]uint8{} // broken lines follow these orders
	for _, k := range []struct {
		flag uint8
		n    int
	}{{brokenNull, max(1, m/2500)}, {brokenDangling, max(1, m/1000)}} {
		for k.n > 0 {
			if i := r.IntN(m); lineFlags[i] == brokenNone {
				lineFlags[i] = k.flag
				k.n--
			}
		}
	}
	spendFrom := g.today - spendDays

	w.buf = append(w.buf, "OrderId,CustomerId,Amount,OrderDate,Channel"...)
	w.endRow()
	lw.buf = append(lw.buf, "OrderLineId,OrderId,Product,Category,Quantity,Price"...)
	lw.endRow()
	line := 0
	writeLine := func(orderID int, cat, prod int, qty int64, price int64) {
		line++
		b := appendPadded(lw.buf, "L", line, 9)
		b = append(b, ',')
		if orderID > 0 {
			b = appendPadded(b, "O", orderID, 8)
		}
		b = append(b, ',')
		b = appendPadded(b, categoryCode[cat]+"-", prod+1, 4)
		b = append(b, ',')
		b = append(b, categories[cat]...)
		b = append(b, ',')
		b = strconv.AppendInt(b, qty, 10)
		b = append(b, ',')
		lw.buf = appendFixed(b, price, 2)
		lw.endRow()
	}
	for i := range m {
		if i%linesBatch == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		id := i + 1
		c := g.orderCust[i]
		d := g.orderDay[i]
		// 1 + a geometric count: two lines per order on average.
		nl := 1
		for nl < 12 && r.Float64() < 0.5 {
			nl++
		}
		var amount int64
		for range nl {
			cat := int(catZipf.Uint64())
			prod := int(prodZipf.Uint64())
			qty := int64(1)
			switch u := r.Float64(); {
			case u < 0.05:
				qty = 4 + int64(r.IntN(3))
			case u < 0.12:
				qty = 3
			case u < 0.30:
				qty = 2
			}
			price := prices[cat][prod]
			amount += qty * price
			writeLine(id, cat, prod, qty, price)
		}
		switch lineFlags[i] {
		case brokenNull:
			writeLine(0, 0, 0, 1, prices[0][0])
			g.brokenLines[brokenNull]++
		case brokenDangling:
			writeLine(m+1000+i, 1, 0, 1, prices[1][0])
			g.brokenLines[brokenDangling]++
		}

		b := appendPadded(w.buf, "O", id, 8)
		b = append(b, ',')
		if c >= 0 {
			b = appendPadded(b, "C", int(c)+1, 7)
		}
		b = append(b, ',')
		b = appendFixed(b, amount, 2)
		b = append(b, ',')
		b = appendDate(b, d)
		b = append(b, ',')
		if r.Float64() >= 0.005 { // a few orders lost their channel
			b = append(b, channels[pick(r, channelWeights)]...)
		}
		w.buf = b
		w.endRow()

		if c >= 0 && int(c) < g.n {
			g.lastOrder[c] = max(g.lastOrder[c], d)
			if d >= spendFrom && d <= g.today {
				// Summed as float64 in row order, as an evaluator reading
				// the file would sum it.
				g.spend[c] += float64(amount) / 100
			}
		}
	}
	g.numLines = line
	return nil
}

func (g *generator) writeCases(ctx context.Context) error {
	w, err := g.create(SupportCaseFile)
	if err != nil {
		return err
	}
	return g.finish(w, g.writeCasesRows(ctx, w))
}

func (g *generator) writeCasesRows(ctx context.Context, w *fileWriter) error {
	r := newRand(g.seed, streamCases)
	m := 2 * g.n
	flags := markBroken(r, m, 0.01, 0.003)
	type supportCase struct {
		cust      int32
		day       int32
		priority  int8 // -1: null
		escalated bool
	}
	cases := make([]supportCase, m)
	for i := range cases {
		k := &cases[i]
		switch flags[i] {
		case brokenNull:
			k.cust = -1 // opened by someone who never became a customer
			k.day = g.day(r, g.first)
		case brokenDangling:
			k.cust = int32(g.n + 1000 + r.IntN(g.n+1))
			k.day = g.day(r, g.first)
		default:
			// Heavy buyers call more, but every customer can.
			c := r.IntN(g.n)
			if r.Float64() < 0.6 {
				c = g.customer(r)
			}
			k.cust = int32(c)
			k.day = g.day(r, g.signup[c])
		}
		g.brokenCases[flags[i]]++
		p := pick(r, priorityWeights)
		k.escalated = r.Float64() < escalationChance[p]
		k.priority = int8(p)
		if r.Float64() < 0.01 {
			k.priority = -1
		}
	}
	slices.SortStableFunc(cases, func(a, b supportCase) int { return int(a.day - b.day) })

	w.buf = append(w.buf, "CaseId,CustomerId,Opened,Escalated,Priority"...)
	w.endRow()
	for i, k := range cases {
		if i%linesBatch == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		b := appendPadded(w.buf, "S", i+1, 8)
		b = append(b, ',')
		if k.cust >= 0 {
			b = appendPadded(b, "C", int(k.cust)+1, 7)
		}
		b = append(b, ',')
		b = appendDate(b, k.day)
		b = append(b, ',')
		b = strconv.AppendBool(b, k.escalated)
		b = append(b, ',')
		if k.priority >= 0 {
			b = append(b, priorities[k.priority]...)
		}
		w.buf = b
		w.endRow()
		if k.escalated && k.cust >= 0 && int(k.cust) < g.n {
			g.escalated[k.cust] = true
		}
	}
	g.numCases = m
	return nil
}

// lastSeen returns customer i's last visit in seconds since the epoch, or
// false when the customer never logged in.
func (g *generator) lastSeen(r *rand.Rand, i int) (int64, bool) {
	if r.Float64() < 0.015 {
		return 0, false
	}
	end := g.asOf.Unix()
	// Active customers come back sooner.
	gap := r.ExpFloat64() * 45 * 86400 / (1 + math.Log(g.weight[i]))
	t := end - int64(gap)
	if lo := g.lastOrder[i]; lo >= 0 {
		t = max(t, int64(lo)*86400+int64(r.IntN(86400)))
	}
	t = max(t, int64(g.signup[i])*86400+int64(r.IntN(86400)))
	return min(t, end), true
}

func (g *generator) writeCustomers(ctx context.Context) error {
	w, err := g.create(CustomerFile)
	if err != nil {
		return err
	}
	return g.finish(w, g.writeCustomersRows(ctx, w))
}

func (g *generator) writeCustomersRows(ctx context.Context, w *fileWriter) error {
	r := newRand(g.seed, streamAttrs)
	nameZipf := rand.NewZipf(r, 1.05, 3, uint64(len(firstNames)-1))
	w.buf = append(w.buf, "CustomerId,FirstName,Country,Age,SignupDate,Email,IsVip,LastSeen"...)
	w.endRow()
	for i := range g.n {
		if i%linesBatch == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		name := firstNames[nameZipf.Uint64()]
		b := appendPadded(w.buf, "C", i+1, 7)
		b = append(b, ',')
		b = appendCSV(b, name)
		b = append(b, ',')
		b = append(b, countries[g.country[i]]...)
		b = append(b, ',')
		if r.Float64() >= 0.07 {
			age := int64(math.Round(41 + 13*r.NormFloat64()))
			b = strconv.AppendInt(b, min(max(age, 18), 92), 10)
		}
		b = append(b, ',')
		b = appendDate(b, g.signup[i])
		b = append(b, ',')
		if r.Float64() >= 0.11 {
			b = append(b, strings.ToLower(name)...)
			b = append(b, '.')
			b = strconv.AppendInt(b, int64(i+1), 10)
			b = append(b, '@')
			b = append(b, emailDomains[pick(r, emailDomainWeights)]...)
		}
		b = append(b, ',')
		if r.Float64() >= 0.02 {
			vip := r.Float64() < 0.015 || (g.weight[i] >= 25 && r.Float64() < 0.7)
			b = strconv.AppendBool(b, vip)
		}
		b = append(b, ',')
		if t, ok := g.lastSeen(r, i); ok {
			b = appendDatetime(b, t)
		}
		w.buf = b
		w.endRow()
	}
	return nil
}

func (g *generator) writeChurn(ctx context.Context) error {
	w, err := g.create(ChurnScoreFile)
	if err != nil {
		return err
	}
	return g.finish(w, g.writeChurnRows(ctx, w))
}

func (g *generator) writeChurnRows(ctx context.Context, w *fileWriter) error {
	r := newRand(g.seed, streamChurn)
	w.buf = append(w.buf, "CustomerId,Score"...)
	w.endRow()
	for i := range g.n {
		if i%linesBatch == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if r.Float64() < 0.04 { // not scored yet
			continue
		}
		idle := float64(g.today - g.signup[i])
		if lo := g.lastOrder[i]; lo >= 0 {
			idle = float64(g.today - lo)
		}
		x := -1.5 + idle/120 - 0.6*math.Log(g.weight[i]) + 0.8*r.NormFloat64()
		score := int64(math.Round(10000 / (1 + math.Exp(-x))))
		b := appendPadded(w.buf, "C", i+1, 7)
		b = append(b, ',')
		w.buf = appendFixed(b, score, 4)
		w.endRow()
		g.numChurn++
	}
	return nil
}

// expectedMembers counts the example segment's members from the generated
// values: spend in the last 90 days of at least 500, an escalated case, and
// a country other than the excluded ones (a null country is not excluded).
func (g *generator) expectedMembers() int {
	count := 0
	for i := range g.n {
		if g.spend[i] >= spendLimit/100 && g.escalated[i] && !slices.Contains(ExcludedCountries, countries[g.country[i]]) {
			count++
		}
	}
	return count
}
