package benchmarks

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/segmentkit/segmentkit/benchmarks/gen"
	"github.com/segmentkit/segmentkit/benchmarks/suite"
	"github.com/segmentkit/segmentkit/engine"
	"github.com/segmentkit/segmentkit/quick"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/storage"
)

// Segmentkit is the dataset loaded into a segmentkit snapshot, with the
// result cache and the column statistics an application keeps beside it.
type Segmentkit struct {
	Snap *storage.Snapshot
	// Cache keeps condition results; it is cleared before every timed run
	// so that the runs measure evaluation, not a cache lookup.
	Cache *engine.Cache
	// Stats holds the column statistics, built during load for the suite's
	// insight fields, as an application builds them ahead of its users.
	Stats *quick.Stats
	// LoadTime is how long storage.Load and the statistics took;
	// StatsTime is the statistics' part of it.
	LoadTime, StatsTime time.Duration
}

// LoadSegmentkit loads the data directory dir with storage.Load, with
// segmentkit's default options, and builds the statistics of the suite's
// insight fields. The caller must Close it.
func LoadSegmentkit(ctx context.Context, dir string) (*Segmentkit, error) {
	start := time.Now()
	snap, err := storage.Load(ctx, dir, storage.Options{})
	if err != nil {
		return nil, fmt.Errorf("segmentkit load: %w", err)
	}
	statsStart := time.Now()
	s := &Segmentkit{Snap: snap, Cache: engine.NewCache(snap, 0), Stats: quick.New(snap, quick.Options{})}
	cases, err := suite.Cases(gen.AsOf)
	if err != nil {
		snap.Release()
		return nil, err
	}
	for _, c := range cases {
		if c.Kind != suite.Members {
			if _, err := s.insights(ctx, c); err != nil {
				snap.Release()
				return nil, err
			}
		}
	}
	s.StatsTime = time.Since(statsStart)
	s.LoadTime = time.Since(start)
	return s, nil
}

// Close releases the snapshot.
func (s *Segmentkit) Close() { s.Snap.Release() }

// Result evaluates the case and returns its answer: the members' customer
// keys, sorted, or the insight's rows.
func (s *Segmentkit) Result(ctx context.Context, c suite.Case) (Result, error) {
	switch c.Kind {
	case suite.Members:
		plan, err := engine.Compile(c.Def, s.Snap, engine.Options{})
		if err != nil {
			return Result{}, fmt.Errorf("segmentkit %s: %w", c.Name, err)
		}
		members, err := plan.Eval(ctx, gen.AsOf)
		if err != nil {
			return Result{}, fmt.Errorf("segmentkit %s: %w", c.Name, err)
		}
		keys := make([]int64, 0, members.GetCardinality())
		for it := members.Iterator(); it.HasNext(); {
			k, err := strconv.ParseInt(s.Snap.CustomerKey(it.Next()), 10, 64)
			if err != nil {
				return Result{}, fmt.Errorf("segmentkit %s: customer key: %w", c.Name, err)
			}
			keys = append(keys, k)
		}
		slices.Sort(keys)
		return Result{Keys: keys}, nil
	default:
		ins, err := s.insights(ctx, c)
		if err != nil {
			return Result{}, err
		}
		return insightRows(c, ins), nil
	}
}

// insightRows writes an insight's answer in the form DuckDB.Result gives.
func insightRows(c suite.Case, ins *quick.Insights) Result {
	var r Result
	if c.Kind == suite.TopValues {
		for _, vc := range ins.Top {
			r.Rows = append(r.Rows, valueText(vc.Value)+"\t"+strconv.Itoa(vc.Customers))
		}
	} else {
		for p, v := range ins.Percentiles {
			r.Rows = append(r.Rows, strconv.Itoa(p)+"\t"+valueText(v))
		}
	}
	return r
}

// Run evaluates the case once, as the timed runs do: a segment is compiled
// and evaluated to its member bitmap with an empty result cache; an insight
// is answered from the statistics built at load.
func (s *Segmentkit) Run(ctx context.Context, c suite.Case) error {
	s.Cache.Clear()
	return s.Rerun(ctx, c)
}

// Rerun is Run with the result cache as earlier runs left it: re-evaluating
// an unchanged segment on the same snapshot.
func (s *Segmentkit) Rerun(ctx context.Context, c suite.Case) error {
	if c.Kind != suite.Members {
		_, err := s.insights(ctx, c)
		return err
	}
	plan, err := engine.Compile(c.Def, s.Snap, engine.Options{Cache: s.Cache})
	if err != nil {
		return fmt.Errorf("segmentkit %s: %w", c.Name, err)
	}
	if _, err := plan.Eval(ctx, gen.AsOf); err != nil {
		return fmt.Errorf("segmentkit %s: %w", c.Name, err)
	}
	return nil
}

// insights answers the case's insights from the snapshot's statistics.
func (s *Segmentkit) insights(ctx context.Context, c suite.Case) (*quick.Insights, error) {
	ins, err := s.Stats.At(gen.AsOf).Insights(ctx, c.Field)
	if err != nil {
		return nil, fmt.Errorf("segmentkit %s: %w", c.Name, err)
	}
	return ins, nil
}

// FromScratch returns the engine that answers the suite's insights from
// statistics computed in every run, as DuckDB computes its answer: each
// run makes a new quick.Stats of the snapshot (which computes nothing
// until asked) and asks it for the insight, so that the run reads the
// column, sorts or counts its values and derives the answer. It answers
// no segment (ErrNotApplicable).
func (s *Segmentkit) FromScratch() Engine { return scratchInsights{s.Snap} }

// scratchInsights is Segmentkit.FromScratch's engine.
type scratchInsights struct{ snap *storage.Snapshot }

func (e scratchInsights) insights(ctx context.Context, c suite.Case) (*quick.Insights, error) {
	if c.Kind == suite.Members {
		return nil, fmt.Errorf("segmentkit from scratch %s: %w (a segment)", c.Name, ErrNotApplicable)
	}
	ins, err := quick.New(e.snap, quick.Options{}).At(gen.AsOf).Insights(ctx, c.Field)
	if err != nil {
		return nil, fmt.Errorf("segmentkit from scratch %s: %w", c.Name, err)
	}
	return ins, nil
}

// Result computes the insight's statistics and returns its rows.
func (e scratchInsights) Result(ctx context.Context, c suite.Case) (Result, error) {
	ins, err := e.insights(ctx, c)
	if err != nil {
		return Result{}, err
	}
	return insightRows(c, ins), nil
}

// Run computes the insight's statistics once, as the timed runs do.
func (e scratchInsights) Run(ctx context.Context, c suite.Case) error {
	_, err := e.insights(ctx, c)
	return err
}

// valueText writes a definition value as the DuckDB side scans it.
func valueText(v segment.Value) string {
	switch v.Kind {
	case segment.NumberValue:
		return v.Num.String()
	case segment.StringValue:
		return v.Str
	case segment.NoValue:
		return "null"
	}
	return v.String()
}
