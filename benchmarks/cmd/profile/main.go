// Command profile times the suite's segments on one snapshot, one
// evaluation after another with an empty result cache (as the comparison's
// timed runs do), and writes a CPU profile of those evaluations: the tool
// for finding where a slow suite case spends its time.
//
//	go run ./cmd/profile --data /work/data/M --snap /tmp/M.snap --only ToyLines --runs 30 --cpuprofile /tmp/toy.prof
//
// With --snap the snapshot is saved to that file on the first run and
// opened from it on later ones (storage.Save, storage.Open), so that a
// profile does not wait for a load from Parquet.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"regexp"
	"runtime/pprof"
	"slices"
	"syscall"
	"time"

	"github.com/segmentkit/segmentkit/benchmarks/gen"
	"github.com/segmentkit/segmentkit/benchmarks/suite"
	"github.com/segmentkit/segmentkit/engine"
	"github.com/segmentkit/segmentkit/storage"
)

func main() {
	data := flag.String("data", "", "data directory to load")
	snapPath := flag.String("snap", "", "snapshot file: opened when it exists, else written after the load")
	only := flag.String("only", "", "run only the cases whose name matches this regular expression")
	runs := flag.Int("runs", 20, "evaluations per case")
	cpu := flag.String("cpuprofile", "", "write a CPU profile of the evaluations to this file")
	flush := flag.Bool("flush", true, "read a 256 MiB buffer before each evaluation, so that it starts with cold caches as the comparison's runs do")
	flag.Parse()
	if err := run(context.Background(), *data, *snapPath, *only, *runs, *cpu, *flush); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, data, snapPath, only string, runs int, cpu string, flush bool) error {
	re, err := regexp.Compile(only)
	if err != nil {
		return fmt.Errorf("--only: %w", err)
	}
	snap, err := open(ctx, data, snapPath)
	if err != nil {
		return err
	}
	defer snap.Release()
	cases, err := suite.Cases(gen.AsOf)
	if err != nil {
		return err
	}
	var plans []*engine.Plan
	var names []string
	for _, c := range cases {
		if c.Kind != suite.Members || !re.MatchString(c.Name) {
			continue
		}
		// A first evaluation builds what a snapshot keeps (typed and narrow
		// views, row ranges); it is not timed.
		p, err := engine.Compile(c.Def, snap, engine.Options{})
		if err != nil {
			return err
		}
		if _, err := p.EvalCardinality(ctx, gen.AsOf); err != nil {
			return err
		}
		plans, names = append(plans, p), append(names, c.Name)
	}
	if cpu != "" {
		f, err := os.Create(cpu)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	for i, p := range plans {
		times := make([]time.Duration, runs)
		var cpuTime time.Duration
		var n uint64
		for r := range runs {
			if flush {
				flushCaches()
			}
			start, startCPU := time.Now(), processCPU()
			if n, err = p.EvalCardinality(ctx, gen.AsOf); err != nil {
				return err
			}
			times[r] = time.Since(start)
			cpuTime += processCPU() - startCPU
		}
		slices.Sort(times)
		fmt.Printf("%-20s median %8.2f ms  min %8.2f ms  cpu %8.2f ms/run  members %d\n", names[i],
			ms(times[runs/2]), ms(times[0]), ms(cpuTime/time.Duration(runs)), n)
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// processCPU returns the CPU time the process has used, user and system:
// on a machine shared with other work it varies less than the wall time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

var flushBuf = make([]uint64, 32<<20)

// flushSink keeps the compiler from dropping flushCaches' sum.
var flushSink uint64

// flushCaches reads 256 MiB, which evicts the evaluation's columns from the
// processor's caches.
func flushCaches() {
	var s uint64
	for _, x := range flushBuf {
		s += x
	}
	flushSink += s
}

// open opens snapPath when it exists, else loads data and, with snapPath
// set, saves the snapshot there.
func open(ctx context.Context, data, snapPath string) (*storage.Snapshot, error) {
	if snapPath != "" {
		if _, err := os.Stat(snapPath); err == nil {
			return storage.Open(ctx, snapPath, storage.Options{})
		}
	}
	if data == "" {
		return nil, fmt.Errorf("--data is needed without a snapshot file")
	}
	snap, err := storage.Load(ctx, data, storage.Options{})
	if err != nil {
		return nil, err
	}
	if snapPath != "" {
		if err := storage.Save(ctx, snap, snapPath); err != nil {
			snap.Release()
			return nil, err
		}
	}
	return snap, nil
}
