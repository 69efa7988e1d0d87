package benchmarks

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"time"

	"github.com/segmentkit/segmentkit/benchmarks/clickhouse"
	"github.com/segmentkit/segmentkit/benchmarks/gen"
	"github.com/segmentkit/segmentkit/benchmarks/suite"
	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/sqlgen"
	"github.com/segmentkit/segmentkit/storage"
)

// ErrNotApplicable: an engine does not answer a kind of case (SQL answers
// segments, not insights). The report shows "-" for it; test with
// errors.Is.
var ErrNotApplicable = diag.NewSentinel("benchmarks.not_applicable", "the engine does not answer this kind of case")

// SQL answers the suite's segments with the query package sqlgen compiles
// from each definition, run by a SQL backend: DuckDB (NewDuckDBSQL) or a
// ClickHouse cluster (NewClickHouseSQL). The query inlines every value
// and adds sums in any order (sqlgen.Options.AnyOrderSums): the dataset's
// amounts and prices are multiples of 0.25, so every order of adding
// gives the row-order sum FORMAT.md defines. Each definition is compiled
// once, when first used, outside the timed runs. Insights are not
// answered (ErrNotApplicable). A SQL is not safe for concurrent use.
type SQL struct {
	// Name is the engine's column in the report.
	Name    string
	schema  *schema.Schema
	dialect sqlgen.Dialect
	queries map[string]string
	// keys runs a query for its members' keys; run runs it as a timed
	// run does.
	keys func(ctx context.Context, query string) ([]int64, error)
	run  func(ctx context.Context, query string) error
}

// NewDuckDBSQL returns the engine that runs sqlgen's DuckDB queries on
// db's tables (the schema's entities, loaded by LoadDuckDB), the way
// DuckDB runs the suite's hand-written SQL: a timed run materializes the
// members into a temporary table (DuckDB.Run).
func NewDuckDBSQL(db *DuckDB, sch *schema.Schema) *SQL {
	asCase := func(query string) suite.Case { return suite.Case{Name: "sqlgen", Kind: suite.Members, SQL: query} }
	return &SQL{Name: "duckdb (sqlgen)", schema: sch, dialect: sqlgen.DuckDB, queries: map[string]string{},
		keys: func(ctx context.Context, query string) ([]int64, error) {
			r, err := db.Result(ctx, asCase(query))
			return r.Keys, err
		},
		run: func(ctx context.Context, query string) error { return db.Run(ctx, asCase(query)) },
	}
}

// NewClickHouseSQL returns the engine that runs sqlgen's ClickHouse
// queries on the cluster's Distributed tables (loaded by LoadClickHouse)
// over HTTP. A timed run asks for the members' count, SELECT count() FROM
// (query): the servers compute every member, and one number comes back,
// so that the run times the cluster rather than the transfer and parsing
// of the keys; it includes one HTTP round trip (ClickHouseLoad.RoundTrip).
// The check fetches the keys.
func NewClickHouseSQL(c *clickhouse.Cluster, sch *schema.Schema) *SQL {
	return &SQL{Name: fmt.Sprintf("clickhouse %d shards (sqlgen)", len(c.Shards)), schema: sch, dialect: sqlgen.ClickHouse,
		queries: map[string]string{},
		keys: func(ctx context.Context, query string) ([]int64, error) {
			texts, err := c.Query(ctx, query)
			if err != nil {
				return nil, err
			}
			keys := make([]int64, len(texts))
			for i, t := range texts {
				if keys[i], err = strconv.ParseInt(t, 10, 64); err != nil {
					return nil, fmt.Errorf("%w: a member key: %v", clickhouse.ErrServer, err)
				}
			}
			return keys, nil
		},
		run: func(ctx context.Context, query string) error {
			// The query ends in a comment line or not: the parenthesis
			// goes on a line of its own.
			_, err := c.Query(ctx, "SELECT count() FROM (\n"+query+"\n)")
			return err
		},
	}
}

// Query returns the SQL of the case's definition, compiled as of gen.AsOf.
func (s *SQL) Query(c suite.Case) (string, error) {
	if c.Kind != suite.Members {
		return "", fmt.Errorf("%s %s: %w (a %s insight)", s.Name, c.Name, ErrNotApplicable, c.Kind)
	}
	if q, ok := s.queries[c.Name]; ok {
		return q, nil
	}
	q, err := sqlgen.Compile(c.Def, s.schema, sqlgen.Options{Dialect: s.dialect, AsOf: gen.AsOf, Inline: true, AnyOrderSums: true})
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", s.Name, c.Name, err)
	}
	s.queries[c.Name] = q.SQL
	return q.SQL, nil
}

// Result runs the case's query and returns its members' keys, sorted.
func (s *SQL) Result(ctx context.Context, c suite.Case) (Result, error) {
	q, err := s.Query(c)
	if err != nil {
		return Result{}, err
	}
	keys, err := s.keys(ctx, q)
	if err != nil {
		return Result{}, fmt.Errorf("%s %s: %w", s.Name, c.Name, err)
	}
	slices.Sort(keys)
	return Result{Keys: keys}, nil
}

// Run runs the case's query once, as the timed runs do.
func (s *SQL) Run(ctx context.Context, c suite.Case) error {
	q, err := s.Query(c)
	if err != nil {
		return err
	}
	if err := s.run(ctx, q); err != nil {
		return fmt.Errorf("%s %s: %w", s.Name, c.Name, err)
	}
	return nil
}

// ClickHouseLoad is the loading of a snapshot into a ClickHouse cluster.
type ClickHouseLoad struct {
	// Shards is the number of shards; Rows the rows loaded, of every
	// entity.
	Shards, Rows int
	// Time is how long the inserts and the merges took.
	Time time.Duration
	// RoundTrip is the median time of SELECT 1 over HTTP, what every
	// query's time includes beside its evaluation.
	RoundTrip time.Duration
}

// LoadClickHouse loads the snapshot into the cluster's database
// (clickhouse.LoadSnapshot: a MergeTree table per entity on every shard,
// a Distributed table over them), then merges every local table's parts
// (OPTIMIZE TABLE .. FINAL on every shard), so that no background merge
// runs during the timed queries, and measures the HTTP round trip of
// SELECT 1 (the median of 21).
func LoadClickHouse(ctx context.Context, c *clickhouse.Cluster, snap *storage.Snapshot) (*ClickHouseLoad, error) {
	start := time.Now()
	layout, err := clickhouse.LoadSnapshot(ctx, c, snap, nil)
	if err != nil {
		return nil, err
	}
	load := &ClickHouseLoad{Shards: len(c.Shards)}
	db := c.Database
	if db == "" {
		db = "default"
	}
	for _, e := range layout.Entities {
		for _, n := range e.Rows {
			load.Rows += n
		}
		for i := range c.Shards {
			if err := c.Shard(i).Exec(ctx, "OPTIMIZE TABLE "+clickhouse.QuoteIdent(db)+"."+clickhouse.QuoteIdent(e.Local)+" FINAL"); err != nil {
				return nil, fmt.Errorf("merging %s on shard %d: %w", e.Local, i+1, err)
			}
		}
	}
	load.Time = time.Since(start)
	trips := make([]time.Duration, 21)
	for i := range trips {
		runtime.GC()
		start := time.Now()
		if _, err := c.Query(ctx, "SELECT 1"); err != nil {
			return nil, err
		}
		trips[i] = time.Since(start)
	}
	load.RoundTrip = median(trips)
	return load, nil
}
