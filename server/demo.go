package server

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/segmentkit/segmentkit/catalog"
	"github.com/segmentkit/segmentkit/internal/demo"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/storage"
)

// demoSegments are the demo catalog's segments besides the product
// page's example: active ones of several kinds, one inactive, and a draft
// whose attribute is misspelt, so the page shows every state.
var demoSegments = []struct {
	active bool
	def    string
}{
	{true, `{"name": "VipCustomers", "displayName": "VIP customers",
	  "description": "Customers flagged as VIP.",
	  "groups": [{"condition": {"attribute": "Customer.IsVip", "operator": "isTrue"}}]}`},
	{true, `{"name": "RecentBuyers", "displayName": "Bought in the last 30 days",
	  "groups": [{"condition": {"related": "Order", "aggregate": {"function": "max", "attribute": "Order.OrderDate"},
	    "operator": "inLastDays", "value": 30}}]}`},
	{true, `{"name": "FrequentOnline", "displayName": "Frequent online buyers",
	  "description": "At least 5 web orders in the last 180 days, or any app order over 300.",
	  "groups": [{"condition": {"or": [
	    {"related": "Order", "where": {"and": [{"attribute": "Order.Channel", "operator": "equals", "value": "web"},
	      {"attribute": "Order.OrderDate", "operator": "inLastDays", "value": 180}]},
	     "aggregate": {"function": "count"}, "operator": "greaterThanOrEqual", "value": 5},
	    {"related": "Order", "where": {"and": [{"attribute": "Order.Channel", "operator": "equals", "value": "app"},
	      {"attribute": "Order.Amount", "operator": "greaterThan", "value": 300}]}}]}}]}`},
	{true, `{"name": "ChurnRisk", "displayName": "Likely to churn",
	  "groups": [{"condition": {"attribute": "ChurnScore.Score", "operator": "greaterThan", "value": 0.8}},
	             {"setOperator": "except", "condition": {"segment": "VipCustomers"}}]}`},
	{false, `{"name": "YoungShoppers", "displayName": "Under 25",
	  "groups": [{"condition": {"attribute": "Customer.Age", "operator": "lessThan", "value": 25}}]}`},
	{false, `{"name": "GermanSpenders", "displayName": "Spenders in Germany (draft)",
	  "groups": [{"condition": {"and": [{"attribute": "Customer.Countri", "operator": "equals", "value": "DE"},
	    {"attribute": "Measures.Spend90d", "operator": "greaterThan", "value": 200}]}}]}`},
}

// DemoWeeks is how many weekly refreshes the demo catalog's history holds.
const DemoWeeks = 12

// Demo is a demo data directory and a catalog over it.
type Demo struct {
	// Dir is the data directory, Catalog the catalog file.
	Dir, Catalog string
	// Data describes the data written.
	Data *demo.Summary
}

// WriteDemo writes, under root, the demo data (as of now's day) in data/
// and a catalog file catalog.db holding the product page's example segment
// and the demo's others, with DemoWeeks weekly refreshes of history
// ending at now, so that the page has trends to show.
func WriteDemo(ctx context.Context, root string, customers int, now time.Time) (*Demo, error) {
	dir := filepath.Join(root, "data")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	day := now.UTC().Truncate(24 * time.Hour)
	sum, err := demo.Write(ctx, dir, demo.Options{Customers: customers, AsOf: day})
	if err != nil {
		return nil, err
	}
	d := &Demo{Dir: dir, Catalog: filepath.Join(root, "catalog.db"), Data: sum}
	src := catalog.NewDirSource(dir, storage.Options{})
	defer src.Close()
	start := now.Add(-time.Duration(DemoWeeks-1) * 7 * 24 * time.Hour)
	clock := clockwork.NewFakeClockAt(start.Add(-time.Hour))
	cat, err := catalog.Open(d.Catalog, catalog.Options{Source: src, Clock: clock})
	if err != nil {
		return nil, err
	}
	defs := [][]byte{demo.ExampleSegment()}
	active := []bool{true}
	for _, s := range demoSegments {
		defs, active = append(defs, []byte(s.def)), append(active, s.active)
	}
	for i, def := range defs {
		if _, err := cat.Create(ctx, def, catalog.CreateOptions{}); err != nil {
			cat.Close()
			return nil, fmt.Errorf("demo segment %d: %w", i, err)
		}
	}
	for w := range DemoWeeks {
		clock.Advance(clock.Until(start.Add(time.Duration(w) * 7 * 24 * time.Hour)))
		if w == 0 {
			for i, def := range defs {
				if !active[i] {
					continue
				}
				name := segment.ReadHeader(def).Name
				if _, err := cat.ActivateWith(ctx, name, catalog.RefreshOptions{AsOf: clock.Now()}); err != nil {
					cat.Close()
					return nil, fmt.Errorf("activate demo segment %s: %w", name, err)
				}
			}
			continue
		}
		if _, err := cat.RefreshAllWith(ctx, catalog.RefreshOptions{AsOf: clock.Now()}); err != nil {
			cat.Close()
			return nil, fmt.Errorf("refresh the demo catalog: %w", err)
		}
	}
	if err := cat.Close(); err != nil {
		return nil, err
	}
	return d, nil
}
