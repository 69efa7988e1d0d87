package segment_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/segment"
)

// refsGolden formats what the reference functions give for one input: the
// references, the header, and the input after RenameRefs("A", "Zed") and
// Rename("X", "Y").
func refsGolden(data []byte) string {
	var b strings.Builder
	b.WriteString("-- ReadRefs --\n")
	for _, r := range segment.ReadRefs(data) {
		fmt.Fprintf(&b, "%s %q\n", r.Path, r.Name)
	}
	h := segment.ReadHeader(data)
	fmt.Fprintf(&b, "-- ReadHeader --\nname %q\ndisplayName %q\ndescription %q\nkind %s\n", h.Name, h.DisplayName, h.Description, h.Membership)
	fmt.Fprintf(&b, "-- RenameRefs A Zed --\n%s\n", bytes.TrimSuffix(segment.RenameRefs(data, "A", "Zed"), []byte("\n")))
	fmt.Fprintf(&b, "-- Rename X Y --\n%s\n", bytes.TrimSuffix(segment.Rename(data, "X", "Y"), []byte("\n")))
	return b.String()
}

// TestRefsGolden reads each testdata/refs/*.json and compares what the
// reference functions give with its .golden file.
func TestRefsGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "refs", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".json")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(file)
			require.NoError(t, err)
			got := refsGolden(data)
			golden := strings.TrimSuffix(file, ".json") + ".golden"
			if *update {
				require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "run go test ./segment/ -run TestRefsGolden -update to create it")
			require.Equal(t, string(want), got)
			checkRename(t, data, "A", "Zed")
			checkRename(t, data, "X", "Y")
		})
	}
}

// quoted is s as a JSON string, as RenameRefs writes it: UTF-8 as is,
// invalid bytes as U+FFFD.
func quoted(t *testing.T, s string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	require.NoError(t, enc.Encode(s))
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// checkRename checks RenameRefs and Rename of one input: reading the
// references of the result gives to in place of from at the same paths,
// the header is unchanged (but for Rename's name), and the bytes are the
// input's with exactly the renamed literals replaced. For an input that
// parses, ReadRefs agrees with Definition.Refs, before and after.
func checkRename(t *testing.T, data []byte, from, to string) {
	t.Helper()
	lit := quoted(t, to)
	var decodedTo string
	require.NoError(t, json.Unmarshal(lit, &decodedTo))

	before := segment.ReadRefs(data)
	refSpans, nameSpans := segment.Literals(data)
	require.Len(t, refSpans, len(before))
	for i, sp := range refSpans {
		var v string
		require.NoError(t, json.Unmarshal(data[sp[0]:sp[1]], &v), "span of ref %d is a string literal", i)
		require.Equal(t, before[i].Name, v, "span of ref %d holds its name", i)
	}
	header := segment.ReadHeader(data)
	if def, err := segment.Parse(data); err == nil {
		require.Equal(t, def.Refs(), before, "ReadRefs and Definition.Refs agree")
	}

	for _, self := range []bool{false, true} {
		var out []byte
		type edit struct{ from, to int }
		var edits []edit
		for i, sp := range refSpans {
			if before[i].Name == from {
				edits = append(edits, edit{sp[0], sp[1]})
			}
		}
		wantHeader := header
		if self {
			out = segment.Rename(data, from, to)
			renamed := false
			for _, sp := range nameSpans {
				var v string
				require.NoError(t, json.Unmarshal(data[sp[0]:sp[1]], &v))
				if v == from {
					edits = append(edits, edit{sp[0], sp[1]})
					renamed = true
				}
			}
			// An input without a name has the header name "", which is
			// not renamed when from is "" too.
			if renamed && header.Name == from {
				wantHeader.Name = decodedTo
			}
		} else {
			out = segment.RenameRefs(data, from, to)
		}
		slices.SortFunc(edits, func(a, b edit) int { return a.from - b.from })
		var want []byte
		last := 0
		for _, e := range edits {
			want = append(want, data[last:e.from]...)
			want = append(want, lit...)
			last = e.to
		}
		want = append(want, data[last:]...)
		require.Equal(t, string(want), string(out), "Rename(self %v) replaces exactly the renamed literals", self)

		after := segment.ReadRefs(out)
		require.Len(t, after, len(before))
		for i := range before {
			require.Equal(t, before[i].Path, after[i].Path)
			wantName := before[i].Name
			if wantName == from {
				wantName = decodedTo
			}
			require.Equal(t, wantName, after[i].Name, "ref %d", i)
		}
		require.Equal(t, wantHeader, segment.ReadHeader(out))
		if def, err := segment.Parse(out); err == nil {
			require.Equal(t, def.Refs(), after, "ReadRefs and Definition.Refs agree after renaming")
		}
	}
}

// FuzzRenameRefs checks checkRename's properties on any input and names.
func FuzzRenameRefs(f *testing.F) {
	for _, pattern := range []string{"*.json", "refs/*.json"} {
		files, err := filepath.Glob(filepath.Join("testdata", pattern))
		require.NoError(f, err)
		for _, file := range files {
			data, err := os.ReadFile(file)
			require.NoError(f, err)
			f.Add(data, "A", "Zed")
			f.Add(data, "X", "")
		}
	}
	f.Add([]byte(`{"groups":[{"condition":{"segment":"\ufffd"}}]}`), "\ufffd", "a\xffb")
	f.Fuzz(func(t *testing.T, data []byte, from, to string) {
		checkRename(t, data, from, to)
	})
}

// TestRenameKeepsUnrenamedInput: nothing to rename gives the input itself.
func TestRenameKeepsUnrenamedInput(t *testing.T) {
	data := []byte(`{"name": "X", "groups": [{"condition": {"segment": "A"}}]}`)
	require.Same(t, &data[0], &segment.RenameRefs(data, "B", "C")[0])
	require.Same(t, &data[0], &segment.Rename(data, "B", "C")[0])
	require.NotSame(t, &data[0], &segment.RenameRefs(data, "A", "C")[0], "a renamed copy leaves the input alone")
	require.Equal(t, `{"name": "X", "groups": [{"condition": {"segment": "A"}}]}`, string(data))
}

// TestRefsOfTestdata: every definition of testdata gives the same
// references from its JSON and from its parsed form, with the paths
// Validate reports for an unknown segment.
func TestRefsOfTestdata(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	require.NoError(t, err)
	n := 0
	for _, file := range files {
		data, err := os.ReadFile(file)
		require.NoError(t, err)
		def, err := segment.Parse(data)
		if err != nil {
			continue // a measure
		}
		refs := def.Refs()
		require.Equal(t, refs, segment.ReadRefs(data), file)
		n += len(refs)
		if len(refs) == 0 {
			continue
		}
		verr := def.Validate(testSchema(t))
		var l diag.List
		require.ErrorAs(t, verr, &l, file)
		for _, r := range refs {
			found := false
			for _, p := range l {
				found = found || errors.Is(p, segment.ErrUnknownSegment) && p.Path == r.Path
			}
			require.True(t, found, "%s: Validate reports the unknown segment %s at %s", file, r.Name, r.Path)
		}
	}
	require.NotZero(t, n, "testdata has references")
}

// TestRefsVeryDeep: nesting far past Parse's limit is read up to the limit,
// without recursion, and renaming keeps the rest as written.
func TestRefsVeryDeep(t *testing.T) {
	const depth = 200_000
	data := []byte(`{"name": "X", "groups": [{"condition": {"or": [{"segment": "A"}, ` +
		strings.Repeat(`{"not": `, depth) + `{"segment": "A"}` + strings.Repeat("}", depth) + `]}}]}`)
	require.Equal(t, []segment.Ref{{Name: "A", Path: "groups[0].condition.or[0].segment"}}, segment.ReadRefs(data))
	out := segment.RenameRefs(data, "A", "B")
	require.True(t, bytes.Equal(bytes.Replace(data, []byte(`"A"`), []byte(`"B"`), 1), out), "only the first reference is renamed")
}
