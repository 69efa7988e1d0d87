// Command restart measures what a restart costs: a new process that loads
// the benchmark dataset and evaluates the suite's segments, once from the
// data files (storage.Load) and once from the data directory's snapshot
// file (storage.LoadCached, which maps it). Each run is a fresh process;
// the kinds of run alternate, so that machine noise hits them alike, and
// the medians are reported.
//
//	go run ./cmd/restart --scale M --runs 7
//
// The snapshot file is written first if it is missing or stale (the
// dataset is generated first if it is missing). The file is then in the
// system's page cache, as it is when a process restarts on a machine that
// ran it before: a cold read from disk is not measured.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"

	"github.com/segmentkit/segmentkit/benchmarks/gen"
	"github.com/segmentkit/segmentkit/benchmarks/suite"
	"github.com/segmentkit/segmentkit/engine"
	"github.com/segmentkit/segmentkit/storage"
)

// result is what one process reports, in milliseconds.
type result struct {
	// Open is the load (Load) or the open of the snapshot file
	// (LoadCached).
	Open float64 `json:"open"`
	// Verify is the wait for the check of the snapshot file's values after
	// the segments were evaluated (0 for Load).
	Verify float64 `json:"verify"`
	// Cases are the evaluations of the suite's segments, in order.
	Cases []float64 `json:"cases"`
	// Process is the whole process, start to exit, measured by the parent.
	Process float64 `json:"-"`
}

func main() {
	scale := flag.String("scale", "M", "the dataset's scale: S, M or L")
	data := flag.String("data", "", "the data directory (default data/<scale>)")
	runs := flag.Int("runs", 5, "runs of each kind")
	child := flag.String("child", "", "internal: run one process of this kind (load, open, open-verified)")
	flag.Parse()
	if *data == "" {
		*data = filepath.Join("data", *scale)
	}
	ctx := context.Background()
	if *child != "" {
		r, err := runChild(ctx, *child, *data)
		if err != nil {
			fmt.Fprintln(os.Stderr, "restart:", err)
			os.Exit(1)
		}
		json.NewEncoder(os.Stdout).Encode(r)
		return
	}
	if err := run(ctx, *scale, *data, *runs); err != nil {
		fmt.Fprintln(os.Stderr, "restart:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, scaleName, dir string, runs int) error {
	sc, err := gen.ScaleByName(scaleName)
	if err != nil {
		return err
	}
	if _, err := gen.Generate(ctx, dir, sc); err != nil {
		return err
	}
	start := time.Now()
	snap, err := storage.LoadCached(ctx, dir, storage.Options{})
	if err != nil {
		return err
	}
	fromFile := snap.File() != ""
	snap.Release()
	if !fromFile {
		fmt.Printf("wrote %s in %v (load and save)\n", storage.SnapshotFilePath(dir), time.Since(start).Round(time.Millisecond))
		// A dataset generated just now is too recent for the snapshot
		// file: wait, and try again.
		if _, err := os.Stat(storage.SnapshotFilePath(dir)); err != nil {
			time.Sleep(3 * time.Second)
			if snap, err = storage.LoadCached(ctx, dir, storage.Options{}); err != nil {
				return err
			}
			snap.Release()
		}
	}
	st, err := os.Stat(storage.SnapshotFilePath(dir))
	if err != nil {
		return fmt.Errorf("no snapshot file: %w", err)
	}
	fmt.Printf("scale %s, snapshot file %.2f GB, %d runs of each kind, interleaved\n", scaleName, float64(st.Size())/1e9, runs)
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	kinds := []string{"load", "open", "open-verified"}
	results := map[string][]result{}
	for i := range runs {
		for _, k := range kinds {
			t0 := time.Now()
			out, err := exec.Command(exe, "--child", k, "--data", dir).Output()
			if err != nil {
				var ee *exec.ExitError
				if errors.As(err, &ee) {
					return fmt.Errorf("%s: %w: %s", k, err, ee.Stderr)
				}
				return fmt.Errorf("%s: %w", k, err)
			}
			var r result
			if err := json.Unmarshal(out, &r); err != nil {
				return fmt.Errorf("%s: %w: %s", k, err, out)
			}
			r.Process = ms(time.Since(t0))
			results[k] = append(results[k], r)
			fmt.Fprintf(os.Stderr, "run %d %-14s process %7.0f ms, open %7.1f ms, first segment %6.1f ms\n", i+1, k, r.Process, r.Open, r.Cases[0])
		}
	}
	cases, err := suite.Cases(gen.AsOf)
	if err != nil {
		return err
	}
	fmt.Println()
	fmt.Println("medians, ms:")
	fmt.Printf("%-14s %9s %9s %9s %14s %12s %9s %12s\n", "kind", "process", "open", "verify", "first segment", "open+first", "all 13", "open+all+ver")
	for _, k := range kinds {
		rs := results[k]
		first := median(rs, func(r result) float64 { return r.Cases[0] })
		openFirst := median(rs, func(r result) float64 { return r.Open + r.Cases[0] })
		if k == "open-verified" {
			openFirst = median(rs, func(r result) float64 { return r.Open + r.Verify + r.Cases[0] })
		}
		all := median(rs, func(r result) float64 { return sum(r.Cases) })
		total := median(rs, func(r result) float64 { return r.Open + r.Verify + sum(r.Cases) })
		fmt.Printf("%-14s %9.0f %9.1f %9.1f %14.1f %12.1f %9.1f %12.1f\n", k,
			median(rs, func(r result) float64 { return r.Process }), median(rs, func(r result) float64 { return r.Open }),
			median(rs, func(r result) float64 { return r.Verify }), first, openFirst, all, total)
	}
	fmt.Println()
	fmt.Println("per segment, medians, ms:")
	fmt.Printf("%-20s %9s %9s %14s\n", "segment", "load", "open", "open-verified")
	i := 0
	for _, c := range cases {
		if c.Kind != suite.Members {
			continue
		}
		fmt.Printf("%-20s", c.Name)
		for _, k := range kinds {
			fmt.Printf(" %9.1f", median(results[k], func(r result) float64 { return r.Cases[i] }))
		}
		fmt.Println()
		i++
	}
	fmt.Println()
	fmt.Println("load: storage.Load from the Parquet files, then the segments in suite order.")
	fmt.Println("open: storage.LoadCached from the snapshot file, the segments, then Snapshot.Verify (the wait for the background check).")
	fmt.Println("open-verified: storage.LoadCached, Snapshot.Verify, then the segments.")
	return nil
}

// runChild is one process: load or open, then evaluate every member case.
func runChild(ctx context.Context, kind, dir string) (*result, error) {
	cases, err := suite.Cases(gen.AsOf)
	if err != nil {
		return nil, err
	}
	r := &result{}
	t0 := time.Now()
	var snap *storage.Snapshot
	switch kind {
	case "load":
		snap, err = storage.Load(ctx, dir, storage.Options{})
	case "open", "open-verified":
		snap, err = storage.LoadCached(ctx, dir, storage.Options{})
		if err == nil && snap.File() == "" {
			err = errors.New("the snapshot file is not current")
		}
	default:
		err = fmt.Errorf("unknown kind %q", kind)
	}
	if err != nil {
		return nil, err
	}
	defer snap.Release()
	r.Open = ms(time.Since(t0))
	verify := func() error {
		t := time.Now()
		err := snap.Verify(ctx)
		r.Verify = ms(time.Since(t))
		return err
	}
	if kind == "open-verified" {
		if err := verify(); err != nil {
			return nil, err
		}
	}
	for _, c := range cases {
		if c.Kind != suite.Members {
			continue
		}
		t := time.Now()
		plan, err := engine.Compile(c.Def, snap, engine.Options{})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.Name, err)
		}
		if _, err := plan.Eval(ctx, gen.AsOf); err != nil {
			return nil, fmt.Errorf("%s: %w", c.Name, err)
		}
		r.Cases = append(r.Cases, ms(time.Since(t)))
	}
	if kind == "open" {
		if err := verify(); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func sum(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s
}

func median(rs []result, f func(result) float64) float64 {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	slices.Sort(v)
	if len(v) == 0 {
		return 0
	}
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}
