package conformance

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/segmentkit/segmentkit/internal/refeval"
	"github.com/segmentkit/segmentkit/storage"
)

// failure says how the engine and the reference disagree on the definition
// over the directory dir: "" when they agree (or the reference rejects the
// input, so it is no valid candidate), else "panic", "error" or "mismatch".
func failure(dir string, defJSON []byte, asOf time.Time, segments map[string][]uint32) string {
	ref, err := refeval.Load(dir)
	if err != nil {
		return ""
	}
	want, err := ref.Eval(defJSON, asOf, segments)
	if err != nil {
		return ""
	}
	ctx := context.Background()
	snap, err := loadSnapshot(ctx, dir)
	if err != nil {
		return errorKind(err)
	}
	defer snap.Release()
	got, err := engineEval(ctx, snap, defJSON, asOf, segments)
	switch {
	case err != nil:
		return errorKind(err)
	case !slices.Equal(got, want):
		return "mismatch"
	}
	return ""
}

func errorKind(err error) string {
	if strings.Contains(err.Error(), "panic:") {
		return "panic"
	}
	return "error"
}

// shrink reduces a failing case in place: the definition and the rows of
// dir's CSV files, keeping the same kind of failure (so that a mismatch
// does not drift into an unrelated panic). It returns the reduced
// definition.
func shrink(dir string, defJSON []byte, asOf time.Time, segments map[string][]uint32) []byte {
	kind := failure(dir, defJSON, asOf, segments)
	if kind == "" {
		return defJSON
	}
	failing := func(def []byte) bool { return failure(dir, def, asOf, segments) == kind }
	def := shrinkDefinition(defJSON, failing)
	if !strings.Contains(string(def), `"segment"`) {
		// Removing customer rows would renumber the members of the
		// referenced segments.
		shrinkRows(dir, def, failing)
	}
	return def
}

func shrinkDefinition(defJSON []byte, failing func([]byte) bool) []byte {
	for progress := true; progress; {
		progress = false
		var def any
		dec := json.NewDecoder(bytes.NewReader(defJSON))
		dec.UseNumber()
		if dec.Decode(&def) != nil {
			return defJSON
		}
		for _, cand := range reductions(def) {
			b, err := json.Marshal(cand)
			if err != nil || len(b) >= len(defJSON) {
				continue
			}
			if failing(b) {
				defJSON, progress = b, true
				break
			}
		}
	}
	return defJSON
}

// reductions returns smaller variants of a definition: fewer groups, a
// condition replaced by one of its parts, a where or an element dropped.
func reductions(def any) []any {
	var out []any
	m, ok := def.(map[string]any)
	if !ok {
		return nil
	}
	groups, _ := m["groups"].([]any)
	if len(groups) > 1 {
		for i := range groups {
			rest := slices.Delete(slices.Clone(groups), i, i+1)
			first := clone(rest[0]).(map[string]any)
			delete(first, "setOperator")
			rest[0] = first
			c := clone(m).(map[string]any)
			c["groups"] = rest
			out = append(out, c)
		}
	}
	// Every object in the tree is a candidate for replacement.
	var walk func(node any, set func(any))
	walk = func(node any, set func(any)) {
		switch n := node.(type) {
		case map[string]any:
			for _, k := range []string{"and", "or"} {
				if list, ok := n[k].([]any); ok {
					for i := range list {
						set(list[i])
						if len(list) > 1 {
							c := clone(n).(map[string]any)
							c[k] = slices.Delete(slices.Clone(list), i, i+1)
							set(c)
						}
					}
				}
			}
			if x, ok := n["not"]; ok {
				set(x)
			}
			if _, ok := n["where"]; ok {
				c := clone(n).(map[string]any)
				delete(c, "where")
				set(c)
			}
			if list, ok := n["value"].([]any); ok && len(list) > 1 && n["operator"] != "between" {
				for i := range list {
					c := clone(n).(map[string]any)
					c["value"] = slices.Delete(slices.Clone(list), i, i+1)
					set(c)
				}
			}
			keys := make([]string, 0, len(n))
			for k := range n {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				if k == "value" || k == "path" {
					continue
				}
				walk(n[k], func(v any) {
					c := clone(n).(map[string]any)
					c[k] = v
					set(c)
				})
			}
		case []any:
			for i := range n {
				walk(n[i], func(v any) {
					c := slices.Clone(n)
					c[i] = v
					set(c)
				})
			}
		}
	}
	walk(def, func(v any) { out = append(out, v) })
	return out
}

func clone(v any) any {
	switch x := v.(type) {
	case map[string]any:
		c := make(map[string]any, len(x))
		for k, e := range x {
			c[k] = clone(e)
		}
		return c
	case []any:
		c := make([]any, len(x))
		for i, e := range x {
			c[i] = clone(e)
		}
		return c
	}
	return v
}

// shrinkRows removes rows of dir's CSV files, in chunks and then one by
// one, while the case keeps failing.
func shrinkRows(dir string, defJSON []byte, failing func([]byte) bool) {
	files, _ := filepath.Glob(filepath.Join(dir, "*.csv"))
	for progress := true; progress; {
		progress = false
		for _, f := range files {
			recs, err := readRecords(f)
			if err != nil || len(recs) < 2 {
				continue
			}
			header, rows := recs[0], recs[1:]
			for chunk := len(rows); chunk >= 1; chunk /= 2 {
				for i := 0; i+chunk <= len(rows); {
					cand := slices.Delete(slices.Clone(rows), i, i+chunk)
					if writeRecords(f, header, cand) == nil && failing(defJSON) {
						rows, progress = cand, true
						continue
					}
					i += chunk
				}
			}
			if err := writeRecords(f, header, rows); err != nil {
				return
			}
		}
	}
}

func readRecords(path string) ([][]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return csv.NewReader(strings.NewReader(string(b))).ReadAll()
}

func writeRecords(path string, header []string, rows [][]string) error {
	var b strings.Builder
	w := csv.NewWriter(&b)
	if err := w.Write(header); err != nil {
		return err
	}
	if err := w.WriteAll(rows); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// loadSnapshot loads dir with the storage package, returning a panic as an
// error.
func loadSnapshot(ctx context.Context, dir string) (snap *storage.Snapshot, err error) {
	defer func() {
		if p := recover(); p != nil {
			snap, err = nil, fmt.Errorf("storage panic: %v", p)
		}
	}()
	return storage.Load(ctx, dir, storage.Options{})
}
