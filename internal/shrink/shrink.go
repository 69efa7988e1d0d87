// Package shrink reduces a failing test case, a segment definition and the
// CSV files of its data directory, while it keeps failing. The conformance
// test (engine against the reference evaluator) and the sqlgen differential
// test (engine against SQL) share it.
//
//	small := shrink.Definition(def, func(d []byte) bool { return fails(dir, d) })
//	shrink.Rows(dir, func() bool { return fails(dir, small) })
//
// The failing functions decide what "the same failure" is; a caller keeps
// the kind of failure fixed so that a mismatch does not drift into an
// unrelated error.
package shrink

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Definition returns the smallest variant of defJSON it finds for which
// failing still holds: fewer groups, a condition replaced by one of its
// parts, a where or a list element dropped, one step at a time while a step
// shortens the JSON. It returns defJSON itself when no step keeps failing.
func Definition(defJSON []byte, failing func([]byte) bool) []byte {
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

// Rows removes rows of dir's CSV files, in chunks and then one by one,
// while failing still holds, rewriting the files in place. Files that do
// not parse as CSV are left as they are.
func Rows(dir string, failing func() bool) {
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
					if writeRecords(f, header, cand) == nil && failing() {
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

// CopyDir copies the regular files of src (not its subdirectories) into
// dst, which must exist.
func CopyDir(src, dst string) error {
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err == nil {
			err = os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644)
		}
		if err != nil {
			return err
		}
	}
	return nil
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
